"""``fit`` across 2 processes with ``torch.distributed`` (gloo, on the CPU)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed
import torch.multiprocessing as mp
from test_train import blobs
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.config import seed_everything
from dlcourse.train import TensorBatches, distributed, evaluate, fit

WORLD = 2
N_VAL = 151  # odd: the ranks' validation shards are uneven


class Indexed(nn.Module):
    """A classifier whose inputs carry their row number in a third column (ignored)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[:, :2])


def data() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = blobs(400)
    return torch.cat([x, torch.arange(400.0).unsqueeze(1)], dim=1), y


def run(epochs, seen=None, checkpoint=None):
    seed_everything(0)
    x, y = data()
    model = Indexed()

    def spy(batch):
        if seen is not None:
            seen.append(batch[0][:, 2].long().tolist())
        return batch

    history = fit(
        model,
        TensorBatches(x, y, batch_size=25, shuffle=True, seed=3, transform=spy),
        epochs=epochs,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        loss_fn=nn.CrossEntropyLoss(),
        val=(x[:N_VAL], y[:N_VAL]),
        metrics=["accuracy"],
        checkpoint=checkpoint,
        progress=False,
        verbose=False,
    )
    return model, history


def run_loader():
    """The same with DataLoaders: fit gives them a DistributedSampler / disjoint shards."""
    seed_everything(0)
    x, y = data()
    model = Indexed()
    history = fit(
        model,
        DataLoader(TensorDataset(x, y), batch_size=25, shuffle=True),
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        loss_fn=nn.CrossEntropyLoss(),
        val=DataLoader(TensorDataset(x[:N_VAL], y[:N_VAL]), batch_size=40),
        metrics=["accuracy"],
        progress=False,
        verbose=False,
    )
    return model, history


def worker(rank: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    world = distributed()
    assert (world.rank, world.world_size) == (rank, WORLD)
    try:
        seen: list[list[int]] = []
        model, history = run(3, seen)
        ckpt = os.path.join(out, "ddp.pt")
        run(2, checkpoint=ckpt)
        resumed, resumed_history = run(3, checkpoint=ckpt)
        loader_model, loader_history = run_loader()
        torch.save(
            {
                "weights": model.state_dict(),
                "records": history.records,
                "seen": seen,
                "resumed_weights": resumed.state_dict(),
                "resumed_records": resumed_history.records,
                "loader_weights": loader_model.state_dict(),
                "loader_records": loader_history.records,
            },
            os.path.join(out, f"rank{rank}.pt"),
        )
    finally:
        torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(free_port(), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def test_ranks_see_disjoint_batches_that_cover_the_epoch(ranks):
    per_epoch = len(ranks[0]["seen"]) // 3
    assert per_epoch == 8  # 200 samples per rank, batches of 25
    first = [sorted(i for batch in r["seen"][:per_epoch] for i in batch) for r in ranks]
    assert not set(first[0]) & set(first[1])
    assert sorted(first[0] + first[1]) == list(range(400))
    second = [i for batch in ranks[0]["seen"][per_epoch : 2 * per_epoch] for i in batch]
    assert sorted(second) != first[0]  # reshuffled every epoch


def test_final_weights_are_identical_on_every_rank(ranks):
    for name, value in ranks[0]["weights"].items():
        assert torch.equal(value, ranks[1]["weights"][name]), name


def test_averaged_metrics_equal_a_single_process_evaluation(ranks):
    assert ranks[0]["records"] == [
        {k: v for k, v in r.items() if k != "seconds"} | {"seconds": r0["seconds"]}
        for r, r0 in zip(ranks[1]["records"], ranks[0]["records"], strict=True)
    ]
    model = Indexed()
    model.load_state_dict(ranks[0]["weights"])
    x, y = data()
    single = evaluate(model, (x[:N_VAL], y[:N_VAL]), nn.CrossEntropyLoss(), ["accuracy"])
    last = ranks[0]["records"][-1]
    assert last["val_loss"] == pytest.approx(single["loss"], rel=1e-6)
    assert last["val_accuracy"] == pytest.approx(single["accuracy"], rel=1e-6)


def test_resuming_from_the_rank0_checkpoint_continues_the_run(ranks):
    for rank in ranks:
        assert [r["epoch"] for r in rank["resumed_records"]] == [1, 2, 3]
        for name, value in rank["weights"].items():
            assert torch.allclose(value, rank["resumed_weights"][name], atol=1e-6), name


def test_one_process_without_torchrun_is_not_distributed(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    world = distributed()
    assert (world.rank, world.world_size, world.active, world.is_main) == (0, 1, False, True)


def test_dataloaders_are_split_between_ranks_too(ranks):
    for name, value in ranks[0]["loader_weights"].items():
        assert torch.equal(value, ranks[1]["loader_weights"][name]), name
    model = Indexed()
    model.load_state_dict(ranks[0]["loader_weights"])
    x, y = data()
    single = evaluate(model, (x[:N_VAL], y[:N_VAL]), nn.CrossEntropyLoss(), ["accuracy"])
    assert ranks[0]["loader_records"][-1]["val_loss"] == pytest.approx(single["loss"], rel=1e-6)
