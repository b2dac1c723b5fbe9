"""The plain PyTorch code that stands in for Keras's ``fit``/``evaluate``/``predict``.

Converted programs get only the pieces they use, each a short function or class written out
in full, so that the training loop is there to read and change.
"""

from __future__ import annotations

import ast
import re

_DEVICE = """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
"""

_TO_TENSOR = '''
def to_tensor(data):
    """Arrays, lists, pandas tables or tensors as float32 tensors, as Keras accepts them."""
    if not isinstance(data, torch.Tensor):
        data = np.asarray(data, dtype=np.float32)
    return torch.as_tensor(data, dtype=torch.float32)


def to_tensors(x, model=None):
    """A model's inputs as a list of tensors: one array, a list or tuple of arrays (several
    inputs), or a dict keyed by the names of forward's arguments (Keras's Input names, when they
    are those of the Input variables). Like Keras, a 1-D array of N values is taken as N samples
    of one feature: (N, 1)."""
    if isinstance(x, dict):
        names = list(inspect.signature(model.forward).parameters)
        if set(names) - set(x):
            raise KeyError(f"the inputs are {names}; the dict has {list(x)}")
        x = [x[name] for name in names]
    tensors = [to_tensor(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    return [t.unsqueeze(-1) if t.ndim == 1 else t for t in tensors]
'''

_BATCHES = '''
class Batches:
    """Batches from a generator of (x, y) pairs, as Keras 2's fit_generator takes them: each
    pass over it draws `steps` batches (all of them when `steps` is None and it has a length)."""

    def __init__(self, generator, steps=None):
        self.source, self.generator = iter(generator), generator
        self.steps = steps if steps is not None else len(generator)

    def __len__(self):
        return self.steps

    def __iter__(self):
        for _ in range(self.steps):
            batch = next(self.source)
            batch = batch if isinstance(batch, tuple) else (batch,)  # inputs only (predict)
            yield (*to_tensors(batch[0]), *([to_tensor(batch[1])] if len(batch) > 1 else []))


def is_generator(data):
    """True for a generator of batches (or an iterator), False for arrays and lists of them."""
    return hasattr(data, "__next__")
'''

_IMAGE_AUGMENT = '''
class ImageAugment:
    """Keras's ImageDataGenerator: `transform` (torchvision.transforms.v2) on each image, then
    `rescale`; flow(x, y) gives batches of (images, labels) in Keras's layout, forever."""

    def __init__(self, transform, rescale=None):
        self.transform, self.rescale = transform, rescale

    def flow(self, x, y=None, batch_size=32, shuffle=True):
        images = to_tensor(x).permute(0, 3, 1, 2)  # channels first, as torchvision wants
        labels = to_tensor(y if y is not None else np.zeros(len(images)))
        return Flow(AugmentedImages(images, labels, self), batch_size, shuffle)


class AugmentedImages(Dataset):
    """The images, each transformed at random when it is read."""

    def __init__(self, images, labels, augment):
        self.images, self.labels, self.augment = images, labels, augment

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.augment.transform(self.images[i]).permute(1, 2, 0)  # channels last again
        if self.augment.rescale is not None:
            image = image * self.augment.rescale
        return image, self.labels[i]


class Flow:
    """Batches of a Dataset that start over when they run out, like Keras's flow(); its
    length is the number of batches in one pass (fit's steps per epoch)."""

    def __init__(self, dataset, batch_size, shuffle):
        self.loader = DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)
        self.batches = iter(())

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)
'''

_LOSS = '''
def compute_loss(loss_fn, output, target):
    """loss_fn on outputs in Keras's layout: classes last, e.g. (N, C) or (N, H, W, C)."""
    if getattr(loss_fn, "keras_targets", False):  # a loss written below for Keras's layout
        return loss_fn(output, target)
    if isinstance(loss_fn, nn.CrossEntropyLoss):  # PyTorch wants the classes on axis 1
        if target.shape == output.shape:  # one-hot targets (categorical cross-entropy)
            return loss_fn(output.movedim(-1, 1), target.movedim(-1, 1))
        target = target.long().reshape(output.shape[:-1])  # class indices: (N,) or (N, H, W)
        return loss_fn(output.movedim(-1, 1), target)
    return loss_fn(output, target.reshape(output.shape).to(output.dtype))
'''

