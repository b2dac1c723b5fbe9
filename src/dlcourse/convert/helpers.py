"""The plain PyTorch code that stands in for Keras's ``fit``/``evaluate``/``predict``.

Converted programs get only the pieces they use, each a short function or class written out
in full, so that the training loop is there to read and change.
"""

from __future__ import annotations

_DEVICE = """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
"""

_TO_TENSOR = '''
def to_tensor(data):
    """NumPy arrays (or tensors) as float32 tensors, as Keras accepts them."""
    return torch.as_tensor(data, dtype=torch.float32)
'''

_LOSS_TARGET = '''
def loss_target(model, output, target):
    """Targets as the loss wants them: class indices for cross-entropy, else the output's shape."""
    if isinstance(model.loss_fn, nn.CrossEntropyLoss) and target.dim() < output.dim():
        return target.long().reshape(-1)
    return target.reshape(output.shape)
'''

_METRICS = '''
def accuracy(model, output, target):
    """Keras's "accuracy": the right class (argmax), or the right side of 0.5 for binary losses."""
    if isinstance(model.loss_fn, nn.CrossEntropyLoss):
        predicted = output.argmax(dim=1)
        target = target.argmax(dim=1) if target.dim() == output.dim() else target.reshape(-1)
    else:
        threshold = 0.0 if isinstance(model.loss_fn, nn.BCEWithLogitsLoss) else 0.5
        predicted = (output > threshold).float()
        target = target.reshape(output.shape)
    return (predicted == target).float().mean()


def mean_absolute_error(model, output, target):
    return (output - target.reshape(output.shape)).abs().mean()


def mean_squared_error(model, output, target):
    return (output - target.reshape(output.shape)).square().mean()


METRICS = {
    "accuracy": accuracy,
    "acc": accuracy,
    "sparse_categorical_accuracy": accuracy,
    "categorical_accuracy": accuracy,
    "binary_accuracy": accuracy,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
}


def batch_logs(model, loss, output, target):
    """The loss and each compiled metric for one batch, as numbers."""
    logs = {"loss": loss.item()}
    with torch.no_grad():
        for name in model.metric_names:
            logs[name] = METRICS[name](model, output, target).item()
    return logs
'''

_FIT = '''
def fit(model, x, y, batch_size=None, epochs=1, verbose=1, callbacks=(),
        validation_split=0.0, validation_data=None, shuffle=True):
    """Keras's model.fit as a plain loop; returns the history, e.g. history["val_loss"]."""
    x, y = to_tensor(x), to_tensor(y)
    if validation_split and validation_data is None:
        split = int(len(x) * (1 - validation_split))  # Keras holds out the last samples
        x, y, validation_data = x[:split], y[:split], (x[split:], y[split:])
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size or 32, shuffle=shuffle)
    model.to(device)
    history = {}
    for callback in callbacks:
        callback.on_train_begin()
    for epoch in range(epochs):
        model.train()
        totals, seen = {}, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            output = model(xb)
            loss = model.loss_fn(output, loss_target(model, output, yb))
            model.optimizer.zero_grad()
            loss.backward()
            model.optimizer.step()
            for name, value in batch_logs(model, loss, output, yb).items():
                totals[name] = totals.get(name, 0.0) + value * len(xb)
            seen += len(xb)
        logs = {name: total / seen for name, total in totals.items()}
        if validation_data is not None:
            val_x, val_y = validation_data
            val_logs = evaluate(model, val_x, val_y, batch_size, verbose=0, return_dict=True)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if verbose:
            shown = " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} - {shown}")
        if any([callback.on_epoch_end(model, epoch, logs) for callback in callbacks]):
            break
    for callback in callbacks:
        callback.on_train_end(model)
    return history
'''

_EVALUATE = '''
@torch.no_grad()
def evaluate(model, x, y, batch_size=None, verbose=1, return_dict=False):
    """Keras's model.evaluate: the loss then each metric, averaged over the samples."""
    model.to(device).eval()
    loader = DataLoader(TensorDataset(to_tensor(x), to_tensor(y)), batch_size=batch_size or 32)
    totals, seen = {}, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        output = model(xb)
        loss = model.loss_fn(output, loss_target(model, output, yb))
        for name, value in batch_logs(model, loss, output, yb).items():
            totals[name] = totals.get(name, 0.0) + value * len(xb)
        seen += len(xb)
    logs = {name: total / seen for name, total in totals.items()}
    if verbose:
        print(" - ".join(f"{name}: {value:.4f}" for name, value in logs.items()))
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())
'''

_PREDICT = '''
@torch.no_grad()
def predict(model, x, batch_size=None, verbose=0):
    """Keras's model.predict: the outputs as a NumPy array, with any folded activation applied."""
    model.to(device).eval()
    loader = DataLoader(TensorDataset(to_tensor(x)), batch_size=batch_size or 32)
    output = torch.cat([model(xb.to(device)) for (xb,) in loader])
    activation = getattr(model, "output_activation", None)
    if activation == "softmax":
        output = torch.softmax(output, dim=-1)
    elif activation == "sigmoid":
        output = torch.sigmoid(output)
    return output.cpu().numpy()
'''

