"""Build the course website with MkDocs (Material theme, mkdocs-jupyter) from an earlier run.

Nothing is executed: the pages show the notebooks exactly as ``dlcourse run`` executed them, and
every figure on the site (cards, chart, tables) comes from that run's ``results.json``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import nbformat
import yaml

from dlcourse import course
from dlcourse.course import format_number
from dlcourse.runner.errors import RunnerError
from dlcourse.runner.figures import save_thumbnail, thumbnail_relpath
from dlcourse.runner.paths import output_relpath
from dlcourse.runner.results import NotebookResult, load_machine_info, load_results
from dlcourse.website.chart import draw_card_chart, draw_results_chart
from dlcourse.website.cli import DEFAULT_REPO

THEME_DIR = Path(__file__).with_name("theme")
MARKER = ".dlcourse-site"  # in every built site: only such a folder is ever replaced
_INTRO = (
    "Notebooks that teach deep learning with PyTorch, from a first network to segmentation, "
    "time series and a deployed text classifier. Each writes its network, loss and training "
    "in its own cells, runs on a laptop CPU, and states a target; every number and picture "
    "here comes from one run of the course ([results](results.md))."
)


class SiteError(Exception):
    """A website that cannot be built from what was given (the message says why)."""


@dataclass(frozen=True)
class Card:
    """One notebook as the site shows it."""

    entry: course.Notebook
    result: NotebookResult
    page: str | None  # the executed notebook in the docs folder, when the run kept it
    thumb: str | None  # its picture: its key figure, else a chart of its metrics and targets


def build_site(
    run: Path,
    dest: Path,
    *,
    project: Path,
    repo: str = DEFAULT_REPO,
    branch: str = "main",
) -> Path:
    """Build the website of run folder ``run`` into ``dest`` (replaced) and return its landing
    page. ``project`` is the course's root (for RESULTS.md and docs/), ``repo`` and ``branch``
    the GitHub repository the "Open in Colab" buttons open."""
    results = _load(run)
    _check_dest(dest, run, project)
    with tempfile.TemporaryDirectory(prefix="dlcourse-site-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        cards = [_card(result, run, docs) for result in results if course.find(result.notebook)]
        if not cards:
            raise SiteError(f"{run / 'results.json'} names no notebook of the course catalogue")
        smoke = any(card.result.mode != "full" for card in cards)
        info = load_machine_info(run / "run.json")
        (docs / "index.md").write_text(_landing(cards, smoke), encoding="utf-8")
        draw_results_chart(cards, docs / "results.svg", smoke=smoke)
        (docs / "results.md").write_text(_results_page(cards, info, smoke), encoding="utf-8")
        extras = _copy_docs(project, docs)
        (docs / "extra.css").write_text((THEME_DIR / "extra.css").read_text("utf-8"), "utf-8")
        config = _config(cards, extras, docs, Path(tmp) / "site", smoke, repo, branch)
        config_file = Path(tmp) / "mkdocs.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        _mkdocs_build(config_file)
        built = Path(tmp) / "site"
        (built / ".nojekyll").touch()
        (built / MARKER).write_text("built by dlcourse site\n", encoding="utf-8")
        _replace(dest, built)
    return dest / "index.html"


def _check_dest(dest: Path, run: Path, project: Path) -> None:
    """Refuse a ``dest`` whose replacement would delete something else: the run, the project,
    or a folder that is not a site built here."""
    where = dest.resolve()
    for kept, what in ((run.resolve(), "the run folder"), (project.resolve(), "the project")):
        if where == kept or where in kept.parents:
            raise SiteError(f"--out {dest} holds {what} ({kept}); choose a folder like build/site")
    if where.exists() and (
        not where.is_dir() or (any(where.iterdir()) and not (where / MARKER).is_file())
    ):
        raise SiteError(
            f"--out {dest} exists and is not a site built by dlcourse site (no {MARKER}); "
            "remove it or choose another folder"
        )


def _load(run: Path) -> list[NotebookResult]:
    if not (run / "results.json").is_file():
        raise SiteError(
            f"{run} holds no results.json: build the site from a folder written by "
            "`dlcourse run` (make full, or make run for a smoke run)"
        )
    try:
        return load_results(run / "results.json")
    except RunnerError as err:
        raise SiteError(str(err)) from None


def _card(result: NotebookResult, run: Path, docs: Path) -> Card:
    """Copy the executed notebook into ``docs`` and cut its thumbnail."""
    entry = course.find(result.notebook)
    assert entry is not None
    source = run / output_relpath(result.notebook)
    if not source.is_file():
        return Card(entry, result, None, None)
    page = output_relpath(result.notebook)
    (docs / page).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, docs / page)
    thumb = thumbnail_relpath(result.notebook)
    try:
        nb = nbformat.read(source, as_version=4)
    except (OSError, ValueError) as err:
        raise SiteError(f"{source} cannot be read as a notebook ({err})") from None
    card = Card(entry, result, page.as_posix(), thumb.as_posix())
    if not save_thumbnail(nb, entry.figure, docs / thumb):
        draw_card_chart(card, docs / thumb, smoke=result.mode != "full")
    return card


def _headline(card: Card, smoke: bool) -> str:
    """The card's line: minutes, then the headline metric against its target."""
    minutes = f"{card.result.seconds / 60:.1f} min"
    if not card.result.ok:
        return f"{minutes} · <span class='fail'>{card.result.status}</span>"
    name = card.entry.headline_metric
    goals = card.entry.parsed_targets().get(name, [])
    value = card.result.metrics.get(name)
    shown = "not recorded" if value is None else _fmt(value)
    line = f"{minutes} · `{name}` {shown}"
    if goals:
        line += f" (target {_target(goals, card.result.metrics)})"
        if not smoke:
            verdict = course.judge(value, goals, card.result.metrics)
            mark = {"pass": "✓ pass", "fail": "✗ fail"}.get(verdict, "? cannot judge")
            line += f" <span class='{verdict.split()[0]}'>{mark}</span>"
    return line


