"""Rewrite the Keras expressions inside one statement: model methods, datasets, callbacks."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from dlcourse.convert.ir import Unsupported
from dlcourse.convert.keras_datasets import NOTES as DATASET_NOTES
from dlcourse.convert.keras_datasets import SUPPORTED as DATASETS
from dlcourse.convert.read.names import Aliases
from dlcourse.convert.report import Loc
from dlcourse.convert.write.augment import image_augment
from dlcourse.convert.write.compile_fit import (
    KERAS2_METHODS,
    Setup,
    callback_call,
    helper_call,
    keras2_call,
    pt_paths,
)
from dlcourse.convert.write.templates import CALLBACKS

_KERAS_FIT_WORDS = {"epochs", "validation_split", "validation_data", "callbacks"}


def _expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def _features(method: str, call: ast.Call) -> set[str]:
    """The optional parts of the helpers a fit/evaluate/predict call needs: callbacks (``cb``),
    a generator of batches (``gen``: no targets given, or a number of steps)."""
    keywords = {k.arg for k in call.keywords}
    features = set()
    if method == "fit" and ("callbacks" in keywords or len(call.args) >= 6):
        features.add("cb")
    no_targets = method != "predict" and len(call.args) < 2 and "y" not in keywords
    if no_targets or keywords & {"steps", "steps_per_epoch", "validation_steps"}:
        features.add("gen")
    return features


class ExpressionRewriter(ast.NodeTransformer):
    """Rewrites one statement's expressions; raises :class:`Unsupported` when it cannot.

    ``is_model(name)`` says whether a name holds a converted model; ``history`` holds the
    names bound to ``fit``'s result (``history.history`` becomes ``history``).
    """

    def __init__(
        self,
        aliases: Aliases,
        is_model: Callable[[str], bool],
        history: set[str],
        uncompiled: Callable[[str], Loc | None] = lambda var: None,
        renamed: dict[str, str] | None = None,
        augmenters: set[str] | None = None,
        setup: Callable[[str], Setup | None] = lambda var: None,
    ):
        self.renamed = renamed or {}
        """Helpers renamed because the program defines their name itself (its own predict)."""
        self.setup = setup
        """The variables of the compile that applies to a model variable (fit takes them)."""
        self.augmenters = augmenters if augmenters is not None else set()
        """Names bound to a converted ImageDataGenerator: only their ``flow`` is converted."""
        self.aliases, self.is_model, self.history = aliases, is_model, history
        self.uncompiled = uncompiled
        self.cause: Loc | None = None
        """Set with an Unsupported that only follows from an earlier item (its location)."""
        self.changed = False
        self.helpers: set[str] = set()
        self.features: set[str] = set()
        """Optional parts of the helpers the statement needs (templates.FEATURES)."""
        self.imports: set[str] = set()
        self.notes: list[str] = []

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Name) and self.is_model(func.id):  # model(x): Keras's __call__
            node.args = [self.visit(a) for a in node.args]
            node.keywords = [self.visit(k) for k in node.keywords]
            given = {k.arg for k in node.keywords}
            if len(node.args) != 1 or not given <= {"training"}:
                raise Unsupported(node, f"{func.id}(...): give one input (or a list of them)")
            call = ast.Call(ast.Name("call_model", ast.Load()), [func, *node.args], node.keywords)
            return self._helper("call_model", call)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            var, method = func.value.id, func.attr
            if self.is_model(var):
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                self.changed = True
                return self._model_method(var, method, node)
            if method in ("fit", "evaluate") and _KERAS_FIT_WORDS & {k.arg for k in node.keywords}:
                raise Unsupported(node, f"{var}.{method}: cannot tell which model {var} is")
        dotted = self.aliases.resolve(func) or ""
        name = dotted.rsplit(".", 1)[-1]
        if dotted.startswith("keras.callbacks.") and name in CALLBACKS:
            self.generic_visit(node)
            self.features.add("cb")
            return self._helper(name, callback_call(name, node))
        if dotted in ("keras.utils.pad_sequences", "keras.preprocessing.sequence.pad_sequences"):
            self.generic_visit(node)
            return self._helper(
                name, ast.Call(ast.Name(name, ast.Load()), node.args, node.keywords)
            )
        if dotted == "keras.utils.to_categorical":
            self.generic_visit(node)
            return self._helper(
                name, ast.Call(ast.Name(name, ast.Load()), node.args, node.keywords)
            )
        if dotted == "keras.preprocessing.image.ImageDataGenerator":
            self.generic_visit(node)
            new, notes = image_augment(node)
            self.notes += notes
            self.imports.add("from torchvision.transforms import v2")
            self.features.add("gen")
            return self._helper("ImageAugment", new)
        if dotted == "tensorflow.random.set_seed":
            self.changed = True
            self.imports.add("import torch")
            return ast.Call(_expr("torch.manual_seed"), node.args, [])
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            return self._dataset(node) or node
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        dataset = self._dataset(node)
        if dataset is not None:
            return dataset
        if self.aliases.resolve(node) in ("tensorflow.__version__", "keras.__version__"):
            self.changed = True
            self.imports.add("import torch")
            return ast.copy_location(_expr("torch.__version__"), node)
        if isinstance(node.value, ast.Name):
            var = node.value.id
            if var in self.augmenters and node.attr != "flow":
                raise Unsupported(node, f"ImageDataGenerator.{node.attr} is not converted")
            if var in self.history and node.attr == "history":
                self.changed = True
                return node.value
            if self.is_model(var):
                raise Unsupported(node, f"{var}.{node.attr} has no converted equivalent")
        return self.generic_visit(node)

    def _helper(self, name: str, call: ast.Call) -> ast.Call:
        self.changed = True
        self.helpers.add(name)
        if isinstance(call.func, ast.Name):
            call.func.id = self.renamed.get(call.func.id, call.func.id)
        call.func.converted = True  # type: ignore[attr-defined]  # a helper, even if Keras's name
        return call

    def _model_method(self, var: str, method: str, call: ast.Call) -> ast.AST:
        if method in KERAS2_METHODS:
            method, call, notes = keras2_call(method, var, call)
            self.notes += notes
            self.features.add("gen")
        compiled_at = self.uncompiled(var) if method in ("fit", "evaluate") else None
        if compiled_at is not None:
            self.cause = compiled_at
            message = f"{var}.{method}: {var}.compile() was not converted ({compiled_at})"
            raise Unsupported(call, message)
        if method in ("fit", "evaluate", "predict"):
            self.features |= _features(method, call)
            setup = self.setup(var) if method != "predict" else None
            return self._helper(method, helper_call(method, var, call, setup))
        if method == "summary":  # line_length=, positions=, ...: layout only
            return self._helper(
                "summary",
                ast.Call(ast.Name("summary", ast.Load()), [ast.Name(var, ast.Load())], []),
            )
        if method in ("save", "save_weights") and len(call.args) == 1 and not call.keywords:
            path = call.args[0]
            pt_paths(path)
            self.imports.add("import torch")
            self.notes.append(f"{var}.{method}() saves the PyTorch state_dict (torch.save)")
            return ast.Call(_expr("torch.save"), [_expr(f"{var}.state_dict()"), path], [])
        if method == "count_params" and not call.args:
            return _expr(f"sum(p.numel() for p in {var}.parameters())")
        raise Unsupported(call, f"{var}.{method}() has no converted equivalent")

    def _dataset(self, node: ast.Name | ast.Attribute) -> ast.expr | None:
        """``keras.datasets.X...`` as ``keras_datasets.X...`` (the course's copy), else None."""
        dotted = self.aliases.resolve(node) or ""
        match = re.fullmatch(r"keras\.datasets(?:\.(\w+))?((?:\.\w+)*)", dotted)
        if not match:
            return None
        dataset = match.group(1)
        if dataset not in DATASETS:
            what = f"keras.datasets.{dataset}" if dataset else "keras.datasets"
            raise Unsupported(
                node, f"{what}: the course has no copy of this dataset; load it yourself"
            )
        self.changed = True
        self.imports.add("from dlcourse.convert import keras_datasets")
        self.notes.append(
            f"keras.datasets.{dataset} -> keras_datasets.{dataset} "
            f"(dlcourse.convert.keras_datasets): {DATASET_NOTES[dataset]}"
        )
        return ast.copy_location(_expr(f"keras_datasets.{dataset}{match.group(2)}"), node)
