"""The checks that the exercise notebooks' test cells call.

Every check either returns quietly or raises :class:`AssertionError` with one plain
sentence saying what was expected and what was found, for example
"expected a GRU layer with 8 units, found LSTM with 32 units". nbgrader shows that
sentence to the student and scores the cell 0.

The grader computes; it does not trust the student's variables. It looks at the
student's Keras model itself (layer classes, units, shapes, parameter counts, optimizer
steps, weights) and recomputes the test RMSE from ``data/`` through :mod:`rnn_forecast`,
never from the student's windows or the number the student printed.

Nothing here prints or warns: nbgrader scores a test cell that wrote to stderr 0.
"""

from __future__ import annotations

import json
import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

import rnn_forecast  # noqa: F401  (quiets TensorFlow before Keras imports it)
from rnn_forecast.metrics import rmse
from rnn_forecast.models import CELLS
from rnn_forecast.windows import WINDOW, course_split, from_scale_free, to_scale_free

import keras

CALIBRATION_PATH = Path(__file__).resolve().parent / "calibration.json"


#: The right answers to exercise 1, in the normal form of :func:`normalise_gates`.
GATES = {
    "LSTM": ("forget", "input", "output"),
    "GRU": ("reset", "update"),
}

INPUT_SHAPE = (None, WINDOW, 1)
OUTPUT_SHAPE = (None, 1)


# ---------------------------------------------------------------- describing things


def _class_name(layer) -> str:
    """``GRU`` for keras.layers.GRU itself; a subclass or look-alike gets its full name."""
    cls = type(layer)
    if CELLS.get(cls.__name__) is cls or cls.__module__.startswith("keras."):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def _units(layer):
    units = getattr(layer, "units", None)
    if units is None and hasattr(layer, "forward_layer"):  # Bidirectional
        units = getattr(layer.forward_layer, "units", None)
    return units


def describe_layer(layer) -> str:
    """``GRU with 8 units``."""
    units = _units(layer)
    return _class_name(layer) if units is None else f"{_class_name(layer)} with {units} units"


def _join(parts: list[str], word: str = "then") -> str:
    """``a``, ``a then b``, ``a, b, then c``."""
    if len(parts) <= 2:
        return f" {word} ".join(parts)
    return f"{', '.join(parts[:-1])}, {word} {parts[-1]}"


def _found_layers(layers) -> str:
    if not layers:
        return "no recurrent layer"
    return _join([describe_layer(layer) for layer in layers])


def _expected_layers(names) -> str:
    """``a GRU layer``, ``an LSTM layer``, or ``2 recurrent layers, LSTM then LSTM``."""
    if len(names) == 1:
        article = "an" if names[0].startswith(("LSTM", "A", "E", "I", "O")) else "a"
        return f"{article} {names[0]} layer"
    return f"{len(names)} recurrent layers, {_join(list(names))}"


# ---------------------------------------------------------------- finding things


def _require_model(model) -> None:
    if not isinstance(model, keras.Model):
        raise AssertionError(
            f"expected `model` to be a Keras model, found {type(model).__name__} {_short(model)}"
        )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def recurrent_layers(model) -> list:
    """The model's recurrent layers in order, looking inside nested models and wrappers."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(recurrent_layers(layer))
        elif isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional)):
            found.append(layer)
    return found


# ---------------------------------------------------------------- exercise 1


def normalise_gates(names) -> list[str]:
    """Lower case, no surrounding spaces, an optional trailing word "gate" dropped, sorted."""
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise AssertionError(
            f"expected a set of gate names such as {{'name', 'name'}}, found {_short(names)}"
        )
    normal = []
    for name in names:
        if not isinstance(name, str):
            raise AssertionError(f"expected every gate name to be a string, found {_short(name)}")
        text = " ".join(name.lower().split())
        normal.append(text.removesuffix(" gate").strip())
    return sorted(normal)


def check_gates(answer, cell: str) -> None:
    """The student's gate names for ``cell`` (``"LSTM"`` or ``"GRU"``), in any case and order."""
    expected = sorted(GATES[cell])
    found = normalise_gates(answer)
    if found != expected:
        shown = _join(found, "and") if found else "no names"
        raise AssertionError(
            f"expected the {cell}'s {len(expected)} gates (any case and order), found {shown}"
        )


