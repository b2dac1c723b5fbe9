"""The course catalogue: every notebook, what it teaches, and its full-mode targets."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Target:
    """A full-mode goal such as ``>= 0.88`` or ``< linear_baseline_test_mae``."""

    op: str
    bound: float | str

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse ``"<op> <number or metric name>"``."""
        op, _, rest = text.strip().partition(" ")
        if op not in _OPS or not rest.strip():
            raise ValueError(f"target {text!r} must look like '>= 0.9' or '< other_metric'")
        rest = rest.strip()
        try:
            return cls(op, float(rest))
        except ValueError:
            return cls(op, rest)

    def check(self, value: object, metrics: Mapping[str, object]) -> bool | None:
        """True/False when the goal can be judged from ``metrics``, None when it cannot."""
        bound = metrics.get(self.bound) if isinstance(self.bound, str) else self.bound
        if not isinstance(value, int | float) or not isinstance(bound, int | float):
            return None
        return _OPS[self.op](value, bound)

    def __str__(self) -> str:
        bound = f"{self.bound:g}" if isinstance(self.bound, float) else self.bound
        return f"{self.op} {bound}"


@dataclass(frozen=True)
class Notebook:
    """One course notebook, relative to the ``PyTorch/`` folder."""

    path: str
    title: str
    summary: str
    dataset: str
    targets: Mapping[str, str] = field(default_factory=dict)

    def parsed_targets(self) -> dict[str, list[Target]]:
        """Each metric's goals; ``"<= 2.5 and < other"`` gives two :class:`Target` objects."""
        return {
            name: [Target.parse(part) for part in text.split(" and ")]
            for name, text in self.targets.items()
        }


COURSE: tuple[Notebook, ...] = (
    Notebook(
        "01_Basics/00_fashion_mnist_basic_cnn.ipynb",
        "Fashion-MNIST: your first network, loop written out",
        "Keras Sequential to nn.Module, a hand-written training loop, then a small CNN",
        "Fashion-MNIST",
        # No time target: how fast PyTorch trains against Keras is measured side by side in
        # RESULTS.md (benchmarks/), not against a figure from another machine.
        {
            "mlp_test_accuracy": ">= 0.88",
            "cnn_test_accuracy": ">= 0.91",
        },
    ),
    Notebook(
        "01_Basics/01_learn_sine_regression.ipynb",
        "Learning a sine: why the Keras original failed",
        "Input scaling, honest validation splits, interpolation vs extrapolation",
        "synthetic sine",
        {"val_mse": "<= 0.001"},
    ),
    Notebook(
        "01_Basics/02_boston_house_price_regression.ipynb",
        "Boston house prices: regression done carefully",
        "Scaling without leakage, early stopping, K-fold CV, a linear baseline",
        "Boston housing",
        {"test_mae": "<= 2.5 and < linear_baseline_test_mae"},
    ),
)


def find(path: str | Path) -> Notebook | None:
    """The catalogue entry for a notebook path (absolute or relative), if any."""
    parts = Path(path).as_posix()
    for nb in COURSE:
        if parts.endswith(nb.path):
            return nb
    return None
