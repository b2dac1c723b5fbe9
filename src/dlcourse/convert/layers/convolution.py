"""Convolution and pooling layers, with Keras's ``padding="same"`` reproduced exactly."""

from __future__ import annotations

from dlcourse.convert.ir import Dim, LayerCall, Unsupported
from dlcourse.convert.layers.builder import Builder, Value, arith
from dlcourse.convert.layers.registry import REQUIRED, channels_last_only, layer, need_known


def _tuple(value: object, rank: int, what: str) -> tuple[int, ...]:
    """``3`` or ``(3, 3)`` as a tuple of ``rank`` numbers."""
    items = tuple(value) if isinstance(value, tuple | list) else (value,) * rank
    if len(items) != rank or not all(isinstance(i, int) for i in items):
        raise Unsupported(None, f"{what} must be a number or {rank} numbers, not {value!r}")
    return items  # type: ignore[return-value]


def _text(values: tuple[int, ...]) -> str:
    """``(3, 3)`` as ``3``; ``(3, 5)`` stays a tuple."""
    return str(values[0]) if len(set(values)) == 1 else str(values)


def _valid_length(n: Dim, span: int, stride: int) -> Dim:
    """Output length of a window of ``span`` sliding with ``stride`` without padding."""
    if n is None or isinstance(n, int):
        return None if n is None else (n - span) // stride + 1
    return arith(arith(arith(n, "-", span), "//", stride), "+", 1)


