"""Write a parsed model as a readable ``nn.Module`` class and a small factory function."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dlcourse.convert.builder import Builder, Value, WeightSpec
from dlcourse.convert.ir import ModelDef, Unsupported
from dlcourse.convert.registry import ALIAS, layer_defs

_ELEMENTWISE = {"Dropout", "Activation", "ReLU", "Rescaling", ALIAS}
_ACTIVATED = {"Dense", "Conv1D", "Conv2D", "Activation"}
_COMMENT_COLUMN = 44


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
    """For each node, the indices of the nodes whose outputs it reads (-1: the input)."""
    latest: dict[str, int] = {model.input_name: -1}
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
    b.values[model.input_name] = Value(model.input_name, model.input_shape)
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
            defs[layer.kind].build(b, layer, inputs)
        except Unsupported as err:
            err.loc = err.loc or layer.loc
            raise
    b.target = model.output
    result = b.channels_last(b.values[model.output])
    b.line(f"return {result.var}")
    code = _render(model, b, class_name, factory, result)
    return ModelPlan(model, class_name, factory, code, b.weights, b.uses_functional)


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


def _render(model: ModelDef, b: Builder, name: str, factory: str, out: Value) -> str:
    params = list(model.params)
    signature = "".join(f", {p}: int" for p in params)
    sizes = "".join(f"{p}: int, " for p in params)
    where = f"`{model.var} = ...`" if model.var else "the model returned"
    shape_in = Builder.shape_text(Value("", model.input_shape))
    shape_out = Builder.shape_text(out)
    returns = f"returns {shape_out}."
    if model.fold:
        returns = f"returns {shape_out} logits:\n    apply {model.fold} for Keras's probabilities."
    lines = [
        f"class {name}(nn.Module):",
        f'    """Converted from Keras: {where} ({model.loc}).',
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
        f"    def forward(self, {model.input_name}: torch.Tensor) -> torch.Tensor:",
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
