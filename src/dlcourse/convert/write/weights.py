"""Keras weights (``.keras`` or legacy ``.h5``) as a ``state_dict`` for the generated module.

The files are read with h5py alone, so neither Keras nor TensorFlow is needed. Each Keras
layer is matched to the layer of the parsed model it came from (in order for Sequential
models, through the graph for functional ones), then its arrays are rearranged for PyTorch.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlcourse.convert.layers.builder import WeightSpec, snake_case
from dlcourse.convert.layers.registry import ALIAS
from dlcourse.convert.report import ConvertError
from dlcourse.convert.write.model_code import ModelPlan, producers

MAX_CONFIG_BYTES = 64 * 2**20
"""The largest model config (``config.json`` or the ``.h5`` attribute) this tool reads."""
MAX_WEIGHT_VALUES = 2**28
"""The most numbers the weights of one model may hold (1 GiB as float32): a file declaring
more is refused before anything is read."""
_MAX_RATIO = 20
"""A zip member this many times larger than its compressed bytes (and over 64 MiB) is refused."""


@dataclass
class KerasLayer:
    """One layer of a saved Keras model: its class, name, inputs and weight arrays."""

    name: str
    kind: str
    index: int
    inbound: list[str]
    arrays: list[Any]
    """The layer's arrays as h5py datasets: declared shapes are checked before any is read."""
    input_position: int | None = None
    """For an InputLayer: its place in the model's inputs (the file's ``input_layers``)."""


def _input_order(layers: list[KerasLayer]) -> list[str]:
    """The InputLayers' names in the model's input order."""
    placed = sorted((k.input_position, k.name) for k in layers if k.input_position is not None)
    return [name for _, name in placed]


class _BadFile(Exception):
    """The file is not a Keras model this tool can read; the message says why."""


@contextmanager
def open_keras_layers(path: Path) -> Iterator[list[KerasLayer]]:
    """The layers of a ``.keras`` or ``.h5`` file, in the file's order, while the file is open.

    Nothing large is read here: a ``.keras`` archive's weights are copied to a temporary file
    (with a size check), and the arrays stay unread datasets until their shapes are checked.
    """
    try:
        import h5py
    except ImportError:
        raise ConvertError("reading Keras weights needs h5py: pip install h5py") from None
    if not path.is_file():
        raise ConvertError(f"{path}: no such weights file")
    with ExitStack() as stack:
        try:
            if zipfile.is_zipfile(path):
                archive = stack.enter_context(zipfile.ZipFile(path))
                config = _json(_member(archive, "config.json", MAX_CONFIG_BYTES))
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                weights = _extract(archive, "model.weights.h5", folder)
                arrays = _keras_v3_arrays(stack.enter_context(h5py.File(weights, "r")))
            else:
                h5 = stack.enter_context(h5py.File(path, "r"))
                raw = h5.attrs.get("model_config")
                if raw is None or "model_weights" not in h5:
                    raise ConvertError(
                        f"{path}: an .h5 file from model.save() is needed (it holds the model "
                        "config); a .weights.h5 file from save_weights() does not say which "
                        "layer is which"
                    )
                config = _json(raw)
                arrays = _legacy_arrays(h5["model_weights"])
            layers = _layers(config, arrays)
        except _BadFile as err:
            raise ConvertError(
                f"{path}: not a Keras model file this tool can read: {err}"
            ) from None
        except (
            OSError,
            KeyError,
            ValueError,
            TypeError,
            AttributeError,
            zipfile.BadZipFile,
        ) as err:
            raise ConvertError(
                f"{path}: not a Keras model file this tool can read ({err})"
            ) from None
        except RecursionError:
            raise ConvertError(
                f"{path}: not a Keras model file this tool can read (it is nested too deeply)"
            ) from None
        yield layers


def _member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A small member of the archive, read whole only if it is at most ``limit`` bytes."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise _BadFile(f"its {name} is {info.file_size:,} bytes (at most {limit:,} are read)")
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise _BadFile(f"its {name} is larger than it says")
    return data


