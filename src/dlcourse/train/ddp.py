"""Scale-out over processes and GPUs with PyTorch's own ``torch.distributed``.

Launch a script with ``torchrun --nproc-per-node N script.py``; in the script call
:func:`distributed` once, then ``fit`` as usual. ``fit`` sees the process group, wraps the
model in ``DistributedDataParallel``, gives each rank its shard of every epoch, averages the
metrics over all ranks, and writes checkpoints from rank 0 only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler

from dlcourse.train.batches import Batches, TensorBatches


@dataclass(frozen=True)
class World:
    """This process's place among all: ``rank`` of ``world_size`` (one process: 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes files."""
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        """The device this rank should train on: its own GPU, else the CPU."""
        if torch.cuda.is_available():
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")


def current() -> World:
    """The initialised process group's view of this process, or a single process."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return World(dist.get_rank(), dist.get_world_size(), local)
    return World()


def distributed(backend: str | None = None) -> World:
    """Join the process group that ``torchrun`` describes in the environment.

    The backend is ``nccl`` on CUDA and ``gloo`` on the CPU unless given. Without torchrun's
    variables (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``) this is a single
    process and nothing is set up, so the same script also runs as ``python script.py``.
    """
    if dist.is_available() and dist.is_initialized():
        return current()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return World()
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed support")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend)
    return current()


def wrap(model: nn.Module, world: World) -> nn.Module:
    """``DistributedDataParallel`` around ``model`` when several processes train together."""
    if not world.active or isinstance(model, DistributedDataParallel):
        return model
    param = next(model.parameters())
    ids = [param.device] if param.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a ``DistributedDataParallel`` wrapper."""
    return model.module if isinstance(model, DistributedDataParallel) else model


class _Strided(Sampler[int]):
    """Indices ``rank, rank + world_size, ...``: disjoint, uneven shards for evaluation."""

    def __init__(self, size: int, world: World) -> None:
        self.indices = range(world.rank, size, world.world_size)

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def shard(batches: Batches, world: World, *, training: bool) -> Batches:
    """This rank's part of ``batches``: even shards for training, disjoint ones for evaluation."""
    if not world.active:
        return batches
    if isinstance(batches, TensorBatches):
        if batches.world_size > 1:
            return batches
        return batches.shard(world.rank, world.world_size, even=training)
    if isinstance(batches, DataLoader):
        if isinstance(batches.sampler, DistributedSampler | _Strided):
            return batches
        if batches.batch_size is None:
            raise ValueError(
                "under torch.distributed, a DataLoader with a batch_sampler cannot be split "
                "between ranks by fit; give it batch_size= and shuffle= instead"
            )
        size = len(batches.dataset)  # type: ignore[arg-type]
        sampler: Sampler[int] = (
            DistributedSampler(
                batches.dataset,
                num_replicas=world.world_size,
                rank=world.rank,
                shuffle=isinstance(batches.sampler, RandomSampler),
            )
            if training
            else _Strided(size, world)
        )
        return DataLoader(
            batches.dataset,
            batch_size=batches.batch_size,
            sampler=sampler,
            num_workers=batches.num_workers,
            collate_fn=batches.collate_fn,
            pin_memory=batches.pin_memory,
            drop_last=batches.drop_last,
        )
    raise TypeError(
        "under torch.distributed fit splits TensorBatches or a DataLoader between ranks; "
        f"got {type(batches).__name__}: shard it yourself or use one of those"
    )


def set_epoch(batches: Batches, epoch: int) -> None:
    """A ``DistributedSampler`` reshuffles only when told the epoch."""
    sampler = getattr(batches, "sampler", None)
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)


def sum_over_ranks(values: torch.Tensor, world: World) -> torch.Tensor:
    """Element-wise sum of ``values`` over all ranks (itself for one process)."""
    if world.active:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier(world: World) -> None:
    """Wait for every rank (e.g. until rank 0 has written a checkpoint)."""
    if world.active:
        dist.barrier()
