"""dlcourse: the small library behind the PyTorch deep-learning course notebooks."""

from dlcourse.config import (
    data_dir,
    get_device,
    is_quick,
    pick,
    seed_everything,
    setup,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "data_dir",
    "get_device",
    "is_quick",
    "pick",
    "seed_everything",
    "setup",
]
