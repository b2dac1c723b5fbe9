"""In-memory batching: tensors live on the device and are sliced into batches.

For datasets that fit in memory (every dataset in this course) this is several times
faster than a per-sample ``DataLoader``: there is no per-sample Python work at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

Batch = tuple[torch.Tensor, ...]


class TensorBatches:
    """Iterate over aligned tensors (inputs..., target) in batches, optionally shuffled.

    ``transform`` is applied to each batch tuple, e.g. to turn ``uint8`` images into
    floats or to augment them, so the data can stay compact in memory.
    Shuffling uses its own seeded generator, whose state is saved in checkpoints so
    that a resumed run sees the same batches as an uninterrupted one.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        device: torch.device | str | None = None,
        transform: Callable[[Batch], Batch] | None = None,
        drop_last: bool = False,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        sizes = {len(t) for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"all tensors must have the same first dimension, got {sorted(sizes)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.tensors: Batch = tuple(t.to(device) if device is not None else t for t in tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.transform = transform
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_samples(self) -> int:
        """How many samples one pass yields."""
        n = len(self.tensors[0])
        return n - n % self.batch_size if self.drop_last else n

    def __len__(self) -> int:
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        n = len(self.tensors[0])
        stop = self.num_samples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.tensors[0].device)
            for start in range(0, stop, self.batch_size):
                idx = order[start : start + self.batch_size]
                yield self._finish(tuple(t[idx] for t in self.tensors))
        else:
            for start in range(0, stop, self.batch_size):
                end = start + self.batch_size
                yield self._finish(tuple(t[start:end] for t in self.tensors))

    def _finish(self, batch: Batch) -> Batch:
        return self.transform(batch) if self.transform is not None else batch

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The shuffling generator's state (for checkpoints)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the shuffling generator's state."""
        self.generator.set_state(state["generator"])


def as_batches(
    data: TensorBatches | Sequence[torch.Tensor], batch_size: int = 256
) -> TensorBatches:
    """Accept either ready batches or a tuple of tensors (then unshuffled, ``batch_size``)."""
    if isinstance(data, TensorBatches):
        return data
    return TensorBatches(*data, batch_size=batch_size)
