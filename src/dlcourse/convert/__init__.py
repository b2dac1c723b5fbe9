"""Keras -> PyTorch: readable ``nn.Module`` code, training loops, weights and notebooks.

``convert_file(path)`` converts a ``.py`` file or a notebook; ``convert_weights`` turns a
``.keras``/``.h5`` file into a ``state_dict`` for a converted model. Keras itself is not
needed: sources are read with ``ast`` and weight files with h5py.
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
