"""The ``dlcourse`` command: ``run`` (execute notebooks), ``site`` (the website of a run),
``data`` (datasets), ``convert``, ``serve`` (the sentiment service)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser; each subcommand's module adds its own arguments."""
    from dlcourse.convert.cli import add_parser as add_convert
    from dlcourse.data.cli import add_parser as add_data
    from dlcourse.runner.cli import add_parser as add_run
    from dlcourse.serve.cli import add_parser as add_serve
    from dlcourse.website.cli import add_parser as add_site

    parser = argparse.ArgumentParser(prog="dlcourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_run(sub)
    add_site(sub)
    add_data(sub)
    add_convert(sub)
    add_serve(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
