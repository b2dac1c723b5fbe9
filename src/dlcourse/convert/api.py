"""Convert Keras sources, notebooks and weight files: the functions behind ``dlcourse convert``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import torch

from dlcourse.convert.program import convert_units
from dlcourse.convert.read.units import parse_unit
from dlcourse.convert.report import ConvertError, Report
from dlcourse.convert.write.code_check import build_class
from dlcourse.convert.write.model_code import ModelPlan
from dlcourse.convert.write.names_check import read_line, undefined_names
from dlcourse.convert.write.notebook import convert_notebook
from dlcourse.convert.write.weights import state_dict

MAX_SOURCE_BYTES = 2**20
"""The most Python a conversion reads (a ``.py`` file, or a notebook's code cells together):
hand-written Keras programs are far smaller, and parsing grows fast with the input."""
MAX_NOTEBOOK_BYTES = 64 * 2**20
"""The largest notebook file read (outputs such as images count here, not in the code)."""


@contextmanager
def _bounded(label: str) -> Iterator[None]:
    """Inputs that Python's own parser or the converter cannot follow become one error line."""
    try:
        yield
    except (RecursionError, MemoryError):
        raise ConvertError(
            f"{label}: an expression is nested too deeply or is too long to convert "
            "(thousands of brackets, signs or terms); simplify it and convert again"
        ) from None


def _check_size(size: int, limit: int, label: str, what: str) -> None:
    if size > limit:
        raise ConvertError(
            f"{label}: {what} is {size / 2**20:.1f} MB; the converter reads at most "
            f"{limit / 2**20:.0f} MB (split the program, or convert the model code alone)"
        )


@dataclass
class Conversion:
    """A converted program: its text (Python source or notebook JSON), report and models."""

    text: str
    report: Report
    models: list[ModelPlan]


def _check_parses(source: str, label: str, notebook: bool) -> None:
    """The converter's output must be valid Python; if not, that is a bug in the converter."""
    try:
        parse_unit(label, source, label, notebook)
    except ConvertError as err:
        raise ConvertError(f"internal error, please report it with the input: {err}") from None


def _check_names(before: list[str], after: list[str], labels: list[str]) -> None:
    """Fail loudly when the output reads a name that the input defined and the output does not.

    The converter comments out every use of what it could not convert; a name left dangling is
    a bug in the converter, and the program would stop with a NameError. ``labels`` name the
    input's units: the error gives where the input reads each such name.
    """
    already = undefined_names(before)
    missing = [n for n in undefined_names(after) if n not in already]
    if missing:
        where = ", ".join(f"{name} ({_first_read(before, labels, name)})" for name in missing)
        raise ConvertError(
            "internal error, please report it with the input: the converted code would use "
            f"names it no longer defines, read in the input at: {where}"
        )


def _first_read(units: list[str], labels: list[str], name: str) -> str:
    """Where the input first reads ``name`` (its unit's label and line)."""
    for label, source in zip(labels, units, strict=True):
        line = read_line(source, name)
        if line is not None:
            return f"{label}, line {line}"
    return "nowhere in the input"


def convert_source(source: str, filename: str = "<source>") -> Conversion:
    """Convert Python source that uses Keras; the report is appended as comments."""
    _check_size(len(source.encode("utf-8", "replace")), MAX_SOURCE_BYTES, filename, "the code")
    source = source.removeprefix("\ufeff")  # a byte-order mark, as Python itself accepts
    with _bounded(filename):
        result = convert_units(
            lambda: [parse_unit(filename, source, filename, notebook=False)], filename, False
        )
        report = "\n".join(f"# {line}".rstrip() for line in result.report.to_text().splitlines())
        text = result.sources[0].rstrip("\n") + "\n\n\n" + report + "\n"
        _check_parses(text, f"{filename} (converted)", notebook=False)
        _check_names([source], [text], [filename])
    return Conversion(text, result.report, result.models)


def convert_notebook_node(nb: nbformat.NotebookNode, filename: str) -> Conversion:
    """Convert a notebook already read with nbformat."""
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        raise ConvertError(f"{filename}: not a valid Jupyter notebook ({err.message})") from None
    size = sum(len(c.source.encode("utf-8", "replace")) for c in nb.cells if c.cell_type == "code")
    _check_size(size, MAX_SOURCE_BYTES, filename, "the code in its cells")
    with _bounded(filename):
        out, result = convert_notebook(nb, filename)
        for i, cell in enumerate(out.cells):
            if cell.cell_type == "code":
                _check_parses(cell.source, f"{filename} (converted), cell {i + 1}", notebook=True)
        code = [(i, c.source) for i, c in enumerate(out.cells) if c.cell_type == "code"]
        cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        _check_names(
            [source for _, source in cells],
            [source for _, source in code],
            [f"{filename}, cell {i + 1}" for i, _ in cells],
        )
        return Conversion(nbformat.writes(out), result.report, result.models)


def convert_file(path: Path) -> Conversion:
    """Convert a ``.py`` file or an ``.ipynb`` notebook."""
    if path.suffix not in (".py", ".ipynb"):
        raise ConvertError(f"{path}: give a .py file or an .ipynb notebook")
    try:
        if not path.is_file():
            raise ConvertError(f"{path}: no such file (or not a regular file)")
        limit = MAX_SOURCE_BYTES if path.suffix == ".py" else MAX_NOTEBOOK_BYTES
        _check_size(path.stat().st_size, limit, str(path), "the file")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConvertError(f"{path}: cannot read it ({err})") from None
    if path.suffix == ".py":
        return convert_source(text, str(path))
    try:
        with _bounded(str(path)):
            nb = nbformat.reads(text, as_version=4)
    except ConvertError:
        raise
    except Exception as err:  # nbformat raises several types for bad files
        raise ConvertError(f"{path}: not a valid Jupyter notebook ({err})") from None
    return convert_notebook_node(nb, str(path))


def pick_model(conversion: Conversion, name: str | None) -> ModelPlan:
    """The converted model called ``name`` (its variable), or the only one."""
    names = [plan.model.var or plan.class_name for plan in conversion.models]
    if not conversion.models:
        raise ConvertError("no model was converted, so there is nothing to load weights into")
    if name is None:
        if len(conversion.models) > 1:
            raise ConvertError(
                f"several models were converted ({', '.join(names)}): pick one with --model"
            )
        return conversion.models[0]
    for plan, plan_name in zip(conversion.models, names, strict=True):
        if name in (plan_name, plan.class_name):
            return plan
    raise ConvertError(f"no converted model is called {name!r}; there are: {', '.join(names)}")


def convert_weights(plan: ModelPlan, weights: Path) -> dict[str, torch.Tensor]:
    """``plan``'s ``state_dict`` from a ``.keras``/``.h5`` file, checked by loading it."""
    result = state_dict(plan, weights)
    if plan.model.params:  # the class needs sizes only the program knows: cannot build it here
        return result
    module = build_class(plan.code, plan.class_name)()
    try:
        module.load_state_dict(result)
    except RuntimeError as err:
        raise ConvertError(
            f"{weights}: the weights do not fit the converted model: {err}"
        ) from None
    return result
