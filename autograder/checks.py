"""The checks that the exercise notebooks' test cells call.

Every check either returns quietly or raises :class:`AssertionError` with one plain
sentence saying what was expected and what was found, for example
"expected a GRU layer with 8 units, found LSTM with 32 units", and the likely cause where a
mistake is common (a model built without the course's head, a model never compiled, a test
error left as a ratio). nbgrader shows that sentence to the student and scores the cell 0.
A check that finds a step not done at all (a model never trained) raises
:class:`StepNotDone`, which names the answer that step stores: the student then reads the
step's own sentence (:mod:`autograder.steps`), "Step 2 is not done yet: ...".

The grader computes; it does not trust the student's variables. It looks at the
student's Keras model itself (layer classes, units, shapes, parameter counts, optimizer
steps, weights) and recomputes the test RMSE from ``data/`` through :mod:`rnn_forecast`,
never from the student's windows or the number the student printed.

Nothing here prints or warns: nbgrader scores a test cell that wrote to stderr 0.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

import rnn_forecast  # noqa: F401  (quiets TensorFlow before Keras imports it)
from autograder.engine.registry import check
from rnn_forecast.metrics import rmse
from rnn_forecast.models import CELLS
from rnn_forecast.training_record import record_of, training_problem
from rnn_forecast.windows import TEST_WINDOWS, WINDOW, course_split, from_scale_free, to_scale_free

import keras

CALIBRATION_PATH = Path(__file__).resolve().parent / "calibration.json"


#: Exercise 1's answers, kept only as the number of gates and a digest of the names in the
#: normal form of :func:`normalise_gates` (:func:`gates_digest`): the check can tell a right
#: answer from a wrong one without the answer being readable, in the student's kernel or here.
GATES = {
    "LSTM": (3, "e141a8bd78cb6a3570bfb668fb27e432f86c67041173b7f0e8de29807e424d00"),
    "GRU": (2, "1382ce553aac997c2283d0694093a19b19727694f551892fa944f0db5a761f08"),
}

INPUT_SHAPE = (None, WINDOW, 1)
OUTPUT_SHAPE = (None, 1)

#: What :func:`rnn_forecast.models.build_model` puts after the recurrent layers, as
#: :func:`describe_head` describes it.
COURSE_HEAD = ["Dense(16, relu)", "Dense(1)"]


class StepNotDone(AssertionError):
    """A check found a step not done at all; ``answer`` is the variable that step stores.

    The message still says what was found, for whoever reads it without the exercise's
    steps; :func:`autograder.steps.failure_sentence` words it as the step's own sentence.
    """

    def __init__(self, message: str, answer: str):
        super().__init__(message)
        self.answer = answer


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


def describe_head(model) -> list[str]:
    """The layers after the model's last recurrent layer: ``["Dense(16, relu)", "Dense(1)"]``."""
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    last = max((i for i, layer in enumerate(layers) if layer in recurrent_layers(model)), default=-1)
    described = []
    for layer in layers[last + 1 :]:
        if type(layer) is keras.layers.Dense:
            activation = getattr(layer.activation, "__name__", "")
            shown = f", {activation}" if activation and activation != "linear" else ""
            described.append(f"Dense({layer.units}{shown})")
        else:
            described.append(_class_name(layer))
    return described


def _never_compiled(model) -> bool:
    return getattr(model, "optimizer", None) is None


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


def gates_digest(cell: str, names) -> str:
    """The SHA-256 of ``cell`` and the normal form of ``names``: what :data:`GATES` keeps.

    >>> gates_digest("GRU", ["Update", "reset gate"]) == gates_digest("GRU", {"reset", "update"})
    True
    """
    return hashlib.sha256(f"{cell}:{','.join(normalise_gates(names))}".encode()).hexdigest()


@check
def check_gates(answer, cell: str) -> None:
    """The student's gate names for ``cell`` (``"LSTM"`` or ``"GRU"``), in any case and order."""
    count, digest = GATES[cell]
    found = normalise_gates(answer)
    if gates_digest(cell, found) != digest:
        shown = _join(found, "and") if found else "no names"
        raise AssertionError(f"expected the {cell}'s {count} gates (any case and order), found {shown}")


def gru_parameter_count(units: int = 32, features: int = 1) -> int:
    """Parameters of a Keras GRU layer with ``units`` units on ``features`` input features."""
    layer = keras.layers.GRU(units)
    layer.build((None, WINDOW, features))
    return int(layer.count_params())


@check
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


@check
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


@check
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


@check
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


@check
def check_shapes_and_parameters(model, parameters: int) -> None:
    """Input ``(None, 12, 1)``, output ``(None, 1)`` and exactly ``parameters`` weights."""
    _require_model(model)
    try:
        input_shape = _shape(model.input_shape)
        output_shape = _shape(model.output_shape)
    except (AttributeError, ValueError):
        raise AssertionError(
            f"expected a model built on keras.Input(({WINDOW}, 1)), found one with no defined input shape"
        ) from None
    if input_shape != INPUT_SHAPE:
        raise AssertionError(f"expected the input shape {INPUT_SHAPE}, found {input_shape}")
    if output_shape != OUTPUT_SHAPE:
        raise AssertionError(f"expected the output shape {OUTPUT_SHAPE}, found {output_shape}")
    found = int(model.count_params())
    if found != parameters:
        raise AssertionError(
            f"expected {parameters:,} parameters in the model, found {found:,}{_head_hint(model)}"
        )