def _target(goals: Sequence[course.Target], metrics: dict[str, object]) -> str:
    """The goals as the catalogue means them, with the value of a metric a goal names
    (``> scratch_val_accuracy (0.62)``)."""
    text = course.describe(goals)
    for goal in goals:
        if isinstance(goal.bound, str) and isinstance(metrics.get(goal.bound), int | float):
            text = text.replace(goal.bound, f"{goal.bound} ({_fmt(metrics[goal.bound])})", 1)
    return text


def _fmt(value: object) -> str:
    return format_number(value) if isinstance(value, int | float) else str(value)


def _landing(cards: Sequence[Card], smoke: bool) -> str:
    front = ["---", "hide:", "  - navigation", "  - toc", "---", ""]
    lines = [*front, "# Deep learning with PyTorch { .landing }", "", _INTRO, ""]
    lines += ['<div class="chapters" markdown>', ""]
    for chapter, members in _by_chapter(cards):
        # Chapters sit side by side, each as wide as its cards (extra.css), so that the first
        # rows of pictures show without scrolling.
        lines += [f'<div class="chapter" style="--cards: {len(members)}" markdown>', ""]
        lines += [f"## {course.CHAPTERS.get(chapter, chapter)} {{ .chapter }}", ""]
        lines += ['<div class="grid cards" markdown>', ""]
        for card in members:
            lines += _card_markdown(card, smoke)
        lines += ["</div>", "", "</div>", ""]
    lines += ["</div>", ""]
    return "\n".join(lines)


def _card_markdown(card: Card, smoke: bool) -> list[str]:
    title = card.entry.title
    link = card.page
    picture = (
        f'![Key figure of "{title}"]({card.thumb}){{ .thumb loading=lazy }}'
        if card.thumb
        else "*(no figure)*"
    )
    head = f"[{picture}]({link})" if link else picture
    name = f"**[{title}]({link})**" if link else f"**{title}**"
    return [
        f"-   {head}",
        "",
        f"    {name}",
        "",
        f"    {card.entry.summary}",
        "",
        f"    {_headline(card, smoke)}",
        "    { .card-meta }",
        "",
    ]


def _by_chapter(cards: Sequence[Card]) -> list[tuple[str, list[Card]]]:
    chapters: dict[str, list[Card]] = {}
    for card in sorted(cards, key=lambda c: c.entry.path):
        chapters.setdefault(card.entry.chapter, []).append(card)
    return list(chapters.items())


