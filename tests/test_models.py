"""The model builder, seeding, and the comparison recipe."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_forecast.comparison import AUTOREGRESSION, DRIFT, NAIVE, compare, comparison_table
from rnn_forecast.models import build_cell_model, build_model, fit, predict, set_seed

import keras


@pytest.mark.parametrize(
    ("layer", "parameters"),
    [
        (lambda: keras.layers.SimpleRNN(32), 1088),
        (lambda: keras.layers.GRU(32), 3360),
        (lambda: keras.layers.LSTM(32), 4352),
        (lambda: keras.layers.GRU(8), 264),
    ],
    ids=["SimpleRNN(32)", "GRU(32)", "LSTM(32)", "GRU(8)"],
)
def test_recurrent_layer_parameter_counts(layer, parameters):
    model = build_model(layer())
    assert model.layers[0].count_params() == parameters


def test_builder_adds_the_course_head_and_compiles_with_adam_and_mse():
    model = build_model(keras.layers.LSTM(32, return_sequences=True), keras.layers.LSTM(16))
    assert model.input_shape == (None, 12, 1)
    assert model.output_shape == (None, 1)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["LSTM", "LSTM", "Dense", "Dense"]
    hidden, output = model.layers[2], model.layers[3]
    assert (hidden.units, hidden.activation.__name__) == (16, "relu")
    assert (output.units, output.activation.__name__) == (1, "linear")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "mse"


def test_builder_refuses_an_empty_stack_and_unknown_cells():
    with pytest.raises(ValueError, match="at least one recurrent layer"):
        build_model()
    with pytest.raises(ValueError, match="unknown cell 'RNN'"):
        build_cell_model("RNN")


@pytest.mark.slow  # trains three models
def test_same_seed_gives_identical_training_and_other_seeds_do_not():
    x = np.random.default_rng(0).normal(size=(64, 12, 1))
    y = x[:, -1, 0]

    def trained_predictions(seed):
        set_seed(seed)
        model = build_model(keras.layers.GRU(4))
        fit(model, x, y, epochs=2)
        return predict(model, x)

    first = trained_predictions(0)
    np.testing.assert_array_equal(first, trained_predictions(0))
    assert not np.array_equal(first, trained_predictions(1))


@pytest.mark.slow  # trains the three cells
def test_comparison_table_lists_each_cell_and_the_three_baselines(split):
    baselines, scores = compare(seeds=(0, 1), cells=("GRU",), epochs=1, split=split)
    table = comparison_table(baselines, scores)
    assert list(table.index) == ["GRU", NAIVE, DRIFT, AUTOREGRESSION]
    assert table.loc["GRU", "seeds"] == 2
    assert table.loc["GRU", "RMSE min"] <= table.loc["GRU", "RMSE median"] <= table.loc["GRU", "RMSE max"]
    assert round(table.loc[NAIVE, "RMSE median"], 1) == 125.1
    assert table.loc[DRIFT, "RMSE median"] < table.loc[NAIVE, "RMSE median"]
    assert round(table.loc[AUTOREGRESSION, "RMSE median"], 1) == 119.0


def test_importing_the_package_first_keeps_tensorflow_silent():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    completed = subprocess.run(
        [sys.executable, "-c", "import rnn_forecast.models, tensorflow as tf; tf.constant(1.0) + 1"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert completed.stderr == ""
