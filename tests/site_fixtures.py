"""A run folder as ``dlcourse run`` writes it, made without a kernel: executed notebooks with
image outputs, and ``results.json``. The website tests build sites from it in seconds."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from dlcourse import course
from dlcourse.runner.figures import save_thumbnail, thumbnail_relpath
from dlcourse.runner.paths import output_relpath
from dlcourse.runner.report_html import write_index
from dlcourse.runner.results import NotebookResult, save_results


def png(colour: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A plain PNG picture."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def executed_notebook(title: str, colours: list[str]) -> nbformat.NotebookNode:
    """A notebook whose code cells each displayed one picture."""
    cells = [new_markdown_cell(f"# {title}\n\nA lesson.")]
    for i, colour in enumerate(colours):
        cell = new_code_cell(f"show({i})", execution_count=i + 1)
        data = {"image/png": base64.b64encode(png(colour)).decode(), "text/plain": "<Figure>"}
        cell.outputs = [new_output("display_data", data=data)]
        cells.append(cell)
    return new_notebook(cells=cells)


def passing_metrics(entry: course.Notebook) -> dict[str, float]:
    """Metrics that meet every target of ``entry``."""
    metrics: dict[str, float] = {}
    for name, goals in entry.parsed_targets().items():
        numbers = [goal for goal in goals if isinstance(goal.bound, float)]
        value = numbers[0].bound if numbers else 1.0
        if numbers and numbers[0].op in (">", "<"):
            value += 1 if numbers[0].op == ">" else -1
        metrics[name] = value
        for goal in goals:
            if isinstance(goal.bound, str):
                metrics[goal.bound] = value - 0.5 if ">" in goal.op else value + 0.5
    return metrics


def write_run(out: Path, entries: list[course.Notebook], *, mode: str = "quick") -> Path:
    """A run folder with ``entries`` executed (three pictures each) and their results."""
    results = []
    for entry in entries:
        name = f"PyTorch/{entry.path}"
        nb = executed_notebook(entry.title, ["red", "green", "blue"])
        dest = out / output_relpath(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)
        save_thumbnail(nb, entry.figure, out / thumbnail_relpath(name))
        results.append(NotebookResult(name, mode, "ok", 75.0, "cpu", passing_metrics(entry)))
    save_results(results, out / "results.json")
    write_index(results, out)
    return out


class _Links(HTMLParser):
    """Every ``href`` and ``src`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                self.found.append(value)


def broken_links(site: Path, root: str = "/") -> list[str]:
    """Internal links and images of every page under ``site`` that point at no file, as
    ``page -> link``. Links with a scheme (https:, data:, mailto:) are external and skipped;
    links from the server's root start with ``root``, the site's path when published."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.found:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            path = unquote(parts.path)
            if path.startswith("/"):
                if not path.startswith(root):
                    broken.append(f"{page.relative_to(site)} -> {link} (outside {root})")
                    continue
                target = (site / path[len(root) :]).resolve()
            else:
                target = (page.parent / path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {link}")
    return broken