def _extract(archive: zipfile.ZipFile, name: str, folder: Path) -> Path:
    """Copy a member to ``folder`` in pieces, refusing one that inflates suspiciously."""
    info = archive.getinfo(name)
    if info.file_size > 64 * 2**20 and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
        raise _BadFile(
            f"its {name} inflates from {info.compress_size:,} to {info.file_size:,} bytes "
            "(Keras stores it uncompressed); refusing a likely zip bomb"
        )
    target = folder / "model.weights.h5"
    copied = 0
    with archive.open(info) as member, target.open("wb") as out:
        while chunk := member.read(2**20):
            copied += len(chunk)
            if copied > info.file_size:
                raise _BadFile(f"its {name} is larger than it says")
            out.write(chunk)
    return target


def _json(raw: Any) -> dict[str, Any]:
    """The model config: a JSON object of at most :data:`MAX_CONFIG_BYTES`."""
    if isinstance(raw, np.ndarray) and raw.shape == ():
        raw = raw.item()
    if not isinstance(raw, str | bytes):
        raise _BadFile(f"its model config is a {type(raw).__name__}, not JSON text")
    if len(raw) > MAX_CONFIG_BYTES:
        raise _BadFile(f"its model config is over {MAX_CONFIG_BYTES:,} bytes")
    try:
        config = json.loads(raw)
    except RecursionError:
        raise _BadFile("its model config is nested too deeply") from None
    if not isinstance(config, dict):
        raise _BadFile(f"its model config is a JSON {type(config).__name__}, not an object")
    return config


def _layers(config: dict[str, Any], arrays: dict[str, list[Any]]) -> list[KerasLayer]:
    """Each layer of the config, with its name, class, inputs and arrays."""
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        raise _BadFile("the model config lists no layers (nested models?)")
    given = inner.get("input_layers") or []
    if not isinstance(given, list):
        raise _BadFile("its input_layers is not a list")
    if given and isinstance(given[0], str):  # one input: a single [name, 0, 0]
        given = [given]
    position = {
        entry[0]: k
        for k, entry in enumerate(given)
        if isinstance(entry, list) and entry and isinstance(entry[0], str)
    }
    result = []
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            raise _BadFile(f"layer {index + 1} of its config has no class_name")
        own = layer.get("config")
        name = (own.get("name") if isinstance(own, dict) else None) or layer.get("name")
        if not isinstance(name, str):
            raise _BadFile(f"layer {index + 1} of its config has no name")
        nodes = layer.get("inbound_nodes", [])
        inbound = _history(nodes[:1] if isinstance(nodes, list) else [])
        keras_layer = KerasLayer(name, layer["class_name"], index, inbound, arrays.get(name, []))
        keras_layer.input_position = position.get(name)
        result.append(keras_layer)
    return result


def _keras_v3_arrays(h5: Any) -> dict[str, list[Any]]:
    """Datasets per layer name from a ``.keras`` archive's ``model.weights.h5``."""
    result = {}
    for group in h5["layers"].values():
        if "vars" in group:
            result[_text(group["vars"].attrs.get("name", ""))] = _collect(group)
    return result


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _dataset(item: Any) -> Any:
    import h5py

    if not isinstance(item, h5py.Dataset):
        raise _BadFile(f"{item.name} is not an array")
    return item


def _collect(group: Any) -> list[Any]:
    """A layer group's arrays: its own variables, then the forward, backward and cell layers."""
    arrays = []
    if "vars" in group:
        own = group["vars"]
        arrays += [_dataset(own[key]) for key in sorted(own, key=int)]
    order = {"forward_layer": 0, "backward_layer": 1, "cell": 2}
    children = sorted((k for k in group if k != "vars"), key=lambda k: (order.get(k, 3), k))
    for key in children:
        arrays += _collect(group[key])
    return arrays


def _legacy_arrays(weights: Any) -> dict[str, list[Any]]:
    """Datasets per layer name from the ``model_weights`` group of a legacy ``.h5`` file."""
    result = {}
    for name in weights.attrs.get("layer_names", []):
        name = _text(name)
        group = weights[name]
        names = [_text(n) for n in group.attrs["weight_names"]]
        result[name] = [_dataset(group[n]) for n in names]
    return result