_PROBABILITIES = '''
def probabilities(loss_fn, output):
    """The outputs as Keras's probabilities: applies the activation folded into the loss."""
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        return torch.sigmoid(output)
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        return torch.softmax(output, dim=-1)
    return output
'''

_ACCURACY = '''
def accuracy(loss_fn, output, target):
    """Keras's "accuracy": the right class (argmax), or the right side of 0.5 for binary losses."""
    if isinstance(loss_fn, nn.CrossEntropyLoss) or getattr(loss_fn, "classes", False):
        predicted = output.argmax(dim=-1)
        target = target.argmax(dim=-1) if target.shape == output.shape else target
        target = target.reshape(predicted.shape)
    else:
        predicted = (probabilities(loss_fn, output) > 0.5).float()
        target = target.reshape(output.shape)
    return (predicted == target).float().mean()
'''

_MAE = """
def mean_absolute_error(loss_fn, output, target):
    return (output - target.reshape(output.shape)).abs().mean()
"""

_MSE = """
def mean_squared_error(loss_fn, output, target):
    return (output - target.reshape(output.shape)).square().mean()
"""

_BCE_METRIC = """
def binary_crossentropy(loss_fn, output, target):
    p = probabilities(loss_fn, output).clamp(1e-7, 1 - 1e-7)
    return F.binary_cross_entropy(p, target.reshape(output.shape).to(p.dtype))
"""

_PRECISION = '''
def precision(loss_fn, output, target):
    """Of the samples predicted positive (probability above 0.5), the share that are positive."""
    predicted = (probabilities(loss_fn, output) > 0.5).reshape(-1)
    positive = target.reshape(-1) > 0.5
    return (predicted & positive).sum() / predicted.sum().clamp(min=1)
'''

_RECALL = '''
def recall(loss_fn, output, target):
    """Of the positive samples, the share predicted positive (probability above 0.5)."""
    predicted = (probabilities(loss_fn, output) > 0.5).reshape(-1)
    positive = target.reshape(-1) > 0.5
    return (predicted & positive).sum() / positive.sum().clamp(min=1)
'''

_AUC = '''
def auc(loss_fn, output, target):
    """Area under the ROC curve, exactly (Keras approximates it with 200 thresholds)."""
    scores = probabilities(loss_fn, output).reshape(-1).double()
    positive = target.reshape(-1) > 0.5
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return torch.tensor(0.0)
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    ranks = (ends - (counts - 1) / 2)[inverse]  # ranks from 1; ties share their average rank
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
'''

_METER = '''
class Meter:
    """Keras's logs for one pass over the data: the loss and each compiled metric, averaged
    over the samples."""

    def __init__(self, loss_fn, metrics):
        self.loss_fn, self.metrics = loss_fn, list(metrics)
        self.totals, self.seen = {}, 0
        self.kept = []  # outputs and targets, for the EPOCH_METRICS  #[em]

    @torch.no_grad()
    def update(self, loss, output, target):
        values = {"loss": loss.item()}
        for name in self.metrics:
            if name in METRICS:
                values[name] = METRICS[name](self.loss_fn, output, target).item()
        if any(name in EPOCH_METRICS for name in self.metrics):  # for the end of the pass  #[em]
            self.kept.append((output.detach().cpu(), target.detach().cpu()))  #[em]
        for name, value in values.items():
            self.totals[name] = self.totals.get(name, 0.0) + value * len(output)
        self.seen += len(output)

    def result(self):
        logs = {name: total / self.seen for name, total in self.totals.items()}
        if self.kept:  #[em]
            output = torch.cat([o for o, _ in self.kept])  #[em]
            target = torch.cat([t for _, t in self.kept])  #[em]
            for name in self.metrics:  #[em]
                if name in EPOCH_METRICS:  #[em]
                    logs[name] = EPOCH_METRICS[name](self.loss_fn, output, target).item()  #[em]
        return {name: logs[name] for name in ["loss", *self.metrics] if name in logs}
'''

_CLIPPED_BCE = '''
class ClippedBCELoss(nn.Module):
    """Keras's binary_crossentropy on a model without a final sigmoid (from_logits=False): Keras
    clips the outputs to [1e-7, 1 - 1e-7] before the log, so outputs outside (0, 1) still train
    (their gradient is zero while they stay outside). nn.BCELoss would stop on them."""

    def forward(self, output, target):
        target = target.reshape(output.shape).to(output.dtype)
        return F.binary_cross_entropy(output.clamp(1e-7, 1 - 1e-7), target)
'''

