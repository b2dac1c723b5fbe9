"""Recurrent layers: SimpleRNN, LSTM, GRU and the Bidirectional wrapper."""

from __future__ import annotations

from dlcourse.convert.ir import Dim, LayerCall, Unsupported
from dlcourse.convert.layers.builder import Builder, Value, arith
from dlcourse.convert.layers.registry import REQUIRED, layer, need_known

_TORCH = {"SimpleRNN": "nn.RNN", "LSTM": "nn.LSTM", "GRU": "nn.GRU"}
_COMMON = (
    ("use_bias", True),
    ("return_sequences", False),
    ("return_state", False),
    ("go_backwards", False),
    ("stateful", False),
)


def _check(call: LayerCall) -> str:
    """Reject what nn.RNN/LSTM/GRU cannot express; returns extra constructor options."""
    args = call.args
    for flag in ("return_state", "go_backwards", "stateful"):
        if args[flag]:
            raise Unsupported(None, f"{call.kind}: {flag}=True is not supported")
    options = ""
    if call.kind == "SimpleRNN":
        if args["activation"] not in ("tanh", "relu"):
            raise Unsupported(None, "SimpleRNN: only activation 'tanh' or 'relu' is supported")
        if args["activation"] == "relu":
            options += ', nonlinearity="relu"'
    elif args["activation"] != "tanh" or args["recurrent_activation"] != "sigmoid":
        raise Unsupported(
            None, f"{call.kind}: only activation='tanh', recurrent_activation='sigmoid'"
        )
    if call.kind == "GRU" and not args["reset_after"]:
        raise Unsupported(None, "GRU: reset_after=False has no PyTorch equivalent")
    if not args["use_bias"]:
        options += ", bias=False"
    return options


def _recurrent(b: Builder, call: LayerCall, rnn: LayerCall, x: Value, both: bool) -> Value:
    options = _check(rnn)
    x = b.channels_last(x)
    if x.rank != 2:
        raise Unsupported(None, f"{rnn.kind} needs inputs of shape (batch, time, features)")
    features = need_known(x.shape[-1], f"{rnn.kind}: the number of input features")
    units = rnn.args["units"]
    if both:
        options += ", bidirectional=True"
    ctor = f"{_TORCH[rnn.kind]}({features}, {units}, batch_first=True{options})"
    attr = b.module(call, ctor)
    gates = arith({"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[rnn.kind], "*", units)
    shapes: tuple[tuple[Dim, ...], ...] = ((features, gates), (units, gates))
    if rnn.args["use_bias"]:
        shapes += ((2, gates),) if rnn.kind == "GRU" else ((gates,),)
    bias = rnn.args["use_bias"]
    b.weight(
        attr, call, "recurrent", shapes * (1 + both), cell=rnn.kind, bidirectional=both, bias=bias
    )
    width: Dim = units
    if both:
        width = arith(2, "*", units)
    steps, out = x.shape[0], b.target
    if x.mask:
        return _masked(b, attr, rnn, x, both, width)
    if rnn.args["return_sequences"]:
        b.line(f"{out}, _ = self.{attr}({x.var})", Builder.shape_text(Value(out, (steps, width))))
    elif not both:
        every = Builder.shape_text(Value(out, (steps, width)))
        b.line(f"{out}, _ = self.{attr}({x.var})", f"{every}: every time step")
        return b.assign(f"{out}[:, -1]", (width,), note="the last step, as Keras returns")
    else:
        state = "(h_n, _)" if rnn.kind == "LSTM" else "h_n"
        b.line(f"_, {state} = self.{attr}({x.var})", "final states of both directions")
        return b.assign("torch.cat([h_n[-2], h_n[-1]], dim=1)", (width,))
    value = Value(out, (steps, width))
    b.values[out] = value
    return value


def _masked(b: Builder, attr: str, rnn: LayerCall, x: Value, both: bool, width: Dim) -> Value:
    """Keras skips masked steps: the real steps go first, packed, and padding is never seen."""
    if rnn.args["return_sequences"]:
        raise Unsupported(None, f"{rnn.kind}: return_sequences=True with a mask is not supported")
    mask = x.mask
    b.line(f"lengths = {mask}.sum(dim=1).clamp(min=1).cpu()", "(N,): real steps per sample")
    b.line(
        f"order = torch.argsort((~{mask}).to(torch.int8), dim=1, stable=True)",
        "real steps first, in order",
    )
    b.line(f"{x.var} = {x.var}.gather(1, order.unsqueeze(-1).expand_as({x.var}))")
    b.line(
        f"packed = nn.utils.rnn.pack_padded_sequence({x.var}, lengths, batch_first=True, "
        "enforce_sorted=False)"
    )
    state = "(h_n, _)" if rnn.kind == "LSTM" else "h_n"
    b.line(f"_, {state} = self.{attr}(packed)", "final states, after each sample's last real step")
    if both:
        return b.assign("torch.cat([h_n[-2], h_n[-1]], dim=1)", (width,))
    return b.assign("h_n[-1]", (width,))


def _params(kind: str) -> tuple[tuple[str, object], ...]:
    if kind == "SimpleRNN":
        return (("units", REQUIRED), ("activation", "tanh"), *_COMMON)
    gates = (("units", REQUIRED), ("activation", "tanh"), ("recurrent_activation", "sigmoid"))
    extra = (("reset_after", True),) if kind == "GRU" else ()
    return (*gates, *_COMMON, *extra)


def _register(kind: str) -> None:
    positional = 2 if kind == "SimpleRNN" else 3

    @layer(kind, *_params(kind), sizes=("units",), positional=positional)
    def build(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
        return _recurrent(b, call, call, inputs[0], both=False)


for _kind in _TORCH:
    _register(_kind)


@layer("Bidirectional", ("layer", REQUIRED), ("merge_mode", "concat"), positional=2)
def bidirectional(b: Builder, call: LayerCall, inputs: list[Value]) -> Value:
    rnn = call.inner
    if rnn is None or rnn.kind not in _TORCH:
        raise Unsupported(None, "Bidirectional: only SimpleRNN, LSTM or GRU can be wrapped")
    if call.args["merge_mode"] != "concat":
        raise Unsupported(None, "Bidirectional: only merge_mode='concat' is supported")
    return _recurrent(b, call, rnn, inputs[0], both=True)
