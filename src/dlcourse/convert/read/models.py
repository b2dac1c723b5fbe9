"""Assemble model definitions (Sequential, ``.add`` chains, functional graphs) from a scope."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from dlcourse.convert.ir import DEFERRED, Dim, LayerCall, ModelDef, Node, ShapeSym, Sym, Unsupported
from dlcourse.convert.layers.registry import ALIAS
from dlcourse.convert.read.layer_calls import LayerParser, Syms
from dlcourse.convert.report import Loc

_MERGE_HELPERS = {"keras.layers.concatenate": "Concatenate", "keras.layers.add": "Add"}


@dataclass
class Found:
    """A model definition closed by the finder: converted, or not with the reason."""

    var: str
    stmts: list[ast.stmt]
    model: ModelDef | None = None
    error: Unsupported | None = None
    replay: list[ast.stmt] = field(default_factory=list)
    """``model.summary()`` calls after the last ``add``: converted once the model is known."""
    early: list[ast.stmt] = field(default_factory=list)
    """``model.summary()`` calls before a later ``add``: Keras shows a model still in progress."""


@dataclass
class _Draft:
    """A Sequential model being assembled from ``Sequential([...])`` and ``.add`` calls."""

    var: str
    stmts: list[ast.stmt]
    loc: Loc
    syms: Syms = field(default_factory=Syms)
    layers: list[LayerCall] = field(default_factory=list)
    shape: tuple[Dim, ...] | None = None
    error: Unsupported | None = None
    summaries: list[ast.stmt] = field(default_factory=list)
    """``model.summary()`` calls met while the model is still built with ``add``."""


@dataclass
class _GNode:
    """A value of a functional graph: an Input (``node`` is None) or a layer's output."""

    node: Node | None
    producers: list[int]
    stmt: ast.stmt
    var: str = ""
    shape: tuple[Dim, ...] = ()
    params: dict[str, str] = field(default_factory=dict)