_SUMMARY = '''
def summary(model):
    """Stands in for Keras's model.summary(): the modules and the number of parameters."""
    print(model)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"Total params: {total:,} (trainable: {trainable:,})")
'''

_EARLY_STOPPING = '''
class EarlyStopping:
    """Keras's EarlyStopping callback for the fit loop: stop when `monitor` stops improving."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.verbose, self.baseline, self.start_from_epoch = verbose, baseline, start_from_epoch
        self.restore_best_weights = restore_best_weights
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0  # improvement = sign * (new - best) > min_delta

    def on_train_begin(self):
        self.wait, self.best, self.best_weights, self.best_epoch = 0, None, None, 0

    def improves(self, value, reference):
        return reference is None or self.sign * (value - reference) > self.min_delta

    def on_epoch_end(self, model, epoch, logs):
        """Returns True when training should stop."""
        current = logs.get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return False
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.wait += 1
        if self.improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if self.baseline is None or self.improves(current, self.baseline):
                self.wait = 0
            return False
        stop = self.wait >= self.patience and epoch > 0
        if stop and self.verbose:
            print(f"Epoch {epoch + 1}: early stopping")
        return stop

    def on_train_end(self, model):
        if self.restore_best_weights and self.best_weights is not None:
            model.load_state_dict(self.best_weights)
'''

_MODEL_CHECKPOINT = '''
class ModelCheckpoint:
    """Keras's ModelCheckpoint callback for the fit loop: saves the model's state_dict."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.best = save_best_only, initial_value_threshold
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0

    def on_train_begin(self):
        pass

    def on_epoch_end(self, model, epoch, logs):
        """Saves the state_dict (only on improvement with save_best_only); never stops training."""
        current = logs.get(self.monitor)
        if self.save_best_only:
            if current is None or not (self.best is None or self.sign * (current - self.best) > 0):
                return False
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        torch.save(model.state_dict(), path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")
        return False

    def on_train_end(self, model):
        pass
'''

_TO_CATEGORICAL = '''
def to_categorical(y, num_classes=None):
    """Keras's to_categorical: class indices as one-hot float32 rows."""
    y = np.asarray(y, dtype="int64")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    return np.eye(num_classes or int(y.max()) + 1, dtype="float32")[y]
'''

# name: (code, the helpers it needs); listed in the order they are written out.
_HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "device": (_DEVICE, ()),
    "to_tensor": (_TO_TENSOR, ()),
    "loss_target": (_LOSS_TARGET, ()),
    "batch_logs": (_METRICS, ()),
    "evaluate": (_EVALUATE, ("device", "to_tensor", "loss_target", "batch_logs")),
    "fit": (_FIT, ("evaluate",)),
    "predict": (_PREDICT, ("device", "to_tensor")),
    "summary": (_SUMMARY, ()),
    "EarlyStopping": (_EARLY_STOPPING, ()),
    "ModelCheckpoint": (_MODEL_CHECKPOINT, ()),
    "to_categorical": (_TO_CATEGORICAL, ()),
}


def _closure(names: set[str]) -> set[str]:
    todo, result = list(names), set()
    while todo:
        name = todo.pop()
        if name not in result:
            result.add(name)
            todo += _HELPERS[name][1]
    return result


def helpers_code(names: set[str]) -> str:
    """The code of the helpers ``names`` and of those they use, in a fixed order."""
    wanted = _closure(names)
    blocks = [code.strip("\n") for name, (code, _) in _HELPERS.items() if name in wanted]
    header = "# Training helpers written by `dlcourse convert`: Keras's fit/evaluate/predict as\n"
    header += "# plain PyTorch code. Read them, then change them as you like."
    return header + "\n\n\n" + "\n\n\n".join(blocks) + "\n"


def helpers_imports(names: set[str]) -> set[str]:
    """The imports the helpers ``names`` need."""
    wanted = _closure(names)
    imports = {"import torch"}
    if wanted & {"loss_target", "batch_logs"}:
        imports.add("from torch import nn")
    if wanted & {"evaluate", "predict"}:
        imports.add("from torch.utils.data import DataLoader, TensorDataset")
    if "to_categorical" in wanted:
        imports.add("import numpy as np")
    return imports


def import_block(imports: set[str], numpy_imported: bool) -> list[str]:
    """The import lines a converted program needs, in a stable order."""
    order = [
        "import random",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
    ]
    if numpy_imported:
        imports = imports - {"import numpy as np"}
    block = [line for line in order if line in imports]
    loaders = sorted(line.rsplit(" ", 1)[1] for line in imports if line.startswith("from dlcourse"))
    if loaders:
        block += ["", f"from dlcourse.data import {', '.join(loaders)}"]
    return block