def _history(value: Any) -> list[str]:
    """Names of the layers feeding a node, from Keras 3 or Keras 2 configs."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"][0]]
        return _history(value.get("args", []))
    if isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            return [value[0]]
        return [name for item in value for name in _history(item)]
    return []


def _creation_order(layer: KerasLayer) -> tuple[int, int]:
    """Keras numbers default names in creation order (dense, dense_1, ...); others: file order."""
    match = re.fullmatch(rf"{snake_case(layer.kind)}(?:_(\d+))?", layer.name)
    return (0, int(match.group(1) or 0)) if match else (1, layer.index)


def match_layers(plan: ModelPlan, layers: list[KerasLayer]) -> dict[int, KerasLayer]:
    """Pair every node of the parsed model with its layer in the file."""
    nodes = plan.model.nodes
    saved = [layer for layer in layers if layer.kind != "InputLayer"]
    if not plan.model.functional:
        if [n.layer.kind for n in nodes] != [layer.kind for layer in saved]:
            raise ConvertError(
                "the weights file does not hold this model: its layers are "
                f"{[layer.kind for layer in saved]}, the code's are {[n.layer.kind for n in nodes]}"
            )
        return dict(enumerate(saved))
    inputs = [layer for layer in layers if layer.kind == "InputLayer"]
    order = {name: k for k, name in enumerate(_input_order(layers))}
    inputs.sort(key=lambda layer: order.get(layer.name, len(order) + layer.index))
    if len(inputs) != len(plan.model.inputs):
        raise ConvertError(
            f"the weights file's model has {len(inputs)} input layers, the code's "
            f"{len(plan.model.inputs)}"
        )
    names = {-1 - k: layer.name for k, layer in enumerate(inputs)}
    used: set[str] = set()
    matched = {}
    for j, sources in enumerate(producers(plan.model)):
        layer = nodes[j].layer
        if layer.kind == ALIAS:  # `skip = x` has no layer of its own
            names[j] = names[sources[0]]
            continue
        wanted = [names[i] for i in sources]
        candidates = [
            k for k in saved if k.name not in used and k.kind == layer.kind and k.inbound == wanted
        ]
        named = [k for k in candidates if k.name == layer.name]
        if not candidates:
            raise ConvertError(
                f"{layer.loc}: {layer.source} has no counterpart in the weights file "
                "(was it saved from this model?)"
            )
        chosen = named[0] if named else min(candidates, key=_creation_order)
        used.add(chosen.name)
        names[j] = chosen.name
        matched[j] = chosen
    return matched


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _dense(arrays: list[np.ndarray], spec: WeightSpec) -> dict[str, np.ndarray]:
    weight = arrays[0].T
    flat_from = spec.info["flat_from"]
    if flat_from is not None:  # Keras flattened channels last; PyTorch flattened channels first
        if not all(isinstance(d, int) for d in flat_from):
            raise ConvertError(f"{spec.layer.loc}: the size before Flatten must be known")
        rank = len(flat_from)
        order = [0, rank, *range(1, rank)]
        weight = (
            weight.reshape(weight.shape[0], *flat_from).transpose(order).reshape(len(weight), -1)
        )
    return {"weight": weight, **({"bias": arrays[1]} if spec.info["bias"] else {})}


def _conv(arrays: list[np.ndarray], spec: WeightSpec) -> dict[str, np.ndarray]:
    rank = spec.info["rank"]
    weight = arrays[0].transpose(rank + 1, rank, *range(rank))  # (k..., in, out) -> (out, in, k...)
    return {"weight": weight, **({"bias": arrays[1]} if spec.info["bias"] else {})}


def _batch_norm(arrays: list[np.ndarray], spec: WeightSpec) -> dict[str, np.ndarray]:
    names = ["weight", "bias"] if spec.info["affine"] else []
    result = dict(zip([*names, "running_mean", "running_var"], arrays, strict=True))
    result["num_batches_tracked"] = np.zeros((), dtype=np.int64)
    return result


def _gru_gates(array: np.ndarray) -> np.ndarray:
    """Keras orders GRU gates (update z, reset r, new h); PyTorch orders them (r, z, n)."""
    z, r, h = np.split(array, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def _recurrent(arrays: list[np.ndarray], spec: WeightSpec) -> dict[str, np.ndarray]:
    cell, bias = spec.info["cell"], spec.info["bias"]
    per_direction = 3 if bias else 2
    result = {}
    for d, suffix in enumerate(["", "_reverse"][: 2 if spec.info["bidirectional"] else 1]):
        kernel, recurrent, *rest = arrays[d * per_direction : (d + 1) * per_direction]
        if cell == "GRU":
            kernel, recurrent = _gru_gates(kernel), _gru_gates(recurrent)
        result[f"weight_ih_l0{suffix}"] = kernel.T
        result[f"weight_hh_l0{suffix}"] = recurrent.T
        if bias:
            if cell == "GRU":  # reset_after=True: separate input and recurrent biases
                result[f"bias_ih_l0{suffix}"] = _gru_gates(rest[0][0])
                result[f"bias_hh_l0{suffix}"] = _gru_gates(rest[0][1])
            else:  # one Keras bias; PyTorch adds two, so the second is zero
                result[f"bias_ih_l0{suffix}"] = rest[0]
                result[f"bias_hh_l0{suffix}"] = np.zeros_like(rest[0])
    return result


def _conv_transpose(arrays: list[np.ndarray], spec: WeightSpec) -> dict[str, np.ndarray]:
    rank = spec.info["rank"]
    weight = arrays[0].transpose(rank + 1, rank, *range(rank))  # (k..., out, in) -> (in, out, k...)
    return {"weight": weight, **({"bias": arrays[1]} if spec.info["bias"] else {})}


_CONVERTERS = {
    "conv_transpose": _conv_transpose,
    "dense": _dense,
    "conv": _conv,
    "batch_norm": _batch_norm,
    "embedding": lambda a, s: {"weight": a[0]},
    "recurrent": _recurrent,
}


def _check_shapes(plan: ModelPlan, matched: dict[int, KerasLayer]) -> None:
    """Every array the model needs has the declared shape the code implies, and all of them
    together stay under :data:`MAX_WEIGHT_VALUES`, before a single one is read."""
    total = 0
    for spec in plan.weights:
        saved = matched[spec.node]
        if len(saved.arrays) != len(spec.shapes):
            raise ConvertError(
                f"{spec.layer.loc}: {spec.layer.source} expects {len(spec.shapes)} weight "
                f"arrays, the file's layer {saved.name!r} has {len(saved.arrays)}"
            )
        for dataset, wanted in zip(saved.arrays, spec.shapes, strict=True):
            shape = tuple(dataset.shape)
            fits = len(shape) == len(wanted) and all(
                not isinstance(w, int) or w == d for d, w in zip(shape, wanted, strict=True)
            )
            if not fits or dataset.dtype.kind not in "fiu":
                expected = ", ".join(str(w) if isinstance(w, int) else "?" for w in wanted)
                expected += "," if len(wanted) == 1 else ""
                raise ConvertError(
                    f"{spec.layer.loc}: {spec.layer.source} expects an array of shape "
                    f"({expected}); the file's layer {saved.name!r} declares {shape} "
                    f"({dataset.dtype}): was it saved from this code?"
                )
            total += int(np.prod(shape, dtype=np.float64))
    if total > MAX_WEIGHT_VALUES:
        raise ConvertError(
            f"the weights hold {total:,} numbers, more than this tool converts "
            f"({MAX_WEIGHT_VALUES:,}); nothing was read"
        )


def state_dict(plan: ModelPlan, path: Path) -> dict[str, torch.Tensor]:
    """The generated module's ``state_dict`` from a Keras model file."""
    with open_keras_layers(path) as layers:
        matched = match_layers(plan, layers)
        _check_shapes(plan, matched)
        result: dict[str, torch.Tensor] = {}
        for spec in plan.weights:
            saved = matched[spec.node]
            try:
                arrays = [np.asarray(dataset) for dataset in saved.arrays]
            except (OSError, ValueError, TypeError) as err:
                raise ConvertError(
                    f"{path}: the arrays of layer {saved.name!r} cannot be read ({err}); "
                    "is the file complete?"
                ) from None
            for key, array in _CONVERTERS[spec.kind](arrays, spec).items():
                tensor = (
                    torch.from_numpy(np.array(array)) if array.dtype == np.int64 else _tensor(array)
                )
                result[f"{spec.attr}.{key}"] = tensor
    return result
