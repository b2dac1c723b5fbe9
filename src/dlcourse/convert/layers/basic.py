"""Core layers: Dense, Dropout, activations, Flatten, Reshape, BatchNorm, Embedding, merges."""

from __future__ import annotations

import dataclasses

from dlcourse.convert.ir import Dim, LayerCall, Unsupported
from dlcourse.convert.layers.builder import Builder, Value, arith, product
from dlcourse.convert.layers.registry import ALIAS, REQUIRED, channels_last_only, layer, need_known


@layer(ALIAS)
def alias(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    """``skip = x``: the same tensor under another name."""
    x = inputs[0]
    return b.assign(x.var, x.shape, x.channels_first, flat_from=x.flat_from)


@layer("Dense", ("units", REQUIRED), ("activation", None), ("use_bias", True), sizes=("units",))
def dense(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0] if inputs[0].rank == 1 else b.channels_last(inputs[0])
    in_features = need_known(x.shape[-1], "Dense: the input's last axis")
    units, use_bias = call.args["units"], call.args["use_bias"]
    bias = "" if use_bias else ", bias=False"
    attr = b.module(call, f"nn.Linear({in_features}, {units}{bias})")
    shapes = ((in_features, units), (units,)) if use_bias else ((in_features, units),)
    b.weight(attr, call, "dense", shapes, flat_from=x.flat_from, bias=use_bias)
    expr = b.activate(f"self.{attr}({x.var})", call.args["activation"])
    note = ""
    if x.flat_from is not None:
        note = "weights permuted for the channels-first Flatten"
    return b.assign(expr, (*x.shape[:-1], units), note=note)


@layer("Dropout", ("rate", REQUIRED))
def dropout(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0]
    attr = b.module(call, f"nn.Dropout({call.args['rate']})")
    return b.assign(f"self.{attr}({x.var})", x.shape, x.channels_first, flat_from=x.flat_from)


@layer("Activation", ("activation", REQUIRED))
def activation(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0]
    expr = b.activate(x.var, call.args["activation"], x.channels_first)
    return b.assign(expr, x.shape, x.channels_first, flat_from=x.flat_from)


@layer("ReLU", ("max_value", None), ("negative_slope", 0.0), ("threshold", 0.0))
def relu(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0]
    max_value, slope = call.args["max_value"], call.args["negative_slope"]
    if call.args["threshold"] or (max_value is not None and slope):
        raise Unsupported(
            None, "ReLU: threshold, or max_value with negative_slope, is not supported"
        )
    if max_value is not None:
        expr = f"torch.clamp({x.var}, min=0.0, max={float(max_value)!r})"
    else:
        b.uses_functional = True
        expr = f"F.leaky_relu({x.var}, {float(slope)!r})" if slope else f"F.relu({x.var})"
    return b.assign(expr, x.shape, x.channels_first, flat_from=x.flat_from)


@layer("Rescaling", ("scale", REQUIRED), ("offset", 0.0))
def rescaling(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0]
    scale, offset = call.args["scale"], call.args["offset"]
    if not all(isinstance(v, int | float) for v in (scale, offset)):
        raise Unsupported(None, "Rescaling: only a single number for scale and offset is supported")
    expr = f"{x.var} * {scale!r}" + (f" + {offset!r}" if offset else "")
    return b.assign(expr, x.shape, x.channels_first, flat_from=x.flat_from)


@layer("Flatten", ("data_format", None))
def flatten(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    channels_last_only(call)
    x = inputs[0]
    attr = b.module(call, "nn.Flatten()")
    known = all(isinstance(d, int) for d in x.shape)  # else the weights cannot be permuted
    if x.channels_first and b.flatten_keeps_order and known:
        note = "channels-first order"
        return b.assign(f"self.{attr}({x.var})", (product(x.shape),), note=note, flat_from=x.shape)
    x = b.channels_last(x)
    return b.assign(f"self.{attr}({x.var})", (product(x.shape),))


@layer("Reshape", ("target_shape", REQUIRED))
def reshape(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = b.channels_last(inputs[0])
    target = call.args["target_shape"]
    if not isinstance(target, tuple | list) or not all(isinstance(d, int) for d in target):
        raise Unsupported(None, "Reshape: target_shape must be a tuple of numbers")
    shape: tuple[Dim, ...] = tuple(target)
    total = product(x.shape)
    if -1 in target and isinstance(total, int):
        known = product(tuple(d for d in target if d != -1))
        shape = tuple(total // known if d == -1 else d for d in target)  # type: ignore[operator]
    elif -1 in target:
        shape = tuple(None if d == -1 else d for d in target)
    dims = ", ".join(str(d) for d in target)
    return b.assign(f"{x.var}.reshape({x.var}.size(0), {dims})", shape)


@layer(
    "BatchNormalization",
    ("axis", -1),
    ("momentum", 0.99),
    ("epsilon", 0.001),
    ("center", True),
    ("scale", True),
    note="BatchNormalization: in training, PyTorch updates running_var with the unbiased batch "
    "variance, Keras with the biased one (a small difference, largest for small batches)",
)
def batch_norm(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = inputs[0]
    if call.args["axis"] not in (-1, x.rank):
        raise Unsupported(None, "BatchNormalization: only axis=-1 (the channels) is supported")
    center, scale = call.args["center"], call.args["scale"]
    if center != scale:
        raise Unsupported(None, "BatchNormalization: center and scale must both be on or off")
    if x.rank > 4:
        raise Unsupported(None, "BatchNormalization: inputs of rank above 4 are not supported")
    x = b.channels_first(x)
    features = need_known(x.shape[-1], "BatchNormalization: the number of channels")
    momentum = round(1 - float(call.args["momentum"]), 10)
    options = f"eps={float(call.args['epsilon'])!r}, momentum={momentum!r}"
    if not center:
        options += ", affine=False"
    kind = {1: "1d", 2: "1d", 3: "2d", 4: "3d"}[x.rank]
    attr = b.module(call, f"nn.BatchNorm{kind}({features}, {options})")
    b.weight(attr, call, "batch_norm", ((features,),) * (4 if center else 2), affine=bool(center))
    return b.assign(f"self.{attr}({x.var})", x.shape, x.channels_first)


@layer(
    "Embedding",
    ("input_dim", REQUIRED),
    ("output_dim", REQUIRED),
    ("embeddings_initializer", "uniform"),
    ("embeddings_regularizer", None),
    ("embeddings_constraint", None),
    ("mask_zero", False),
    sizes=("input_dim", "output_dim"),
    positional=2,
)
def embedding(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    x = b.channels_last(inputs[0])
    vocab, width = call.args["input_dim"], call.args["output_dim"]
    attr = b.module(call, f"nn.Embedding({vocab}, {width})")
    b.weight(attr, call, "embedding", ((vocab, width),))
    mask = None
    if call.args["mask_zero"]:
        mask = f"{attr}_mask"
        b.line(f"{mask} = {x.var} != 0", f"{Builder.shape_text(x)}: Keras's mask: id 0 pads")
    value = b.assign(f"self.{attr}({x.var}.long())", (*x.shape, width))
    b.values[value.var] = dataclasses.replace(value, mask=mask)
    return b.values[value.var]


def _axis(axis: int, rank: int) -> int:
    """A Keras axis (batch included, may be negative) as an index into the shape without batch."""
    index = axis - 1 if axis > 0 else rank + axis
    if not 0 <= index < rank:
        raise Unsupported(None, f"axis {axis} is out of range for inputs of rank {rank + 1}")
    return index


@layer("Concatenate", ("axis", -1), merge=True)
def concatenate(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    rank = inputs[0].rank
    if any(v.rank != rank for v in inputs):
        raise Unsupported(None, "Concatenate: the inputs must have the same rank")
    index = _axis(call.args["axis"], rank)
    names = ", ".join(v.var for v in inputs)
    sizes = [v.shape[index] for v in inputs]
    total: Dim = None
    if all(isinstance(s, int) for s in sizes):
        total = sum(sizes)  # type: ignore[arg-type]
    elif None not in sizes:
        total = sizes[0]
        for size in sizes[1:]:
            total = arith(total, "+", size)
    shape = (*inputs[0].shape[:index], total, *inputs[0].shape[index + 1 :])
    if index == rank - 1 and rank > 1 and all(v.channels_first for v in inputs):
        return b.assign(f"torch.cat([{names}], dim=1)", shape, channels_first=True)
    inputs = [b.channels_last(v) for v in inputs]
    dim = -1 if index == rank - 1 else index + 1
    return b.assign(f"torch.cat([{names}], dim={dim})", shape)


@layer("Add", merge=True)
def add(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    first = inputs[0]
    if any(v.shape != first.shape for v in inputs):
        raise Unsupported(None, "Add: the inputs must have the same shape")
    convert = b.channels_first if first.channels_first else b.channels_last
    inputs = [first, *(convert(v) for v in inputs[1:])]
    return b.assign(" + ".join(v.var for v in inputs), first.shape, first.channels_first)


@layer("TimeDistributed", ("layer", REQUIRED), positional=1)
def time_distributed(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    """A layer applied to every time step: Dense, Dropout and Activation already are."""
    inner = call.inner
    if inner is None or inner.kind not in ("Dense", "Dropout", "Activation"):
        raise Unsupported(None, "TimeDistributed: only Dense, Dropout or Activation can be wrapped")
    builders = {"Dense": dense, "Dropout": dropout, "Activation": activation}
    return builders[inner.kind](b, inner, inputs)