def _same_length(n: Dim, stride: int) -> Dim:
    """Keras's output length with ``padding="same"``: ceil(n / stride)."""
    if n is None or stride == 1:
        return n
    if isinstance(n, int):
        return -(-n // stride)
    return arith(arith(n, "+", stride - 1), "//", stride)


def _same_pads(n: Dim, span: int, stride: int, what: str) -> tuple[int, int]:
    """Keras's (TensorFlow's) "same" padding of one axis: before, after (after may be larger)."""
    if stride == 1:
        total = span - 1
    elif isinstance(n, int):
        total = max((-(-n // stride) - 1) * stride + span - n, 0)
    else:
        raise Unsupported(None, f"{what}: padding='same' with strides needs a known input size")
    return total // 2, total - total // 2


def _spatial(x: Value, rank: int, kind: str) -> Value:
    if x.rank != rank + 1:
        raise Unsupported(None, f"{kind} needs inputs of rank {rank + 2}, got rank {x.rank + 1}")
    return x


def _conv(b: Builder, call: LayerCall, inputs: list[Value], rank: int) -> Value:
    channels_last_only(call)
    x = b.channels_first(_spatial(inputs[0], rank, call.kind))
    args = call.args
    kernel = _tuple(args["kernel_size"], rank, f"{call.kind}: kernel_size")
    strides = _tuple(args["strides"], rank, f"{call.kind}: strides")
    dilation = _tuple(args["dilation_rate"], rank, f"{call.kind}: dilation_rate")
    if max(strides) > 1 and max(dilation) > 1:
        raise Unsupported(None, f"{call.kind}: strides and dilation_rate together")
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    sizes = x.shape[:-1]
    options = [f"kernel_size={_text(kernel)}"]
    if max(strides) > 1:
        options.append(f"stride={_text(strides)}")
    pad = ""
    padding = args["padding"]
    if padding == "valid":
        out = [_valid_length(n, s, st) for n, s, st in zip(sizes, spans, strides, strict=True)]
    elif padding == "same":
        out = [_same_length(n, st) for n, st in zip(sizes, strides, strict=True)]
        pads = [
            _same_pads(n, s, st, call.kind) for n, s, st in zip(sizes, spans, strides, strict=True)
        ]
        if max(strides) == 1:
            options.append('padding="same"')
        elif all(before == after for before, after in pads):
            options.append(f"padding={_text(tuple(before for before, _ in pads))}")
        else:
            pad = f"nn.ZeroPad{rank}d({tuple(p for pair in reversed(pads) for p in pair)})"
    elif padding == "causal" and rank == 1:
        out = list(sizes)
        pad = f"nn.ZeroPad1d(({spans[0] - 1}, 0))"
    else:
        raise Unsupported(None, f"{call.kind}: padding={padding!r} is not supported")
    if max(dilation) > 1:
        options.append(f"dilation={_text(dilation)}")
    if args["groups"] != 1:
        options.append(f"groups={args['groups']}")
    if not args["use_bias"]:
        options.append("bias=False")
    channels = need_known(x.shape[-1], f"{call.kind}: the number of input channels")
    ctor = f"nn.Conv{rank}d({channels}, {args['filters']}, {', '.join(options)})"
    attr = b.attr_for(call)
    source = x.var
    if pad:
        b.module(call, pad, attr=f"{attr}_pad")
        source = f"self.{attr}_pad({x.var})"
    b.module(call, ctor, attr=attr)
    shapes: tuple[tuple[Dim, ...], ...] = (
        (*kernel, arith(channels, "//", args["groups"]), args["filters"]),
    )
    shapes += ((args["filters"],),) if args["use_bias"] else ()
    b.weight(attr, call, "conv", shapes, rank=rank, bias=bool(args["use_bias"]))
    expr = b.activate(f"self.{attr}({source})", args["activation"], channels_first=True)
    return b.assign(expr, (*out, args["filters"]), channels_first=True)


_CONV_PARAMS = (
    ("filters", REQUIRED),
    ("kernel_size", REQUIRED),
    ("strides", 1),
    ("padding", "valid"),
    ("data_format", None),
    ("dilation_rate", 1),
    ("groups", 1),
    ("activation", None),
    ("use_bias", True),
)


@layer("Conv1D", *_CONV_PARAMS, sizes=("filters",))
def conv1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _conv(b, call, inputs, 1)


@layer("Conv2D", *_CONV_PARAMS, sizes=("filters",))
def conv2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _conv(b, call, inputs, 2)


def _pool_padding(n: Dim, k: int, s: int, what: str) -> tuple[int, bool, Dim]:
    """PyTorch's (padding, ceil_mode) giving Keras's "same" pooling, and the output length."""
    before, after = _same_pads(n, k, s, what)
    out = _same_length(n, s)
    if before == after:
        return before, False, out
    if not isinstance(n, int) or 2 * before > k:
        raise Unsupported(None, f"{what}: this padding='same' has no PyTorch equivalent")
    torch_out = -(-(n + 2 * before - k) // s) + 1
    if (torch_out - 1) * s >= n + before:
        torch_out -= 1
    if torch_out != out:
        raise Unsupported(None, f"{what}: this padding='same' has no PyTorch equivalent")
    return before, True, out


def _pool(b: Builder, call: LayerCall, inputs: list[Value], rank: int, op: str) -> Value:
    channels_last_only(call)
    x = b.channels_first(_spatial(inputs[0], rank, call.kind))
    kernel = _tuple(call.args["pool_size"], rank, f"{call.kind}: pool_size")
    strides = call.args["strides"]
    strides = kernel if strides is None else _tuple(strides, rank, f"{call.kind}: strides")
    sizes = x.shape[:-1]
    options = [f"kernel_size={_text(kernel)}"]
    if strides != kernel:
        options.append(f"stride={_text(strides)}")
    if call.args["padding"] == "valid":
        out = [_valid_length(n, k, s) for n, k, s in zip(sizes, kernel, strides, strict=True)]
    elif call.args["padding"] == "same":
        plan = [
            _pool_padding(n, k, s, call.kind)
            for n, k, s in zip(sizes, kernel, strides, strict=True)
        ]
        out = [o for _, _, o in plan]
        pads = tuple(p for p, _, _ in plan)
        ceil_mode = any(c for _, c, _ in plan)
        if any(pads):
            options.append(f"padding={_text(pads)}")
        if ceil_mode:
            options.append("ceil_mode=True")
        if op == "Avg" and (any(pads) or ceil_mode):
            options.append("count_include_pad=False")  # Keras averages the real values only
    else:
        raise Unsupported(None, f"{call.kind}: padding={call.args['padding']!r} is not supported")
    attr = b.module(call, f"nn.{op}Pool{rank}d({', '.join(options)})")
    return b.assign(f"self.{attr}({x.var})", (*out, x.shape[-1]), channels_first=True)


def _pool_params(size: object) -> tuple[tuple[str, object], ...]:
    return (("pool_size", size), ("strides", None), ("padding", "valid"), ("data_format", None))


@layer("MaxPooling1D", *_pool_params(2))
def max_pool1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 1, "Max")


@layer("MaxPooling2D", *_pool_params((2, 2)))
def max_pool2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 2, "Max")


@layer("AveragePooling1D", *_pool_params(2))
def avg_pool1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 1, "Avg")


@layer("AveragePooling2D", *_pool_params((2, 2)))
def avg_pool2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 2, "Avg")


def _global(b: Builder, call: LayerCall, inputs: list[Value], rank: int, op: str) -> Value:
    channels_last_only(call)
    x = _spatial(inputs[0], rank, call.kind)
    first = 2 if x.channels_first else 1
    axes = tuple(range(first, first + rank))
    dims = str(axes[0]) if rank == 1 else str(axes)
    keep = bool(call.args["keepdims"])
    expr = f"{x.var}.{op}(dim={dims}{', keepdim=True' if keep else ''})"
    if x.mask and op == "mean":  # Keras averages the unmasked steps only
        x = b.channels_last(x)
        weights = f"{x.mask}.unsqueeze(-1).to({x.var}.dtype)"
        total = f"({x.var} * {weights}).sum(dim=1{', keepdim=True' if keep else ''})"
        count = f"{weights}.sum(dim=1{', keepdim=True' if keep else ''}).clamp(min=1)"
        expr = f"{total} / {count}"
    if keep:
        return b.assign(expr, (*(1,) * rank, x.shape[-1]), x.channels_first)
    return b.assign(expr, (x.shape[-1],))


_GLOBAL_PARAMS = (("data_format", None), ("keepdims", False))


@layer("GlobalAveragePooling1D", *_GLOBAL_PARAMS)
def global_avg_pool1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _global(b, call, inputs, 1, "mean")


@layer("GlobalAveragePooling2D", *_GLOBAL_PARAMS)
def global_avg_pool2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _global(b, call, inputs, 2, "mean")


@layer("GlobalMaxPooling1D", *_GLOBAL_PARAMS)
def global_max_pool1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _global(b, call, inputs, 1, "amax")


@layer("GlobalMaxPooling2D", *_GLOBAL_PARAMS)
def global_max_pool2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _global(b, call, inputs, 2, "amax")


@layer("Conv3D", *_CONV_PARAMS, sizes=("filters",))
def conv3d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _conv(b, call, inputs, 3)


@layer("MaxPooling3D", *_pool_params((2, 2, 2)))
def max_pool3d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 3, "Max")


