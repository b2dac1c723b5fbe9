"""Save an executed notebook and its standalone HTML rendering (plots embedded)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbformat import NotebookNode


def save_executed(nb: NotebookNode, source: Path, dest: Path) -> Path:
    """Write ``nb`` to ``dest`` (``.ipynb``) and next to it ``.html``; returns the HTML path.

    ``source`` is the original notebook, whose folder resolves images linked from Markdown.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    resources = {"metadata": {"path": str(source.parent), "name": source.stem}}
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb, resources=resources)
    html = dest.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html
