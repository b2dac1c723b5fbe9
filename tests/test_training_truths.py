"""Statements the image lessons make about PyTorch, checked against PyTorch itself."""

import pytest
import torch
from torch import nn

from dlcourse.autocast import bf16_supported
from dlcourse.models.cifar import Model2
from dlcourse.train.precision import choose_precision


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_batch_norm_returns_bfloat16_under_cpu_autocast():
    conv, bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = conv(torch.randn(2, 3, 8, 8))
        out = bn(hidden)
    assert hidden.dtype == out.dtype == torch.bfloat16  # it does not "stay in float32"
    assert bn.weight.dtype == torch.float32  # the weights do


@pytest.mark.parametrize(
    ("capability", "native"), [((7, 5), False), ((8, 0), True), ((9, 0), True)]
)
def test_bfloat16_counts_as_native_on_cuda_from_compute_capability_8(
    monkeypatch, capability, native
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulation counts
    assert bf16_supported("cuda") is native
    precision = choose_precision(True, torch.device("cuda"), verbose=False)
    assert precision.dtype == (torch.bfloat16 if native else torch.float16)


def test_adamw_decays_the_weights_before_the_adam_step():
    lr, wd, grad = 0.1, 0.5, torch.tensor([0.5, 0.1])
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    p.grad = grad.clone()
    torch.optim.AdamW([p], lr=lr, weight_decay=wd).step()
    m_hat, v_hat = grad, grad**2  # first step: bias-corrected moments are g and g²
    adam_step = lr * m_hat / (v_hat.sqrt() + 1e-8)
    w = torch.tensor([1.0, -2.0])
    assert torch.allclose(p.detach(), w * (1 - lr * wd) - adam_step)  # decay first
    assert not torch.allclose(p.detach(), (w - adam_step) * (1 - lr * wd))


def test_weight_decay_reaches_biases_that_a_kernel_penalty_leaves_alone():
    layer = nn.Linear(3, 2)
    bias = layer.bias.detach().clone()
    layer(torch.zeros(1, 3)).sum().mul(0).backward()  # zero gradients everywhere
    torch.optim.SGD(layer.parameters(), lr=1.0, weight_decay=2e-4).step()
    assert torch.allclose(layer.bias.detach(), bias * (1 - 2e-4))  # the bias decays too


def test_the_compact_resnet_is_half_resnet9s_width_and_a_quarter_of_its_parameters():
    compact, resnet9 = count(Model2(width=32)), count(Model2(width=64))
    assert compact == 1_643_809
    assert 3.9 < resnet9 / compact < 4.1
