"""In-memory batching: tensors live on the device and are sliced into batches.

For datasets that fit in memory (every small dataset in this course) slicing tensors has no
per-sample Python work. Measured in RESULTS.md (``benchmarks/bench_engine.py``): level with a
``DataLoader`` over in-memory tensors, and 2.2-2.6x faster than torchvision's per-sample
pipeline (decoding and ``ToTensor`` for every image).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch

Batch = tuple[torch.Tensor, ...]


class TensorBatches:
    """Iterate over aligned tensors (inputs..., target) in batches, optionally shuffled.

    ``transform`` is applied to each batch tuple, e.g. to turn ``uint8`` images into
    floats or to augment them, so the data can stay compact in memory.
    Shuffling uses its own seeded generator, whose state is saved in checkpoints so
    that a resumed run sees the same batches as an uninterrupted one.

    ``rank`` and ``world_size`` split every epoch between processes (``torch.distributed``):
    all ranks draw the same order, and rank ``r`` takes samples ``r, r + world_size, ...``.
    With ``even=True`` (training) the order is first padded by wrapping around, as
    ``DistributedSampler`` does, so that every rank runs the same number of batches;
    ``even=False`` (evaluation) leaves the shards disjoint and uneven.
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
        rank: int = 0,
        world_size: int = 1,
        even: bool = True,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        sizes = {len(t) for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"all tensors must have the same first dimension, got {sorted(sizes)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank {rank} of {world_size}")
        self.tensors: Batch = tuple(t.to(device) if device is not None else t for t in tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.transform = transform
        self.drop_last = drop_last
        self.rank, self.world_size, self.even = rank, world_size, even
        self.generator = torch.Generator().manual_seed(seed)

    def shard(self, rank: int, world_size: int, *, even: bool = True) -> TensorBatches:
        """The same data and generator, split for process ``rank`` of ``world_size``."""
        view = TensorBatches(
            *self.tensors,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            transform=self.transform,
            drop_last=self.drop_last,
            rank=rank,
            world_size=world_size,
            even=even,
        )
        view.generator = self.generator
        return view

    def _shard_size(self) -> int:
        n = len(self.tensors[0])
        if self.world_size == 1:
            return n
        if self.even:
            return -(-n // self.world_size)
        return len(range(self.rank, n, self.world_size))

    @property
    def num_samples(self) -> int:
        """How many samples one pass yields (on this rank)."""
        n = self._shard_size()
        return n - n % self.batch_size if self.drop_last else n

    def __len__(self) -> int:
        n = self._shard_size()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> torch.Tensor | None:
        """This rank's sample indices for one pass, or None for plain ``0..n-1``."""
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        if self.world_size == 1:
            return order
        if order is None:
            order = torch.arange(n)
        if self.even:
            total = self._shard_size() * self.world_size
            order = torch.cat([order, order[: total - n]]) if total > n else order
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[Batch]:
        order = self._order()
        stop = self.num_samples
        if order is None:
            for start in range(0, stop, self.batch_size):
                end = start + self.batch_size
                yield self._finish(tuple(t[start:end] for t in self.tensors))
            return
        order = order.to(self.tensors[0].device)
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self._finish(tuple(t[idx] for t in self.tensors))

    def _finish(self, batch: Batch) -> Batch:
        return self.transform(batch) if self.transform is not None else batch

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The shuffling generator's state (for checkpoints)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the shuffling generator's state."""
        self.generator.set_state(state["generator"])


Batches = TensorBatches | Iterable[Sequence[torch.Tensor]]


def as_batches(data: Batches | Sequence[torch.Tensor], batch_size: int = 256) -> Batches:
    """Accept ready batches (any re-iterable of tuples) or a tuple of tensors (then unshuffled)."""
    if isinstance(data, tuple | list) and data and all(isinstance(t, torch.Tensor) for t in data):
        return TensorBatches(*data, batch_size=batch_size)
    return data