def gru_parameter_count(units: int = 32, features: int = 1) -> int:
    """Parameters of a Keras GRU layer with ``units`` units on ``features`` input features."""
    layer = keras.layers.GRU(units)
    layer.build((None, WINDOW, features))
    return int(layer.count_params())


def check_gru_parameters(answer, units: int = 32, features: int = 1) -> None:
    """The student's count of a GRU layer's parameters, checked against Keras itself."""
    expected = gru_parameter_count(units, features)
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        raise AssertionError(
            f"expected a whole number of parameters for GRU({units}) on {features} feature, "
            f"found {type(answer).__name__} {_short(answer)}"
        )
    if int(answer) != expected:
        raise AssertionError(
            f"expected {expected:,} parameters for GRU({units}) on {features} feature, found {int(answer):,}"
        )


# ---------------------------------------------------------------- structure


def check_recurrent_layers(model, *classes: str) -> None:
    """Exactly these recurrent layers, in this order, each of exactly this Keras class.

    A subclass of keras.layers.GRU, or ``RNN(GRUCell(...))``, is not a GRU here.
    """
    _require_model(model)
    found = recurrent_layers(model)
    right = len(found) == len(classes) and all(
        type(layer) is CELLS[name] for layer, name in zip(found, classes, strict=True)
    )
    if not right:
        raise AssertionError(f"expected {_expected_layers(classes)}, found {_found_layers(found)}")


def check_units(model, *units: int) -> None:
    """The recurrent layers have these numbers of units, in order."""
    _require_model(model)
    found = recurrent_layers(model)
    if [_units(layer) for layer in found] != list(units):
        expected = (
            f"a recurrent layer with {units[0]} units"
            if len(units) == 1
            else f"{len(units)} recurrent layers with {_join([str(u) for u in units], 'and')} units"
        )
        raise AssertionError(f"expected {expected}, found {_found_layers(found)}")


def check_return_sequences(model, *flags: bool) -> None:
    """Each recurrent layer returns its whole sequence (True) or only its last state (False)."""
    _require_model(model)
    found = recurrent_layers(model)
    actual = [bool(getattr(layer, "return_sequences", False)) for layer in found]
    if actual != list(flags):

        def say(flag):
            return "return_sequences=True" if flag else "return_sequences=False"

        described = [f"{describe_layer(layer)} with {say(a)}" for layer, a in zip(found, actual, strict=True)]
        raise AssertionError(
            f"expected {_join([say(f) for f in flags], 'then')} on the recurrent layers, "
            f"found {_join(described) or 'no recurrent layer'}"
        )


def _shape(shape) -> tuple:
    if isinstance(shape, list) and len(shape) == 1:
        shape = shape[0]
    return tuple(shape) if isinstance(shape, (tuple, list)) else shape


def check_shapes_and_parameters(model, parameters: int) -> None:
    """Input ``(None, 12, 1)``, output ``(None, 1)`` and exactly ``parameters`` weights."""
    _require_model(model)
    try:
        input_shape = _shape(model.input_shape)
        output_shape = _shape(model.output_shape)
    except (AttributeError, ValueError):
        raise AssertionError(
            "expected a model built on keras.Input((12, 1)), found one with no defined input shape"
        ) from None
    if input_shape != INPUT_SHAPE:
        raise AssertionError(f"expected the input shape {INPUT_SHAPE}, found {input_shape}")
    if output_shape != OUTPUT_SHAPE:
        raise AssertionError(f"expected the output shape {OUTPUT_SHAPE}, found {output_shape}")
    found = int(model.count_params())
    if found != parameters:
        raise AssertionError(f"expected {parameters:,} parameters in the model, found {found:,}")


# ---------------------------------------------------------------- training


