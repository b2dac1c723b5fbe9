"""Convert a Keras program (a ``.py`` file or a notebook's code cells) statement by statement.

Statements that build a model become an ``nn.Module`` class; ``compile``/``fit``/... become
PyTorch code; statements without Keras are kept byte for byte; anything else that uses
Keras is commented out and listed in the report. Edits are made on the source lines, so
comments and formatting outside the converted statements survive.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dlcourse.convert.ir import ModelDef, Unsupported
from dlcourse.convert.layers.builder import snake_case
from dlcourse.convert.read.constants import Constants, bound_names
from dlcourse.convert.read.layer_calls import LayerParser
from dlcourse.convert.read.models import Found, ModelFinder
from dlcourse.convert.read.names import Aliases, is_keras_module
from dlcourse.convert.read.units import Unit
from dlcourse.convert.report import Loc, Report
from dlcourse.convert.write.compile_fit import CompileConverter, Setup
from dlcourse.convert.write.edits import Edits
from dlcourse.convert.write.expressions import ExpressionRewriter
from dlcourse.convert.write.model_code import ModelPlan, emit_model
from dlcourse.convert.write.names_check import undefined_names
from dlcourse.convert.write.templates import (
    CALLBACKS,
    helper_globals,
    helpers_code,
    helpers_imports,
    import_block,
)

_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)


@dataclass
class _Where:
    """Where a statement is: its unit, top-level statement, enclosing block and scope."""

    unit: int
    top: ast.stmt
    block: list[ast.stmt]
    scope: _Scope


@dataclass
class _Scope:
    """A module or function body: its constants, models and the model definitions in progress."""

    consts: Constants
    finder: ModelFinder
    parent: _Scope | None = None
    function: str | None = None
    models: dict[str, ModelDef | None] = field(default_factory=dict)
    """Model variables: their definition, or None when compiled here but defined elsewhere."""
    failed: dict[str, Loc] = field(default_factory=dict)
    dead: dict[str, Loc] = field(default_factory=dict)
    """Names whose binding statement was commented out, and where that was reported."""
    local: set[str] = field(default_factory=set)
    """In a function: the names local to it (they hide the enclosing scope's)."""
    hollowed: Loc | None = None
    """In a function: where the first statement of its body was commented out, if one was."""
    exported: set[str] = field(default_factory=set)
    """In a function: local model variables that outlive it (returned, or parameters it does
    not fit): a compile of one (or of a global model) binds its loss and optimizer as globals,
    for the fit outside."""
    declared: set[str] = field(default_factory=set)
    """In a function: the names a ``global`` statement already declares."""

    def model(self, var: str) -> tuple[bool, ModelDef | None]:
        """(is ``var`` a converted model here, its definition when known)."""
        scope: _Scope | None = self
        while scope is not None:
            if var in scope.models:
                return True, scope.models[var]
            scope = scope.parent
        return False, None

    def _innermost(self, name: str, table: str) -> Loc | None:
        """``name``'s entry in ``table`` (``failed`` or ``dead``) of the innermost scope that
        binds it in any way; None when that binding is a live one."""
        scope: _Scope | None = self
        while scope is not None:
            if name in getattr(scope, table):
                return getattr(scope, table)[name]
            if name in scope.local or name in scope.failed or name in scope.dead:
                return None
            scope = scope.parent
        return None

    def failed_model(self, var: str) -> Loc | None:
        """Where the model bound to ``var`` failed to convert, if it did."""
        return self._innermost(var, "failed")

    def dead_name(self, name: str) -> Loc | None:
        """Where the statement binding ``name`` was left unconverted, if it was."""
        return self._innermost(name, "dead")

    def kill(self, names: list[str], loc: Loc) -> None:
        """``names`` are no longer defined: their statement was commented out at ``loc``."""
        for name in names:
            if name not in self.failed:
                self.dead[name] = loc
            self.models.pop(name, None)


@dataclass
class _Pending:
    """A model whose class is written once every compile call is known (folding)."""

    model: ModelDef
    class_name: str
    factory: str
    anchor: ast.stmt


@dataclass
class Result:
    """The converted units, the helpers (and the unit they must precede), and the report."""

    sources: list[str]
    helpers: str | None
    helpers_before: int
    report: Report
    models: list[ModelPlan]


def convert_units(
    parse: Callable[[], list[Unit]], origin: str, notebook: bool, passes: int = 4
) -> Result:
    """Convert the units ``parse`` gives, commenting out every read of a name the output lost.

    A statement the converter leaves takes its names with it, and the converter follows them
    to their uses; where a use escapes it (a name read where nothing checks it), the names
    check finds it in the output. The conversion then runs again with those names removed,
    so that their uses are commented out and reported instead of failing at run time.
    """
    removed: frozenset[str] = frozenset()
    before = undefined_names([u.source for u in parse()])
    while True:
        result = Converter(parse(), origin, notebook, removed).run()
        after = undefined_names([*result.sources, result.helpers or ""])
        lost = {name for name in after if name not in before} - removed
        passes -= 1
        if not lost or passes == 0:
            return result
        removed |= lost


class Converter:
    """Converts a list of units that share one module namespace (a file, or a notebook)."""

    def __init__(
        self, units: list[Unit], origin: str, notebook: bool, removed: frozenset[str] = frozenset()
    ) -> None:
        self.units, self.origin, self.notebook = units, origin, notebook
        self.removed = removed
        """Names an earlier pass left undefined in the output: every statement reading one is
        commented out (see :func:`convert_units`)."""
        self.report = Report()
        self.aliases = Aliases()
        self.parser = LayerParser(self.aliases)
        self.compiler = CompileConverter(self.aliases)
        self.where: dict[int, _Where] = {}
        self.edits = Edits(units)
        self.pending: list[_Pending] = []
        self.plans: list[ModelPlan] = []
        self.factories: dict[str, ModelDef] = {}
        self.failed_factories: dict[str, Loc] = {}
        self.recipes: dict[str, tuple[ast.stmt, bool]] = {}
        self.history: set[str] = set()
        self.uncompiled: dict[str, Loc] = {}
        self.recipe_cause: dict[str, Loc] = {}
        self.helpers: set[str] = set()
        self.helpers_at: tuple[int, ast.stmt] | None = None
        self.imports: set[str] = set()
        self.imports_at: tuple[int, ast.stmt] | None = None
        self.taken: set[str] = {
            n.id if isinstance(n, ast.Name) else n.name
            for u in units
            if u.tree
            for n in ast.walk(u.tree)
            if isinstance(n, ast.Name | ast.FunctionDef | ast.ClassDef)
        }
        self.np_imported = False
        own = _user_bound(units)
        self.renamed = {
            name: _free(f"model_{name}", own) for name in sorted(helper_globals() & own)
        }
        """Helpers whose name the program binds itself (its own ``def predict``): renamed."""
        self.augmenters: set[str] = set()
        self.model_params = _model_params(units)
        """(function, parameter) pairs that receive a model at some call (``show(model)``)."""
        self.own = own | helper_globals()
        self.compiled_vars = _compiled_vars(units)
        self.compile_only = _compile_only(units)
        self.setups: dict[str, Setup] = {}
        """Model variable -> the variables its converted compile binds (fit takes them)."""
        self.last_setup: Setup | None = None
        self.metrics: set[str] = set()
        self.features: set[str] = set()
        """Optional parts of the helpers the program needs (templates.FEATURES)."""

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> Result:
        """Convert every unit; the report lists what was left and what changed."""
        for unit in self.units:
            for node in ast.walk(unit.tree) if unit.tree else ():
                if isinstance(node, ast.Import | ast.ImportFrom):
                    self.aliases.add(node)
                    self.np_imported |= any(
                        a.name == "numpy" and a.asname == "np" for a in node.names
                    ) and isinstance(node, ast.Import)
        self.taken -= set(self.aliases.names)  # Keras's own names go away with its imports
        module = self._scope(None, None)
        for u, unit in enumerate(self.units):
            if unit.tree is not None:
                for stmt in unit.tree.body:
                    self._statement(stmt, _Where(u, stmt, unit.tree.body, module))
        self._end_scope(module)
        self._finish_recipes()
        self._write_models()
        if not self.aliases.names and not self.pending:
            self.report.note(Loc(self.origin, 1), "no Keras code found: nothing to convert")
            self.report.keras_found = False
        return self._result()

    def _scope(self, parent: _Scope | None, function: str | None) -> _Scope:
        consts = Constants(self.aliases, parent.consts if parent else None)
        return _Scope(consts, ModelFinder(self.parser), parent, function)

    def _statement(self, stmt: ast.stmt, where: _Where) -> None:
        self.where[id(stmt)] = where
        self.edits.register(stmt, where.unit, where.block)
        scope = where.scope
        self.parser.at(self.units[where.unit], scope.consts)
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self._found(scope.finder.close_read(stmt), scope)
            decorators = [d for d in stmt.decorator_list if not self._drop_decorator(d, where)]
            if self._header_left(stmt, [*decorators, *_defaults(stmt)], where):
                return
            inner = self._scope(scope, stmt.name)
            inner.local = _local_names(stmt)
            inner.exported = _exported(stmt)
            for param in _params(stmt):
                if (stmt.name, param) in self.model_params:
                    inner.models[param] = None  # a model, defined where the call passes it
            for child in stmt.body:
                self._statement(child, _Where(where.unit, where.top, stmt.body, inner))
            self._end_scope(inner)
            if inner.hollowed is not None:  # callers would get None or a NameError
                scope.kill([stmt.name], inner.hollowed)
        elif isinstance(stmt, ast.ClassDef):
            self._found(scope.finder.close_read(stmt), scope)
            self._class(stmt, where)
        else:
            taken, found = scope.finder.feed(stmt)
            self._found(found, scope)
            if isinstance(stmt, _COMPOUND):
                self._compound(stmt, where)
            elif not taken:
                self._simple(stmt, where)
        scope.consts.learn(stmt)

    def _end_scope(self, scope: _Scope) -> None:
        self._found(scope.finder.finish(), scope)

    # -- statements ---------------------------------------------------------------------------
    def _class(self, stmt: ast.ClassDef, where: _Where) -> None:
        bases = [self.aliases.resolve(base) for base in stmt.bases]
        if "keras.callbacks.Callback" in bases and not stmt.keywords:
            self._callback_class(stmt, where, bases.index("keras.callbacks.Callback"))
            return
        use = self.aliases.first_use(ast.Module(stmt.bases + stmt.keywords, []))  # type: ignore[arg-type]
        if use is not None:
            self._leave(stmt, use[0], f"subclassing {use[1]} is not converted")
            return
        for child in stmt.body:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                self._statement(child, _Where(where.unit, where.top, stmt.body, where.scope))

    def _callback_class(self, stmt: ast.ClassDef, where: _Where, index: int) -> None:
        """``class PrintDot(keras.callbacks.Callback)``: the helpers' ``Callback`` has its API."""
        self._use(where, {"Callback"}, set())
        self.features.add("cb")
        header = self.units[where.unit].lines[stmt.lineno - 1]
        base = self.units[where.unit].segment(stmt.bases[index])
        if stmt.bases[index].lineno == stmt.lineno and base and header.count(base) == 1:
            self.edits.replace_line(stmt, header.replace(base, "Callback"))
        else:
            self._leave(stmt, stmt, "write the Callback base class on the class line")
            return
        self.report.note(
            self._loc(stmt, where),
            f"{stmt.name}: keras.callbacks.Callback -> Callback (written out with fit): the same "
            "methods (on_epoch_end(epoch, logs), ...), self.model and model.stop_training",
        )
        for child in stmt.body:
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                self._statement(child, _Where(where.unit, where.top, stmt.body, where.scope))

    def _compound(self, stmt: ast.stmt, where: _Where) -> None:
        headers = [
            getattr(stmt, name)
            for name in ("test", "iter", "target")
            if getattr(stmt, name, None) is not None
        ]
        headers += [item.context_expr for item in getattr(stmt, "items", [])]
        if self._header_left(stmt, headers, where):
            return
        bodies = [stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])]
        bodies += [h.body for h in getattr(stmt, "handlers", [])]
        for body in bodies:
            for child in body:
                self._statement(child, _Where(where.unit, where.top, body, where.scope))

    def _drop_decorator(self, decorator: ast.expr, where: _Where) -> bool:
        """``@tf.function`` (alone on its line) only compiles a graph: drop it; True if dropped."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if self.aliases.resolve(target) != "tensorflow.function":
            return False
        unit = self.units[where.unit]
        line = unit.lines[decorator.lineno - 1]
        if (
            decorator.lineno != decorator.end_lineno
            or line.strip() != f"@{unit.segment(decorator)}"
        ):
            return False
        indent = line[: len(line) - len(line.lstrip())]
        self.edits.replace_unit_line(
            where.unit, decorator.lineno, f"{indent}# Keras: {line.strip()}"
        )
        self.report.note(
            self._loc(decorator, where),
            "@tf.function dropped: PyTorch runs the function as written (torch.compile is the "
            "optional equivalent)",
        )
        return True

    def _header_left(self, stmt: ast.stmt, headers: list[ast.expr], where: _Where) -> bool:
        """Comment out a whole compound statement or function whose header (test, iterable,
        ``with`` item, decorator) uses what cannot be converted; True when it did."""
        for header in headers:
            dead = self._dead_use(header, where.scope)
            if dead:
                node, message, cause = dead
                self._leave(stmt, node, message, cause)
                return True
        for header in headers:
            problem = self._problem(header, where.scope)
            if problem:
                self._leave(stmt, problem[0], problem[1])
                return True
        return False

    def _problem(self, expr: ast.AST, scope: _Scope) -> tuple[ast.AST, str] | None:
        """A Keras construct (or model use) in a header the converter cannot rewrite."""
        use = self.aliases.first_use(expr)
        if use and use[1] == "tensorflow.GradientTape":
            return use[0], (
                "a custom training step (tf.GradientTape) is not converted: in PyTorch, write "
                "loss.backward() and optimizer.step() (the loop of 01_Basics/00); the block is "
                "left as it was"
            )
        if use:
            return use[0], f"{use[1]} is not converted: the whole block is left as it was"
        for node in ast.walk(expr):
            if isinstance(node, ast.Name) and scope.model(node.id)[0]:
                return node, (
                    f"use of the model {node.id} here is not converted: the whole block is left "
                    "as it was"
                )
        return None

    def _simple(self, stmt: ast.stmt, where: _Where) -> None:
        scope = where.scope
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            self._import(stmt, where)
            return
        call = stmt.value if isinstance(stmt, ast.Expr | ast.Assign) else None
        if isinstance(stmt, ast.Assign) and self.compiler.is_recipe(call):  # type: ignore[arg-type]
            names = bound_names(stmt)
            if len(names) == 1:
                self.compiler.recipes[names[0]] = call  # type: ignore[assignment]
                self.recipes[names[0]] = (stmt, False)
                return
        is_call = isinstance(stmt, ast.Expr) and isinstance(call, ast.Call)
        if is_call and self._statement_call(stmt, call, where):  # type: ignore[arg-type]
            return
        if isinstance(stmt, ast.Return) and scope.function and isinstance(stmt.value, ast.Name):
            known, model = scope.model(stmt.value.id)
            if known and model is not None:
                self.factories[scope.function] = model
            failed = scope.failed_model(stmt.value.id)
            if failed:
                self.failed_factories[scope.function] = failed
        tensor = scope.finder.tensor_read(stmt)
        if tensor:
            self._leave(stmt, stmt, f"uses the Keras tensor {tensor} outside a model definition")
            return
        pruned = self._prune_callbacks(copy.deepcopy(stmt), where)
        dead = self._dead_use(pruned, scope)
        if dead:
            node, message, cause = dead
            self._leave(stmt, node, message, cause)
            return
        rewriter = ExpressionRewriter(
            self.aliases,
            lambda var: scope.model(var)[0],
            self.history,
            lambda var: self.uncompiled.get(var) if scope.model(var)[0] else None,
            self.renamed,
            self.augmenters,
            self._setup_of,
        )
        try:
            new = rewriter.visit(pruned)
            use = self.aliases.first_use(new)
            if use:
                raise Unsupported(use[0], f"{use[1]} is not converted")
        except Unsupported as err:
            self._leave(stmt, err.node or stmt, err.message, rewriter.cause)
            return
        self._rebind(stmt, scope)
        if rewriter.changed or pruned is not stmt and ast.dump(pruned) != ast.dump(stmt):
            self._use(where, rewriter.helpers, rewriter.imports)
            self.features |= rewriter.features
            for message in rewriter.notes:
                self.report.note(self._loc(stmt, where), message)
            value = getattr(new, "value", None)
            func = value.func if isinstance(value, ast.Call) else None
            if isinstance(func, ast.Name) and func.id == "fit":
                self.history.update(bound_names(new))
            if "ImageAugment" in rewriter.helpers and isinstance(value, ast.Call):
                self.augmenters.update(bound_names(new))
            self._set(stmt, self._keras_comment(stmt) + ast.unparse(new).splitlines())

    def _rebind(self, stmt: ast.stmt, scope: _Scope) -> None:
        """Track ``model = factory()`` and forget model names bound to something else."""
        names = bound_names(stmt)
        value = getattr(stmt, "value", None)
        factory, failed = None, None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            factory = self.factories.get(value.func.id)
            failed = self.failed_factories.get(value.func.id)
        for name in names:
            scope.failed.pop(name, None)
            scope.dead.pop(name, None)
            scope.models.pop(name, None)
            if len(names) == 1 and factory is not None:
                scope.models[name] = factory
            elif len(names) == 1 and failed is not None:
                scope.failed[name] = failed

    def _statement_call(self, stmt: ast.stmt, call: ast.Call, where: _Where) -> bool:
        """Statements converted as a whole: compile, seeding, clear_session."""
        func = call.func
        scope = where.scope
        dotted = self.aliases.resolve(func)
        dead = self._dead_use(func, scope)  # net.compile(...) of a net not converted
        if dead:
            node, message, cause = dead
            self._leave(stmt, node, message, cause)
            return True
        if dotted == "keras.utils.set_random_seed" and len(call.args) == 1 and not call.keywords:
            seed = ast.unparse(call.args[0])
            self._use(where, set(), {"import random", "import numpy as np", "import torch"})
            lines = [
                f"random.seed({seed})",
                f"np.random.seed({seed})",
                f"torch.manual_seed({seed})",
            ]
            self._set(stmt, self._keras_comment(stmt) + lines)
            return True
        if dotted == "keras.backend.clear_session":
            self.report.note(
                self._loc(stmt, where), "clear_session() dropped: PyTorch has no global session"
            )
            self._set(stmt, [])
            return True
        if not (isinstance(func, ast.Attribute) and func.attr == "compile"):
            return False
        if not isinstance(func.value, ast.Name):
            return False
        var = func.value.id
        failed = scope.failed_model(var)
        if failed:
            self._leave(stmt, stmt, f"{var}.compile: the model {var} was not converted", failed)
            return True
        _, model = scope.model(var)
        setup = self._setup(var)
        try:
            compiled = self.compiler.convert(var, call, model, setup)
        except Unsupported as err:
            self._leave(stmt, err.node or stmt, err.message)
            loc = self._loc(stmt, where)
            self.uncompiled[var] = loc
            for node in ast.walk(call):
                if isinstance(node, ast.Name) and node.id in self.recipes:
                    self.recipe_cause[node.id] = loc
            return True
        self.uncompiled.pop(var, None)
        for node, message in compiled.dropped:
            self.report.not_converted(self._loc(node, where), message)
        scope.models.setdefault(var, model)
        for name in compiled.consumed:
            self.recipes[name] = (self.recipes[name][0], True)
        for note in compiled.notes:
            self.report.note(self._loc(stmt, where), note)
        self._use(where, compiled.helpers, {"import torch", "from torch import nn"})
        self.metrics.update(compiled.metrics)
        setup.scheduled = compiled.scheduled
        self.setups[var], self.last_setup = setup, setup
        lines = compiled.lines
        names = [setup.loss_fn, setup.optimizer, setup.metrics]
        names += [setup.lr_scheduler] if setup.scheduled else []
        outlives = var in scope.exported or var not in scope.local  # or a global model
        if scope.function is not None and outlives:
            new = [name for name in names if name not in scope.declared]
            scope.declared.update(new)
            if new:  # the model outlives the function: so must its loss and optimizer
                lines = [
                    *lines[:2],
                    f"global {', '.join(new)}  # fit() outside takes them",
                    *lines[2:],
                ]
        self._set(stmt, self._keras_comment(stmt) + lines)
        return True

    def _setup(self, var: str) -> Setup:
        """The variables a compile of ``var`` binds: ``loss_fn``, ``optimizer``, ... when the
        program compiles one model variable, else ``<var>_loss_fn``, ...; never a name the
        program uses for something else."""
        if var in self.setups:
            return Setup(**{**self.setups[var].__dict__, "scheduled": False})
        prefix = "" if len(self.compiled_vars) <= 1 else f"{var}_"
        taken = self.own | {
            name
            for s in self.setups.values()
            for name in s.__dict__.values()
            if isinstance(name, str)
        }
        names = []
        for base in ("loss_fn", "optimizer", "metrics", "lr_scheduler"):
            name = prefix + base
            if name in self.compile_only and name in self.compiler.recipes:
                names.append(name)  # a Keras optimizer/loss only compile used: its successor
            else:
                names.append(_free(name, taken))
        return Setup(*names)

    def _setup_of(self, var: str) -> Setup | None:
        """The compile variables that ``var.fit``/``var.evaluate`` take: those of ``var``'s last
        compile, else of the last compile (a model passed to a function, ``show(m)``)."""
        if var in self.setups:
            return self.setups[var]
        if self.last_setup is None and len(self.compiled_vars) == 1:
            return self._setup(next(iter(self.compiled_vars)))
        return self.last_setup

    def _import(self, stmt: ast.Import | ast.ImportFrom, where: _Where) -> None:
        if isinstance(stmt, ast.ImportFrom):
            keras = not stmt.level and is_keras_module(stmt.module or "")
            kept = [] if keras else stmt.names
        else:
            kept = [a for a in stmt.names if not is_keras_module(a.name)]
        if len(kept) == len(stmt.names):
            return
        if self.imports_at is None and where.scope.parent is None:
            self.imports_at = (where.unit, where.top)
        if kept:
            self._set(stmt, [ast.unparse(type(stmt)(**{**stmt.__dict__, "names": kept}))])
        else:
            self._set(stmt, [])

    # -- models -------------------------------------------------------------------------------
    def _found(self, found: list[Found], scope: _Scope) -> None:
        for item in found:
            if item.model is not None:
                try:
                    self._accept(item, scope)
                    continue
                except Unsupported as err:
                    item.error = err
            error = item.error
            assert error is not None
            loc = error.loc or self._locate(error.node, item.stmts)
            self.report.not_converted(loc, error.message, error.cause)
            header = f"model {item.var} not converted: " if item.var else ""
            for stmt in item.stmts:
                self.edits.comment_out(stmt, header + error.message)
                scope.kill([n for n in bound_names(stmt) if n != item.var], error.cause or loc)
            if item.var:
                scope.failed[item.var] = error.cause or loc
                scope.models.pop(item.var, None)
            for stmt in item.early + item.replay:
                message = f"uses {item.var}, whose model was not converted ({error.cause or loc})"
                self._leave(stmt, stmt, message, error.cause or loc)

    def _accept(self, item: Found, scope: _Scope) -> None:
        model = item.model
        assert model is not None
        base = item.var or re.sub(r"^(build|make|create|get)_", "", scope.function or "model")
        class_name = self._fresh("".join(p.capitalize() for p in base.split("_") if p) or "Model")
        factory = self._fresh(f"create_{snake_case(class_name)}", f"new_{snake_case(class_name)}")
        emit_model(model, class_name, factory)  # fails here (Unsupported) if it cannot be built
        for node in model.nodes:
            for converted, message in node.layer.notes:
                if converted:
                    self.report.note(node.layer.loc, message)
                else:
                    self.report.not_converted(node.layer.loc, message)
        for stmt in item.stmts[:-1]:
            self._set(stmt, [])
        self.pending.append(_Pending(model, class_name, factory, item.stmts[-1]))
        if item.var:
            scope.models[item.var] = model
            scope.failed.pop(item.var, None)
        elif scope.function:
            self.factories[scope.function] = model
        for stmt in item.early:
            self.report.note(
                self._loc(stmt, self.where[id(stmt)]),
                f"{item.var}.summary() before the last {item.var}.add(): PyTorch builds the "
                "whole model at once, so only the summary of the complete model is shown",
            )
            self._set(
                stmt, [f"# Keras: {self.edits.one_line(stmt)} (the model is not complete yet)"]
            )
        for stmt in item.replay:
            self._simple(stmt, self.where[id(stmt)])

    def _fresh(self, *names: str) -> str:
        """The first of ``names`` not used in the program (numbered if all are)."""
        for name in names:
            if name not in self.taken:
                self.taken.add(name)
                return name
        count = 2
        while f"{names[0]}{count}" in self.taken:
            count += 1
        self.taken.add(f"{names[0]}{count}")
        return f"{names[0]}{count}"

    def _write_models(self) -> None:
        for item in self.pending:
            where = self.where[id(item.anchor)]
            plan = emit_model(item.model, item.class_name, item.factory)
            self.plans.append(plan)
            self.imports |= {"import torch", "from torch import nn"}
            if plan.uses_functional:
                self.imports.add("import torch.nn.functional as F")
            if "math.prod(" in plan.code:
                self.imports.add("import math")
            args = ", ".join(f"{k}={v}" for k, v in item.model.params.items())
            make = f"{item.factory}({args})"
            line = f"{item.model.var} = {make}" if item.model.var else f"return {make}"
            class_lines = plan.code.rstrip("\n").splitlines()
            if where.top is item.anchor:
                self._set(item.anchor, ["", "", *class_lines, "", "", line])
            else:
                self.edits.insert(where.unit, where.top, 2, ["", "", *class_lines, "", ""])
                self._set(item.anchor, [line])
            if self.imports_at is None:
                self.imports_at = (where.unit, where.top)

    def _finish_recipes(self) -> None:
        for name, (stmt, consumed) in self.recipes.items():
            if consumed:
                comment = f"# Keras: {self.edits.one_line(stmt)} (made in compile below)"
                self._set(stmt, [comment])
            else:
                message = f"{name} is not used by a converted compile()"
                self._leave(stmt, stmt, message, self.recipe_cause.get(name))

    # -- edits --------------------------------------------------------------------------------
    def _use(self, where: _Where, helpers: set[str], imports: set[str]) -> None:
        self.imports |= imports
        if helpers:
            self.imports |= helpers_imports(helpers)
            self.helpers |= helpers
            if self.helpers_at is None:
                self.helpers_at = (where.unit, where.top)

    def _loc(self, node: ast.AST, where: _Where) -> Loc:
        return self.units[where.unit].loc(node)

    def _locate(self, node: ast.AST | None, stmts: list[ast.stmt]) -> Loc:
        """Where ``node`` is, given the statements it may belong to."""
        for stmt in stmts:
            if node is None or any(n is node for n in ast.walk(stmt)):
                return self._loc(node or stmt, self.where[id(stmt)])
        return self._loc(stmts[0], self.where[id(stmts[0])])

    def _keras_comment(self, stmt: ast.stmt) -> list[str]:
        return [f"# Keras: {self.edits.one_line(stmt)}"]

    def _leave(self, stmt: ast.stmt, node: ast.AST, message: str, cause: Loc | None = None) -> None:
        """Comment ``stmt`` out and report ``message`` at ``node``'s line.

        ``cause``: where the root item is when this one only follows from it. The names the
        statement binds are no longer defined: later uses are commented out too.
        """
        where = self.where[id(stmt)]
        inside = stmt.lineno <= getattr(node, "lineno", 0) <= (stmt.end_lineno or stmt.lineno)
        loc = self._loc(node if inside else stmt, where)
        self.report.not_converted(loc, message, cause)
        self.edits.comment_out(stmt, message)
        where.scope.kill(_all_bound(stmt), cause or loc)
        if where.scope.function is not None and where.scope.hollowed is None:
            where.scope.hollowed = cause or loc

    def _dead_use(self, tree: ast.AST, scope: _Scope) -> tuple[ast.AST, str, Loc] | None:
        """The first read of a name the conversion removed: (node, message, root location)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                node = ast.Name(node.target.id, ast.Load(), lineno=node.lineno)  # x /= 255 reads x
            if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
                continue
            if node.id in self.removed:
                return node, f"uses {node.id}, which the conversion removed", None
            loc = scope.failed_model(node.id)
            if loc:
                return node, f"uses {node.id}, whose model was not converted ({loc})", loc
            loc = scope.dead_name(node.id)
            if loc:
                return node, f"uses {node.id}, which was not converted ({loc})", loc
        return None

    def _prune_callbacks(self, stmt: ast.stmt, where: _Where) -> ast.stmt:
        """Drop, from ``callbacks=[...]`` lists, the callbacks that were not converted."""
        for node in ast.walk(stmt):
            if isinstance(node, ast.List | ast.Tuple):  # [EarlyStopping(...), TensorBoard(...)]
                kept = []
                for item in node.elts:
                    dotted = self.aliases.resolve(item.func) if isinstance(item, ast.Call) else ""
                    name = (dotted or "").rsplit(".", 1)[-1]
                    if (dotted or "").startswith("keras.callbacks.") and name not in CALLBACKS:
                        message = f"callback {dotted} is not converted: left out of the list"
                        self.report.not_converted(self._loc(item, where), message)
                    else:
                        kept.append(item)
                node.elts = kept
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "callbacks" or not isinstance(
                    keyword.value, ast.List | ast.Tuple
                ):
                    continue
                kept = []
                for item in keyword.value.elts:
                    reason = self._callback_problem(item, where.scope)
                    if reason is None:
                        kept.append(item)
                    else:
                        message, cause = reason
                        self.report.not_converted(self._loc(item, where), message, cause)
                keyword.value.elts = kept
        return stmt

    def _callback_problem(self, item: ast.expr, scope: _Scope) -> tuple[str, Loc | None] | None:
        """Why a callback in a list cannot be kept (and the root item's location), if so."""
        func = item.func if isinstance(item, ast.Call) else item
        dotted = self.aliases.resolve(func) or ""
        if dotted.startswith("keras.callbacks.") and dotted.rsplit(".", 1)[1] not in CALLBACKS:
            return f"callback {dotted} is not converted: left out of the callbacks list", None
        if isinstance(func, ast.Name):
            loc = scope.dead_name(func.id)
            if loc:
                return f"callback {func.id} was not converted ({loc}): left out of the list", loc
        return None

    def _set(self, stmt: ast.stmt, lines: list[str]) -> None:
        self.edits.replace(stmt, lines)

    def _result(self) -> Result:
        helpers = None
        if self.helpers:
            helpers = helpers_code(self.helpers, self.renamed, self.metrics, self.features)
        for old, new in self.renamed.items():
            if helpers and re.search(rf"\b{new}\b", helpers):
                self.report.note(
                    Loc(self.origin, 1),
                    f"the program defines {old} itself: the helper of that name is {new}",
                )
        if self.imports_at is None and self.imports:
            first = next(
                (
                    (u, unit.tree.body[0])
                    for u, unit in enumerate(self.units)
                    if unit.tree and unit.tree.body
                ),
                None,
            )
            self.imports_at = first
        if self.imports_at is not None and self.imports:
            block = import_block(self.imports, self.np_imported)
            self.edits.insert(*self.imports_at, 0, [*block, ""])
        before = 0
        if helpers and self.notebook:  # the helpers' cell imports what it needs itself
            own = import_block(helpers_imports(self.helpers, self.metrics), False)
            helpers = "\n".join(own) + "\n\n\n" + helpers
        if helpers and self.helpers_at is not None:
            if self.notebook:  # a cell of its own, after the imports when they come first
                before = self.helpers_at[0]
                if self.imports_at is not None and self.imports_at[0] < before:
                    before = self.imports_at[0] + 1
            else:
                self.edits.insert(*self.helpers_at, 1, ["", "", *helpers.splitlines(), "", ""])
        self.edits.fill_empty_blocks()
        sources = [self.edits.render(u) for u in range(len(self.units))]
        helpers_out = helpers if self.notebook else None
        return Result(sources, helpers_out, before, self.report, self.plans)


