"""The course's datasets by name, and fetching one by name."""

from __future__ import annotations

from pathlib import Path

from dlcourse.data import boston, cifar10, fashion_mnist, imdb, isbi2012, minilm
from dlcourse.data.registry import Dataset, DatasetError
from dlcourse.data.store import ensure, resolve_root

DATASETS: dict[str, Dataset] = {
    spec.name: spec
    for spec in (
        fashion_mnist.SPEC,
        cifar10.SPEC,
        imdb.SPEC,
        isbi2012.SPEC,
        boston.SPEC,
        minilm.SPEC,
    )
}


def get_dataset(name: str) -> Dataset:
    """The dataset called ``name``; :class:`DatasetError` listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}."
        ) from None


def fetch(name: str, root: Path | str | None = None, download: bool = True) -> Path:
    """Make sure dataset ``name`` is in the data directory (downloading it if needed); return
    the folder that holds it. Raises :class:`DatasetError` with what to do when it cannot."""
    return ensure(get_dataset(name), resolve_root(root), download)
