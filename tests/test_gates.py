"""The NumPy gates of a trained layer are the ones Keras computes with."""

import numpy as np
import pytest

from rnn_forecast.gates import gru_gates, lstm_gates

import keras


def layer_with_random_weights(kind, units, features, steps, seed):
    """A layer (as trained layers are: one output per sequence) and a twin returning every step."""
    layer = kind(units)
    keras.Sequential([keras.Input((steps, features)), layer])
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.7, size=w.shape).astype("float32") for w in layer.get_weights()])
    every_step = kind(units, return_sequences=True, return_state=True)
    inputs = keras.Input((steps, features))
    twin = keras.Model(inputs, every_step(inputs))
    every_step.set_weights(layer.get_weights())
    return layer, twin


@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 4), (6, 2, 9)])
def test_lstm_hidden_and_cell_states_match_keras(units, features, steps):
    layer, twin = layer_with_random_weights(keras.layers.LSTM, units, features, steps, units)
    x = np.random.default_rng(1).normal(size=(5, steps, features)).astype("float32")
    sequence, _last_hidden, last_cell = (t.numpy() for t in twin(x))
    gates = lstm_gates(layer, x)
    assert np.abs(gates["hidden"] - sequence).max() < 1e-5
    assert np.abs(gates["cell"][:, -1] - last_cell).max() < 1e-5
    assert np.abs(gates["hidden"][:, -1] - layer(x).numpy()).max() < 1e-5
    for name in ("input", "forget", "output"):
        assert gates[name].shape == (5, steps, units)
        assert ((gates[name] > 0) & (gates[name] < 1)).all()


@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 4), (6, 2, 9)])
def test_gru_hidden_states_match_keras(units, features, steps):
    layer, twin = layer_with_random_weights(keras.layers.GRU, units, features, steps, units)
    x = np.random.default_rng(1).normal(size=(5, steps, features)).astype("float32")
    sequence, _ = (t.numpy() for t in twin(x))
    gates = gru_gates(layer, x)
    assert np.abs(gates["hidden"] - sequence).max() < 1e-5
    assert ((gates["update"] > 0) & (gates["update"] < 1)).all()


def test_the_update_gate_keeps_the_state_where_it_is_near_one():
    """z -> 1 keeps h; Keras's blend, not the textbook's swapped one."""
    layer, _ = layer_with_random_weights(keras.layers.GRU, 3, 1, 5, 0)
    kernel, recurrent, bias = layer.get_weights()
    bias[0, :3] = 30.0  # update gate wide open: z = sigmoid(30)
    layer.set_weights([kernel, recurrent, bias])
    gates = gru_gates(layer, np.ones((2, 5, 1), dtype="float32"))
    assert np.abs(gates["hidden"]).max() < 1e-10  # the state stays at its start, zero


def test_other_layers_and_settings_are_refused():
    with pytest.raises(ValueError, match=r"expected a keras\.layers\.LSTM layer, got GRU"):
        lstm_gates(keras.layers.GRU(2), np.zeros((1, 3, 1)))
    with pytest.raises(ValueError, match="reset_after=False"):
        gru_gates(keras.layers.GRU(2, reset_after=False), np.zeros((1, 3, 1)))


def test_a_clamped_update_gate_of_one_freezes_the_gru_state_exactly_where_asked():
    layer, _ = layer_with_random_weights(keras.layers.GRU, 4, 2, 8, 3)
    x = np.random.default_rng(2).normal(size=(3, 8, 2)).astype("float32")
    where = np.zeros((3, 8), dtype=bool)
    where[:, 3:6] = True  # steps 3, 4, 5
    free, held = gru_gates(layer, x), gru_gates(layer, x, clamp={"update": 1.0}, where=where)
    np.testing.assert_array_equal(held["hidden"][:, :3], free["hidden"][:, :3])  # untouched before
    for t in (3, 4, 5):
        np.testing.assert_array_equal(held["hidden"][:, t], free["hidden"][:, 2])  # held
    assert (held["update"][:, 3:6] == 1).all()
    assert np.abs(held["hidden"][:, 6:] - free["hidden"][:, 6:]).max() > 1e-3  # the run goes on from there


def test_a_closed_reset_gate_makes_the_gru_candidate_blind_to_the_old_state():
    layer, _ = layer_with_random_weights(keras.layers.GRU, 4, 2, 6, 4)
    kernel, _, bias = layer.get_weights()
    x = np.random.default_rng(5).normal(size=(3, 6, 2)).astype("float32")
    blind = gru_gates(layer, x, clamp={"reset": 0.0})
    from_input_only = np.tanh(x.astype("float64") @ kernel[:, 8:] + bias[0, 8:])
    np.testing.assert_allclose(blind["candidate"], from_input_only, atol=1e-6)


def test_clamping_the_lstm_forget_gate_open_and_the_input_shut_holds_the_cell_state():
    layer, _ = layer_with_random_weights(keras.layers.LSTM, 4, 2, 7, 6)
    x = np.random.default_rng(7).normal(size=(3, 7, 2)).astype("float32")
    where = np.zeros((3, 7), dtype=bool)
    where[:, 2:] = True
    held = lstm_gates(layer, x, clamp={"forget": 1.0, "input": 0.0}, where=where)
    for t in range(2, 7):
        np.testing.assert_array_equal(held["cell"][:, t], held["cell"][:, 1])


def test_clamping_an_unknown_gate_or_a_wrong_mask_is_refused():
    layer, _ = layer_with_random_weights(keras.layers.GRU, 2, 1, 4, 0)
    x = np.zeros((2, 4, 1), dtype="float32")
    with pytest.raises(ValueError, match="no gate forget to clamp; choose among update, reset"):
        gru_gates(layer, x, clamp={"forget": 1.0})
    with pytest.raises(ValueError, match=r"where must have the shape \(sequences, steps\) = \(2, 4\)"):
        gru_gates(layer, x, clamp={"update": 1.0}, where=np.ones((2, 5), dtype=bool))
