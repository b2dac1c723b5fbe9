"""Reading the input: notebooks and sources into units, Keras names, constants, layer calls,
and the model definitions they build (Sequential, ``.add`` chains, functional graphs)."""
