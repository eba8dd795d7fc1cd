"""What the gates of a trained LSTM or GRU layer do, step by step.

Keras returns a recurrent layer's output but not its gates. These functions run the layer's own
weights over a batch of sequences in NumPy, with Keras's conventions (the gate order in the
weight matrices, GRU's ``reset_after=True`` and its blend ``h = z * h_prev + (1 - z) * candidate``),
and return every gate and state at every step. ``tests/test_gates.py`` checks that the hidden
states they compute are the ones the Keras layer outputs.

Both can also *clamp* gates: hold a gate at a fixed value at chosen steps (``clamp={"update": 1.0},
where=mask``), an experiment Keras cannot run, to see which path a trained cell relies on. Lesson 4
clamps the gates between the two marked steps of the adding problem.
"""

from __future__ import annotations

import numpy as np

import keras


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _clamper(names, clamp, where, shape):
    """A function that sets the clamped gates at the steps of ``where``; checks the request."""
    clamp = dict(clamp or {})
    unknown = set(clamp) - set(names)
    if unknown:
        raise ValueError(f"no gate {', '.join(sorted(unknown))} to clamp; choose among {', '.join(names)}")
    if where is None:
        where = np.ones(shape, dtype=bool)
    where = np.asarray(where, dtype=bool)
    if where.shape != shape:
        raise ValueError(f"where must have the shape (sequences, steps) = {shape}, not {where.shape}")

    def apply(name, gate, t):
        if name not in clamp:
            return gate
        return np.where(where[:, t, None], clamp[name], gate)

    return apply


def _check(layer, kind: type) -> None:
    if type(layer) is not kind:
        raise ValueError(f"expected a keras.layers.{kind.__name__} layer, got {type(layer).__name__}")
    config = layer.get_config()
    expected = {
        "activation": "tanh",
        "recurrent_activation": "sigmoid",
        "use_bias": True,
        "go_backwards": False,
    }
    if kind is keras.layers.GRU:
        expected["reset_after"] = True
    for key, value in expected.items():
        if config.get(key) != value:
            raise ValueError(
                f"the NumPy steps follow Keras's defaults ({key}={value!r}); this layer has {key}={config.get(key)!r}"
            )


def lstm_gates(layer, x, clamp: dict[str, float] | None = None, where=None) -> dict[str, np.ndarray]:
    """Gates and states of a Keras ``LSTM`` layer over ``x`` of shape ``(n, steps, features)``.

    Returns arrays of shape ``(n, steps, units)``: ``"input"``, ``"forget"``, ``"output"`` (the
    gates, in (0, 1)), ``"candidate"``, ``"cell"`` and ``"hidden"`` (the layer's output at
    each step)::

        i, f, o = sigmoid(x W + h U + b) for their blocks,  c~ = tanh(same, candidate block)
        c_t = f * c_{t-1} + i * c~,   h_t = o * tanh(c_t)

    ``clamp`` (``{"forget": 1.0, "input": 0.0}``) holds those gates at those values, in every
    unit, at the steps where ``where`` (shape ``(n, steps)``, default every step) is True.
    """
    _check(layer, keras.layers.LSTM)
    clamped = _clamper(("input", "forget", "output"), clamp, where, np.shape(x)[:2])
    kernel, recurrent_kernel, bias = (w.astype("float64") for w in layer.get_weights())
    x = np.asarray(x, dtype="float64")
    units = recurrent_kernel.shape[0]
    hidden = np.zeros((x.shape[0], units))
    cell = np.zeros_like(hidden)
    steps = {name: [] for name in ("input", "forget", "candidate", "output", "cell", "hidden")}
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + hidden @ recurrent_kernel + bias
        i, f, c, o = np.split(z, 4, axis=-1)  # Keras's order
        i, f, o, candidate = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(c)
        i, f, o = clamped("input", i, t), clamped("forget", f, t), clamped("output", o, t)
        cell = f * cell + i * candidate
        hidden = o * np.tanh(cell)
        for name, value in zip(steps, (i, f, candidate, o, cell, hidden), strict=True):
            steps[name].append(value)
    return {name: np.stack(values, axis=1) for name, values in steps.items()}


def gru_gates(layer, x, clamp: dict[str, float] | None = None, where=None) -> dict[str, np.ndarray]:
    """Gates and state of a Keras ``GRU`` layer (``reset_after=True``) over ``x``.

    Returns arrays of shape ``(n, steps, units)``: ``"update"`` (z) and ``"reset"`` (r), in
    (0, 1), ``"candidate"`` and ``"hidden"``::

        z, r = sigmoid(x W + b_in + h U + b_rec) for their blocks
        h~ = tanh(x W_h + b_in_h + r * (h U_h + b_rec_h))
        h_t = z * h_{t-1} + (1 - z) * h~      (z near 1 keeps the old state)

    ``clamp`` (``{"update": 1.0}``; ``{"reset": 0.0}`` makes the candidate blind to the old
    state) holds those gates at those values, in every unit, at the steps where ``where``
    (shape ``(n, steps)``, default every step) is True.
    """
    _check(layer, keras.layers.GRU)
    clamped = _clamper(("update", "reset"), clamp, where, np.shape(x)[:2])
    kernel, recurrent_kernel, bias = (w.astype("float64") for w in layer.get_weights())
    input_bias, recurrent_bias = bias
    x = np.asarray(x, dtype="float64")
    units = recurrent_kernel.shape[0]
    hidden = np.zeros((x.shape[0], units))
    steps = {name: [] for name in ("update", "reset", "candidate", "hidden")}
    for t in range(x.shape[1]):
        x_z, x_r, x_h = np.split(x[:, t] @ kernel + input_bias, 3, axis=-1)  # Keras's order
        h_z, h_r, h_h = np.split(hidden @ recurrent_kernel + recurrent_bias, 3, axis=-1)
        z, r = clamped("update", _sigmoid(x_z + h_z), t), clamped("reset", _sigmoid(x_r + h_r), t)
        candidate = np.tanh(x_h + r * h_h)
        hidden = z * hidden + (1 - z) * candidate
        for name, value in zip(steps, (z, r, candidate, hidden), strict=True):
            steps[name].append(value)
    return {name: np.stack(values, axis=1) for name, values in steps.items()}
