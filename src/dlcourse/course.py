"""The course catalogue: every notebook, what it teaches, and its full-mode targets."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Target:
    """A full-mode goal such as ``>= 0.88`` or ``< linear_baseline_test_mae``."""

    op: str
    bound: float | str

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse ``"<op> <number or metric name>"``."""
        op, _, rest = text.strip().partition(" ")
        if op not in _OPS or not rest.strip():
            raise ValueError(f"target {text!r} must look like '>= 0.9' or '< other_metric'")
        rest = rest.strip()
        try:
            return cls(op, float(rest))
        except ValueError:
            return cls(op, rest)

    def check(self, value: object, metrics: Mapping[str, object]) -> bool | None:
        """True/False when the goal can be judged from ``metrics``, None when it cannot."""
        bound = metrics.get(self.bound) if isinstance(self.bound, str) else self.bound
        if not isinstance(value, int | float) or not isinstance(bound, int | float):
            return None
        return _OPS[self.op](value, bound)

    def __str__(self) -> str:
        bound = f"{self.bound:g}" if isinstance(self.bound, float) else self.bound
        return f"{self.op} {bound}"


_SIGNS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def format_number(value: float | int) -> str:
    """A number as a reader expects it: whole numbers with thousands commas (``3,263,937``),
    others in four significant digits (``0.8712``)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}" if abs(value) < 1e15 else f"{value:.4g}"


def describe(goals: Sequence[Target]) -> str:
    """Goals as the catalogue means them: ``>= 5 and <= 5`` is ``= 5``, ``>= 0.87`` is
    ``≥ 0.87``, a bound naming a metric stays a name (``> ridge_val_r2``)."""
    pair = {goal.op: goal.bound for goal in goals}
    if len(goals) == 2 and pair.keys() == {">=", "<="} and pair[">="] == pair["<="]:
        bound = pair[">="]
        return f"= {format_number(bound) if isinstance(bound, float) else bound}"
    return " and ".join(
        f"{_SIGNS[g.op]} {format_number(g.bound) if isinstance(g.bound, float) else g.bound}"
        for g in goals
    )


def judge(value: object, goals: Sequence[Target], metrics: Mapping[str, object]) -> str:
    """``"pass"``, ``"fail"`` (a missing value fails) or ``"cannot judge"`` (a goal compares
    with a metric that was not recorded)."""
    checks = [goal.check(value, metrics) for goal in goals]
    if value is None or False in checks:
        return "fail"
    return "cannot judge" if None in checks else "pass"


@dataclass(frozen=True)
class Notebook:
    """One course notebook, relative to the ``PyTorch/`` folder."""

    path: str
    title: str
    summary: str
    dataset: str
    targets: Mapping[str, str] = field(default_factory=dict)
    #: Which picture stands for the notebook on the website and in the run report: the index
    #: of an image among the executed notebook's image outputs (0 is the first, -1 the last).
    figure: int = 0
    #: The metric shown on the notebook's card; the first target's metric when empty.
    headline: str = ""

    @property
    def chapter(self) -> str:
        """The chapter folder, like ``01_Basics``."""
        return self.path.split("/", 1)[0]

    @property
    def headline_metric(self) -> str:
        """The metric shown on the notebook's card."""
        return self.headline or next(iter(self.targets), "")

    def parsed_targets(self) -> dict[str, list[Target]]:
        """Each metric's goals; ``"<= 2.5 and < other"`` gives two :class:`Target` objects."""
        return {
            name: [Target.parse(part) for part in text.split(" and ")]
            for name, text in self.targets.items()
        }


#: Chapter folders and the titles the website gives them.
CHAPTERS: dict[str, str] = {
    "01_Basics": "Basics",
    "02_Image_Classification": "Image classification",
    "03_Advanced_CNN": "Advanced CNNs",
    "04_Regularization": "Regularization",
    "05_Transfer_Learning": "Transfer learning",
    "06_Image_Segmentation": "Image segmentation",
    "07_Time_Series": "Time series",
    "08_NLP_Text": "Text (NLP)",
}