_CLIPPED_CE = '''
class ClippedCrossEntropyLoss(nn.Module):
    """Keras's (sparse_)categorical_crossentropy on a model without a final softmax
    (from_logits=False): Keras divides each output by its sum over the classes (last axis) and
    clips it to [1e-7, 1 - 1e-7] before the log. Targets: one-hot, or class indices."""

    keras_targets = True  # compute_loss passes the targets as Keras takes them
    classes = True  # accuracy takes the argmax over the last axis

    def forward(self, output, target):
        p = (output / output.sum(dim=-1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
        if target.shape != output.shape:  # class indices: (N,), (N, 1), (N, H, W)...
            target = F.one_hot(target.long().reshape(output.shape[:-1]), output.shape[-1])
        return -(target * p.log()).sum(dim=-1).mean()
'''

_HISTORY = '''
class History(dict):
    """What Keras's fit returns: history.history["loss"], history.epoch (also history["loss"])."""

    def __init__(self):
        super().__init__()
        self.epoch, self.params, self.model = [], {}, None

    @property
    def history(self):
        return self

    def __missing__(self, key):
        """Keras 2's names for the same logs: "acc" for "accuracy", "mae" for ..."""
        prefix = "val_" if key.startswith("val_") else ""
        name = key.removeprefix(prefix)
        for a, b in HISTORY_ALIASES:
            other = b if name == a else a if name == b else None
            if other is not None and prefix + other in self:
                return self[prefix + other]
        raise KeyError(key)


HISTORY_ALIASES = [
    ("acc", "accuracy"),
    ("mae", "mean_absolute_error"),
    ("mse", "mean_squared_error"),
]
'''

_CALLBACK = '''
class Callback:
    """Keras's Callback for fit: override the methods you need. fit sets self.model and
    self.optimizer (Keras: self.model.optimizer); set self.model.stop_training = True to stop
    after the current epoch, as in Keras."""

    model, optimizer, params = None, None, {}

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass
'''

_DATA_LOADER = '''
def data_loader(model, x, y=None, batch_size=None, shuffle=False, steps=None):
    """Keras's inputs (and targets) as batches of tensors, in a DataLoader."""
    if is_generator(x):  # a generator of (x, y) batches, as Keras 2's fit_generator takes #[gen]
        return Batches(x, steps)  #[gen]
    tensors = [*to_tensors(x, model), *([] if y is None else [to_tensor(y)])]
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size or 32, shuffle=shuffle)
'''