def _results_page(cards: Sequence[Card], info: dict[str, str], smoke: bool) -> str:
    total = sum(card.result.seconds for card in cards) / 60
    mode = "quick (smoke run)" if smoke else "full"
    lines = ["# Results of this run", ""]
    if smoke:
        lines += [
            '!!! warning "Smoke run"',
            "    A quick-mode run: the figures below are not judged against the targets.",
            "",
        ]
    lines += [
        "| Run | |",
        "| --- | --- |",
        f"| Mode | {mode} |",
        f"| Written | {info.get('written', 'not recorded')} |",
        f"| Machine | {info.get('processor', 'not recorded')}, {info.get('cores', '?')} cores, "
        f"{info.get('os', '?')} |",
        f"| Device, torch threads | {info.get('device', '?')}, {info.get('threads', '?')} |",
        f"| Versions | Python {info.get('python', '?')}, torch {info.get('torch', '?')}, "
        f"dlcourse {info.get('dlcourse', '?')} |",
        f"| Total time | {total:.1f} min for {len(cards)} notebooks |",
        "",
        "## Metrics against targets",
        "",
        "Each bar is how far a metric lies past its target, as a fraction of the target (right "
        "of the line: target met). Targets are judged in full mode only.",
        "",
        "![Each notebook's metrics against their targets](results.svg)",
        "",
        "| Notebook | Status | Minutes | Metric | Value | Target | Verdict |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for card in sorted(cards, key=lambda c: c.entry.path):
        name = PurePosixPath(card.entry.path).stem
        link = f"[{name}]({card.page})" if card.page else name
        targets = card.entry.parsed_targets()
        for i, (metric, goals) in enumerate(targets.items()):
            value = card.result.metrics.get(metric)
            verdict = "not judged" if smoke else course.judge(value, goals, card.result.metrics)
            first = (
                (link, card.result.status, f"{card.result.seconds / 60:.1f}")
                if i == 0
                else ("", "", "")
            )
            shown = "not recorded" if value is None else _fmt(value)
            target = _target(goals, card.result.metrics)
            cells = (*first, f"`{metric}`", shown, target, verdict)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _copy_docs(project: Path, docs: Path) -> list[dict[str, str]]:
    """The converter's guide and RESULTS.md, when the project has them; their nav entries."""
    pages = [
        ("Keras → PyTorch converter", project / "docs/keras_to_pytorch.md", "converter.md"),
        ("Measurements (RESULTS.md)", project / "RESULTS.md", "measurements.md"),
    ]
    nav = []
    for title, source, name in pages:
        if source.is_file():
            shutil.copyfile(source, docs / name)
            nav.append({title: name})
    return nav


def _config(
    cards: Sequence[Card],
    extras: list[dict[str, str]],
    docs: Path,
    site: Path,
    smoke: bool,
    repo: str,
    branch: str,
) -> dict[str, object]:
    nav: list[object] = [{"Home": "index.md"}]
    for chapter, members in _by_chapter(cards):
        pages = [{c.entry.title: c.page} for c in members if c.page]
        if pages:
            nav.append({course.CHAPTERS.get(chapter, chapter): pages})
    nav += [{"Results of this run": "results.md"}, *extras]
    owner, _, name = repo.partition("/")
    return {
        "site_name": "Deep learning with PyTorch" + (" (smoke run)" if smoke else ""),
        "site_url": f"https://{owner.lower()}.github.io/{name}/",  # where GitHub Pages serves it
        "docs_dir": str(docs),
        "site_dir": str(site),
        "use_directory_urls": False,  # plain .html files: the site also works opened from disk
        "theme": {
            "name": "material",
            "custom_dir": str(THEME_DIR),
            "features": [
                "navigation.sections",
                "navigation.footer",
                "navigation.top",
                "search.suggest",
                "search.highlight",
            ],
            "palette": [
                {
                    "media": "(prefers-color-scheme: light)",
                    "scheme": "default",
                    "primary": "deep orange",
                    "toggle": {"icon": "material/brightness-7", "name": "Dark theme"},
                },
                {
                    "media": "(prefers-color-scheme: dark)",
                    "scheme": "slate",
                    "primary": "deep orange",
                    "toggle": {"icon": "material/brightness-4", "name": "Light theme"},
                },
            ],
        },
        "extra": {"smoke": smoke, "repo": repo, "branch": branch},
        "extra_css": ["extra.css"],
        "markdown_extensions": [
            "admonition",
            "attr_list",
            "md_in_html",
            "tables",
            {"toc": {"permalink": True}},
            "pymdownx.superfences",
        ],
        "plugins": [
            "search",
            {
                "mkdocs-jupyter": {
                    "include": ["*.ipynb"],
                    "include_source": True,  # the executed .ipynb beside its page, to download
                    "ignore_h1_titles": True,  # the catalogue's titles, as on the cards
                    "execute": False,
                    "cache": False,
                }
            },
        ],
        "nav": nav,
    }


def _mkdocs_build(config_file: Path) -> None:
    """``mkdocs build`` in this process (quiet but for warnings)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    config = load_config(config_file=str(config_file))
    build(config)


def _replace(dest: Path, built: Path) -> None:
    """Put ``built`` where ``dest`` is; the old site is removed only once the new one is
    complete."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    shutil.copytree(built, staged, dirs_exist_ok=True)
    old = dest.with_name(f".{dest.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staged.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