COURSE: tuple[Notebook, ...] = (
    Notebook(
        "01_Basics/00_fashion_mnist_basic_cnn.ipynb",
        "Fashion-MNIST: your first network, loop written out",
        "Keras Sequential to nn.Module, a hand-written training loop, then a small CNN",
        "Fashion-MNIST",
        # No time target: how fast PyTorch trains against Keras is measured side by side in
        # RESULTS.md (benchmarks/), not against a figure from another machine.
        {
            "mlp_test_accuracy": ">= 0.88",
            "cnn_test_accuracy": ">= 0.91",
        },
        figure=5,
        headline="cnn_test_accuracy",
    ),
    Notebook(
        "01_Basics/01_learn_sine_regression.ipynb",
        "Learning a sine: why the Keras original failed",
        "Input scaling, honest validation splits, interpolation vs extrapolation",
        "synthetic sine",
        {"val_mse": "<= 0.001"},
        figure=5,
    ),
    Notebook(
        "01_Basics/02_boston_house_price_regression.ipynb",
        "Boston house prices: regression done carefully",
        "Scaling without leakage, early stopping, K-fold CV, a linear baseline",
        "Boston housing",
        {"test_mae": "<= 2.5 and < linear_baseline_test_mae"},
        figure=3,
    ),
    Notebook(
        "02_Image_Classification/00_cifar10_classification.ipynb",
        "CIFAR-10 cats and dogs: image classification with augmentation",
        "Keras model1 and a compact ResNet written as nn.Modules, transforms.v2 vs batch "
        "augmentation, BCEWithLogitsLoss, LR finder, AdamW + one-cycle, one change per row, "
        "chosen on validation, test once",
        "CIFAR-10 (cat, dog)",
        {
            "best_test_accuracy": ">= 0.86",
            "model1_params": ">= 3263937 and <= 3263937",
        },
        figure=2,
    ),
    Notebook(
        "03_Advanced_CNN/00_densenet_architecture.ipynb",
        "DenseNet: built from its parts, proven identical to torchvision's",
        "Dense layer, dense block, transition; DenseNet-121 = torchvision's (parameters, "
        "outputs); EfficientNet-Lite0 pretrained vs from scratch, same input size and steps, "
        "with a DenseNet-BC from scratch, at 100-2,000 images",
        "CIFAR-10 (cat, dog), ImageNet weights",
        {
            "densenet121_params": ">= 7978856 and <= 7978856",
            "pretrained_test_accuracy": "> scratch_test_accuracy",
            "pretrained_minus_scratch_min": "> 0",
            "notebook_minutes": "<= 15",
        },
        figure=0,
        headline="pretrained_test_accuracy",
    ),
    Notebook(
        "04_Regularization/00_cifar10_regularization.ipynb",
        "Regularization: eight ways to fight overfitting against a baseline, measured honestly",
        "The CNN, L1/L2 penalties and the loop written in cells; early stopping, weight_decay vs "
        "AdamW, dropout, batch norm, augmentation; regularisation x schedule over three seeds, "
        "validation split, test once",
        "CIFAR-10 (cat, dog), 3,000 images",
        {
            "baseline_train_accuracy": ">= 0.95",
            "baseline_val_loss_rise": "> 0",
            "combined_minus_baseline_constant": "> 0",
            "combined_minus_baseline_onecycle": "> 0",
            "best_regularized_val_accuracy": ">= 0.75",
            "notebook_minutes": "<= 20",
        },
        figure=5,
        headline="best_regularized_val_accuracy",
    ),
    Notebook(
        "04_Regularization/01_imdb_overfit_underfit.ipynb",
        "IMDB: overfitting and underfitting, measured",
        "Small, baseline and big multi-hot networks, L2 and dropout, curves and best epochs",
        "IMDB reviews",
        {"test_accuracy_baseline": ">= 0.87", "val_loss_min_epoch_big": "<= 2"},
        figure=0,
    ),
    Notebook(
        "05_Transfer_Learning/00_imagenet_transfer_learning.ipynb",
        "Transfer learning: ImageNet features for cats and dogs, 100 to 2,000 images",
        "Frozen backbone with features cached on disk, fine-tuning with parameter groups, "
        "choices on a validation split, the same network pretrained vs from scratch",
        "CIFAR-10 (cat, dog), ImageNet weights",
        {
            "frozen_test_accuracy": ">= 0.77",
            "finetune_test_accuracy": ">= 0.80",
            "pretrained_test_accuracy": "> scratch_test_accuracy",
            "pretrained_minus_scratch_min": "> 0",
            "notebook_minutes": "<= 15",
        },
        figure=1,
        headline="finetune_test_accuracy",
    ),
    Notebook(
        "05_Transfer_Learning/01_visualize_heat_maps.ipynb",
        "Inside convnets: activations, filter patterns, Grad-CAM",
        "Forward hooks removed on error, channel grids, gradient ascent, Grad-CAM with "
        "torch.autograd.grad on photographs, checked on synthetic images",
        "CIFAR-10 (cat, dog), scikit-image photographs, synthetic patches",
        {
            "gradcam_hit_rate": ">= 0.9 and > gradcam_chance_rate",
            "two_objects_separated": ">= 1",
            "notebook_minutes": "<= 15",
        },
        figure=6,
    ),
    Notebook(
        "06_Image_Segmentation/00_cell_tissue_segmentation.ipynb",
        "Cell tissue segmentation: a U-Net on real EM (ISBI 2012)",
        "U-Net block by block; a patch Dataset with paired augmentation, soft Dice, blended "
        "tiles and the challenge's Rand/VI scores written in cells; 3 seeds vs a tuned "
        "random-forest pixel classifier",
        "ISBI 2012 EM",
        {
            "val_pixel_accuracy_mean": ">= 0.927 and > rf_val_pixel_accuracy",
            "val_membrane_dice_mean": ">= 0.82 and > rf_val_membrane_dice",
            "val_rand_error_mean": "< rf_val_rand_error",
            "val_vi_mean": "< rf_val_vi",
            "notebook_minutes": "<= 15",
        },
        figure=4,
        headline="val_membrane_dice_mean",
    ),
    Notebook(
        "06_Image_Segmentation/01_mitosis_detection_brightfield.ipynb",
        "Mitosis detection in brightfield time-lapse (simulated HeLa cells)",
        "Defocused phase objects, a U-Net on 5-frame windows vs one frame, probability map to "
        "Hungarian-matched P/R/F1, a random-forest and a threshold baseline, errors by category",
        "simulated brightfield movies",
        {
            "detection_f1": ">= 0.90",
            "f1_over_rf_baseline": ">= 0.05",
            "f1_over_threshold_baseline": ">= 0.10",
            "notebook_minutes": "<= 10",
        },
        figure=3,
    ),
    Notebook(
        "06_Image_Segmentation/02_mitosis_detection_phase_contrast.ipynb",
        "Mitosis detection in phase-contrast time-lapse, and transfer from brightfield",
        "Zernike phase contrast from physics (halo, shade-off, phase-bright mitoses), 01's "
        "brightfield U-Net as it is, fine-tuned and against scratch, 5 frames vs one",
        "simulated phase-contrast movies",
        {
            "detection_f1": ">= 0.90",
            "f1_over_rf_baseline": ">= 0.05",
            "f1_over_threshold_baseline": ">= 0.10",
            "notebook_minutes": "<= 10",
        },
        figure=0,
    ),
    Notebook(
        "06_Image_Segmentation/03_mitosis_xenopus_detection.ipynb",
        "Mitosis detection in a Xenopus epithelium (simulated fluorescence movies)",
        "Voronoi sheet, membrane marker, z-projection, per-movie percentile scaling, a U-Net on "
        "5-frame windows vs one frame, random-forest and threshold baselines, errors by category",
        "simulated Xenopus movies",
        {
            "detection_f1": ">= 0.90",
            "f1_over_rf_baseline": ">= 0.05",
            "f1_over_threshold_baseline": ">= 0.10",
            "notebook_minutes": "<= 10",
        },
        figure=3,
    ),
    Notebook(
        "07_Time_Series/00_time_series_training.ipynb",
        "Stimulus → response: training a recurrent model on imaging recordings",
        "Split by recording, normalisation, sliding windows, LSTM vs GRU vs ridge, checkpoint",
        "simulated imaging recordings (CSV)",
        {"val_r2": ">= 0.9 and > ridge_val_r2"},
        figure=4,
    ),
    Notebook(
        "07_Time_Series/01_time_series_prediction.ipynb",
        "Stimulus → response: predicting with the trained model, and forecasting",
        "Load a checkpoint, predict whole recordings, an unseen period, multi-step forecasts",
        "simulated imaging recordings (CSV)",
        {"unseen_period_r2": ">= 0.85"},
        figure=4,
    ),
    Notebook(
        "08_NLP_Text/00_text_classification_welcome.ipynb",
        "Text classification with a pretrained transformer, written out in PyTorch",
        "WordPiece ids, attention vs SDPA, multi-head self-attention with a padding mask, the "
        "BERT block, strict load of all-MiniLM-L6-v2, bf16 speed, a learning curve at 100/500/"
        "2,000 reviews: frozen and fine-tuned MiniLM vs TF-IDF vs avgpool",
        "IMDB reviews, all-MiniLM-L6-v2",
        {
            "minilm_readme_similarities_max_abs_diff": "<= 0.0001",
            "learning_curve_points": ">= 12",
            "pretrained_test_accuracy_smallest_n": "> tfidf_logreg_test_accuracy_smallest_n",
            "pretrained_beats_tfidf_seeds_smallest_n": ">= 3",
            "finetuned_test_accuracy_largest_n": ">= frozen_logreg_test_accuracy_largest_n",
            "notebook_minutes": "<= 15",
        },
        figure=0,
        headline="finetuned_test_accuracy_largest_n",
    ),
    Notebook(
        "08_NLP_Text/01_text_classification_deployment.ipynb",
        "Deploying a sentiment classifier: model folder, ONNX, web service",
        "Artefacts loaded weights_only, ONNX checked by onnxruntime, FastAPI service, latency",
        "IMDB reviews",
        {
            "onnx_max_abs_diff": "<= 0.0001",
            "lstm_onnx_max_abs_diff": "<= 0.0001",
            "p50_latency_ms": "<= 10",
            "errors": "<= 0",
        },
        figure=0,
        headline="p50_latency_ms",
    ),
    Notebook(
        "08_NLP_Text/02_imdb_reviews_classification.ipynb",
        "IMDB reviews: networks against the strongest baseline",
        "Keras's avgpool model, padded vs packed LSTMs, 1-D conv, fastText, an NB-weighted bag "
        "vs TF-IDF and NB-LR tuned on validation",
        "IMDB reviews",
        {
            "avgpool_params": ">= 160289 and <= 160289",
            "avgpool_test_accuracy": ">= 0.87",
            "lstm_test_accuracy": ">= 0.87",
            "best_test_accuracy": ">= 0.905 and >= tfidf_logreg_test_accuracy",
            "slowest_model_minutes": "<= 5",
        },
        figure=2,
        headline="best_test_accuracy",
    ),
)


def find(path: str | Path) -> Notebook | None:
    """The catalogue entry for a notebook path (absolute or relative), if any."""
    parts = Path(path).as_posix()
    for nb in COURSE:
        if parts.endswith(nb.path):
            return nb
    return None