_FIT = '''
def train_one_epoch(model, loader, optimizer, loss_fn, metrics=(), lr_scheduler=None,  #[cb]
                    callbacks=()):  #[cb]
def train_one_epoch(model, loader, optimizer, loss_fn, metrics=(), lr_scheduler=None):  #[!cb]
    """One pass over the batches, the loop of 01_Basics/00; returns Keras's logs for it."""
    model.train()
    meter = Meter(loss_fn, metrics)
    for step, (*xb, yb) in enumerate(loader):  #[cb]
        for callback in callbacks:  #[cb]
            callback.on_train_batch_begin(step, {})  #[cb]
    for *xb, yb in loader:  #[!cb]
        xb, yb = [a.to(device) for a in xb], yb.to(device)
        output = model(*xb)  # 1. forward
        loss = compute_loss(loss_fn, output, yb)  # 2. loss
        optimizer.zero_grad()  # 3. clear old gradients
        loss.backward()  # 4. backpropagate
        optimizer.step()  # 5. update the weights
        if lr_scheduler is not None:  # a Keras learning-rate schedule: one step per batch
            lr_scheduler.step()
        meter.update(loss, output, yb)
        for callback in callbacks:  #[cb]
            callback.on_train_batch_end(step, {"loss": loss.item()})  #[cb]
    return meter.result()


def fit(model, loss_fn, optimizer, x, y=None, batch_size=None, epochs=1, verbose=1,
        callbacks=(), validation_split=0.0, validation_data=None, shuffle=True,
        initial_epoch=0, steps_per_epoch=None, validation_steps=None, metrics=(),
        lr_scheduler=None):
    """Keras's model.fit as a plain loop; returns the History (history.history["val_loss"])."""
    weights = {id(p) for p in model.parameters()}
    if any(id(p) not in weights for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("this optimizer updates another model: make one from model.parameters()")
    # 1. the batches; Keras's validation_split holds out the last samples
    if validation_split and validation_data is None:
        xs, y = to_tensors(x, model), to_tensor(y)
        split = int(len(y) * (1 - validation_split))
        validation_data = ([a[split:] for a in xs], y[split:])
        x, y = [a[:split] for a in xs], y[:split]
    loader = data_loader(model, x, y, batch_size, shuffle, steps_per_epoch)
    model.to(device)
    history = History()
    history.model = model
    history.params = {"verbose": verbose, "epochs": epochs, "steps": len(loader)}
    callbacks = list(callbacks)  #[cb]
    for callback in callbacks:  # they get the model, and the optimizer  #[cb]
        callback.set_model(model)  #[cb]
        callback.optimizer, callback.params = optimizer, history.params  #[cb]
    model.stop_training = False  #[cb]
    for callback in callbacks:  #[cb]
        callback.on_train_begin({})  #[cb]
    logs = {}  #[cb]
    for epoch in range(initial_epoch, epochs):
        for callback in callbacks:  #[cb]
            callback.on_epoch_begin(epoch, {})  #[cb]
        # 2. train on every batch, then 3. evaluate on the validation data
        logs = train_one_epoch(model, loader, optimizer, loss_fn, metrics, lr_scheduler,  #[cb]
                               callbacks)  #[cb]
        logs = train_one_epoch(model, loader, optimizer, loss_fn, metrics, lr_scheduler)  #[!cb]
        if validation_data is not None:
            val_x, val_y = (validation_data[:2] if isinstance(validation_data, (tuple, list))
                            else (validation_data, None))  # or a generator of batches
            val_logs = evaluate(model, loss_fn, val_x, val_y, batch_size, verbose=0,
                                return_dict=True, steps=validation_steps, metrics=metrics)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        # 4. keep the epoch's logs in the History, and print them
        history.epoch.append(epoch)
        for name, value in logs.items():
            history.setdefault(name, []).append(value)
        if verbose:
            shown = " - ".join(f"{name}: {value:.4f}" for name, value in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} - {shown}")
        for callback in callbacks:  #[cb]
            callback.on_epoch_end(epoch, logs)  #[cb]
        if model.stop_training:  #[cb]
            break  #[cb]
    for callback in callbacks:  #[cb]
        callback.on_train_end(logs)  #[cb]
    return history
'''

_EVALUATE = '''
@torch.no_grad()
def evaluate(model, loss_fn, x, y=None, batch_size=None, verbose=1, return_dict=False,
             steps=None, metrics=()):
    """Keras's model.evaluate: the loss then each metric, averaged over the samples."""
    model.to(device).eval()
    meter = Meter(loss_fn, metrics)
    for *xb, yb in data_loader(model, x, y, batch_size, steps=steps):
        xb, yb = [a.to(device) for a in xb], yb.to(device)
        output = model(*xb)  # 1. forward (no gradients)
        meter.update(compute_loss(loss_fn, output, yb), output, yb)  # 2. loss and metrics
    logs = meter.result()
    if verbose:
        print(" - ".join(f"{name}: {value:.4f}" for name, value in logs.items()))
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())
'''

_PREDICT = '''
@torch.no_grad()
def predict(model, x, batch_size=None, verbose=0, steps=None):
    """Keras's model.predict: the outputs as a NumPy array, with any folded activation applied."""
    model.to(device).eval()
    loader = data_loader(model, x, batch_size=batch_size)  #[!gen]
    if is_generator(x):  # batches from a generator: their inputs  #[gen]
        loader = ([*xb][:1] for xb in Batches(x, steps))  #[gen]
    else:  #[gen]
        loader = data_loader(model, x, batch_size=batch_size)  #[gen]
    outputs = [model(*[a.to(device) for a in xb]) for xb in loader]
    if isinstance(outputs[0], tuple):  # several outputs: one array each
        return [torch.cat(parts).cpu().numpy() for parts in zip(*outputs)]
    output = torch.cat(outputs)
    activation = getattr(model, "output_activation", None)
    if activation == "softmax":
        output = torch.softmax(output, dim=-1)
    elif activation == "sigmoid":
        output = torch.sigmoid(output)
    return output.cpu().numpy()
'''

