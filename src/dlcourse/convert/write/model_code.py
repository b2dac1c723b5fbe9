"""Write a parsed model as a readable ``nn.Module`` class and a small factory function."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from dlcourse.convert.ir import DEFERRED, ModelDef, Unsupported
from dlcourse.convert.layers.builder import Builder, Value, WeightSpec
from dlcourse.convert.layers.registry import ALIAS, layer_defs
from dlcourse.convert.report import Loc
from dlcourse.convert.write.code_check import check_class

_ELEMENTWISE = {"Dropout", "Activation", "ReLU", "Rescaling", ALIAS}
_ACTIVATED = {"Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Activation"}
_COMMENT_COLUMN = 44
MASK_PASSERS = {"Dense", "Dropout", "Activation", "ReLU", "TimeDistributed", ALIAS}
"""Layers that pass Keras's mask on, unchanged (``mask_zero=True``)."""
MASK_READERS = {"GlobalAveragePooling1D", "SimpleRNN", "LSTM", "GRU", "Bidirectional"}
"""Layers that use the mask: padding steps are left out of the mean, or skipped."""


@dataclass
class ModelPlan:
    """The generated code of one model and how its Keras weights map onto it."""

    model: ModelDef
    class_name: str
    factory: str
    code: str
    weights: list[WeightSpec]
    uses_functional: bool


def final_activation(model: ModelDef) -> str | None:
    """The activation of the layer that gives the model's output (``softmax``, ...), if any."""
    node = model.nodes[_output_index(model)]
    if node.layer.kind in _ACTIVATED:
        value = node.layer.args.get("activation")
        return value if isinstance(value, str) else None
    return None


def _output_index(model: ModelDef) -> int:
    return max(i for i, n in enumerate(model.nodes) if n.output == model.output)


def producers(model: ModelDef) -> list[list[int]]:
    """For each node, the indices of the nodes whose outputs it reads (-1 - k: input k)."""
    latest: dict[str, int] = {name: -1 - k for k, (name, _) in enumerate(model.inputs)}
    result = []
    for i, node in enumerate(model.nodes):
        result.append([latest[name] for name in node.inputs])
        latest[node.output] = i
    return result


def _flatten_keeps_order(model: ModelDef, index: int, consumers: list[list[int]]) -> bool:
    """True when a Flatten's output reaches only Dense layers, through element-wise layers.

    Then PyTorch may flatten channels first and the Dense weights absorb the permutation.
    """
    last = _output_index(model)
    todo, dense = [index], 0
    while todo:
        i = todo.pop()
        if i == last:
            return False
        for j in consumers[i]:
            kind = model.nodes[j].layer.kind
            if kind == "Dense":
                dense += 1
            elif kind in _ELEMENTWISE:
                todo.append(j)
            else:
                return False
    return dense > 0


def emit_model(model: ModelDef, class_name: str, factory: str) -> ModelPlan:
    """Build the class; raises :class:`Unsupported` (located at the layer) when it cannot."""
    defs = layer_defs()
    b = Builder()
    for name, shape in model.inputs:
        b.values[name] = Value(name, shape)
    consumers: list[list[int]] = [[] for _ in model.nodes]
    for j, sources in enumerate(producers(model)):
        for i in sources:
            if i >= 0:
                consumers[i].append(j)
    last = _output_index(model)
    for i, node in enumerate(model.nodes):
        layer = node.layer
        b.target, b.node = node.output, i
        b.flatten_keeps_order = layer.kind == "Flatten" and _flatten_keeps_order(
            model, i, consumers
        )
        try:
            inputs = [b.values[name] for name in node.inputs]
            if i == last and model.fold:
                note = f"{model.fold} folded into the loss: the model returns logits"
                if layer.kind == "Activation":
                    b.comment(f"Keras: {layer.source}; {note}")
                    if node.output != inputs[0].var:
                        b.assign(inputs[0].var, inputs[0].shape, inputs[0].channels_first)
                    else:
                        b.values[node.output] = inputs[0]
                    continue
                b.comment(f"Keras: activation={model.fold!r}; {note}")
                layer = dataclasses.replace(layer, args={**layer.args, "activation": None})
            masked = [v.mask for v in inputs if v.mask]
            if masked and layer.kind not in MASK_READERS | MASK_PASSERS:
                raise Unsupported(
                    None, f"{layer.kind} after Embedding(mask_zero=True): masking is not supported"
                )
            value = defs[layer.kind].build(b, layer, inputs)
            if masked and layer.kind in MASK_PASSERS and value.rank >= 2:
                b.values[value.var] = dataclasses.replace(b.values[value.var], mask=masked[0])
        except Unsupported as err:
            err.loc = err.loc or layer.loc
            raise
    results = []
    for output in model.outputs:
        b.target = output
        results.append(b.channels_last(b.values[output]))
    b.line(f"return {', '.join(r.var for r in results)}")
    if model.input_shape and DEFERRED in str(model.input_shape[0]):
        _deferred(b, model)
    code = _render(model, b, class_name, factory, results)
    check_class(code, class_name)  # only what the converter writes: never text from the input
    return ModelPlan(model, class_name, factory, code, b.weights, b.uses_functional)


