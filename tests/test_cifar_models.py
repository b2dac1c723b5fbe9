"""The cat-vs-dog networks, the regularizers, bfloat16 autocast and the learning-rate finder."""

import pytest
import torch
from torch import nn

from dlcourse.autocast import Autocast
from dlcourse.lr_finder import lr_find
from dlcourse.models.cifar import Model1, Model2, SmallCNN, count_parameters
from dlcourse.regularize import l1_penalty, l2_penalty, penalized, penalized_parameters


def test_model1_matches_keras_parameter_count():
    assert count_parameters(Model1()) == 3_263_937


def test_small_cnn_matches_keras_parameter_count():
    assert count_parameters(SmallCNN()) == 1_616_289


@pytest.mark.parametrize("model", [Model1(), Model2(width=8), SmallCNN(0.5, batch_norm=True)])
def test_one_logit_per_image(model):
    assert model(torch.randn(4, 3, 32, 32)).shape == (4,)


def test_model2_is_a_fraction_of_model1():
    assert count_parameters(Model2()) < count_parameters(Model1()) / 1.9


def test_dropout_is_inactive_in_eval_mode():
    torch.manual_seed(0)
    model, x = SmallCNN(dropout=0.5), torch.randn(8, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_l1_gradient_is_the_sign_of_the_weights():
    w = nn.Parameter(torch.tensor([-2.0, -0.5, 0.3, 4.0]))
    l1_penalty([w]).backward()
    assert torch.equal(w.grad, torch.sign(w.detach()))


def test_l2_gradient_is_twice_the_weights():
    w = nn.Parameter(torch.tensor([-2.0, 0.5, 3.0]))
    l2_penalty([w]).backward()
    assert torch.allclose(w.grad, 2 * w.detach())


def test_penalty_only_in_training_and_only_on_weights():
    model = SmallCNN(batch_norm=True)
    assert all(p.ndim > 1 for p in penalized_parameters(model))
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0.0, 1.0, 1.0, 0.0])
    plain, loss = nn.BCEWithLogitsLoss(), penalized(model, nn.BCEWithLogitsLoss(), l1=1e-3)
    model.eval()
    assert torch.equal(loss(model(x), y), plain(model(x), y))
    model.train()
    torch.manual_seed(0)
    out = model(x)
    expected = plain(out, y) + 1e-3 * sum(p.abs().sum() for p in penalized_parameters(model))
    assert torch.allclose(loss(out, y), expected)


def test_penalty_pulls_weights_towards_zero():
    lin = nn.Linear(3, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -1.0, 0.5]]))
    loss = penalized(lin, lambda out, t: out.sum() * 0, l1=0.1)
    loss(lin(torch.zeros(1, 3)), None).backward()
    assert torch.equal(lin.weight.grad, 0.1 * torch.sign(lin.weight.detach()))


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
