"""``model.compile``/``fit``/``evaluate``/``predict`` and Keras callbacks as PyTorch code."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field

from dlcourse.convert.ir import ModelDef, Unsupported
from dlcourse.convert.read.names import Aliases
from dlcourse.convert.write.model_code import final_activation

_LOSSES = {
    "sparse_categorical_crossentropy": "sparse_ce",
    "SparseCategoricalCrossentropy": "sparse_ce",
    "categorical_crossentropy": "ce",
    "CategoricalCrossentropy": "ce",
    "binary_crossentropy": "bce",
    "BinaryCrossentropy": "bce",
    "mse": "mse",
    "mean_squared_error": "mse",
    "MeanSquaredError": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "MeanAbsoluteError": "mae",
}
_METRIC_OBJECTS = {
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "CategoricalAccuracy": "categorical_accuracy",
    "BinaryAccuracy": "binary_accuracy",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanSquaredError": "mean_squared_error",
    "AUC": "auc",
    "Precision": "precision",
    "Recall": "recall",
    "BinaryCrossentropy": "binary_crossentropy",
}
_METRICS = {"accuracy", "acc", "mae", "mse", *_METRIC_OBJECTS.values()}
_METRIC_ARGS = {"name", "dtype", "threshold", "from_logits"}
"""Arguments of metric objects that the converted metrics accept (threshold: only 0.5)."""

# Keras learning-rate schedules as the factor LambdaLR multiplies the initial rate by.
_SCHEDULES = {
    "ExponentialDecay": (
        ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
        "({rate}) ** {progress}",
    ),
    "InverseTimeDecay": (
        ("initial_learning_rate", "decay_steps", "decay_rate", "staircase"),
        "1 / (1 + ({rate}) * {progress})",
    ),
}

# Keras optimizer: PyTorch class, Keras's arguments in order with defaults, PyTorch's names.
_OPTIMIZERS: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "adam": (
        "Adam",
        (
            ("learning_rate", "0.001", "lr"),
            ("beta_1", "0.9", ""),
            ("beta_2", "0.999", ""),
            ("epsilon", "1e-07", "eps"),
            ("amsgrad", "False", "amsgrad"),
        ),
    ),
    "sgd": (
        "SGD",
        (
            ("learning_rate", "0.01", "lr"),
            ("momentum", "0.0", "momentum"),
            ("nesterov", "False", "nesterov"),
        ),
    ),
    "rmsprop": (
        "RMSprop",
        (
            ("learning_rate", "0.001", "lr"),
            ("rho", "0.9", "alpha"),
            ("momentum", "0.0", "momentum"),
            ("epsilon", "1e-07", "eps"),
            ("centered", "False", "centered"),
        ),
    ),
    "adagrad": (
        "Adagrad",
        (
            ("learning_rate", "0.001", "lr"),
            ("initial_accumulator_value", "0.1", "initial_accumulator_value"),
            ("epsilon", "1e-07", "eps"),
        ),
    ),
}
# PyTorch's defaults where they differ from Keras's: those options are always written out.
_TORCH_DEFAULTS = {
    "Adam": {"lr": "0.001", "eps": "1e-08"},
    "SGD": {"lr": "0.001"},
    "RMSprop": {"lr": "0.01", "alpha": "0.99", "eps": "1e-08"},
    "Adagrad": {"lr": "0.01", "initial_accumulator_value": "0", "eps": "1e-10"},
}

_FIT = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split")
_FIT_KEYWORDS = {
    *_FIT,
    "validation_data",
    "shuffle",
    "initial_epoch",
    "steps_per_epoch",
    "validation_steps",
}
_EVALUATE = ("x", "y", "batch_size", "verbose")
_PREDICT = ("x", "batch_size", "verbose")
_METHODS = {
    "fit": (_FIT, _FIT_KEYWORDS),
    "evaluate": (_EVALUATE, {*_EVALUATE, "return_dict", "steps"}),
    "predict": (_PREDICT, {*_PREDICT, "steps"}),
}
KERAS2_METHODS = {
    "fit_generator": (
        "fit",
        ("x", "steps_per_epoch", "epochs", "verbose", "callbacks", "validation_data"),
    ),
    "evaluate_generator": ("evaluate", ("x", "steps")),
    "predict_generator": ("predict", ("x", "steps")),
}
"""Keras 2's methods for generators: the method Keras 3 uses instead, and their positional
arguments (Keras 3's fit/evaluate/predict take generators too)."""
_QUEUE_WORDS = {"workers", "use_multiprocessing", "max_queue_size", "class_weight"}
_CALLBACKS = {
    "EarlyStopping": (
        "monitor",
        "min_delta",
        "patience",
        "verbose",
        "mode",
        "baseline",
        "restore_best_weights",
        "start_from_epoch",
    ),
    "ReduceLROnPlateau": (
        "monitor",
        "factor",
        "patience",
        "verbose",
        "mode",
        "min_delta",
        "cooldown",
        "min_lr",
    ),
    "LearningRateScheduler": ("schedule", "verbose"),
    "ModelCheckpoint": (
        "filepath",
        "monitor",
        "verbose",
        "save_best_only",
        "save_weights_only",
        "mode",
        "save_freq",
        "initial_value_threshold",
    ),
}


@dataclass
class Compiled:
    """The PyTorch lines for one ``model.compile(...)`` and what the reader should know."""

    lines: list[str]
    notes: list[str] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)
    """Names of optimizer/loss variables used here (their Keras objects are replaced)."""
    dropped: list[tuple[ast.AST, str]] = field(default_factory=list)
    """Parts left out (an unsupported metric), with the reason: the rest is converted."""
    helpers: set[str] = field(default_factory=set)
    """Helpers the lines use (a loss written out for Keras's semantics)."""
    metrics: list[str] = field(default_factory=list)
    """The converted metrics' names (Keras's)."""
    scheduled: bool = False
    """True when the lines bind a learning-rate scheduler too."""