def _head_hint(model) -> str:
    """Why a parameter count is off when the course's head is not there (a tutorial's model)."""
    head = describe_head(model)
    if head == COURSE_HEAD:
        return ""
    if head == COURSE_HEAD[1:]:
        hint = "the `Dense(16, relu)` layer that `build_model` puts before `Dense(1)` is missing"
    else:
        found = _join(head) if head else "nothing"
        hint = f"after the recurrent layers come {found}, where `build_model` puts `Dense(16, relu)` then `Dense(1)`"
    if _never_compiled(model):
        hint += ", and the model was never compiled"
    return f": {hint}; build it with `build_model`, which adds that head and compiles the model"


# ---------------------------------------------------------------- training


#: Set by the verifier: the one place where a model's recorded training is replayed at grading
#: time. In the student's kernel during ``nbgrader autograde`` the check's own verdict is only
#: compared with the verifier's, so it leaves the replay (a second or two per model) out.
REPLAY_IN_THIS_PROCESS = False


@lru_cache(maxsize=1)
def training_data() -> dict[str, tuple]:
    """The data a course training may use: the scale-free training windows, or the raw ones
    (the original recipe's mistake, which the test RMSE then catches)."""
    split = course_split()
    train = to_scale_free(split.x_train, split.y_train)
    return {
        "the scale-free training windows": (train.x, train.y),
        "the raw training windows": (split.x_train, split.y_train),
    }


def _training_verdict(model) -> str | None:
    """Why ``model``'s training is not confirmed, or None; computed once per record state."""
    replay = REPLAY_IN_THIS_PROCESS or os.environ.get("NBGRADER_EXECUTION") != "autograde"
    return training_problem(model, training_data(), replay=replay)


@check
def check_trained(model) -> None:
    """The model was trained by the course's ``fit``, from a freshly built model, on the
    training windows: its recorded training replays (:mod:`rnn_forecast.training_record`).

    A model never trained fails with :class:`StepNotDone` for the step that stores ``trained``.
    """
    _require_model(model)
    if _never_compiled(model):
        raise AssertionError(
            "expected a model compiled and trained with the course's `fit`, found one that was never "
            "compiled: build it with `build_model`, which compiles it with Adam and mean squared error"
        )
    if record_of(model) is None:
        if _optimizer_steps(model) == 0:
            raise StepNotDone("expected a trained model, found that `model` was never trained", "trained")
        raise AssertionError(
            "expected a model trained with the course's `fit`, found one trained some other way, such as "
            "Keras's own `model.fit`, which keeps no record the grader can replay: build the model again and "
            "train it with `fit(model, train.x, train.y)` from `rnn_forecast.models`"
        )
    problem = _training_verdict(model)
    if problem is not None:
        raise AssertionError(f"expected a model trained with the course's `fit`, {problem}")


def _optimizer_steps(model) -> int:
    try:
        return int(model.optimizer.iterations.numpy())
    except Exception:  # noqa: BLE001  (an optimizer not built yet has taken no step)
        return 0


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
            f"expected a model that predicts from windows of shape ({TEST_WINDOWS}, {WINDOW}, 1), "
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


@check(notes=rmse_suspicions)
def check_test_rmse(model, exercise: str) -> None:
    """The test RMSE, recomputed by the grader, is within the calibrated bound, for a model
    whose training the grader confirmed (a model set by hand to copy the last month would
    otherwise pass: on this series the naive forecast is as good as a trained network)."""
    _require_model(model)
    found = graded_rmse(model)
    problem = _training_verdict(model)
    if problem is not None:
        raise AssertionError(f"expected the test error of a model trained with the course's `fit`, {problem}")
    bound = rmse_bound(exercise)
    if not math.isfinite(found) or found > bound:
        raise AssertionError(
            f"expected a test RMSE of at most {bound:,.1f} index points on the {TEST_WINDOWS} test windows, "
            f"found {found:,.1f}"
        )


#: How far a stored test RMSE may be from the grader's own computation: rounding to a tenth,
#: or predicting with ``model.predict`` rather than calling the model, stays well inside.
REPORTED_RMSE_TOLERANCE = 0.5


@check
def check_reported_rmse(reported, model) -> None:
    """The test RMSE the student stored is one number, in index points, and is ``model``'s.

    Not graded (0 points): it names the step that computes the RMSE until it is done, and
    catches the common slip of an error left in ratios. The grader computes the number
    again from the data, as the hidden test does.
    """
    numeric = (int, float, np.integer, np.floating)
    if isinstance(reported, bool) or not isinstance(reported, numeric):
        raise AssertionError(
            f"expected the test RMSE as one number in index points, found {type(reported).__name__} "
            f"{_short(reported)}"
        )
    _require_model(model)
    found, value = graded_rmse(model), float(reported)
    if math.isfinite(value) and abs(value - found) <= REPORTED_RMSE_TOLERANCE:
        return
    hint = ""
    if math.isfinite(value) and abs(value) < 1 <= found:
        hint = (
            ": that is a ratio, so multiply the predictions back to index points with "
            "`from_scale_free(ratios, test.last)` before comparing them with `split.y_test`"
        )
    raise AssertionError(
        f"expected the test RMSE of `model` in index points, {found:,.1f} as the grader computes it, "
        f"found {value:,.4g}{hint}"
    )
