"""The adding problem: a task that needs memory over many steps (lesson 4, ``make memory-horizon``).

Each sequence has ``steps`` steps and two channels: a value drawn uniformly from [0, 1) and a
marker that is 1 at exactly two steps, one in each half of the sequence. The target is the sum
of the two marked values. Lesson 4 and the memory-horizon experiment
(:mod:`rnn_forecast.memory_horizon`) use these functions, so both train with the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_forecast.branches import fit_together
from rnn_forecast.models import CELLS, set_seed
from rnn_forecast.training_record import epoch_orders

import keras

STEPS = 50
TRAIN_SEQUENCES = 2500
TEST_SEQUENCES = 500
UNITS = 32
LEARNING_RATE = 1e-2
BATCH_SIZE = 32
EPOCHS = 20


def adding_problem(n: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of shape ``(steps, 2)`` (values, markers) and their targets, float32.

    One marker lies in the first half and one in the second half; the target is the sum of
    the two marked values.

    >>> x, y = adding_problem(2, 6, np.random.default_rng(0))
    >>> x.shape, y.shape, x[..., 1].sum(axis=1).tolist()
    ((2, 6, 2), (2,), [2.0, 2.0])
    """
    if steps < 2:
        raise ValueError(f"a sequence needs at least 2 steps to hold one marker in each half; got {steps}")
    values = rng.uniform(0, 1, size=(n, steps))
    markers = np.zeros((n, steps))
    rows = np.arange(n)
    markers[rows, rng.integers(0, steps // 2, size=n)] = 1
    markers[rows, rng.integers(steps // 2, steps, size=n)] = 1
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values * markers).sum(axis=1).astype("float32")
    return x, y


def baselines(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean squared errors of the two answers that need no long memory.

    * ``"mean"``: always answer 1.0, the expected sum (theory: 2 x 1/12 = 1/6);
    * ``"recent marker"``: remember only the second marked value, the one in the recent half,
      and add 0.5 for the first (theory: the variance of the forgotten value, 1/12).

    A model must remember the first marked value, up to ``steps`` steps back, to do better
    than the second.
    """
    values, markers = x[..., 0].astype("float64"), x[..., 1]
    second_half = np.arange(x.shape[1]) >= x.shape[1] // 2
    recent = (values * markers * second_half).sum(axis=1)
    truth = np.asarray(y, dtype="float64")
    return {
        "mean": float(np.mean((truth - 1.0) ** 2)),
        "recent marker": float(np.mean((truth - (recent + 0.5)) ** 2)),
    }


def build_adding_model(
    cell: str,
    steps: int = STEPS,
    units: int = UNITS,
    learning_rate: float = LEARNING_RATE,
    clipnorm: float | None = None,
) -> keras.Model:
    """``Input((steps, 2))`` -> one recurrent layer -> ``Dense(1)``, compiled with Adam and MSE.

    ``clipnorm`` (Adam's own option) clips each weight tensor's gradient to that norm.
    """
    try:
        layer_class = CELLS[cell]
    except KeyError:
        raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}") from None
    model = keras.Sequential([keras.Input((steps, 2)), layer_class(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm), loss="mse")
    return model


@dataclass(frozen=True)
class AddingRun:
    """Trained models and their held-out errors, keyed by ``(cell, seed)``."""

    models: dict
    test_mse: dict  # (cell, seed) -> MSE on the test sequences after every epoch, as a list
    seconds: float


def train_cells(
    cells, seeds, x_train, y_train, x_test, y_test, epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE
) -> AddingRun:
    """Train every cell with every seed on the adding problem, all at once (:func:`fit_together`).

    The seed sets a model's initial weights (``set_seed(seed)`` before it is built) and the
    order of its training sequences in each epoch, as for a model trained alone.
    """
    steps = x_train.shape[1]
    keys, models = [], []
    for seed in seeds:
        for cell in cells:
            set_seed(seed)
            models.append(build_adding_model(cell, steps, learning_rate=learning_rate))
            keys.append((cell, seed))
    together = fit_together(
        models,
        x_train,
        y_train,
        seeds=[seed for _, seed in keys],
        epochs=epochs,
        batch_size=BATCH_SIZE,
        learning_rate=learning_rate,
        validation=(x_test, y_test),
    )
    return AddingRun(
        dict(zip(keys, models, strict=True)),
        {key: together.validation_mse[:, column].tolist() for column, key in enumerate(keys)},
        together.seconds,
    )


def train_alone(
    cell: str,
    seed: int,
    x_train,
    y_train,
    x_test,
    y_test,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    clipnorm: float | None = None,
) -> tuple[keras.Model, list[float]]:
    """One model trained by plain ``model.fit``, one epoch at a time; its test MSE after each.

    The seed sets the initial weights and each epoch's order of the training sequences
    (:func:`rnn_forecast.training_record.epoch_orders`), as :func:`train_cells` does, so a
    model trained here starts and is fed as it would be there. Used where
    :func:`fit_together` cannot train a model as it would train alone: ``clipnorm`` clips a
    whole weight tensor, which ``fit_together`` shares between its members.
    """
    set_seed(seed)
    model = build_adding_model(cell, x_train.shape[1], learning_rate=learning_rate, clipnorm=clipnorm)
    curve = []
    for order in epoch_orders(seed, len(x_train), epochs):
        model.fit(x_train[order], y_train[order], batch_size=BATCH_SIZE, shuffle=False, epochs=1, verbose=0)
        prediction = model.predict(x_test, verbose=0)[:, 0].astype("float64")
        curve.append(float(np.mean((prediction - y_test) ** 2)))
    return model, curve
