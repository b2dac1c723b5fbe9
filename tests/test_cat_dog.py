"""The reusable cat-vs-dog model2: training recipe, checkpoint path, loading."""

import json
from pathlib import Path

import pytest
import torch

from dlcourse.cat_dog import (
    Recipe,
    checkpoint_path,
    load_cat_dog_model2,
    normalize,
    predict_flip_average,
    train_model2,
)
from dlcourse.data import ImageData
from dlcourse.train import save_model


def tiny_data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 2
    return ImageData(x, y, x[:16], y[:16], ["cat", "dog"])


def test_checkpoint_path_lives_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path))
    assert checkpoint_path(quick=False) == tmp_path / "checkpoints" / "cifar_cat_dog_model2.pt"
    assert checkpoint_path(quick=True).name == "cifar_cat_dog_model2.quick.pt"


def test_train_save_and_load_round_trip(tmp_path):
    net, history, metadata = train_model2(
        tiny_data(), Recipe(width=4, epochs=1, batch_size=32), device="cpu", verbose=False
    )
    assert len(history) == 1 and set(metadata) >= {"mean", "std", "classes", "recipe"}
    path = save_model(tmp_path / "m.pt", net, **metadata)
    model, loaded = load_cat_dog_model2(path, device="cpu", train_if_missing=False)
    assert not model.training and loaded["recipe"]["width"] == 4
    x = normalize(tiny_data().x_test, loaded["mean"], loaded["std"])
    net.eval()
    assert torch.allclose(model(x), net(x))
    assert predict_flip_average(model, x).shape == (16,)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="02_Image_Classification"):
        load_cat_dog_model2(tmp_path / "none.pt", device="cpu", train_if_missing=False)


def test_recipe_matches_the_notebook_it_stands_for():
    """`Recipe` repeats notebook 02/00's settings for later notebooks; keep them in step. The
    notebook computes MAX_LR from its learning-rate finder; `Recipe.max_lr` is the value that
    rule gave in the notebook's full run (RESULTS.md)."""
    path = (
        Path(__file__).parents[1]
        / "PyTorch/02_Image_Classification/00_cifar10_classification.ipynb"
    )
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    r = Recipe()
    for line in (
        f"EPOCHS_LONG = dlcourse.pick(1, {r.epochs})",
        f"BATCH_SIZE = {r.batch_size}",
        f"net = Model2(width={r.width})",
        f"lr=MAX_LR, weight_decay={r.weight_decay}",
        f"BatchAugment(flip=True, crop_padding={r.crop_padding}, seed={r.seed}).batch",
        "fast5, history5, test_curve5, minutes5 = train_model2(train_augmented, EPOCHS_LONG)",
        'MAX_LR = float(f"{finder.min_loss_lr / 3:.1g}")',
    ):
        assert line in source, line
    assert "label_smoothing" not in source and not hasattr(r, "label_smoothing")
