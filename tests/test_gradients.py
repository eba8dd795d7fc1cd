"""rnn_forecast.gradients: NumPy backpropagation through time gives Keras's gradients.

Lesson 1 measures gradient profiles with tf.GradientTape and then lets the student change
the weights with sliders, redrawing from the NumPy version; these tests make sure the two
are the same computation, weight block by weight block.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnn_forecast  # noqa: F401  (quiets TensorFlow before keras is imported)
from rnn_forecast import gradients
from rnn_forecast.gradients import CellWeights


def keras_model(cell, units, features, steps, seed):
    from rnn_forecast.models import set_seed

    import keras

    set_seed(seed)
    layer = getattr(keras.layers, cell)(units)
    return keras.Sequential([keras.Input((steps, features)), layer, keras.layers.Dense(1)])


def randomise(model, seed):
    """Random weights everywhere, biases included, so a block mix-up cannot hide."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights(
            [rng.normal(scale=0.6, size=w.shape).astype("float32") for w in layer.get_weights()]
        )


def keras_input_gradients(model, x):
    import tensorflow as tf

    x = tf.constant(x, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y_hat = tf.reduce_sum(model(x))
    return tape.gradient(y_hat, x).numpy().astype("float64")


@pytest.mark.parametrize("cell", gradients.CELLS)
@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 4), (6, 3, 9)])
def test_numpy_gradients_equal_keras_with_random_weights(cell, units, features, steps):
    model = keras_model(cell, units, features, steps, seed=units)
    randomise(model, seed=units + features)
    x = np.random.default_rng(steps).normal(size=(5, steps, features)).astype("float32")
    ours = gradients.input_gradients(CellWeights.from_keras(model), x)
    theirs = keras_input_gradients(model, x)
    assert ours.shape == x.shape
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6), np.abs(ours - theirs).max()


@pytest.mark.parametrize("cell", gradients.CELLS)
def test_profiles_of_the_lesson_setting_equal_keras_over_100_steps(cell):
    """Lesson 1's setting: 32 units, 100 steps, Keras's initialisation; the tiny far-back values too."""
    model = keras_model(cell, 32, 1, 100, seed=0)
    x = np.random.default_rng(0).normal(size=(16, 100, 1))
    ours = gradients.gradient_profile(CellWeights.from_keras(model), x)
    theirs = np.sqrt(np.mean(keras_input_gradients(model, x)[:, :, 0] ** 2, axis=0))[::-1]
    assert ours.shape == (100,)
    assert np.max(np.abs(ours / theirs - 1)) < 1e-4


@pytest.mark.parametrize(("cell", "block"), [("LSTM", 1), ("GRU", 0)])
def test_keep_gate_bias_lands_in_the_forget_or_update_block(cell, block):
    """Setting the bias in NumPy equals setting that block's bias in the Keras layer."""
    model = keras_model(cell, 4, 1, 6, seed=1)
    weights = CellWeights.from_keras(model)
    x = np.random.default_rng(2).normal(size=(3, 6, 1))
    kernel, recurrent_kernel, bias = model.layers[0].get_weights()
    bias = bias.copy()
    if cell == "LSTM":
        bias[block * 4 : (block + 1) * 4] = 2.5
    else:
        bias[0, :4], bias[1, :4] = 2.5, 0.0
    model.layers[0].set_weights([kernel, recurrent_kernel, bias])
    ours = gradients.input_gradients(gradients.with_keep_gate_bias(weights, 2.5), x)
    assert np.allclose(ours, keras_input_gradients(model, x), rtol=1e-4, atol=1e-7)
    assert not np.allclose(ours, gradients.input_gradients(weights, x), rtol=1e-2)


def test_recurrent_scale_one_is_the_same_cell_and_two_is_orthogonal_gain_two():
    import keras

    model = keras_model("SimpleRNN", 8, 1, 5, seed=3)
    weights = CellWeights.from_keras(model)
    scaled = gradients.with_recurrent_scale(weights, 2.0).recurrent_kernel
    assert np.array_equal(
        gradients.with_recurrent_scale(weights, 1.0).recurrent_kernel, weights.recurrent_kernel
    )
    assert np.allclose(np.linalg.svd(scaled, compute_uv=False), 2.0, atol=1e-5)
    assert isinstance(model.layers[0].recurrent_initializer, keras.initializers.Orthogonal)


@pytest.mark.parametrize("cell", ["GRU", "LSTM"])
def test_additive_path_is_everything_when_the_recurrent_matrix_is_zero(cell):
    model = keras_model(cell, 5, 2, 8, seed=4)
    randomise(model, seed=5)
    weights = CellWeights.from_keras(model)
    x = np.random.default_rng(6).normal(size=(4, 8, 2))
    full = gradients.gradient_profile(weights, x)
    additive = gradients.gradient_profile(weights, x, additive_path_only=True)
    assert not np.allclose(full, additive, rtol=1e-3)
    without_recurrence = gradients.with_recurrent_scale(weights, 0.0)
    assert np.allclose(
        gradients.gradient_profile(without_recurrence, x),
        gradients.gradient_profile(without_recurrence, x, additive_path_only=True),
    )


