"""The reference solutions of exercises 2 and 3, as the calibration trains them.

The solution notebooks run exactly these steps (same order, same calls), so seed 0 here
and the graded solution notebook give the same model on the same machine.
"""

from __future__ import annotations

import rnn_forecast  # noqa: F401  (quiets TensorFlow before Keras imports it)
from rnn_forecast.models import EPOCHS, build_model, fit, set_seed
from rnn_forecast.windows import course_split, to_scale_free

import keras

#: Exercise name -> the recurrent layers it asks for, freshly made on each call.
LAYERS = {
    "gru8": lambda: (keras.layers.GRU(8),),
    "stacked_lstm": lambda: (
        keras.layers.LSTM(32, return_sequences=True),
        keras.layers.LSTM(16),
    ),
}

#: What a correct solution's model looks like, for the structural checks.
STRUCTURE = {
    "gru8": {"classes": ("GRU",), "units": (8,), "return_sequences": (False,), "parameters": 425},
    "stacked_lstm": {
        "classes": ("LSTM", "LSTM"),
        "units": (32, 16),
        "return_sequences": (True, False),
        "parameters": 7777,
    },
}


def reference_model(exercise: str, seed: int, *, inputs: str = "scale-free", epochs: int = EPOCHS):
    """Build and train one exercise's reference model.

    ``inputs`` is ``"scale-free"`` (the exercise), ``"raw"`` (the original recipe's
    mistake: raw index levels) or ``"untrained"`` (built and compiled, never fitted).
    """
    split = course_split()
    set_seed(seed)
    model = build_model(*LAYERS[exercise]())
    if inputs == "scale-free":
        train = to_scale_free(split.x_train, split.y_train)
        fit(model, train.x, train.y, epochs=epochs)
    elif inputs == "raw":
        fit(model, split.x_train, split.y_train, epochs=epochs)
    elif inputs != "untrained":
        raise ValueError(f"inputs must be 'scale-free', 'raw' or 'untrained', not {inputs!r}")
    return model
