"""Keras weights (``.keras`` or legacy ``.h5``) as a ``state_dict`` for the generated module.

The files are read with h5py alone, so neither Keras nor TensorFlow is needed. Each Keras
layer is matched to the layer of the parsed model it came from (in order for Sequential
models, through the graph for functional ones), then its arrays are rearranged for PyTorch.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlcourse.convert.layers.builder import WeightSpec, snake_case
from dlcourse.convert.layers.registry import ALIAS
from dlcourse.convert.report import ConvertError
from dlcourse.convert.write.model_code import ModelPlan, producers


@dataclass
class KerasLayer:
    """One layer of a saved Keras model: its class, name, inputs and weight arrays."""

    name: str
    kind: str
    index: int
    inbound: list[str]
    arrays: list[np.ndarray]
    input_position: int | None = None
    """For an InputLayer: its place in the model's inputs (the file's ``input_layers``)."""


def _input_order(layers: list[KerasLayer]) -> list[str]:
    """The InputLayers' names in the model's input order."""
    placed = sorted((k.input_position, k.name) for k in layers if k.input_position is not None)
    return [name for _, name in placed]


def read_keras_layers(path: Path) -> list[KerasLayer]:
    """The layers of a ``.keras`` or ``.h5`` file, in the file's order."""
    try:
        import h5py
    except ImportError:
        raise ConvertError("reading Keras weights needs h5py: pip install h5py") from None
    if not path.is_file():
        raise ConvertError(f"{path}: no such weights file")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
                    arrays = _keras_v3_arrays(h5)
        else:
            with h5py.File(path, "r") as h5:
                raw = h5.attrs.get("model_config")
                if raw is None or "model_weights" not in h5:
                    raise ConvertError(
                        f"{path}: an .h5 file from model.save() is needed (it holds the model "
                        "config); a .weights.h5 file from save_weights() does not say which "
                        "layer is which"
                    )
                config = json.loads(raw if isinstance(raw, str) else raw.decode())
                arrays = _legacy_arrays(h5["model_weights"])
    except (OSError, KeyError, ValueError) as err:
        raise ConvertError(f"{path}: not a Keras model file this tool can read ({err})") from None
    layers = config.get("config", {}).get("layers")
    if not isinstance(layers, list):
        raise ConvertError(f"{path}: the model config lists no layers (nested models?)")
    given = config.get("config", {}).get("input_layers") or []
    if given and isinstance(given[0], str):  # one input: a single [name, 0, 0]
        given = [given]
    position = {entry[0]: k for k, entry in enumerate(given) if isinstance(entry, list)}
    result = []
    for index, layer in enumerate(layers):
        name = layer.get("config", {}).get("name") or layer.get("name")
        inbound = _history(layer.get("inbound_nodes", [])[:1])
        keras_layer = KerasLayer(name, layer["class_name"], index, inbound, arrays.get(name, []))
        keras_layer.input_position = position.get(name)
        result.append(keras_layer)
    return result


def _keras_v3_arrays(h5: Any) -> dict[str, list[np.ndarray]]:
    """Arrays per layer name from a ``.keras`` archive's ``model.weights.h5``."""
    result = {}
    for group in h5["layers"].values():
        if "vars" in group:
            result[group["vars"].attrs.get("name", "")] = _collect(group)
    return result


def _collect(group: Any) -> list[np.ndarray]:
    """A layer group's arrays: its own variables, then the forward, backward and cell layers."""
    arrays = []
    if "vars" in group:
        own = group["vars"]
        arrays += [np.asarray(own[key]) for key in sorted(own, key=int)]
    order = {"forward_layer": 0, "backward_layer": 1, "cell": 2}
    children = sorted((k for k in group if k != "vars"), key=lambda k: (order.get(k, 3), k))
    for key in children:
        arrays += _collect(group[key])
    return arrays


def _legacy_arrays(weights: Any) -> dict[str, list[np.ndarray]]:
    """Arrays per layer name from the ``model_weights`` group of a legacy ``.h5`` file."""
    result = {}
    for name in weights.attrs.get("layer_names", []):
        name = name if isinstance(name, str) else name.decode()
        group = weights[name]
        names = [n if isinstance(n, str) else n.decode() for n in group.attrs["weight_names"]]
        result[name] = [np.asarray(group[n]) for n in names]
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
    "conv_transpose": (_conv_transpose, lambda s: 1 + s.info["bias"]),
    "dense": (_dense, lambda s: 1 + s.info["bias"]),
    "conv": (_conv, lambda s: 1 + s.info["bias"]),
    "batch_norm": (_batch_norm, lambda s: 2 + 2 * s.info["affine"]),
    "embedding": (lambda a, s: {"weight": a[0]}, lambda s: 1),
    "recurrent": (
        _recurrent,
        lambda s: (2 + s.info["bias"]) * (1 + s.info["bidirectional"]),
    ),
}


def state_dict(plan: ModelPlan, path: Path) -> dict[str, torch.Tensor]:
    """The generated module's ``state_dict`` from a Keras model file."""
    matched = match_layers(plan, read_keras_layers(path))
    result: dict[str, torch.Tensor] = {}
    for spec in plan.weights:
        saved = matched[spec.node]
        convert, count = _CONVERTERS[spec.kind]
        if len(saved.arrays) != count(spec):
            raise ConvertError(
                f"{spec.layer.loc}: {spec.layer.source} expects {count(spec)} weight arrays, "
                f"the file's layer {saved.name!r} has {len(saved.arrays)}"
            )
        for key, array in convert(saved.arrays, spec).items():
            tensor = (
                torch.from_numpy(np.array(array)) if array.dtype == np.int64 else _tensor(array)
            )
            result[f"{spec.attr}.{key}"] = tensor
    return result