_CALL_MODEL = '''
@torch.no_grad()
def call_model(model, x, training=False):
    """Keras's model(x) on arrays: the outputs as a tensor, with any folded activation applied
    (training=True uses dropout and the batch's statistics, as in Keras)."""
    model.to(device).train(training)
    output = model(*[a.to(device) for a in to_tensors(x, model)])
    activation = getattr(model, "output_activation", None)
    if activation == "softmax":
        output = torch.softmax(output, dim=-1)
    elif activation == "sigmoid":
        output = torch.sigmoid(output)
    return output.cpu()
'''

_SUMMARY = '''
def summary(model):
    """Stands in for Keras's model.summary(): the modules and the number of parameters."""
    print(model)
    if any(nn.parameter.is_lazy(p) for p in model.parameters()):
        print("Total params: not known yet (lazy modules take their sizes from the first batch)")
        return
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"Total params: {total:,} (trainable: {trainable:,})")
'''

_EARLY_STOPPING = '''
class EarlyStopping(Callback):
    """Keras's EarlyStopping callback for the fit loop: stop when `monitor` stops improving."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.verbose, self.baseline, self.start_from_epoch = verbose, baseline, start_from_epoch
        self.restore_best_weights = restore_best_weights
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0  # improvement = sign * (new - best) > min_delta

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.best_epoch = 0, None, None, 0

    def improves(self, value, reference):
        return reference is None or self.sign * (value - reference) > self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        state = self.model.state_dict()
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = {k: v.detach().clone() for k, v in state.items()}
        self.wait += 1
        if self.improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in state.items()}
            if self.baseline is None or self.improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
'''

_MODEL_CHECKPOINT = '''
class ModelCheckpoint(Callback):
    """Keras's ModelCheckpoint callback for the fit loop: saves the model's state_dict."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.best = save_best_only, initial_value_threshold
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0

    def on_epoch_end(self, epoch, logs=None):
        """Saves the state_dict (only on improvement with save_best_only)."""
        logs = logs or {}
        current = logs.get(self.monitor)
        if self.save_best_only:
            if current is None or not (self.best is None or self.sign * (current - self.best) > 0):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        torch.save(self.model.state_dict(), path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")
'''

_REDUCE_LR = '''
class ReduceLROnPlateau(Callback):
    """Keras's ReduceLROnPlateau: multiply the learning rate by `factor` when `monitor` stalls."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = 1.0 if maximize else -1.0

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self.sign * (current - self.best) > self.min_delta:
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                for group in self.optimizer.param_groups:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: learning rate reduced to {group['lr']:.3g}")
                self.cooldown_counter, self.wait = self.cooldown, 0
'''

_LR_SCHEDULER = '''
class LearningRateScheduler(Callback):
    """Keras's LearningRateScheduler: before each epoch, lr = schedule(epoch, lr)."""

    def __init__(self, schedule, verbose=0):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        groups = self.optimizer.param_groups
        try:
            lr = self.schedule(epoch, groups[0]["lr"])
        except TypeError:  # Keras also accepts schedule(epoch)
            lr = self.schedule(epoch)
        for group in groups:
            group["lr"] = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {float(lr):.3g}")
'''

_TO_CATEGORICAL = '''
def to_categorical(y, num_classes=None):
    """Keras's to_categorical: class indices as one-hot float32 rows."""
    y = np.asarray(y, dtype="int64")
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    return np.eye(num_classes or int(y.max()) + 1, dtype="float32")[y]
'''

_PAD_SEQUENCES = '''
def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Keras's pad_sequences: lists of ids as one array, padded (and cut) to maxlen."""
    maxlen = maxlen or max((len(s) for s in sequences), default=0)
    result = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        seq = list(seq)[-maxlen:] if truncating == "pre" else list(seq)[:maxlen]
        if seq:
            if padding == "pre":
                result[i, maxlen - len(seq):] = seq
            else:
                result[i, :len(seq)] = seq
    return result
'''

# Keras's metric names: the function that computes each (averaged over the batches).
METRIC_FUNCTIONS = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "categorical_accuracy": "accuracy",
    "binary_accuracy": "accuracy",
    "mae": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error",
    "mse": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "binary_crossentropy": "binary_crossentropy",
}
EPOCH_METRIC_FUNCTIONS = {"auc": "auc", "precision": "precision", "recall": "recall"}
"""Metrics computed once over the whole pass, as Keras accumulates them."""

