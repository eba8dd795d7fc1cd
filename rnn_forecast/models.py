"""Build, seed and train the small recurrent forecasters the course compares.

TensorFlow is imported here, after :mod:`rnn_forecast` has quieted it; import this
module (or anything from it) through the package, never before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rnn_forecast.quiet import quiet_tensorflow_logger
from rnn_forecast.training_record import RecordEpochs, epoch_orders, record_for_training, train_epochs
from rnn_forecast.windows import WINDOW

import keras

quiet_tensorflow_logger()

EPOCHS = 40
BATCH_SIZE = 32
UNITS = 32


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and Keras/TensorFlow in one call.

    With the same seed, the same machine and the same versions, training gives
    bit-identical predictions run after run.
    """
    keras.utils.set_random_seed(seed)


def build_model(*recurrent_layers: keras.layers.Layer, window: int = WINDOW) -> keras.Model:
    """Stack ``recurrent_layers`` on a ``(window, 1)`` input, add the course's head, compile.

    The head is ``Dense(16, relu)`` then ``Dense(1)``; the model is compiled with Adam and
    mean squared error. Every model in the lessons, exercises and autograder comes from
    here, so a comparison only ever differs in the recurrent layers.

    >>> build_model(keras.layers.GRU(8)).count_params()
    425
    """
    if not recurrent_layers:
        raise ValueError("pass at least one recurrent layer, e.g. build_model(keras.layers.GRU(32))")
    model = keras.Sequential(
        [
            keras.Input((window, 1)),
            *recurrent_layers,
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


CELLS = {
    "SimpleRNN": keras.layers.SimpleRNN,
    "GRU": keras.layers.GRU,
    "LSTM": keras.layers.LSTM,
}


def build_cell_model(cell: str, units: int = UNITS) -> keras.Model:
    """The lesson's single-layer model for ``cell``: one of ``SimpleRNN``, ``GRU``, ``LSTM``."""
    try:
        layer_class = CELLS[cell]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}") from None
    return build_model(layer_class(units))


@dataclass(frozen=True)
class Fit:
    """How long a training took, and its last epoch's training loss."""

    seconds: float
    final_loss: float


def fit(model: keras.Model, x, y, epochs: int = EPOCHS, batch_size: int = BATCH_SIZE) -> Fit:
    """Train without progress output, record the training, and time it.

    Each epoch visits the *training windows* in a new random order, as Keras's own
    ``shuffle=True`` does; that is harmless, because the windows were cut and split
    chronologically before, so no test month can leak into training. The orders are drawn
    here (from NumPy's generator, which :func:`set_seed` seeds) rather than inside Keras, so
    that every epoch can be replayed: the model keeps a record of its training
    (:mod:`rnn_forecast.training_record`) that the grader checks.
    """
    x, y = np.asarray(x, dtype="float32"), np.asarray(y, dtype="float32")
    record = record_for_training(model, x, y, batch_size)
    orders = epoch_orders(int(np.random.randint(2**31)), len(x), epochs)
    start = time.perf_counter()
    history = train_epochs(model, x, y, orders, batch_size, callbacks=[RecordEpochs(record, orders)])
    return Fit(time.perf_counter() - start, float(history.history["loss"][-1]))


def predict(model: keras.Model, x):
    """Predictions as a flat array, without Keras's progress bar."""
    return model.predict(x, verbose=0).reshape(-1)
