"""Boston housing: the 506-row table of Harrison and Rubinfeld (1978), shipped with the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse.data.containers import TabularData
from dlcourse.data.registry import Dataset, DatasetError
from dlcourse.data.store import resolve_root

FOLDER = "boston_housing"
CSV = "boston_house_prices.csv"
EMBEDDED = Path(__file__).with_name(CSV)
ROWS, COLUMNS = 506, 14  # 13 features + MEDV
SPLIT_SEED, TRAIN_FRACTION = 113, 0.8  # as keras.datasets.boston_housing.load_data


def _locate(root: Path) -> Path:
    """The data directory's copy when there is one, else the table inside the package."""
    return root / FOLDER if (root / FOLDER / CSV).is_file() else EMBEDDED.parent


SPEC = Dataset(
    name="boston_housing",
    title="Boston housing",
    folder=FOLDER,
    layout=(f"{FOLDER}/{CSV}  (optional: the package ships this table)",),
    locate=_locate,
    remote=(),
    install=None,
    licence="public (StatLib); mind the B feature",
    citation=(
        "Harrison and Rubinfeld (1978), Hedonic housing prices and the demand for clean air, "
        "J. Environ. Economics and Management 5: 81-102"
    ),
    homepage="http://lib.stat.cmu.edu/datasets/boston",
)


def read_table(path: Path) -> tuple[list[str], np.ndarray]:
    """Column names and the float64 [506, 14] values of the CSV (header row, StatLib order)."""
    try:
        with open(path, encoding="utf-8") as fh:
            names = [name.strip().strip('"') for name in fh.readline().split(",")]
            values = np.loadtxt(fh, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path} is not a readable Boston housing CSV ({err}).") from None
    if values.shape != (ROWS, COLUMNS) or len(names) != COLUMNS:
        raise DatasetError(
            f"{path} holds {values.shape[0]} rows x {values.shape[1]} columns and "
            f"{len(names)} names; the Boston table has {ROWS} x {COLUMNS}. Delete it to use "
            "the table shipped with the package."
        )
    return names, values


def load_boston_housing(root: Path | str | None = None, download: bool = True) -> TabularData:
    """Load the Boston housing table, split exactly as ``keras.datasets.boston_housing`` does.

    The table ships inside the package, so nothing is downloaded (``download`` is accepted for a
    uniform signature); a copy at ``<root>/boston_housing/boston_house_prices.csv`` takes
    precedence. Rows are shuffled with ``np.random.RandomState(113)`` and the first 80 % train.

    Returns a :class:`TabularData`: ``x_train`` float32 [404, 13], ``y_train`` float32 [404]
    (MEDV, median home value in k$), ``x_test`` [102, 13], ``y_test`` [102], ``feature_names``
    (CRIM, ZN, ..., LSTAT) and ``target_name`` ``"MEDV"``.

    Ethics: the feature ``B`` is 1000 (Bk - 0.63)^2 where Bk is the proportion of Black
    residents of the town. It was built on the assumption that racial self-segregation raises
    house prices, and its transformation cannot be inverted to recover Bk. scikit-learn removed
    ``load_boston`` for this reason. Teach with it only while saying so; consider dropping ``B``.
    """
    names, table = read_table(_locate(resolve_root(root)) / CSV)
    order = np.arange(ROWS)
    np.random.RandomState(SPLIT_SEED).shuffle(order)
    x, y = table[order, :-1].astype(np.float32), table[order, -1].astype(np.float32)
    n_train = int(ROWS * TRAIN_FRACTION)
    return TabularData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], names[:-1], names[-1])