# name: (code, the helpers it needs); listed in the order they are written out.
_HELPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "device": (_DEVICE, ()),
    "to_tensor": (_TO_TENSOR, ()),
    "Batches": (_BATCHES, ("to_tensor",)),
    "ImageAugment": (_IMAGE_AUGMENT, ("to_tensor",)),
    "compute_loss": (_LOSS, ()),
    "probabilities": (_PROBABILITIES, ()),
    "accuracy": (_ACCURACY, ("probabilities",)),
    "mean_absolute_error": (_MAE, ()),
    "mean_squared_error": (_MSE, ()),
    "binary_crossentropy": (_BCE_METRIC, ("probabilities",)),
    "precision": (_PRECISION, ("probabilities",)),
    "recall": (_RECALL, ("probabilities",)),
    "auc": (_AUC, ("probabilities",)),
    "Meter": (_METER, ()),
    "ClippedBCELoss": (_CLIPPED_BCE, ()),
    "ClippedCrossEntropyLoss": (_CLIPPED_CE, ()),
    "History": (_HISTORY, ()),
    "Callback": (_CALLBACK, ()),
    "data_loader": (_DATA_LOADER, ("to_tensor",)),
    "evaluate": (_EVALUATE, ("device", "data_loader", "compute_loss", "Meter")),
    "fit": (_FIT, ("evaluate", "History")),
    "predict": (_PREDICT, ("device", "data_loader")),
    "summary": (_SUMMARY, ()),
    "call_model": (_CALL_MODEL, ("device", "to_tensor")),
    "EarlyStopping": (_EARLY_STOPPING, ("Callback",)),
    "ModelCheckpoint": (_MODEL_CHECKPOINT, ("Callback",)),
    "ReduceLROnPlateau": (_REDUCE_LR, ("Callback",)),
    "LearningRateScheduler": (_LR_SCHEDULER, ("Callback",)),
    "to_categorical": (_TO_CATEGORICAL, ()),
    "pad_sequences": (_PAD_SEQUENCES, ()),
}
CALLBACKS = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler")
"""Keras callbacks the helpers provide."""
_ALL_METRICS = frozenset(METRIC_FUNCTIONS) | frozenset(EPOCH_METRIC_FUNCTIONS)
FEATURES = frozenset({"cb", "gen"})
"""Optional parts of the helpers: callbacks in fit (``cb``), generators of batches (``gen``).
Template lines ending in ``#[cb]`` are written only with callbacks, ``#[!cb]`` only without
(``em``, the metrics computed on a whole pass, follows the compiled metrics)."""
_MARK = re.compile(r"\s*#\[(!?)(\w+)\]$")


def _select(code: str, features: frozenset[str]) -> str:
    """``code`` with the lines of the ``features`` it has, without their marks."""
    lines = []
    for line in code.splitlines():
        mark = _MARK.search(line)
        if mark is None:
            lines.append(line)
        elif (mark.group(2) in features) != bool(mark.group(1)):
            lines.append(line[: mark.start()])
    return "\n".join(lines)


def _closure(
    names: set[str], metrics: frozenset[str] = _ALL_METRICS, features: frozenset[str] = FEATURES
) -> set[str]:
    """``names`` and the helpers they use; Meter brings the functions of ``metrics``, fit the
    Callback base class with callbacks, data_loader the Batches of a generator."""
    todo, result = list(names), set()
    while todo:
        name = todo.pop()
        if name not in result:
            result.add(name)
            todo += _HELPERS[name][1]
            if name == "Meter":
                table = METRIC_FUNCTIONS | EPOCH_METRIC_FUNCTIONS
                todo += [table[m] for m in metrics if m in table]
            todo += ["Callback"] if name == "fit" and "cb" in features else []
            todo += ["Batches"] if name == "data_loader" and "gen" in features else []
    return result


