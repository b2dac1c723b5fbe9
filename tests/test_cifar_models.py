"""The cat-vs-dog networks, bfloat16 autocast and the learning-rate finder. (04/00's SmallCNN and
its penalties are written in the notebook: tests/test_cells_04_00.py.)"""

import pytest
import torch
from torch import nn

from dlcourse.autocast import Autocast
from dlcourse.lr_finder import lr_find
from dlcourse.models.cifar import Model1, Model2, count_parameters


def test_model1_matches_keras_parameter_count():
    assert count_parameters(Model1()) == 3_263_937


@pytest.mark.parametrize("model", [Model1(), Model2(width=8)])
def test_one_logit_per_image(model):
    assert model(torch.randn(4, 3, 32, 32)).shape == (4,)


def test_model2_is_a_fraction_of_model1():
    assert count_parameters(Model2()) < count_parameters(Model1()) / 1.9


def test_autocast_returns_float32_and_keeps_weights():
    model = Autocast(Model2(width=8), "cpu", enabled=True)
    out = model(torch.randn(2, 3, 32, 32))
    assert out.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_lr_find_records_a_sweep_and_restores_the_weights():
    torch.manual_seed(0)
    x = torch.randn(256, 5)
    y = (x.sum(dim=1) > 0).float()
    model = nn.Sequential(nn.Linear(5, 1), nn.Flatten(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]
    result = lr_find(model, batches, opt, nn.BCEWithLogitsLoss(), 1e-4, 10.0, steps=40)
    assert 5 <= len(result.lrs) <= 40 and (result.lrs[1:] > result.lrs[:-1]).all()
    assert result.lrs[0] <= result.suggestion < result.min_loss_lr <= result.lrs[-1]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert opt.param_groups[0]["lr"] == 0.1
