"""The shared plots: what a learner sees must say the right thing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex

from dlcourse import plots
from dlcourse.train import History

CLASSES = ["a", "b", "c"]
RED, BLUE = to_hex("tab:red"), to_hex("tab:blue")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_to_display_handles_channels_first_tensors():
    assert plots.to_display(torch.zeros(1, 4, 5)).shape == (4, 5)
    assert plots.to_display(torch.zeros(3, 4, 5)).shape == (4, 5, 3)
    assert plots.to_display(np.zeros((4, 5))).shape == (4, 5)


def test_wrong_prediction_is_red_and_the_true_class_blue():
    fig, axes = plt.subplots(1, 2)
    plots.prediction_panel(torch.zeros(1, 4, 4), torch.tensor([0.1, 0.7, 0.2]), 2, CLASSES, axes)
    image_ax, bar_ax = axes
    assert image_ax.get_xlabel() == "b 70% (c)"
    assert to_hex(image_ax.xaxis.label.get_color()) == RED
    colours = [to_hex(bar.get_facecolor()) for bar in bar_ax.patches]
    assert colours[1] == RED and colours[2] == BLUE and colours[0] not in (RED, BLUE)


def test_right_prediction_is_blue():
    fig, axes = plt.subplots(1, 2)
    plots.prediction_panel(np.zeros((4, 4)), np.array([0.8, 0.1, 0.1]), 0, CLASSES, axes)
    assert to_hex(axes[0].xaxis.label.get_color()) == BLUE
    assert to_hex(axes[1].patches[0].get_facecolor()) == BLUE


def test_grids_label_each_image_and_leave_spare_cells_empty():
    images, labels = torch.zeros(4, 1, 4, 4), torch.tensor([0, 1, 2, 0])
    fig = plots.image_grid(images, labels, CLASSES, rows=2, cols=3, title="grid")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a", "b", "c", "a", "", ""]
    probs = torch.full((4, 3), 1 / 3)
    fig = plots.prediction_grid(images, probs, labels, CLASSES, rows=2, cols=3)
    assert sum(bool(ax.images) for ax in fig.axes) == 4


def test_history_plot_has_train_and_validation_curves_and_the_best_epoch():
    history = History(
        records=[
            {"epoch": 1, "train_loss": 1.0, "val_loss": 1.2},
            {"epoch": 2, "train_loss": 0.5, "val_loss": 0.9},
        ],
        best_epoch=2,
    )
    fig = plots.plot_history(history, ["loss"], title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["train", "val", "best epoch 2"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    fig = plots.plot_history({"train_accuracy": [0.5, 0.7]}, ["accuracy"])
    assert [line.get_label() for line in fig.axes[0].lines] == ["train"]


def test_quick_mode_figures_say_they_are_smoke_runs(monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    fig = plots.plot_history({"train_loss": [1.0, 0.5]}, ["loss"])
    assert [t.get_text() for t in fig.texts].count(plots.SMOKE_RUN_NOTE) == 1
    plots.mark_smoke_run(fig)  # idempotent
    assert [t.get_text() for t in fig.texts].count(plots.SMOKE_RUN_NOTE) == 1
    plt.close(fig)


def test_full_mode_figures_carry_no_smoke_note(monkeypatch):
    monkeypatch.setenv("DLCOURSE_QUICK", "0")
    fig = plots.plot_history({"train_loss": [1.0, 0.5]}, ["loss"])
    assert plots.SMOKE_RUN_NOTE not in [t.get_text() for t in fig.texts]
    plt.close(fig)
