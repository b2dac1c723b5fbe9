"""Build the class the converter generated, after checking it holds only what the converter writes.

``dlcourse convert --weights`` loads the converted weights into the generated ``nn.Module`` to
prove they fit. Every value in that class comes from the converter's own templates and from
layer arguments checked to be literals (``read.arg_checks``); this module checks the whole
class again, node by node, before it is run, so that no text from the input can ever run
during a conversion. The class runs with no builtins but the few its code needs.
"""

from __future__ import annotations

import ast
import builtins
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.convert.report import ConvertError

_MODULES = {
    "nn": {
        "Module",
        "Linear",
        "LazyLinear",
        "LazyConv1d",
        "LazyConv2d",
        "LazyConv3d",
        "LazyConvTranspose2d",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "Dropout",
        "Flatten",
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "Embedding",
        "RNN",
        "LSTM",
        "GRU",
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose2d",
        "ZeroPad1d",
        "ZeroPad2d",
        "ZeroPad3d",
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "Upsample",
        "utils.rnn.pack_padded_sequence",
    },
    "torch": {"Tensor", "cat", "softmax", "sigmoid", "tanh", "clamp", "argsort", "int8"},
    "F": {"relu", "elu", "gelu", "selu", "softplus", "silu", "leaky_relu"},
    "math": {"prod"},
}
"""The only names of torch, nn, F and math the generated classes use."""
_METHODS = frozenset(
    {
        "permute",
        "reshape",
        "size",
        "long",
        "sum",
        "clamp",
        "cpu",
        "to",
        "gather",
        "unsqueeze",
        "expand_as",
        "mean",
        "amax",
        "dtype",
    }
)
"""Tensor methods and attributes that ``forward`` calls on its local values."""
_NODES = (
    ast.ClassDef,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Expr,
    ast.Assign,
    ast.Return,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Name,
    ast.Constant,
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Subscript,
    ast.Slice,
    ast.expr_context,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.USub,
    ast.Invert,
    ast.NotEq,
)
"""Every kind of node the generated classes contain: no loops, lambdas, imports or powers."""
_NAMES = ("super", "int", "tuple", "str")
"""The builtins the generated class may name (``class`` itself also needs ``__build_class__``)."""


def _dotted(node: ast.expr) -> list[str] | None:
    """``nn.utils.rnn.x`` as its parts; None when the chain does not start at a name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return [node.id, *parts] if isinstance(node, ast.Name) else None


def _refuse(node: ast.AST, why: str) -> ConvertError:
    return ConvertError(
        f"internal error, please report it with the input: the generated class holds {why} "
        f"(line {getattr(node, 'lineno', '?')}); it was not run"
    )


def _check_attribute(node: ast.Attribute, local: set[str], attrs: set[str]) -> None:
    """An attribute chain: a listed name of torch/nn/F, a layer of ``self``, a tensor method."""
    chain = _dotted(node)
    if chain is None:  # super().__init__, or a method of a call's result
        is_super = (
            isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super"
        )
        if not (node.attr == "__init__" and is_super) and node.attr not in _METHODS:
            raise _refuse(node, f"the attribute {node.attr!r}")
        return
    root, rest = chain[0], ".".join(chain[1:])
    if root in _MODULES and rest in _MODULES[root]:
        return
    if root == "self" and len(chain) == 2 and chain[1] in attrs:
        return
    if root in local and len(chain) == 2 and chain[1] in _METHODS:
        return
    raise _refuse(node, ".".join(chain))


def _outermost_attributes(tree: ast.AST) -> list[ast.Attribute]:
    """Attribute nodes that are not themselves the ``value`` of another attribute."""
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and id(n) not in inner]


def check_class(code: str, class_name: str) -> ast.Module:
    """The generated class alone, as a module, if every node is one the converter writes."""
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise _refuse(err, f"invalid Python ({err.msg})") from None
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    if len(classes) != 1:
        raise ConvertError(f"internal error: no class {class_name} was generated")
    cls = classes[0]
    if [_dotted(b) for b in cls.bases] != [["nn", "Module"]] or cls.keywords:
        raise _refuse(cls, "a base class other than nn.Module")
    local: set[str] = set()
    attrs: set[str] = set()
    for node in ast.walk(cls):
        if not isinstance(node, _NODES):
            raise _refuse(node, f"a {type(node).__name__} construct")
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.decorator_list:
            raise _refuse(node, "a decorator")
        if isinstance(node, ast.FunctionDef) and node.name not in ("__init__", "forward"):
            raise _refuse(node, f"the function {node.name!r}")
        if isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if _dotted(node) != ["self", node.attr] or node.attr.startswith("_"):
                raise _refuse(node, f"an assignment to {ast.unparse(node)}")
            attrs.add(node.attr)
    names = local | set(_MODULES) | set(_NAMES)
    for node in ast.walk(cls):
        if isinstance(node, ast.Name) and (node.id not in names or node.id.startswith("__")):
            raise _refuse(node, f"the name {node.id!r}")
    for node in _outermost_attributes(cls):
        _check_attribute(node, local - {"self"}, attrs)
    return ast.Module([cls], [])


def build_class(code: str, class_name: str) -> type[nn.Module]:
    """Run the checked class definition with only torch, nn, F and a few builtins in reach."""
    module = check_class(code, class_name)
    namespace: dict[str, object] = {
        "torch": torch,
        "nn": nn,
        "F": F,
        "math": math,
        "__name__": "dlcourse_converted",
        "__builtins__": {name: getattr(builtins, name) for name in ("__build_class__", *_NAMES)},
    }
    exec(compile(module, "<converted class>", "exec"), namespace)  # noqa: S102 - checked above
    return namespace[class_name]  # type: ignore[return-value]