def _user_bound(units: list[Unit]) -> set[str]:
    """Every name the program binds: assigned, defined, imported, a parameter."""
    names: set[str] = set()
    for unit in units:
        for node in ast.walk(unit.tree) if unit.tree else ():
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Import):
                kept = [a for a in node.names if not is_keras_module(a.name)]
                names |= {(a.asname or a.name).split(".")[0] for a in kept}
            elif isinstance(node, ast.ImportFrom) and not is_keras_module(node.module or ""):
                names |= {a.asname or a.name for a in node.names}
    return names


def _compiled_vars(units: list[Unit]) -> set[str]:
    """The names ``X`` of the ``X.compile(...)`` statements."""
    return {
        node.value.func.value.id
        for unit in units
        for node in (ast.walk(unit.tree) if unit.tree else ())
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "compile"
        and isinstance(node.value.func.value, ast.Name)
    }


def _compile_only(units: list[Unit]) -> set[str]:
    """Names only bound by ``name = <call>`` and only read in ``X.compile(...)`` statements (a
    Keras optimizer made for compile): the converted compile may take the name over."""
    bound: dict[str, bool] = {}
    reads: dict[str, bool] = {}
    for unit in units:
        if unit.tree is None:
            continue
        in_compile = {
            id(n)
            for stmt in ast.walk(unit.tree)
            if isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)
            and stmt.value.func.attr == "compile"
            for n in ast.walk(stmt)
        }
        recipes = {
            id(stmt.targets[0])
            for stmt in ast.walk(unit.tree)
            if isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.value, ast.Call)
        }
        for node in ast.walk(unit.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                reads[node.id] = reads.get(node.id, True) and id(node) in in_compile
            elif isinstance(node, ast.Name):
                bound[node.id] = bound.get(node.id, True) and id(node) in recipes
            elif isinstance(node, ast.arg):
                bound[node.arg] = False
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound[node.name] = False
    return {name for name, ok in bound.items() if ok and reads.get(name, True)}


def _exported(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names that leave ``func`` holding a model: returned, or parameters it does not fit."""
    returned = {
        node.value.id
        for node in ast.walk(func)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name)
    }
    fitted = {
        node.func.value.id
        for node in ast.walk(func)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("fit", "evaluate", "fit_generator", "evaluate_generator")
        and isinstance(node.func.value, ast.Name)
    }
    return returned | (set(_params(func)) - fitted)


def _free(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = func.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


_MODEL_METHODS = frozenset({"compile", "fit", "evaluate", "predict", "summary"})


def _model_params(units: list[Unit]) -> set[tuple[str, str]]:
    """(function, parameter) pairs where some call of the function passes a model: a name the
    program calls ``.compile``/``.fit``/``.predict``... on (``show(model, x)``)."""
    trees = [u.tree for u in units if u.tree]
    models = {
        node.func.value.id
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _MODEL_METHODS
        and isinstance(node.func.value, ast.Name)
    }
    functions = {
        node.name: _params(node)
        for tree in trees
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    pairs = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            params = functions.get(node.func.id)
            if params is None:
                continue
            for param, arg in zip(params, node.args, strict=False):
                if isinstance(arg, ast.Name) and arg.id in models:
                    pairs.add((node.func.id, param))
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg and isinstance(value, ast.Name) and value.id in models:
                    pairs.add((node.func.id, keyword.arg))
    return pairs


def _defaults(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """A function's default values and annotations: evaluated where it is defined."""
    args = func.args
    found: list[ast.expr | None] = [*args.defaults, *args.kw_defaults, func.returns]
    found += [a.annotation for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    return [e for e in found if e is not None]


def _all_bound(stmt: ast.stmt) -> list[str]:
    """The names ``stmt`` binds, in its nested blocks too (not in nested functions)."""
    names = bound_names(stmt)
    if isinstance(stmt, _COMPOUND):
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.append(node.id)
    return list(dict.fromkeys(names))


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names local to a function: its parameters and the names it binds (not nested scopes)."""
    args = func.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    todo: list[ast.AST] = list(func.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        elif isinstance(node, ast.Lambda | ast.comprehension):
            continue
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        todo.extend(ast.iter_child_nodes(node))
    return names