def _initial_bias(layer):
    """What ``layer``'s bias was right after it was built, when that is known exactly.

    Keras starts every bias of the course's layers at a constant: zeros, and for an
    LSTM with ``unit_forget_bias`` ones on the forget gate's quarter. Adam moves every
    bias that has a gradient on the first step, so a model whose biases all still sit
    at these constants has not been trained, whatever seed built it.
    """
    cell = getattr(layer, "cell", layer)
    bias = getattr(cell, "bias", None)
    if bias is None or not getattr(cell, "use_bias", False):
        return None, None
    value = np.array(bias.numpy())
    initializer = type(getattr(cell, "bias_initializer", None)).__name__
    if initializer not in ("Zeros", "Ones"):
        return None, None
    initial = np.zeros_like(value) if initializer == "Zeros" else np.ones_like(value)
    if isinstance(cell, keras.layers.LSTMCell) and cell.unit_forget_bias:
        initial = np.zeros_like(value)
        initial[cell.units : 2 * cell.units] = 1.0
    return value, initial


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer
            if hasattr(layer, "forward_layer"):
                yield layer.forward_layer
                yield layer.backward_layer


def check_trained(model) -> None:
    """The optimizer took steps and the weights have moved from their initial values."""
    _require_model(model)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise AssertionError("expected a model compiled and trained with fit, found one with no optimizer")
    steps = int(optimizer.iterations.numpy())
    if steps <= 0:
        raise AssertionError(
            "expected a trained model, found that its optimizer has taken 0 steps (was fit called?)"
        )
    compared = [
        (value, initial) for value, initial in map(_initial_bias, _all_layers(model)) if value is not None
    ]
    if compared and all(np.array_equal(value, initial) for value, initial in compared):
        raise AssertionError(
            "expected weights that training has moved, found every bias still at its initial value"
        )


# ---------------------------------------------------------------- the test RMSE


@lru_cache(maxsize=1)
def _test_windows():
    split = course_split()
    return to_scale_free(split.x_test), split.y_test


def graded_rmse(model) -> float:
    """The model's test RMSE in index points, recomputed from ``data/`` on scale-free windows.

    The windows come from :func:`rnn_forecast.windows.course_split`, are divided by
    their last value, fed to the model, and its predicted ratios are multiplied back.
    """
    test, truth = _test_windows()
    try:
        with warnings.catch_warnings():
            # e.g. Keras's "the structure of inputs doesn't match": the sentence below says it
            warnings.simplefilter("ignore")
            ratios = np.asarray(keras.ops.convert_to_numpy(model(test.x.astype("float32"), training=False)))
    except Exception as error:  # noqa: BLE001  (any failure means the model cannot be scored)
        raise AssertionError(
            f"expected a model that predicts from windows of shape (184, 12, 1), "
            f"found that calling it raised {type(error).__name__}"
        ) from None
    if ratios.size != len(truth):
        raise AssertionError(
            f"expected one prediction per test window ({len(truth)}), found {ratios.size} values"
        )
    return rmse(truth, from_scale_free(ratios, test.last))


@lru_cache(maxsize=1)
def calibration() -> dict:
    """The committed calibration file: reference RMSE distributions and bounds."""
    return json.loads(CALIBRATION_PATH.read_text(encoding="utf-8"))


def rmse_bound(exercise: str) -> float:
    return float(calibration()["exercises"][exercise]["max_rmse"])


def check_test_rmse(model, exercise: str) -> None:
    """The test RMSE, recomputed by the grader, is within the calibrated bound."""
    _require_model(model)
    bound = rmse_bound(exercise)
    found = graded_rmse(model)
    if not math.isfinite(found) or found > bound:
        raise AssertionError(
            f"expected a test RMSE of at most {bound:,.1f} index points on the 184 test windows, "
            f"found {found:,.1f}"
        )


#: A test RMSE below this fraction of the best honest calibrated run is flagged.
SUSPICIOUS_FRACTION = 0.9


def rmse_suspicions(model, exercise: str) -> list[str]:
    """Reasons for the instructor to look: a test error far better than every honest run.

    A model trained on the test windows would show up here; on this near-random walk such
    a model scored 120-122 in the course's measurements (README), inside the honest range,
    so only a far better score, which no honest run reaches, is flagged.
    """
    found = graded_rmse(model)
    best_honest = float(calibration()["exercises"][exercise]["min"])
    if math.isfinite(found) and found < SUSPICIOUS_FRACTION * best_honest:
        return [
            f"test RMSE {found:,.1f} is far below every honest calibrated run "
            f"(best {best_honest:,.1f}): was the model trained on the test windows?"
        ]
    return []
