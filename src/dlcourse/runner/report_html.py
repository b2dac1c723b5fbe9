"""``index.html``: one self-contained page with a row per notebook and its metrics vs targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from dlcourse import course
from dlcourse.atomic import atomic_file
from dlcourse.course import Target, format_number
from dlcourse.runner.figures import thumbnail_relpath
from dlcourse.runner.paths import output_relpath
from dlcourse.runner.results import Metric, NotebookResult

INDEX_FILE = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
col.nb { width: 25%; } col.status { width: 11%; } col.mode { width: 7%; }
col.min { width: 8%; } col.device { width: 7%; } col.metrics { width: 42%; }
th, td { border-bottom: 1px solid #ddd; padding: .45rem .6rem; text-align: left;
         vertical-align: top; }
td { overflow-wrap: anywhere; }
th { background: #f4f4f4; }
td.num { text-align: right; }
img.thumb { display: block; width: 100%; max-width: 220px; height: auto; margin-bottom: .3rem;
            border: 1px solid #eee; }
.path { color: #666; font-size: .85em; font-family: monospace; }
.ok { color: #17702a; font-weight: 600; }
.failed { color: #b00020; font-weight: 600; }
.error { color: #b00020; font-family: monospace; font-size: .85em; margin-top: .3rem; }
.warning { color: #8a5a00; font-family: monospace; font-size: .85em; margin-top: .3rem; }
table.metrics { font-size: .9em; }
table.metrics td { border: none; padding: .1rem .5rem .1rem 0; }
table.metrics td:nth-child(1) { width: 42%; }
table.metrics td:nth-child(2) { width: 17%; white-space: nowrap; overflow-wrap: normal; }
table.metrics td:nth-child(3) { width: 26%; }
table.metrics td:nth-child(4) { width: 15%; overflow-wrap: normal; }
.pass { color: #17702a; white-space: nowrap; }
.fail { color: #b00020; white-space: nowrap; }
.unjudged { color: #777; }
"""


def write_index(results: Sequence[NotebookResult], out: Path) -> Path:
    """Write ``out/index.html`` for ``results`` atomically; links go to the renderings present
    in ``out``."""
    path = out / INDEX_FILE
    page = render_index(results, out)
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def render_index(results: Sequence[NotebookResult], out: Path) -> str:
    """The report page as a string."""
    failed = sum(r.status == "failed" for r in results)
    timed_out = sum(r.status == "timeout" for r in results)
    interrupted = sum(r.status == "interrupted" for r in results)
    stopped = f", {timed_out} timed out" if timed_out else ""
    stopped += f", {interrupted} interrupted" if interrupted else ""
    ok = len(results) - failed - timed_out - interrupted
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = "\n".join(_row(r, out) for r in results)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Course run report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Course run report</h1>
<p>{len(results)} notebook(s): {ok} ok, {failed} failed{stopped}.
Written {when} by
<code>dlcourse run</code>. Targets are judged in full mode only; a quick run is a smoke test on
small subsets, so its figures are shown next to the targets without a verdict.</p>
<table>
<colgroup><col class="nb"><col class="status"><col class="mode"><col class="min">
<col class="device"><col class="metrics"></colgroup>
<thead><tr><th>Notebook</th><th>Status</th><th>Mode</th><th>Minutes</th><th>Device</th>
<th>Metrics (value, target)</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def _row(result: NotebookResult, out: Path) -> str:
    entry = course.find(result.notebook)
    title = escape(entry.title if entry else PurePosixPath(result.notebook).stem)
    rendering = output_relpath(result.notebook).with_suffix(".html")
    thumb = thumbnail_relpath(result.notebook)
    picture = (
        f'<img class="thumb" src="{escape(quote(thumb.as_posix()))}" alt="" loading="lazy">'
        if (out / thumb).exists()
        else ""
    )
    if (out / rendering).exists():
        href = escape(quote(rendering.as_posix()))
        title = f'<a href="{href}">{picture}{title}</a>'
    else:
        title = picture + title
    status = f'<span class="{"ok" if result.ok else "failed"}">{escape(result.status)}</span>'
    if result.error:
        status += f'<div class="error">{escape(result.error)}</div>'
    for warning in result.warnings:
        status += f'<div class="warning">warning: {escape(warning)}</div>'
    targets = entry.parsed_targets() if entry else {}
    return (
        f'<tr><td>{title}<div class="path">{escape(result.notebook)}</div></td>'
        f"<td>{status}</td><td>{escape(result.mode)}</td>"
        f'<td class="num">{result.seconds / 60:.1f}</td><td>{escape(result.device)}</td>'
        f"<td>{_metrics_table(result, targets)}</td></tr>"
    )


def _metrics_table(result: NotebookResult, targets: Mapping[str, list[Target]]) -> str:
    names = list(result.metrics) + [name for name in targets if name not in result.metrics]
    if not names:
        return ""
    lines = []
    for name in names:
        goals = targets.get(name, [])
        value = result.metrics.get(name)
        shown = "not recorded" if value is None else _format(value)
        goal_text = course.describe(goals)
        lines.append(
            f"<tr><td>{escape(name)}</td><td>{escape(shown)}</td><td>{escape(goal_text)}</td>"
            f"<td>{_verdict(result, value, goals) if goals else ''}</td></tr>"
        )
    return '<table class="metrics">' + "".join(lines) + "</table>"


def _verdict(result: NotebookResult, value: Metric | None, goals: Sequence[Target]) -> str:
    """A pass/fail mark in full mode (a missing metric fails); quick mode is not judged."""
    if result.mode != "full":
        return '<span class="unjudged">quick run</span>'
    return _MARKS[course.judge(value, goals, result.metrics)]


_MARKS = {
    "pass": '<span class="pass">&#10003; pass</span>',
    "fail": '<span class="fail">&#10007; fail</span>',
    "cannot judge": '<span class="unjudged">? cannot judge</span>',
}


def _format(value: Metric) -> str:
    if isinstance(value, float) and abs(value) >= 1e4:
        return f"{value:,.0f}"
    return format_number(value) if isinstance(value, int | float) else str(value)
