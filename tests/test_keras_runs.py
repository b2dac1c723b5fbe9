"""Stored Keras runs that notebooks compare their own curves with."""

import pytest

from dlcourse.keras_runs import keras_run


def test_the_sine_original_holds_full_keras_histories():
    record = keras_run("sine_original")
    assert record["command"].startswith("python benchmarks/keras_sine_original.py")
    assert len(record["runs"]) >= 3
    for run in record["runs"].values():
        assert len(run["loss"]) == len(run["val_loss"]) == 200
        assert abs(run["loss"][-1] - 0.125) < 0.01  # the original ends at the variance of y


def test_an_unknown_run_names_the_stored_ones():
    with pytest.raises(FileNotFoundError, match="sine_original"):
        keras_run("no_such_run")
