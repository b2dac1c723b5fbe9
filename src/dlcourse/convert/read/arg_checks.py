"""What each Keras layer argument may be: the only values the converter writes into code.

A layer argument is folded to a Python value at conversion time (``Constants.eval``) and later
written into the generated ``nn.Module``. Only values of the type Keras expects get there:
whole numbers, numbers, booleans, ``None``, strings from a fixed list of options, and tuples of
these. Anything else (a string where a size belongs, a float where a count belongs) is refused
here with a message the report shows, so no text from the input is ever pasted into code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from dlcourse.convert.ir import Sym

MAX_SIZE = 2**31 - 1
"""The largest size (units, filters, vocabulary, one axis) the converter writes."""

ACTIVATIONS = frozenset(
    {
        "relu",
        "sigmoid",
        "tanh",
        "elu",
        "gelu",
        "selu",
        "softplus",
        "silu",
        "swish",
        "leaky_relu",
        "softmax",
        "linear",
    }
)
"""Activation names that ``Builder.activate`` writes as PyTorch (and ``linear``: none)."""


@dataclass(frozen=True)
class Check:
    """A test of one argument's value, what it expects in words, and how to normalise it."""

    accepts: Callable[[object], bool]
    expects: str
    normalise: Callable[[object], object] = lambda v: v


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _size(v: object) -> bool:
    return isinstance(v, Sym) or (_whole(v) and 0 < v <= MAX_SIZE)  # type: ignore[operator]


def _sizes(v: object) -> bool:
    """One positive size, or a tuple or list of them."""
    items = v if isinstance(v, tuple | list) else (v,)
    return 0 < len(items) <= 3 and all(_whole(i) and 0 < i <= MAX_SIZE for i in items)


def _flag(v: object) -> bool:
    return isinstance(v, bool) or v in (0, 1) and _whole(v)


def _one_of(*options: object) -> Check:
    shown = ", ".join(repr(o) for o in options)
    return Check(lambda v: any(v is o or (v == o and type(v) is type(o)) for o in options), shown)


def _as_tuple(v: object) -> object:
    return tuple(v) if isinstance(v, list) else v


SIZE = Check(_size, "a positive whole number")
WHOLE = Check(_whole, "a whole number")
NUMBER = Check(_number, "a number")
FLAG = Check(_flag, "True or False", lambda v: bool(v))
SIZES = Check(_sizes, "a positive whole number or a tuple of them", _as_tuple)
OPTIONAL_SIZES = Check(
    lambda v: v is None or _sizes(v), "None or positive whole numbers", _as_tuple
)
ACTIVATION = Check(
    lambda v: v is None or (isinstance(v, str) and v in ACTIVATIONS),
    "None or one of " + ", ".join(repr(a) for a in sorted(ACTIVATIONS)),
)
INERT = Check(
    lambda v: v is None or isinstance(v, str | bool | int | float),
    "a name or a number (it is not reproduced)",
)
"""Arguments that only change initialisation or training: checked, never written as code."""

_BY_NAME: dict[str, Check] = {
    "units": SIZE,
    "filters": SIZE,
    "input_dim": SIZE,
    "output_dim": SIZE,
    "groups": SIZE,
    "rate": Check(lambda v: _number(v) and 0 <= v <= 1, "a number from 0 to 1"),  # type: ignore[operator]
    "max_value": Check(lambda v: v is None or _number(v), "None or a number"),
    "negative_slope": NUMBER,
    "threshold": NUMBER,
    "momentum": NUMBER,
    "epsilon": Check(lambda v: _number(v) and v > 0, "a positive number"),  # type: ignore[operator]
    "scale": NUMBER,
    "offset": NUMBER,
    "axis": WHOLE,
    "activation": ACTIVATION,
    "recurrent_activation": ACTIVATION,
    "data_format": _one_of(None, "channels_last", "channels_first"),
    "padding": _one_of("valid", "same", "causal"),
    "interpolation": _one_of("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5"),
    "merge_mode": _one_of("concat", "sum", "mul", "ave", None),
    "kernel_size": SIZES,
    "strides": OPTIONAL_SIZES,
    "dilation_rate": SIZES,
    "pool_size": SIZES,
    "size": SIZES,
    "output_padding": OPTIONAL_SIZES,
    "target_shape": Check(
        lambda v: (
            isinstance(v, tuple | list)
            and 0 < len(v) <= 8
            and all(_whole(i) and (i == -1 or 0 < i <= MAX_SIZE) for i in v)
        ),
        "a tuple of positive whole numbers (one may be -1)",
        _as_tuple,
    ),
    "embeddings_initializer": INERT,
    "embeddings_regularizer": INERT,
    "embeddings_constraint": INERT,
    **dict.fromkeys(
        (
            "use_bias",
            "center",
            "return_sequences",
            "return_state",
            "go_backwards",
            "stateful",
            "reset_after",
            "mask_zero",
            "keepdims",
        ),
        FLAG,
    ),
}
_BY_LAYER: dict[tuple[str, str], Check] = {("BatchNormalization", "scale"): FLAG}


def check_for(kind: str, name: str) -> Check | None:
    """The check of argument ``name`` of layer ``kind``; None for one the table lacks."""
    return _BY_LAYER.get((kind, name), _BY_NAME.get(name))


def shown(value: object) -> str:
    """A value for a message, shortened so that a hostile input cannot flood the report."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