def _metric_tables(metrics: frozenset[str]) -> str:
    """The METRICS (and EPOCH_METRICS) tables Meter reads, with the compiled metrics only."""

    def table(functions: dict[str, str]) -> str:
        entries = [f'"{m}": {functions[m]}' for m in sorted(metrics) if m in functions]
        return "{" + ", ".join(entries) + "}"

    code = "# The compiled metrics, by the name Keras logs them under: averaged over the batches"
    code += f"\nMETRICS = {table(METRIC_FUNCTIONS)}"
    if metrics & set(EPOCH_METRIC_FUNCTIONS):
        code += "\n# and computed once on the whole pass, as Keras accumulates them"
        code += f"\nEPOCH_METRICS = {table(EPOCH_METRIC_FUNCTIONS)}"
    return code


def helper_globals() -> set[str]:
    """Every global name the helpers define (functions, classes, tables)."""
    code = "\n".join(_select(code, FEATURES | {"em"}) for code, _ in _HELPERS.values())
    tree = ast.parse(code + "\n" + _metric_tables(_ALL_METRICS))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def helpers_code(
    names: set[str],
    renamed: dict[str, str] | None = None,
    metrics: set[str] | None = None,
    features: set[str] | None = None,
) -> str:
    """The code of the helpers ``names`` and of those they use, in a fixed order; ``renamed``:
    helper globals renamed because the program itself defines a name they use; ``metrics``:
    the compiled metrics' names, ``features``: of :data:`FEATURES` (all of either when None)."""
    used = _ALL_METRICS if metrics is None else frozenset(metrics)
    chosen = FEATURES if features is None else frozenset(features)
    chosen |= {"em"} if used & set(EPOCH_METRIC_FUNCTIONS) else set()
    wanted = _closure(names, used, chosen)
    blocks = []
    for name, (code, _) in _HELPERS.items():
        if name == "Meter" and name in wanted:
            blocks.append(_metric_tables(used))
        if name in wanted:
            blocks.append(_select(code.strip("\n"), chosen))
    for old, new in (renamed or {}).items():
        blocks = [re.sub(rf"(?<![.\w\"']){old}\b(?![\"'])", new, block) for block in blocks]
    header = "# Training helpers written by `dlcourse convert`: Keras's fit/evaluate/predict as\n"
    header += "# plain PyTorch code. Read them, then change them as you like."
    return header + "\n\n\n" + "\n\n\n".join(blocks) + "\n"


def helpers_imports(names: set[str], metrics: set[str] | None = None) -> set[str]:
    """The imports the helpers ``names`` need (with the functions of ``metrics``: all when
    None)."""
    wanted = _closure(names, _ALL_METRICS if metrics is None else frozenset(metrics))
    imports = {"import torch"}
    losses = {"ClippedBCELoss", "ClippedCrossEntropyLoss"}
    if wanted & {"compute_loss", "Meter", "summary", *losses}:
        imports.add("from torch import nn")
    if wanted & {"binary_crossentropy", *losses}:
        imports.add("import torch.nn.functional as F")
    if "data_loader" in wanted:
        imports.add("from torch.utils.data import DataLoader, TensorDataset")
    if "ImageAugment" in wanted:
        imports.add("from torch.utils.data import DataLoader, Dataset")
    if wanted & {"to_categorical", "pad_sequences", "to_tensor"}:
        imports.add("import numpy as np")
    if "to_tensor" in wanted:
        imports.add("import inspect")
    return imports


def import_block(imports: set[str], numpy_imported: bool) -> list[str]:
    """The import lines a converted program needs, in a stable order."""
    order = [
        "import inspect",
        "import math",
        "import random",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "from torch.utils.data import DataLoader, TensorDataset",
        "from torch.utils.data import DataLoader, Dataset",
        "from torch.utils.data import DataLoader, Dataset, TensorDataset",
        "from torchvision.transforms import v2",
    ]
    if numpy_imported:
        imports = imports - {"import numpy as np"}
    if {
        "from torch.utils.data import DataLoader, TensorDataset",
        "from torch.utils.data import DataLoader, Dataset",
    } <= imports:
        imports = imports - {
            "from torch.utils.data import DataLoader, TensorDataset",
            "from torch.utils.data import DataLoader, Dataset",
        }
        imports.add("from torch.utils.data import DataLoader, Dataset, TensorDataset")
    block = [line for line in order if line in imports]
    course: dict[str, list[str]] = {}
    for line in sorted(imports):
        if line.startswith("from dlcourse."):
            module, name = line[len("from ") :].split(" import ")
            course.setdefault(module, []).append(name)
    if course:
        block += ["", *(f"from {m} import {', '.join(names)}" for m, names in course.items())]
    return block