_LAZY = {
    "Linear": "LazyLinear",
    "Conv1d": "LazyConv1d",
    "Conv2d": "LazyConv2d",
    "Conv3d": "LazyConv3d",
    "ConvTranspose2d": "LazyConvTranspose2d",
    "BatchNorm1d": "LazyBatchNorm1d",
    "BatchNorm2d": "LazyBatchNorm2d",
    "BatchNorm3d": "LazyBatchNorm3d",
}
"""PyTorch's modules that take their input size from the first batch, as Keras's layers do."""


def _deferred(b: Builder, model: ModelDef) -> None:
    """A model with no input shape: modules whose input size Keras infers become lazy ones."""
    for k, (code, note) in enumerate(b.init):
        match = re.fullmatch(r"(self\.\w+ = nn\.)(\w+)\((.*)\)", code)
        if not match or DEFERRED not in code:
            continue
        first, _, rest = match.group(3).partition(", ")
        if match.group(2) in _LAZY and DEFERRED in first and DEFERRED not in rest:
            b.init[k] = (f"{match.group(1)}{_LAZY[match.group(2)]}({rest})", note)
    for code, note in [*b.init, *b.forward]:
        if DEFERRED in code:
            raise Unsupported(
                None,
                f"the model {model.var or 'returned here'} has no input shape, and "
                f"{note or 'a layer'} needs it when built in PyTorch: start the model with "
                "keras.Input(shape=...)",
                model.loc,
            )


def _aligned(lines: list[tuple[str, str]], indent: str) -> list[str]:
    """Code lines with their comments lined up."""
    width = min(max((len(c) for c, note in lines if note), default=0), _COMMENT_COLUMN)
    out = []
    for code, note in lines:
        out.append(f"{indent}{code.ljust(width)}  # {note}" if note else f"{indent}{code}")
    return out


def _init_lines(b: Builder, indent: str) -> list[str]:
    """``self.x = ...`` lines, each under a comment giving the Keras layer it comes from."""
    out: list[str] = []
    previous = ""
    for code, note in b.init:
        if note != previous:
            room = 99 - len(indent) - 2
            out.append(f"{indent}# {note if len(note) <= room else note[: room - 3] + '...'}")
            previous = note
        out.append(f"{indent}{code}")
    return out


def _place(loc: Loc) -> str:
    """Where the model was, without the input's file name (which must never reach the code)."""
    if re.fullmatch(r"cell \d+", loc.unit):
        return f"{loc.unit}, line {loc.line}"
    return f"line {loc.line}"


def _render(model: ModelDef, b: Builder, name: str, factory: str, outs: list[Value]) -> str:
    params = list(model.params)
    hints = {p: "tuple[int, ...]" if p.startswith("input_shape") else "int" for p in params}
    signature = "".join(f", {p}: {hints[p]}" for p in params)
    sizes = "".join(f"{p}: {hints[p]}, " for p in params)
    where = f"`{model.var} = ...`" if model.var else "the model returned"
    shape_in = " and ".join(Builder.shape_text(Value("", shape)) for _, shape in model.inputs)
    shape_out = " and ".join(Builder.shape_text(out) for out in outs)
    returns = f"returns {shape_out}."
    if model.fold:
        returns = f"returns {shape_out} logits:\n    apply {model.fold} for Keras's probabilities."
    arguments = ", ".join(f"{n}: torch.Tensor" for n, _ in model.inputs)
    returned = "torch.Tensor"
    if len(outs) > 1:
        returned = f"tuple[{', '.join(['torch.Tensor'] * len(outs))}]"
    lines = [
        f"class {name}(nn.Module):",
        f'    """Converted from Keras: {where} ({_place(model.loc)}).',
        "",
        f"    Takes inputs in Keras's layout, {shape_in}; {returns}",
        '    """',
        "",
    ]
    if model.fold:
        lines += [
            f'    output_activation = "{model.fold}"  # folded into the loss; `predict` applies it',
            "",
        ]
    lines += [
        f"    def __init__(self{signature}) -> None:",
        "        super().__init__()",
        *_init_lines(b, " " * 8),
        "",
        f"    def forward(self, {arguments}) -> {returned}:",
        *_aligned(b.forward, " " * 8),
        "",
        "",
        f"def {factory}({sizes}weights: str | None = None) -> {name}:",
        f'    """A new `{name}`; `weights`: a state_dict file (`dlcourse convert --weights`)."""',
        f"    model = {name}({', '.join(params)})",
        "    if weights is not None:",
        '        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))',
        "    return model",
    ]
    return "\n".join(lines) + "\n"
