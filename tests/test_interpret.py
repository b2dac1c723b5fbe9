"""dlcourse.interpret: hooks that always go away, grids, filter patterns, Grad-CAM that is right."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse import interpret
from dlcourse.train import TensorBatches, fit


def small_cnn(classes: int = 2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(16, classes),
    )  # fmt: skip


def hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_activations_are_captured_and_hooks_removed():
    net = small_cnn()
    acts = interpret.activations(net, torch.randn(2, 3, 16, 16), ["0", "4"])
    assert acts["0"].shape == (2, 8, 16, 16) and acts["4"].shape == (2, 16, 8, 8)
    assert not acts["0"].requires_grad
    assert hook_count(net) == 0


def test_hooks_are_removed_when_the_forward_pass_fails():
    net = small_cnn()
    with pytest.raises(RuntimeError), interpret.capture(net, ["0", "2"]):
        assert hook_count(net) == 2
        net(torch.randn(2, 5, 16, 16))  # wrong number of channels
    assert hook_count(net) == 0


def test_unknown_layer_lists_the_known_ones():
    net = small_cnn()
    with pytest.raises(KeyError, match="no layer 'conv9'.*0, 1, 2"):
        interpret.activations(net, torch.randn(1, 3, 8, 8), ["0", "conv9"])
    assert hook_count(net) == 0


def test_channel_grid_layout():
    fmap = torch.arange(5 * 4 * 3, dtype=torch.float32).reshape(5, 4, 3)
    grid = interpret.channel_grid(fmap, columns=2)
    assert grid.shape == (3 * 5 - 1, 2 * 4 - 1)
    assert np.nanmin(grid) == 0 and np.nanmax(grid) == 1
    assert np.isnan(grid[4, :]).all()  # the gap between rows
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        interpret.channel_grid(torch.zeros(1, 5, 4, 3))


def test_filter_pattern_raises_its_channel():
    torch.manual_seed(0)
    net = small_cnn()
    start = interpret.filter_pattern(net, "2", channel=3, size=16, steps=0)
    found = interpret.filter_pattern(net, "2", channel=3, size=16, steps=15)
    score = {
        name: interpret.activations(net, img[None], ["2"])["2"][0, 3].mean().item()
        for name, img in (("start", start), ("found", found))
    }
    assert score["found"] > score["start"] + 0.1
    assert hook_count(net) == 0
    assert interpret.to_display(found).shape == (16, 16, 3)


def test_grad_cam_shape_range_and_binary_logit():
    net = small_cnn(classes=1)
    cam = interpret.grad_cam(net, torch.randn(3, 3, 16, 16), "5", target=1)
    assert cam.shape == (3, 16, 16)
    assert cam.min() >= 0 and cam.max() <= 1
    assert hook_count(net) == 0
    assert interpret.overlay(torch.rand(3, 16, 16), cam[0]).shape == (16, 16, 3)


def test_grad_cam_finds_the_bright_patch():
    """Classes differ only by a small patch's colour: Grad-CAM must point at the patch."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # faster for a network this small on a shared CPU
    try:
        x, y, _ = interpret.bright_patch_images(1000, size=24, patch=4, seed=0)
        x_test, y_test, boxes = interpret.bright_patch_images(200, size=24, patch=4, seed=1)
        net = small_cnn()
        history = fit(
            net, TensorBatches(x, y, batch_size=32, shuffle=True), epochs=2,
            optimizer=torch.optim.Adam(net.parameters(), 1e-2), loss_fn=nn.CrossEntropyLoss(),
            val=TensorBatches(x_test, y_test, batch_size=200), metrics=["accuracy"], verbose=False,
        )  # fmt: skip
        cams = interpret.grad_cam(net, x_test, "5")
    finally:
        torch.set_num_threads(threads)
    assert history["val_accuracy"][-1] >= 0.95
    assert interpret.hit_rate(cams, boxes) >= 0.9


def test_hit_rate_counts_peaks_inside_boxes():
    cams = torch.zeros(2, 8, 8)
    cams[0, 2, 3] = 1  # inside (2, 2)-(4, 4)
    cams[1, 7, 7] = 1  # outside
    boxes = torch.tensor([[2, 2, 4, 4], [2, 2, 4, 4]])
    assert interpret.hit_rate(cams, boxes) == 0.5


def test_chance_hit_rate_is_the_share_of_the_image_the_boxes_cover():
    boxes = torch.tensor([[2, 2, 4, 4], [0, 0, 8, 8]])
    assert interpret.chance_hit_rate(boxes, 8, 8) == (4 + 64) / 2 / 64


def test_random_heat_maps_hit_at_the_chance_rate():
    gen = torch.Generator().manual_seed(0)
    cams = torch.rand(20_000, 8, 8, generator=gen)
    boxes = torch.tensor([[2, 2, 4, 4]]).expand(20_000, 4)
    chance = interpret.chance_hit_rate(boxes, 8, 8)
    assert abs(interpret.hit_rate(cams, boxes) - chance) < 0.01