@dataclass
class Setup:
    """The names of the variables a converted ``compile`` binds, next to the model (not on
    it): ``fit`` and ``evaluate`` take them as arguments."""

    loss_fn: str
    optimizer: str
    metrics: str
    lr_scheduler: str
    scheduled: bool = False
    """True when the compile had a learning-rate schedule (``lr_scheduler`` is bound)."""


def _bind(call: ast.Call, params: tuple[str, ...], what: str) -> dict[str, ast.expr]:
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        raise Unsupported(call, f"{what}: *args and **kwargs are not supported")
    if len(call.args) > len(params):
        raise Unsupported(call.args[len(params)], f"{what}: too many positional arguments")
    given = dict(zip(params, call.args, strict=False))
    given.update({k.arg: k.value for k in call.keywords if k.arg})
    return given


def _constant(expr: ast.expr, what: str) -> object:
    try:
        return ast.literal_eval(expr)
    except ValueError:
        raise Unsupported(expr, f"{what} must be a constant") from None


class CompileConverter:
    """Converts compile calls; knows the optimizer/loss objects bound to names in a scope."""

    def __init__(self, aliases: Aliases) -> None:
        self.aliases = aliases
        self.recipes: dict[str, ast.Call] = {}

    def is_recipe(self, call: ast.expr) -> bool:
        """True for ``keras.optimizers.X(...)`` and ``keras.losses.X(...)`` calls."""
        if not isinstance(call, ast.Call):
            return False
        dotted = self.aliases.resolve(call.func) or ""
        return dotted.startswith(("keras.optimizers.", "keras.losses."))

    def is_schedule(self, call: ast.expr) -> bool:
        """True for ``keras.optimizers.schedules.X(...)``."""
        if not isinstance(call, ast.Call):
            return False
        return (self.aliases.resolve(call.func) or "").startswith("keras.optimizers.schedules.")

    def convert(self, var: str, call: ast.Call, model: ModelDef | None, setup: Setup) -> Compiled:
        """The lines replacing ``<var>.compile(...)``, binding the variables ``setup`` names;
        sets ``model.fold`` when it folds."""
        params = ("optimizer", "loss", "loss_weights", "metrics")
        given = _bind(call, params, "compile")
        result = Compiled([])
        for name, expr in given.items():
            if name in ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss"):
                result.notes.append(f"compile: {name} has no PyTorch counterpart; dropped")
            elif name not in ("optimizer", "loss", "metrics"):
                raise Unsupported(expr, f"compile: argument {name!r} is not supported")
        if "loss" not in given:
            raise Unsupported(call, "compile without a loss is not supported")
        if model is not None and model.more_outputs:
            raise Unsupported(call, "compile of a model with several outputs is not supported")
        loss_code = self._loss(var, self._resolve(given["loss"], result), model, result)
        schedule: list[str] = []
        optimizer = self._optimizer(
            var, self._resolve(given.get("optimizer"), result), result, schedule, setup
        )
        result.metrics = self._metrics(given.get("metrics"), result)
        result.scheduled = bool(schedule)
        result.lines = [
            "# PyTorch has no compile step: the loss, the optimizer and the metrics are plain",
            "# variables, which fit() and evaluate() take as arguments",
            f"{setup.loss_fn} = {loss_code}",
            f"{setup.optimizer} = {optimizer}",
            *(f"{setup.lr_scheduler} = {line}" for line in schedule),
            f"{setup.metrics} = {json.dumps(result.metrics)}",
        ]
        return result

    def _schedule(self, expr: ast.expr, result: Compiled, setup: Setup) -> tuple[str, str]:
        """A Keras learning-rate schedule: (the initial rate, the LambdaLR that follows it)."""
        call = self._resolve(expr, result)
        if not self.is_schedule(call):  # type: ignore[arg-type]
            raise Unsupported(expr, f"learning_rate={ast.unparse(expr)} is not supported")
        assert isinstance(call, ast.Call)
        name = (self.aliases.resolve(call.func) or "").rsplit(".", 1)[1]
        if name not in _SCHEDULES:
            raise Unsupported(call, f"learning-rate schedule {name} is not supported")
        params, formula = _SCHEDULES[name]
        given = _bind(call, params, name)
        for arg in given:
            if arg not in params and arg != "name":
                raise Unsupported(given[arg], f"{name}: argument {arg!r} is not supported")
        missing = [p for p in params[:3] if p not in given]
        if missing:
            raise Unsupported(call, f"{name}: argument {missing[0]!r} is missing")
        staircase = "staircase" in given and bool(_constant(given["staircase"], "staircase"))
        values = {p: ast.unparse(given[p]) for p in params[:3]}
        steps = values["decay_steps"]
        progress = f"(step // ({steps}))" if staircase else f"(step / ({steps}))"
        factor = formula.format(rate=values["decay_rate"], progress=progress)
        result.notes.append(
            f"{name}: the learning rate follows the same schedule, stepped after every batch "
            f"(torch.optim.lr_scheduler.LambdaLR in {setup.lr_scheduler}, which fit() takes)"
        )
        lambda_lr = f"torch.optim.lr_scheduler.LambdaLR({setup.optimizer}, lambda step: {factor})"
        return values["initial_learning_rate"], lambda_lr

    def _resolve(self, expr: ast.expr | None, result: Compiled) -> ast.expr | None:
        if isinstance(expr, ast.Name) and expr.id in self.recipes:
            result.consumed.append(expr.id)
            return self.recipes[expr.id]
        return expr

    def _name(self, expr: ast.expr, kind: str) -> tuple[str, ast.Call | None]:
        """The Keras name of a loss/optimizer given as a string, a function or an object."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return expr.value, None
        call = expr if isinstance(expr, ast.Call) else None
        dotted = self.aliases.resolve(call.func if call else expr) or ""
        if dotted.startswith(f"keras.{kind}."):
            return dotted.rsplit(".", 1)[1], call
        raise Unsupported(expr, f"compile: this {kind[:-1]} is not supported: {ast.unparse(expr)}")

    def _loss(
        self, var: str, expr: ast.expr | None, model: ModelDef | None, result: Compiled
    ) -> str:
        name, call = self._name(expr, "losses")  # type: ignore[arg-type]
        kind = _LOSSES.get(name)
        if kind is None:
            raise Unsupported(expr, f"compile: loss {name!r} is not supported")
        from_logits = False
        if call is not None:
            given = _bind(call, (), name)
            for arg, value in given.items():
                if arg == "from_logits":
                    from_logits = bool(_constant(value, "from_logits"))
                elif arg != "name":
                    raise Unsupported(value, f"{name}: argument {arg!r} is not supported")
        if kind in ("mse", "mae"):
            self._fold(model, None, expr)
            return "nn.MSELoss()" if kind == "mse" else "nn.L1Loss()"
        if from_logits:
            self._fold(model, None, expr)
            loss = "nn.CrossEntropyLoss()" if kind != "bce" else "nn.BCEWithLogitsLoss()"
            return loss + "  # Keras: from_logits=True"
        wanted = "sigmoid" if kind == "bce" else "softmax"
        last = final_activation(model) if model else None
        if last != wanted:  # unknown model, or no final sigmoid/softmax: Keras clips
            self._fold(model, None, expr)
            helper = "ClippedBCELoss" if kind == "bce" else "ClippedCrossEntropyLoss"
            result.helpers.add(helper)
            result.notes.append(
                f"{name} without from_logits=True on a model "
                f"{'that does not end in ' + wanted if model else 'defined elsewhere'}: "
                f"{helper} (written out with fit) clips the outputs as Keras does"
            )
            return f"{helper}()  # Keras's clipping of outputs that are not a {wanted}"
        self._fold(model, wanted, expr)
        loss = "nn.CrossEntropyLoss()" if kind != "bce" else "nn.BCEWithLogitsLoss()"
        result.notes.append(
            f"the model's final {wanted} is folded into {loss[:-2]} (more stable): "
            f"the model now returns logits, and predict() applies the {wanted}"
        )
        return f"{loss}  # takes logits: the model's final {wanted} is folded in here"

    @staticmethod
    def _fold(model: ModelDef | None, fold: str | None, expr: ast.expr) -> None:
        if model is None:
            return
        if model.fold is not None and model.fold != fold:
            raise Unsupported(expr, "compile: the model is compiled again with another loss")
        model.fold = fold

    def _optimizer(
        self,
        var: str,
        expr: ast.expr | None,
        result: Compiled,
        schedule: list[str],
        setup: Setup,
    ) -> str:
        if expr is None:
            name, call = "rmsprop", None  # Keras's default
        else:
            name, call = self._name(expr, "optimizers")
        key = name.lower()
        if key not in _OPTIMIZERS:
            raise Unsupported(expr, f"compile: optimizer {name!r} is not supported")
        torch_name, params = _OPTIMIZERS[key]
        values = {keras: default for keras, default, _ in params}
        given = {}
        if call is not None:
            given = _bind(call, tuple(p for p, _, _ in params), name)
            if "lr" in given:
                given["learning_rate"] = given.pop("lr")
            for arg, value in given.items():
                if arg == "name":
                    continue
                if arg not in values:
                    raise Unsupported(value, f"{name}: argument {arg!r} is not supported")
                if arg == "learning_rate" and (
                    self.is_schedule(value)
                    or isinstance(value, ast.Name)
                    and self.is_schedule(self.recipes.get(value.id))  # type: ignore[arg-type]
                ):
                    values[arg], scheduler = self._schedule(value, result, setup)
                    schedule.append(scheduler)
                    continue
                if self.aliases.first_use(value):
                    raise Unsupported(value, f"{name}: {arg}={ast.unparse(value)} is not supported")
                values[arg] = ast.unparse(value)
        torch_defaults = _TORCH_DEFAULTS[torch_name]
        options = [f"{var}.parameters()"]
        kept = []
        for keras, _, torch_arg in params:
            if torch_arg and (torch_arg in torch_defaults or keras in given):
                options.append(f"{torch_arg}={values[keras]}")
            default = torch_defaults.get(torch_arg)
            if default and keras not in given and float(values[keras]) != float(default):
                kept.append(f"{torch_arg}={values[keras]} (PyTorch: {torch_defaults[torch_arg]})")
        if key == "adam" and {"beta_1", "beta_2"} & set(given):
            options.insert(2, f"betas=({values['beta_1']}, {values['beta_2']})")
        if kept:
            result.notes.append(f"{torch_name}: Keras's defaults kept: {', '.join(kept)}")
        return f"torch.optim.{torch_name}({', '.join(options)})"

    def _metrics(self, expr: ast.expr | None, result: Compiled) -> list[str]:
        """The converted metrics' names; an unsupported one is left out (and reported)."""
        if expr is None:
            return []
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            expr = ast.List([expr], ast.Load())
        if not isinstance(expr, ast.List | ast.Tuple):
            raise Unsupported(expr, "compile: metrics must be a list written out")
        names = []
        for item in expr.elts:
            try:
                name = self._metric(item)
            except Unsupported as err:
                result.dropped.append((item, f"{err.message}: left out of the metrics"))
                continue
            if name not in names:
                names.append(name)
        return names

    def _metric(self, item: ast.expr) -> str:
        if isinstance(item, ast.Constant) and item.value in _METRICS:
            return str(item.value)
        call = item if isinstance(item, ast.Call) else None
        dotted = self.aliases.resolve(call.func if call else item) or ""
        last = dotted.rsplit(".", 1)[-1]
        if call is None and dotted.startswith("keras.metrics.") and last in _METRICS:
            return last  # the function form: keras.metrics.binary_accuracy
        metric = _METRIC_OBJECTS.get(last)
        if not dotted.startswith("keras.metrics.") or metric is None:
            raise Unsupported(item, f"compile: metric {ast.unparse(item)} is not supported")
        if call is not None:
            given = _bind(call, (), metric)
            for arg, value in given.items():
                if arg not in _METRIC_ARGS or (
                    arg == "threshold" and _constant(value, "threshold") != 0.5
                ):
                    raise Unsupported(value, f"compile: {ast.unparse(item)} is not supported")
        return metric