class ModelFinder:
    """Collects the model definitions of one scope, statement by statement."""

    def __init__(self, parser: LayerParser) -> None:
        self.parser = parser
        self.drafts: dict[str, _Draft] = {}
        self.graph: list[_GNode] = []
        self.tensors: dict[str, int | Unsupported] = {}
        self.claimed: set[int] = set()
        self.failed_stmts: dict[int, tuple[ast.stmt, Unsupported]] = {}
        self.first_failure: Loc | None = None

    # -- statements -----------------------------------------------------------------------
    def feed(self, stmt: ast.stmt) -> tuple[bool, list[Found]]:
        """Take ``stmt`` if it builds a model: (taken, the models it closes)."""
        if isinstance(stmt, ast.Expr) and self._summary(stmt):
            return True, []
        found = self._close_read(stmt)
        if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Call):
            return self._returned(stmt, stmt.value, found)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return self._method(stmt, stmt.value), found
        target = _single_target(stmt)
        if target is None:
            return False, found
        if target in self.drafts:
            found.append(self._close(target))
        value = stmt.value  # type: ignore[attr-defined]
        dotted = self.parser.dotted(value.func) if isinstance(value, ast.Call) else None
        if (isinstance(value, ast.Name) and value.id in self.tensors) or (
            isinstance(value, ast.Call)
            and (self.parser.is_input(value) or self._is_layer_application(value))
        ):
            self._tensor_stmt(target, stmt, value)
            return True, found
        self.tensors.pop(target, None)
        if dotted == "keras.Sequential":
            self._start(target, stmt, value)  # type: ignore[arg-type]
            return True, found
        if dotted == "keras.Model":
            found.append(self._functional(target, stmt, value))  # type: ignore[arg-type]
            return True, found
        return False, found

    def finish(self) -> list[Found]:
        """Close every open draft; report layer calls that no model used."""
        found = [self._close(var) for var in list(self.drafts)]
        for index, gnode in enumerate(self.graph):
            if index not in self.claimed and id(gnode.stmt) not in self.failed_stmts:
                error = Unsupported(gnode.stmt, "Keras layer call not used by any keras.Model")
                error.cause = self.first_failure  # most likely, the model it fed failed
                self.failed_stmts[id(gnode.stmt)] = (gnode.stmt, error)
        for stmt, error in self.failed_stmts.values():
            found.append(Found("", [stmt], error=error))
        self.failed_stmts.clear()
        return found

    def tensor_read(self, stmt: ast.stmt) -> str | None:
        """The name of a Keras tensor that a non-model statement reads, if any."""
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id in self.tensors:
                return node.id
        return None

    # -- Sequential -------------------------------------------------------------------------
    def _start(self, var: str, stmt: ast.stmt, call: ast.Call) -> None:
        draft = _Draft(var, [stmt], self.parser.loc(call))
        self.drafts[var] = draft
        items = call.args[0] if call.args else None
        items = next((k.value for k in call.keywords if k.arg == "layers"), items)
        if items is None:
            return
        if not isinstance(items, ast.List | ast.Tuple):
            draft.error = Unsupported(items, "Sequential(...) needs a list of layers written out")
            return
        for item in items.elts:
            self._add(draft, item)

    def _add(self, draft: _Draft, item: ast.expr) -> None:
        if draft.error is not None:
            return
        try:
            if not isinstance(item, ast.Call):
                name = self.parser.text(item)
                raise Unsupported(
                    item,
                    f"a model or layer object ({name}) inside Sequential([...]) is not converted: "
                    "write its layers in place",
                )
            if self.parser.is_input(item):
                if draft.layers or draft.shape is not None:
                    raise Unsupported(item, "keras.Input must come first")
                draft.shape = self.parser.input_shape(item, draft.syms)
                return
            layer, shape = self.parser.layer(item, draft.syms)
            if shape is not None and not draft.layers and draft.shape is None:
                draft.shape = shape
            draft.layers.append(layer)
        except Unsupported as err:
            draft.error = err

    def _summary(self, stmt: ast.Expr) -> bool:
        """``model.summary()`` (or ``print(model.summary())``) while ``model`` is a draft: kept
        for later, since ``add`` may still follow; True when taken."""
        call = stmt.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "print"
            and len(call.args) == 1
        ):
            call = call.args[0]
        func = call.func if isinstance(call, ast.Call) else None
        if not (isinstance(func, ast.Attribute) and func.attr == "summary"):
            return False
        draft = self.drafts.get(func.value.id) if isinstance(func.value, ast.Name) else None
        if draft is None:
            return False
        draft.summaries.append(stmt)
        return True

    def close_read(self, stmt: ast.stmt) -> list[Found]:
        """The drafts that ``stmt`` (a function or class definition) reads are complete."""
        return self._close_read(stmt)

    def _method(self, stmt: ast.stmt, call: ast.Call) -> bool:
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return False
        draft = self.drafts.get(func.value.id)
        if draft is None or func.attr not in ("add", "build") or len(call.args) != 1:
            return False
        draft.stmts.append(stmt)
        if func.attr == "add":
            self._add(draft, call.args[0])
        elif draft.error is None:
            try:
                draft.shape = self.parser.shape(call.args[0], draft.syms, batch=True)
            except Unsupported as err:
                draft.error = err
        return True

    def _close(self, var: str) -> Found:
        draft = self.drafts.pop(var)
        if draft.error is None and not draft.layers:
            draft.error = Unsupported(draft.stmts[0], f"the Sequential model {var} has no layers")
        if draft.error is None and draft.shape is None and draft.layers[0].kind == "Embedding":
            draft.shape = (None,)  # token ids of any length, as Keras allows
        if draft.error is None and draft.shape is None:
            draft.shape = (ShapeSym(DEFERRED),)  # built on the first call: lazy modules
        last = draft.stmts[-1].lineno
        early = [s for s in draft.summaries if s.lineno < last]
        replay = [s for s in draft.summaries if s.lineno > last]
        if draft.error is not None:
            return Found(var, draft.stmts, error=draft.error, replay=draft.summaries)
        nodes = [Node(layer, ["x"], "x") for layer in draft.layers]
        shape = runtime_rank(draft.shape, [layer.kind for layer in draft.layers])  # type: ignore[arg-type]
        model = ModelDef(var, "x", shape, nodes, "x", draft.loc, False, draft.syms.params)
        return Found(var, draft.stmts, model=model, replay=replay, early=early)

    def _close_read(self, stmt: ast.stmt) -> list[Found]:
        """Drafts that ``stmt`` uses other than by ``.add``/``.build`` are complete."""
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func
            if isinstance(func, ast.Attribute) and func.attr in ("add", "build"):
                return []
        read = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        return [self._close(var) for var in list(self.drafts) if var in read]

    def _returned(
        self, stmt: ast.stmt, call: ast.Call, found: list[Found]
    ) -> tuple[bool, list[Found]]:
        dotted = self.parser.dotted(call.func)
        if dotted == "keras.Sequential":
            self._start("", stmt, call)
            found.append(self._close(""))
            return True, found
        if dotted == "keras.Model":
            found.append(self._functional("", stmt, call))
            return True, found
        return False, found

    # -- functional API -----------------------------------------------------------------------
    def _is_layer_application(self, call: ast.Call) -> bool:
        if isinstance(call.func, ast.Call):
            return self.parser.layer_kind(call.func.func) is not None
        return self.parser.dotted(call.func) in _MERGE_HELPERS

    def _tensor_stmt(self, target: str, stmt: ast.stmt, call: ast.expr) -> None:
        try:
            if isinstance(call, ast.Name):  # skip = x: another name for the same tensor
                source = self._apply(call, target, stmt, False, [0])
                alias = LayerCall(ALIAS, {}, self.parser.loc(stmt), self.parser.text(stmt))
                node = Node(alias, [self._name(source)], target)
                self.graph.append(_GNode(node, [source], stmt))
                self.tensors[target] = len(self.graph) - 1
                return
            if self.parser.is_input(call):
                syms = Syms()
                shape = self.parser.input_shape(call, syms)  # type: ignore[arg-type]
                self.graph.append(_GNode(None, [], stmt, target, shape, syms.params))
                self.tensors[target] = len(self.graph) - 1
                return
            read = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
            merges = any(isinstance(n, ast.List | ast.Tuple) for n in ast.walk(call))
            temp = target in read or merges
            self.tensors[target] = self._apply(call, target, stmt, temp, [0])
        except Unsupported as err:
            err.loc = err.loc or self.parser.loc(err.node or stmt)
            self.first_failure = self.first_failure or err.cause or err.loc
            self.tensors[target] = err
            self.failed_stmts[id(stmt)] = (stmt, err)

    def _apply(
        self, expr: ast.expr, target: str, stmt: ast.stmt, temp: bool, count: list[int]
    ) -> int:
        """Graph nodes for a (possibly nested) layer application; returns the output's index.

        The outermost application writes ``target``; nested ones write ``target`` too, or
        fresh names ``target_1, ...`` when ``temp`` (the expression reads ``target`` or merges).
        """
        if isinstance(expr, ast.Name):
            index = self.tensors.get(expr.id)
            if index is None:
                raise Unsupported(
                    expr, f"{expr.id} is not a Keras tensor from keras.Input or a layer"
                )
            if isinstance(index, Unsupported):
                error = Unsupported(expr, f"uses {expr.id}, which was not converted ({index.loc})")
                error.cause = index.cause or index.loc
                raise error
            return index
        if not isinstance(expr, ast.Call) or not self._is_layer_application(expr):
            raise Unsupported(expr, f"{self.parser.text(expr)} is not a layer applied to a tensor")
        syms = Syms()
        if isinstance(expr.func, ast.Call):
            layer, _ = self.parser.layer(expr.func, syms)
            args = expr.args
            if len(args) != 1 or expr.keywords:
                raise Unsupported(expr, f"{layer.kind}: apply the layer to one tensor (or list)")
        else:  # layers.concatenate([a, b], axis=...): the merge layer and its inputs in one call
            kind = _MERGE_HELPERS[self.parser.dotted(expr.func) or ""]
            call = ast.copy_location(ast.Call(expr.func, [], expr.keywords), expr)
            layer, _ = self.parser.layer(call, syms, kind)
            args = expr.args[:1]
        merge = self.parser.defs[layer.kind].merge
        sources = args[0].elts if merge and isinstance(args[0], ast.List | ast.Tuple) else None
        if merge and sources is None:
            raise Unsupported(expr, f"{layer.kind} takes a list of tensors, e.g. [a, b]")
        number = count[0]
        count[0] += 1
        producers = [self._apply(e, target, stmt, temp, count) for e in (sources or args)]
        output = target if number == 0 or not temp else f"{target}_{number}"
        node = Node(layer, [self._name(p) for p in producers], output)
        self.graph.append(_GNode(node, producers, stmt, params=syms.params))
        return len(self.graph) - 1

    def _name(self, index: int) -> str:
        gnode = self.graph[index]
        return gnode.node.output if gnode.node else gnode.var

    def _functional(self, var: str, stmt: ast.stmt, call: ast.Call) -> Found:
        try:
            given = dict(zip(("inputs", "outputs"), call.args, strict=False))
            given.update({k.arg: k.value for k in call.keywords if k.arg in ("inputs", "outputs")})
            if set(given) != {"inputs", "outputs"}:
                raise Unsupported(call, "keras.Model needs inputs= and outputs=")
            inputs, outputs = (_several(given[k]) for k in ("inputs", "outputs"))
            if not all(isinstance(i, ast.Name) for i in inputs):
                raise Unsupported(call, "keras.Model: inputs must name the keras.Input tensors")
            count = [0]
            out_indices = [self._apply(o, "outputs", stmt, True, count) for o in outputs]
            in_indices = [self._apply(i, "", stmt, False, [0]) for i in inputs]
        except Unsupported as err:
            err.loc = err.loc or self.parser.loc(err.node or stmt)
            return Found(var, [stmt], error=err)
        reached = sorted({i for o in out_indices for i in self._reach(o)})
        inputs_reached = {i for i in reached if self.graph[i].node is None}
        if inputs_reached != set(in_indices) or len(set(in_indices)) != len(in_indices):
            message = "keras.Model: inputs= must list each keras.Input the outputs use, once"
            return Found(var, self._stmts(reached) + [stmt], error=Unsupported(call, message))
        self.claimed.update(reached)
        params: dict[str, str] = {}
        for i in reached:
            params.update(self.graph[i].params)
        nodes = [self.graph[i].node for i in reached if self.graph[i].node is not None]
        kinds = [n.layer.kind for n in nodes if n is not None]
        shapes = [(self._name(i), runtime_rank(self.graph[i].shape, kinds)) for i in in_indices]
        names = [self._name(o) for o in out_indices]
        model = ModelDef(
            var,
            shapes[0][0],
            shapes[0][1],
            nodes,  # type: ignore[arg-type]
            names[0],
            self.parser.loc(call),
            True,
            params,
            more_inputs=shapes[1:],
            more_outputs=names[1:],
        )
        return Found(var, self._stmts(reached) + [stmt], model=model)

    def _reach(self, index: int) -> list[int]:
        seen: set[int] = set()
        todo = [index]
        while todo:
            i = todo.pop()
            if i not in seen:
                seen.add(i)
                todo += self.graph[i].producers
        return sorted(seen)

    def _stmts(self, indices: list[int]) -> list[ast.stmt]:
        stmts: list[ast.stmt] = []
        for i in indices:
            if self.graph[i].stmt not in stmts:
                stmts.append(self.graph[i].stmt)
        return stmts


