"""The registry of supported Keras layers: their signatures and PyTorch builders.

Each layer module (``basic.py``, ``convolution.py``, ``recurrent.py``) registers a builder
``(Builder, LayerCall, inputs) -> Value`` under its Keras class name with :func:`layer`; the
package ``dlcourse.convert.layers`` imports them all, so the table is complete whenever this
module is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlcourse.convert.ir import Dim, LayerCall, Unsupported
from dlcourse.convert.layers.builder import Builder, Value

ALIAS = "alias"
"""The kind of the pseudo-layer for ``skip = x`` in functional code (no Keras layer)."""

KERAS_ALIASES = {
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "Convolution1D": "Conv1D",
    "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution2D": "Conv2D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3D": "Conv3D",
    "Convolution3DTranspose": "Conv3DTranspose",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
    "GroupQueryAttention": "GroupedQueryAttention",
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D",
}
"""Every other name ``keras.layers`` exports for a layer class (Keras 3.15), by class name.

``tests/test_convert_real_code.py`` enumerates them from the installed Keras."""

REQUIRED = object()
"""Default of an argument the caller must give."""

Build = Callable[[Builder, LayerCall, list[Value]], Value]

# Arguments that only change how a layer is initialised: PyTorch's own initialisation is used.
INITIALISERS = frozenset(
    {
        "kernel_initializer",
        "bias_initializer",
        "recurrent_initializer",
        "embeddings_initializer",
        "beta_initializer",
        "gamma_initializer",
        "moving_mean_initializer",
        "moving_variance_initializer",
        "unit_forget_bias",
        "seed",
    }
)
# Arguments that change training but not the outputs of a trained model: not reproduced.
TRAINING_ONLY = frozenset(
    {
        "kernel_regularizer",
        "bias_regularizer",
        "recurrent_regularizer",
        "activity_regularizer",
        "embeddings_regularizer",
        "beta_regularizer",
        "gamma_regularizer",
        "kernel_constraint",
        "bias_constraint",
        "recurrent_constraint",
        "embeddings_constraint",
        "beta_constraint",
        "gamma_constraint",
        "dropout",
        "recurrent_dropout",
        "noise_shape",
        "trainable",
    }
)
# Arguments with no effect on the converted code.
NO_EFFECT = frozenset({"dtype", "unroll", "use_cudnn", "input_length", "batch_size", "name"})


@dataclass(frozen=True)
class LayerDef:
    """A supported layer: Keras's argument order and defaults, and its builder."""

    params: tuple[tuple[str, Any], ...]
    build: Build
    sizes: frozenset[str] = frozenset()
    """Arguments that may be runtime expressions: they become constructor parameters."""
    merge: bool = False
    """Takes a list of tensors, like ``Concatenate()([a, b])``."""
    positional: int | None = None
    """How many leading arguments may be given by position (None: all of ``params``)."""
    note: str = ""
    """What the reader should know about every use of this layer."""


_LAYERS: dict[str, LayerDef] = {}


def layer(
    name: str,
    *params: tuple[str, Any],
    sizes: tuple[str, ...] = (),
    merge: bool = False,
    positional: int | None = None,
    note: str = "",
) -> Callable[[Build], Build]:
    """Register a layer builder under its Keras class name."""

    def register(build: Build) -> Build:
        _LAYERS[name] = LayerDef(tuple(params), build, frozenset(sizes), merge, positional, note)
        return build

    return register


def layer_defs() -> dict[str, LayerDef]:
    """Every supported layer by Keras class name (the package imports every layer module)."""
    return _LAYERS


def channels_last_only(call: LayerCall) -> None:
    """Reject ``data_format="channels_first"``: inputs are taken in Keras's default layout."""
    given = call.args.get("data_format")
    if given not in (None, "channels_last"):
        message = f"{call.kind}: data_format={given!r} is not supported (only 'channels_last')"
        raise Unsupported(None, message)


def need_known(dim: Dim, what: str) -> Dim:
    """A size PyTorch needs when the layer is built; None (any length) will not do."""
    if dim is None:
        raise Unsupported(None, f"{what} must be known to build the PyTorch layer")
    return dim