@layer("AveragePooling3D", *_pool_params((2, 2, 2)))
def avg_pool3d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _pool(b, call, inputs, 3, "Avg")


def _upsample(b: Builder, call: LayerCall, inputs: list[Value], rank: int) -> Value:
    channels_last_only(call)
    x = b.channels_first(_spatial(inputs[0], rank, call.kind))
    size = _tuple(call.args["size"], rank, f"{call.kind}: size")
    mode = call.args.get("interpolation", "nearest")
    if mode not in ("nearest", "bilinear"):
        raise Unsupported(None, f"{call.kind}: interpolation={mode!r} is not supported")
    options = f"scale_factor={_text(size) if len(set(size)) == 1 else size}, mode={mode!r}"
    attr = b.module(call, f"nn.Upsample({options})")
    out = [arith(n, "*", s) for n, s in zip(x.shape[:-1], size, strict=True)]
    return b.assign(f"self.{attr}({x.var})", (*out, x.shape[-1]), channels_first=True)


@layer("UpSampling1D", ("size", 2))
def upsampling1d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _upsample(b, call, inputs, 1)


@layer("UpSampling2D", ("size", (2, 2)), ("data_format", None), ("interpolation", "nearest"))
def upsampling2d(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    return _upsample(b, call, inputs, 2)


@layer(
    "Conv2DTranspose",
    ("filters", REQUIRED),
    ("kernel_size", REQUIRED),
    ("strides", (1, 1)),
    ("padding", "valid"),
    ("output_padding", None),
    ("data_format", None),
    ("dilation_rate", (1, 1)),
    ("activation", None),
    ("use_bias", True),
    sizes=("filters",),
)
def conv2d_transpose(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    """Keras's output size: n * stride ("same"), n * stride + max(kernel - stride, 0) ("valid")."""
    channels_last_only(call)
    x = b.channels_first(_spatial(inputs[0], 2, call.kind))
    args = call.args
    kernel = _tuple(args["kernel_size"], 2, f"{call.kind}: kernel_size")
    strides = _tuple(args["strides"], 2, f"{call.kind}: strides")
    if args["output_padding"] is not None or _tuple(args["dilation_rate"], 2, "dilation") != (1, 1):
        raise Unsupported(None, f"{call.kind}: output_padding and dilation_rate are not supported")
    pads, extra, crops, out = [], [], [], []
    for n, k, s in zip(x.shape[:-1], kernel, strides, strict=True):
        if args["padding"] == "same":  # Keras crops (k - s) // 2 before, the rest after
            total = max(k - s, 0)
            pads.append(total // 2)
            crops.append(total - 2 * (total // 2))  # PyTorch crops evenly: 1 more at the end
            extra.append(max(s - k, 0))
            out.append(arith(n, "*", s))
        elif args["padding"] == "valid":
            pads.append(0)
            crops.append(0)
            extra.append(max(s - k, 0))
            out.append(arith(arith(n, "*", s), "+", max(k - s, 0)))
        else:
            raise Unsupported(None, f"{call.kind}: padding={args['padding']!r} is not supported")
    options = [f"kernel_size={_text(kernel)}"]
    if max(strides) > 1:
        options.append(f"stride={_text(strides)}")
    if any(pads):
        options.append(f"padding={_text(tuple(pads))}")
    if any(extra):
        options.append(f"output_padding={_text(tuple(extra))}")
    if not args["use_bias"]:
        options.append("bias=False")
    channels = need_known(x.shape[-1], f"{call.kind}: the number of input channels")
    attr = b.module(
        call, f"nn.ConvTranspose2d({channels}, {args['filters']}, {', '.join(options)})"
    )
    shapes: tuple[tuple[Dim, ...], ...] = ((*kernel, args["filters"], channels),)
    shapes += ((args["filters"],),) if args["use_bias"] else ()
    b.weight(attr, call, "conv_transpose", shapes, rank=2, bias=bool(args["use_bias"]))
    crop = "" if not any(crops) else "[:, :, " + ", ".join(":-1" if c else ":" for c in crops) + "]"
    expr = b.activate(f"self.{attr}({x.var}){crop}", args["activation"], channels_first=True)
    return b.assign(expr, (*out, args["filters"]), channels_first=True)
