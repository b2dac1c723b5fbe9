"""The layer table: each supported Keras layer, its arguments and its PyTorch builder.

``registry`` holds the table and the :func:`~dlcourse.convert.layers.registry.layer` decorator;
``basic``, ``convolution`` and ``recurrent`` register their layers when imported (here);
``builder`` writes a model's ``__init__`` and ``forward`` lines while tracking layouts.
"""

from dlcourse.convert.layers import basic, convolution, recurrent
from dlcourse.convert.layers.registry import LayerDef, layer_defs

__all__ = ["LayerDef", "basic", "convolution", "layer_defs", "recurrent"]
