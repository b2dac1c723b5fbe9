"""Convert a notebook: code cells converted together, markdown kept, the report appended."""

from __future__ import annotations

import copy

import nbformat

from dlcourse.convert.program import Result, convert_units
from dlcourse.convert.read.units import parse_unit

_HELPERS_INTRO = """### The training loop, written out

PyTorch has no `fit`, `evaluate` or `predict`: the cell below (added by `dlcourse convert`)
writes them as a plain loop over mini-batches. `train_one_epoch` is the loop of `01_Basics/00`,
and `fit(model, loss_fn, optimizer, x, y, ...)` takes the loss and the optimizer that `compile`
became. Read it once; change it freely."""


def _cell(kind: str, source: str, minor: int) -> nbformat.NotebookNode:
    cell = (
        nbformat.v4.new_markdown_cell(source)
        if kind == "markdown"
        else nbformat.v4.new_code_cell(source)
    )
    if minor < 5:  # cell ids arrived with nbformat 4.5
        cell.pop("id", None)
    return cell


def convert_notebook(
    nb: nbformat.NotebookNode, origin: str
) -> tuple[nbformat.NotebookNode, Result]:
    """The converted copy of ``nb`` and what the conversion did."""
    code = [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]

    def parse() -> list:
        return [parse_unit(f"cell {i + 1}", cell.source, origin, notebook=True) for i, cell in code]

    result = convert_units(parse, origin, notebook=True)
    out = copy.deepcopy(nb)
    minor = int(out.get("nbformat_minor", 5))
    for (i, _), source in zip(code, result.sources, strict=True):
        cell = out.cells[i]
        if cell.source != source:
            cell.source = source
        cell.outputs, cell.execution_count = [], None
    if result.helpers is not None:
        position = code[result.helpers_before][0]
        out.cells[position:position] = [
            _cell("markdown", _HELPERS_INTRO, minor),
            _cell("code", result.helpers.rstrip("\n"), minor),
        ]
    out.cells.append(_cell("markdown", result.report.to_markdown(), minor))
    nbformat.validate(out)
    return out, result
