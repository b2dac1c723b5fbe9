"""Save an executed notebook and its standalone HTML rendering (plots embedded)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from dlcourse.atomic import atomic_file


def save_executed(nb: NotebookNode, source: Path, dest: Path) -> Path:
    """Write ``nb`` to ``dest`` (``.ipynb``) and next to it ``.html``; returns the HTML path.

    ``source`` is the original notebook, whose folder resolves images linked from Markdown.
    """
    with atomic_file(dest) as tmp:
        nbformat.write(nb, tmp)
    resources = {"metadata": {"path": str(source.parent), "name": source.stem}}
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb, resources=resources)
    html = dest.with_suffix(".html")
    with atomic_file(html) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return html
