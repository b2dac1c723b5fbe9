"""``dlcourse convert``: Keras code or notebook in, PyTorch out, with a report."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

import torch

from dlcourse.atomic import atomic_file
from dlcourse.convert.api import convert_file, convert_weights, pick_model
from dlcourse.convert.report import ConvertError

LEFT_FOR_USER = 3
"""Exit status when the output was written with constructs left for the user to port."""

_EPILOG = """\
examples:
  dlcourse convert model.py                      writes model_torch.py
  dlcourse convert lesson.ipynb -o lesson_pt.ipynb
  dlcourse convert model.py --weights model.keras --weights-out model.pt

Everything not converted is left in place, commented out, and listed in the report (printed
here, appended to a .py output, and as the last cell of a notebook). On any error nothing is
written. Exit status: 0 everything converted; 3 written, with items left for you (see the
report); 1 error (nothing written; also --strict with items left); 2 bad usage.
See docs/keras_to_pytorch.md.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``dlcourse convert``."""
    parser = subparsers.add_parser(
        "convert",
        help="convert Keras code, notebooks and weights to PyTorch",
        description="Convert Keras code (.py or .ipynb) to readable PyTorch, and optionally "
        "a saved Keras model's weights to a PyTorch state_dict.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="a .py file or an .ipynb notebook using Keras")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="where to write the PyTorch version (default: INPUT_torch.py/.ipynb; '-' prints it)",
    )
    parser.add_argument(
        "--weights", type=Path, help="a Keras model saved with model.save(): .keras or .h5"
    )
    parser.add_argument(
        "--weights-out", type=Path, help="the state_dict file to write (default: WEIGHTS.pt)"
    )
    parser.add_argument(
        "--model", help="which converted model the weights belong to (its variable name)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (writing nothing) if anything is left unconverted",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert, then write every output only when everything succeeded."""
    source: Path = args.input
    output: Path = args.output or source.with_name(f"{source.stem}_torch{source.suffix}")
    try:
        if args.weights_out and not args.weights:
            raise ConvertError("--weights-out needs --weights MODEL.keras|.h5")
        if args.weights:
            args.weights_out = args.weights_out or args.weights.with_suffix(".pt")
        _check_paths(source, output, args.weights, args.weights_out)
        conversion = convert_file(source)
        if args.strict and conversion.report.left:
            print(conversion.report.to_text(), file=sys.stderr)
            raise ConvertError(
                f"{len(conversion.report.left)} construct(s) not converted (--strict)"
            )
        state = None
        if args.weights:
            plan = pick_model(conversion, args.model)
            state = convert_weights(plan, args.weights)
    except ConvertError as err:
        print(f"dlcourse convert: error: {err}\nNothing was written.", file=sys.stderr)
        return 1
    print(conversion.report.to_text(), file=sys.stderr)
    try:
        _write(output, conversion.text, state, args, plan.class_name if state else "")
    except OSError as err:
        print(f"dlcourse convert: error: cannot write the output ({err})", file=sys.stderr)
        return 1
    return LEFT_FOR_USER if conversion.report.roots else 0


def _check_paths(
    source: Path, output: Path, weights: Path | None, weights_out: Path | None
) -> None:
    """Refuse outputs that would replace an input, each other, or something not a file.

    Paths are compared resolved (links followed), so ``./a.py`` and a link to it are one file.
    An existing target must be a regular file: as root, ``-o /dev/null`` would otherwise
    replace the system's /dev/null with a file.
    """
    inputs = {"the input": source, "--weights": weights}
    outputs = {"-o": None if output == Path("-") else output, "--weights-out": weights_out}
    seen: dict[Path, str] = {}
    for role, path in {**inputs, **outputs}.items():
        if path is None:
            continue
        resolved = path.resolve()
        if resolved in seen:
            raise ConvertError(
                f"{path}: {role} and {seen[resolved]} name the same file; "
                "give each output its own name"
            )
        seen[resolved] = role
        if role in outputs and os.path.lexists(path):
            mode = path.stat().st_mode if path.exists() else 0
            if stat.S_ISDIR(mode):
                raise ConvertError(f"{path} is a directory: give {role} a file name")
            if not stat.S_ISREG(mode):
                raise ConvertError(
                    f"{path} exists and is not a regular file (a device, pipe, socket or "
                    f"broken link): give {role} a file name"
                )


def _write(
    output: Path, text: str, state: dict | None, args: argparse.Namespace, model: str
) -> None:
    """Write the converted code (or print it with ``-o -``) and the converted weights."""
    if output == Path("-"):
        sys.stdout.write(text)
    else:
        with atomic_file(output) as tmp:
            tmp.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    if state is not None:
        weights_out = args.weights_out
        with atomic_file(weights_out) as tmp:
            torch.save(state, tmp)
        print(f"wrote {weights_out} ({len(state)} tensors for {model})", file=sys.stderr)
