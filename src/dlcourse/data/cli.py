"""``dlcourse data list | fetch NAME... | fetch --all | verify [NAME...]``."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from dlcourse.data.catalog import DATASETS, fetch, get_dataset
from dlcourse.data.registry import Dataset, DatasetError
from dlcourse.data.store import resolve_root, verify


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes else "shipped"


class _BadSetting(Exception):
    """The data directory setting cannot be used; the message says why."""


def _data_root() -> Path:
    try:
        return resolve_root(None)
    except DatasetError as err:
        raise _BadSetting(str(err)) from None


def _settings_checked(command: Callable[[argparse.Namespace], int]):
    """Exit 2 with one line when the data directory setting is unusable, before any work."""

    @functools.wraps(command)
    def checked(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _BadSetting as err:
            print(f"dlcourse data: error: {err}", file=sys.stderr)
            return 2

    return checked


def _status(spec: Dataset, root: Path) -> str:
    folder = spec.locate(root)
    return f"present: {folder}" if folder else f"missing: {root / spec.folder}"


@_settings_checked
def _list(args: argparse.Namespace) -> int:
    root = _data_root()  # only looked at: listing creates nothing
    rows = [("name", "download", "licence", "status")]
    rows += [
        (s.name, _size(s.download_size), s.licence, _status(s, root)) for s in DATASETS.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]]))
    return 0


@_settings_checked
def _fetch(args: argparse.Namespace) -> int:
    if bool(args.names) == args.all:
        print("dlcourse data fetch: give dataset names or --all (not both).", file=sys.stderr)
        return 2
    _data_root()
    status = 0
    for name in list(DATASETS) if args.all else args.names:
        try:
            print(f"{name}: {fetch(name)}")
        except DatasetError as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
        except OSError as err:  # not expected (the data layer reports its own): still one line
            where = f": {err.filename}" if err.filename else ""
            print(f"error: {name}: {err.strerror or err}{where}", file=sys.stderr)
            status = 1
    return status


@_settings_checked
def _verify(args: argparse.Namespace) -> int:
    try:
        specs = [get_dataset(name) for name in args.names] or list(DATASETS.values())
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    root, status = _data_root(), 0
    for spec in specs:
        results = verify(spec, root)
        states = [state for _, state in results]
        if all(state == "absent" for state in states):
            print(f"{spec.name}: no downloaded files to check (data in place is used as it is)")
            continue
        print(
            f"{spec.name}: {states.count('ok')} ok, {states.count('hash mismatch')} hash "
            f"mismatch, {states.count('absent')} not downloaded"
        )
        for path, state in results:
            if state == "hash mismatch":
                print(f"  {path}: wrong hash; delete it and run `dlcourse data fetch {spec.name}`")
                status = 1
    return status


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dlcourse data`` and its subcommands."""
    parser = subparsers.add_parser(
        "data",
        help="list, download or verify the course's datasets",
        description="The course's datasets live in DLCOURSE_DATA (default ~/.cache/dlcourse).",
    )
    sub = parser.add_subparsers(dest="data_command", required=True)
    p_list = sub.add_parser("list", help="name, size, licence, and whether each one is present")
    p_list.set_defaults(func=_list)
    p_fetch = sub.add_parser("fetch", help="download or locate datasets; prints each folder")
    p_fetch.add_argument("names", nargs="*", metavar="NAME", help=f"one of {', '.join(DATASETS)}")
    p_fetch.add_argument("--all", action="store_true", help="every dataset")
    p_fetch.set_defaults(func=_fetch)
    p_verify = sub.add_parser("verify", help="re-check the hashes of downloaded archives")
    p_verify.add_argument("names", nargs="*", metavar="NAME", help="datasets (default: all)")
    p_verify.set_defaults(func=_verify)
