"""The results page's chart: every target of the course, how far its metric lies past it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from dlcourse import course
from dlcourse.atomic import atomic_file
from dlcourse.course import Target

if TYPE_CHECKING:
    from dlcourse.website.build import Card

COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "cannot judge": "#9e9e9e", "smoke": "#9e9e9e"}
CLIP = 1.0  # margins beyond ±100 % of the target are drawn at the edge


def margin(value: object, goal: Target, metrics: Mapping[str, object]) -> float | None:
    """How far ``value`` lies on the passing side of ``goal``, as a fraction of the bound (an
    absolute difference when the bound is 0); negative when the goal is missed, None when it
    cannot be judged."""
    bound = metrics.get(goal.bound) if isinstance(goal.bound, str) else goal.bound
    if not isinstance(value, int | float) or not isinstance(bound, int | float):
        return None
    past = value - bound if goal.op in (">=", ">") else bound - value
    return past / abs(bound) if bound else float(past)


def chart_rows(cards: Sequence[Card], smoke: bool) -> list[tuple[str, float, str]]:
    """One row per target metric: its label, its smallest margin over its goals (0 when none
    can be computed), and its verdict (``"smoke"`` in a quick run)."""
    rows = []
    for card in sorted(cards, key=lambda c: c.entry.path):
        metrics = card.result.metrics
        for name, goals in card.entry.parsed_targets().items():
            value = metrics.get(name)
            margins = [m for goal in goals if (m := margin(value, goal, metrics)) is not None]
            verdict = "smoke" if smoke else course.judge(value, goals, metrics)
            short = PurePosixPath(card.entry.path).stem[:28]
            label = f"{short} · {name} ({course.describe(goals)})"
            rows.append((label, min(margins) if margins else 0.0, verdict))
    return rows


def draw_results_chart(cards: Sequence[Card], dest: Path, *, smoke: bool) -> None:
    """Draw the results page's chart, every target of the course, as an SVG file."""
    rows = chart_rows(cards, smoke)
    title = "Metrics against their targets"
    title += " — smoke run, not judged" if smoke else " — green: met, red: missed"
    _draw(rows, dest, title, width=10, fmt="svg", fontsize=7)


def draw_card_chart(card: Card, dest: Path, *, smoke: bool) -> None:
    """The picture of a notebook that displays no image: its own metrics against its
    targets, as a PNG."""
    rows = [(label.split(" · ", 1)[1], m, v) for label, m, v in chart_rows([card], smoke)]
    title = "Metrics against targets" + (" (smoke run)" if smoke else "")
    _draw(rows, dest, title, width=4.8, fmt="png", fontsize=8)


def _draw(
    rows: list[tuple[str, float, str]],
    dest: Path,
    title: str,
    *,
    width: float,
    fmt: str,
    fontsize: int,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, 1.2 + 0.26 * max(len(rows), 1)), dpi=100)
    positions = list(range(len(rows)))[::-1]
    clipped = [max(-CLIP, min(CLIP, m)) for _, m, _ in rows]
    colours = [COLOURS[v] for _, _, v in rows]
    ax.barh(positions, clipped, color=colours, height=0.7)
    ax.scatter(clipped, positions, color=colours, marker="|", s=120)  # a margin of 0 shows too
    ax.set_yticks(positions, [label for label, _, _ in rows], fontsize=fontsize)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_xlim(-CLIP * 1.05, CLIP * 1.05)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("margin past the target, as a fraction of it", fontsize=fontsize)
    ax.set_title(title, fontsize=fontsize + 2)
    fig.tight_layout()
    with atomic_file(dest) as tmp:
        fig.savefig(tmp, format=fmt)
    plt.close(fig)
