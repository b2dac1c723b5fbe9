"""Keras -> PyTorch: readable ``nn.Module`` code, training loops, weights and notebooks.

``convert_file(path)`` converts a ``.py`` file or a notebook; ``convert_weights`` turns a
``.keras``/``.h5`` file into a ``state_dict`` for a converted model. Keras itself is not
needed: sources are read with ``ast`` and weight files with h5py.

The pipeline: ``read/`` (units, Keras names, constants, layer calls, model definitions),
``layers/`` (the layer table and the code builder), ``write/`` (model classes, compile/fit and
other expressions, helper templates, edits, notebooks, weights, the final names check);
``program.py`` drives it. ``keras_datasets`` is what converted programs import.
"""

from dlcourse.convert.api import (
    Conversion,
    convert_file,
    convert_notebook_node,
    convert_source,
    convert_weights,
    pick_model,
)
from dlcourse.convert.report import ConvertError, Report

__all__ = [
    "Conversion",
    "ConvertError",
    "Report",
    "convert_file",
    "convert_notebook_node",
    "convert_source",
    "convert_weights",
    "pick_model",
]