def keras2_call(method: str, var: str, call: ast.Call) -> tuple[str, ast.Call, list[str]]:
    """``model.fit_generator(g, 10, ...)`` as ``model.fit(g, steps_per_epoch=10, ...)``: the new
    method, the call with keyword arguments, and notes."""
    new, positional = KERAS2_METHODS[method]
    given = _bind(call, positional, f"{var}.{method}")
    notes = [f"{var}.{method}() is Keras 2's name for {var}.{new}()"]
    dropped = sorted(_QUEUE_WORDS & set(given))
    if dropped:
        notes.append(f"{var}.{method}: {', '.join(dropped)} dropped (no PyTorch counterpart)")
    keywords = [
        ast.keyword(name, value)
        for name, value in given.items()
        if name != "x" and name not in _QUEUE_WORDS
    ]
    return new, ast.Call(call.func, [given["x"]], keywords), notes


def helper_call(method: str, var: str, call: ast.Call, setup: Setup | None) -> ast.Call:
    """``model.fit(x, y, ...)`` as ``fit(model, loss_fn, optimizer, x, y, ..., metrics=metrics)``
    (``evaluate``: the loss only; ``predict``: neither) after checking the arguments."""
    positional, keywords = _METHODS[method]
    given = _bind(call, positional, f"{var}.{method}")
    for name, value in given.items():
        if name not in keywords:
            raise Unsupported(value, f"{var}.{method}: argument {name!r} is not supported")
    args: list[ast.expr] = [ast.Name(var, ast.Load())]
    extra = []
    if method != "predict":
        if setup is None:
            raise Unsupported(call, f"{var}.{method}: no converted {var}.compile() comes before")
        args.append(ast.Name(setup.loss_fn, ast.Load()))
        if method == "fit":
            args.append(ast.Name(setup.optimizer, ast.Load()))
        extra.append(ast.keyword("metrics", ast.Name(setup.metrics, ast.Load())))
        if method == "fit" and setup.scheduled:
            extra.append(ast.keyword("lr_scheduler", ast.Name(setup.lr_scheduler, ast.Load())))
    return ast.Call(ast.Name(method, ast.Load()), [*args, *call.args], [*call.keywords, *extra])


def callback_call(name: str, call: ast.Call) -> ast.Call:
    """``keras.callbacks.EarlyStopping(...)`` as the generated ``EarlyStopping(...)``."""
    given = _bind(call, _CALLBACKS[name], name)
    if name == "ModelCheckpoint":
        freq = given.get("save_freq")
        if freq is not None and _constant(freq, "save_freq") != "epoch":
            raise Unsupported(freq, "ModelCheckpoint: only save_freq='epoch' is supported")
        if "filepath" in given:
            pt_paths(given["filepath"])
    return ast.Call(ast.Name(name, ast.Load()), call.args, call.keywords)


def pt_paths(expr: ast.expr) -> None:
    """Rename Keras files inside ``expr``: ``m.keras``, ``m.h5``, ``m.weights.h5`` -> ``m.pt``."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for suffix in (".weights.h5", ".keras", ".h5"):
                if node.value.endswith(suffix):
                    node.value = node.value[: -len(suffix)] + ".pt"
                    break
