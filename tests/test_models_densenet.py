"""DenseNet-121 built from parts is torchvision's DenseNet-121: same parameters, same outputs."""

from __future__ import annotations

import torch
import torchvision

from dlcourse.models import densenet


def test_densenet121_matches_torchvision():
    torch.manual_seed(0)
    reference = torchvision.models.densenet121(weights=None).eval()
    ours = densenet.densenet121().eval()
    assert sum(p.numel() for p in ours.parameters()) == 7_978_856
    assert sum(p.numel() for p in reference.parameters()) == 7_978_856
    ours.load_state_dict(reference.state_dict(), strict=True)  # same names, same shapes
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5, rtol=1e-4)


def test_shape_trace_and_growth():
    net = densenet.densenet_bc(blocks=(2, 2), growth=4)
    trace = dict(densenet.shape_trace(net, torch.randn(1, 3, 32, 32)))
    assert trace["conv0"] == (1, 8, 32, 32)
    assert trace["denseblock1"] == (1, 8 + 2 * 4, 32, 32)  # every layer adds `growth` channels
    assert trace["transition1"] == (1, 8, 16, 16)  # compression 0.5 and 2x2 average pooling
    assert trace["denseblock2"] == (1, 8 + 2 * 4, 16, 16)
    assert net(torch.randn(3, 3, 32, 32)).shape == (3, 1)