_RANK_OF_INPUT = {
    **dict.fromkeys(
        ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
         "GlobalMaxPooling2D", "Conv2DTranspose", "UpSampling2D"),
        3,
    ),
    **dict.fromkeys(
        ("Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D",
         "GlobalMaxPooling1D", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "UpSampling1D"),
        2,
    ),
    "Conv3D": 4,
    "MaxPooling3D": 4,
    "Embedding": 1,
}  # fmt: skip


def runtime_rank(shape: tuple[Dim, ...], kinds: list[str]) -> tuple[Dim, ...]:
    """An input shape known only at run time (``shape=x.shape[1:]``) as one size per axis.

    Its rank is what the first layer that cares needs (a Conv2D: height, width, channels);
    a Dense reads only the last axis, a Flatten the product of all.
    """
    if not (len(shape) == 1 and isinstance(shape[0], ShapeSym)):
        return shape
    name = str(shape[0])
    for kind in kinds:
        if kind in _RANK_OF_INPUT:
            return tuple(Sym(f"{name}[{i}]") for i in range(_RANK_OF_INPUT[kind]))
        if kind == "Flatten":
            return (Sym(f"math.prod({name})"),)
        if kind == "Dense":
            break
    return (Sym(f"{name}[-1]"),)


def _several(expr: ast.expr) -> list[ast.expr]:
    """``[x]`` from ``x``, ``[x]`` or ``(x,)``; ``[a, b]`` from ``[a, b]``."""
    if isinstance(expr, ast.List | ast.Tuple):
        if not expr.elts:
            raise Unsupported(expr, "keras.Model: inputs and outputs cannot be empty")
        return list(expr.elts)
    if isinstance(expr, ast.Dict):
        raise Unsupported(expr, "keras.Model: inputs or outputs as a dict are not supported")
    return [expr]


def _single_target(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            return target.id
    return None
