"""Writing the output: model classes, ``compile``/``fit`` and other expressions, the training
helpers' code templates, line edits, notebooks, converted weights, and the final names check."""