def test_the_additive_path_shrinks_by_the_gate_value_per_step():
    """The lesson's claim, at Keras's initialisation: sigma(0) for the GRU, sigma(1) for the LSTM."""
    x = np.random.default_rng(0).normal(size=(32, 100, 1))
    for cell, bias in gradients.INITIAL_KEEP_BIAS.items():
        weights = CellWeights.from_keras(keras_model(cell, 32, 1, 100, seed=0))
        factor = gradients.per_step_factor(gradients.gradient_profile(weights, x, additive_path_only=True))
        assert factor == pytest.approx(float(gradients.sigmoid(bias)), abs=0.02)


def test_per_step_factor_recovers_a_geometric_decay():
    profile = 3.0 * 0.8 ** np.arange(60)
    assert gradients.per_step_factor(profile) == pytest.approx(0.8)
    assert gradients.reference_line(profile, 0.8) == pytest.approx(profile)


def test_bad_weights_and_inputs_get_clear_errors():
    weights = CellWeights.from_keras(keras_model("LSTM", 3, 2, 4, seed=0))
    with pytest.raises(ValueError, match=r"shape \(batch, steps, 2\)"):
        gradients.input_gradients(weights, np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match="Keras's layout"):
        CellWeights("GRU", weights.kernel, weights.recurrent_kernel, weights.bias, weights.readout)
    with pytest.raises(ValueError, match="has no gate"):
        gradients.with_keep_gate_bias(CellWeights.from_keras(keras_model("SimpleRNN", 3, 1, 4, seed=0)), 1.0)
    with pytest.raises(ValueError, match="no additive path"):
        gradients.gradient_profile(
            CellWeights.from_keras(keras_model("SimpleRNN", 3, 1, 4, seed=0)),
            np.zeros((1, 4, 1)),
            additive_path_only=True,
        )


# ---------------------------------------------------------------- the interactive explorer


@pytest.fixture(scope="module")
def explorer():
    weights = {cell: CellWeights.from_keras(keras_model(cell, 8, 1, 30, seed=0)) for cell in gradients.CELLS}
    return gradients.GradientExplorer(weights, np.random.default_rng(0).normal(size=(8, 30, 1)))


def test_moving_a_slider_redraws_that_cells_profile(explorer):
    sliders = explorer.sliders()
    assert set(sliders) == set(gradients.CELLS)
    sliders["SimpleRNN"].value = 2.0
    expected = gradients.gradient_profile(
        gradients.with_recurrent_scale(explorer.weights["SimpleRNN"], 2.0), explorer.x
    )
    assert np.allclose(explorer.lines["SimpleRNN"].get_ydata(), expected)
    assert "2.00" in explorer.lines["SimpleRNN"].get_label()

    sliders["LSTM"].value = 3.0
    lstm = gradients.gradient_profile(
        gradients.with_keep_gate_bias(explorer.weights["LSTM"], 3.0), explorer.x
    )
    assert np.allclose(explorer.lines["LSTM"].get_ydata(), lstm)
    reference = explorer.references["LSTM"].get_ydata()
    assert np.allclose(reference, gradients.reference_line(lstm, float(gradients.sigmoid(3.0))))
    legend = [text.get_text() for text in explorer.ax.get_legend().get_texts()]
    assert "0.95$^k$ (gate value $\\sigma$(+3.00))" in legend


def test_controls_redraw_and_say_what_to_do_without_a_kernel(explorer):
    redraws = []
    box = explorer.controls(on_change=lambda: redraws.append(explorer.values["GRU"]))
    assert [slider.description for slider in box.children] == [
        "SimpleRNN: scale of U",
        "GRU: bias of z",
        "LSTM: bias of f",
    ]
    box.children[1].value = 2.5
    assert redraws == [2.5]
    assert "run this cell to get them" in box._repr_mimebundle_()["text/plain"]


def test_a_bias_back_at_zero_reads_0_00_not_minus_0_00(explorer):
    # A slider stepped down and up again can stop a rounding error below zero.
    explorer.set("GRU", 0.25 - 0.25 - 1e-17)
    legend = [text.get_text() for text in explorer.ax.get_legend().get_texts()]
    assert "GRU, bias of z 0.00" in legend
    assert "0.50$^k$ (gate value $\\sigma$(0.00))" in legend
    assert not any("-0.00" in text for text in legend)


def test_explorer_needs_all_three_cells():
    with pytest.raises(ValueError, match="needs the weights of GRU"):
        gradients.GradientExplorer({"SimpleRNN": None, "LSTM": None}, np.zeros((1, 3, 1)))
