"""The pieces of trusted grading, without nbgrader: test-cell parsing, hand-over, verifier.

The whole pipeline, with real nbgrader and hostile submissions, is in
``tests/test_hostile_submissions.py``.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile

import nbformat
import numpy as np
import pytest

from autograder import checks, steps
from autograder.engine import handover, registry, sandbox, verifier
from autograder.engine.test_cells import CheckCall, UnverifiableTestCell, parse_test_cell
from autograder.testkit.sample_class import ASSIGNMENT, AUTOGRADED, NOTEBOOKS
from rnn_forecast.models import build_model, fit, set_seed
from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.windows import course_split, to_scale_free

import keras

# ---------------------------------------------------------------- test cells


def graded_test_cells():
    for name in NOTEBOOKS:
        notebook = nbformat.read(REPOSITORY_ROOT / "solutions" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                yield meta["grade_id"], cell.source


def test_every_graded_test_cell_of_the_exercises_can_be_verified():
    parsed = {grade_id: parse_test_cell(source) for grade_id, source in graded_test_cells()}
    assert set(parsed) == set(AUTOGRADED)
    names = set().union(*(call.answer_names() for calls in parsed.values() for call in calls))
    assert names == {"lstm_gates", "gru_gates", "gru32_parameters", "model", "gru8_rmse", "stacked_rmse"}
    assert all(call.function in registry.registered() for calls in parsed.values() for call in calls)


def test_the_parser_and_the_verifier_read_the_same_registry_of_checks():
    """The parser reads the @check marks from the source; the verifier imports them."""
    runtime = registry.registered()
    assert registry.declared_names() == set(runtime)
    assert {"check_units", "check_test_rmse"} <= set(runtime)
    assert "rmse_bound" not in runtime
    assert "graded_rmse" not in runtime
    assert runtime["check_test_rmse"].notes is checks.rmse_suspicions
    assert all(check.function is getattr(checks, name) for name, check in runtime.items())


def test_a_check_call_is_parsed_into_answers_and_literals():
    (call,) = parse_test_cell(
        "from autograder.checks import check_units\n\n# hidden\ncheck_units(model, 32, 16)\n"
    )
    assert call == CheckCall("check_units", (("answer", "model"), ("value", 32), ("value", 16)), ())
    assert call.request() == {
        "function": "check_units",
        "args": [{"answer": "model"}, {"value": 32}, {"value": 16}],
        "kwargs": {},
    }


@pytest.mark.parametrize(
    "source",
    [
        "assert model is not None",
        "from autograder.checks import check_units\ncheck_units(model.layers[0], 8)",
        "from autograder import checks\nchecks.check_units(model, 8)",
        "from autograder.checks import check_units\nx = 1\ncheck_units(model, 8)",
        "from autograder.checks import check_units\n",
        "from autograder.checks import rmse_bound\nrmse_bound(gru8)",
        "def (",
    ],
)
def test_a_test_cell_of_any_other_form_cannot_be_verified(source):
    with pytest.raises(UnverifiableTestCell):
        parse_test_cell(source)


# ---------------------------------------------------------------- hand-over


@pytest.mark.parametrize(
    "value",
    [
        {"forget", "input"},
        ["a", 1],
        (1, 2.5),
        frozenset({"x"}),
        {"k": [None, True]},
        3360,
        -0.0,
        "gate",
    ],
)
def test_plain_answers_come_back_as_they_were(value):
    tagged = json.loads(json.dumps(handover.encode(value)))
    back = handover.decode(tagged)
    assert back == value
    assert type(back) is type(value)


def test_a_numpy_integer_stays_an_integer_and_nan_a_float():
    assert type(handover.decode(handover.encode(np.int64(3360)))) is np.int64
    assert np.isnan(handover.decode(handover.encode(float("nan"))))


def test_an_object_comes_back_as_its_type_name_and_repr():
    class Gates:
        def __repr__(self):
            return "<my gates>"

    back = handover.decode(handover.encode(Gates()))
    assert type(back).__name__ == "Gates"
    assert repr(back) == "<my gates>"


@pytest.mark.parametrize(
    "tagged", [{"type": "pickle", "data": "gASV"}, {"type": "int"}, [1], {"type": "keras", "data": "!"}]
)
def test_anything_else_is_refused_with_a_reason(tagged):
    with pytest.raises(handover.HandoverError):
        handover.decode(tagged)


# ---------------------------------------------------------------- the verifier's judgement


def keras_file(model) -> bytes:
    return base64.b64decode(handover.encode(model)["data"])


def test_the_verdict_says_what_the_check_says_in_the_kernel():
    model = build_model(keras.layers.LSTM(8))
    with pytest.raises(AssertionError) as in_kernel:
        checks.check_recurrent_layers(model, "GRU")
    request = {
        "calls": [{"function": "check_recurrent_layers", "args": [{"answer": "model"}, {"value": "GRU"}]}],
        "answers": {"model": handover.encode(model)},
    }
    verdict = verifier.judge(request, {})
    assert not verdict.passed
    assert verdict.message == str(in_kernel.value)


def test_a_missing_answer_fails_with_a_plain_sentence():
    request = {
        "notebook": "1_gates",
        "calls": [{"function": "check_gates", "args": [{"answer": "lstm_gates"}, {"value": "LSTM"}]}],
        "answers": {"lstm_gates": handover.MISSING},
    }
    verdict = verifier.judge(request, {})
    assert not verdict.passed
    assert verdict.message == steps.missing_answer("1_gates", "lstm_gates")


def test_only_the_course_checks_can_be_called():
    verdict = verifier.judge({"calls": [{"function": "rmse_bound", "args": []}], "answers": {}}, {})
    assert not verdict.passed
    assert "no check called rmse_bound" in verdict.message


class Custom(keras.layers.Dense):
    pass


def test_a_model_with_a_class_from_outside_keras_is_refused():
    model = keras.Sequential([keras.Input((12, 1)), keras.layers.Flatten(), Custom(1)])
    with pytest.raises(verifier.UntrustedModel, match="not a Keras class"):
        verifier.load_keras_file(keras_file(model))


def test_a_model_file_with_extra_parts_is_refused():
    data = io.BytesIO(keras_file(build_model(keras.layers.GRU(8))))
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("payload.py", "import os")
    with pytest.raises(verifier.UntrustedModel, match="unexpected"):
        verifier.load_keras_file(data.getvalue())


def test_a_handed_over_model_arrives_with_its_training_record():
    split = course_split()
    train = to_scale_free(split.x_train, split.y_train)
    set_seed(0)
    model = build_model(keras.layers.GRU(8))
    fit(model, train.x, train.y, epochs=2)
    handed = handover.decode(json.loads(json.dumps(handover.encode(model))))
    loaded = verifier.load_handed_over_model(handed)
    checks.check_trained(loaded)
    checks.check_recurrent_layers(loaded, "GRU")
    assert int(loaded.optimizer.iterations.numpy()) == 2 * 23


def test_a_functional_model_is_loaded_and_judged_like_a_sequential_one():
    """keras.Model(inputs, outputs) names its links between layers `__keras_tensor__`: no class."""
    inputs = keras.Input((12, 1))
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.GRU(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="adam", loss="mse")
    loaded = verifier.load_keras_file(keras_file(model))
    checks.check_recurrent_layers(loaded, "GRU")
    checks.check_units(loaded, 8)
    checks.check_shapes_and_parameters(loaded, 425)


@pytest.mark.slow  # starts the sandboxed verifier, which loads Keras
@pytest.mark.skipif(sandbox.sandbox_problem() is not None, reason=f"no sandbox: {sandbox.sandbox_problem()}")
def test_the_verifier_process_runs_sandboxed_and_answers():
    process = verifier.Verifier(sandboxed=True)
    try:
        right = process.judge(
            [{"function": "check_gates", "args": [{"answer": "gates"}, {"value": "GRU"}]}],
            {"gates": handover.encode({"Reset", "update gate"})},
        )
        wrong = process.judge(
            [
                {
                    "function": "check_gru_parameters",
                    "args": [{"answer": "n"}],
                    "kwargs": {"units": {"value": 32}},
                }
            ],
            {"n": handover.encode(3000)},
        )
    finally:
        process.close()
    assert right.passed
    assert not wrong.passed
    assert wrong.message == "expected 3,360 parameters for GRU(32) on 1 feature, found 3,000"


def test_two_saves_of_one_model_are_loaded_once_and_a_changed_model_again():
    model = build_model(keras.layers.GRU(8))
    first, second = keras_file(model), keras_file(model)
    assert verifier.model_fingerprint(first) == verifier.model_fingerprint(second)
    model.fit(np.ones((8, 12, 1)), np.ones(8), epochs=1, verbose=0)
    assert verifier.model_fingerprint(keras_file(model)) != verifier.model_fingerprint(first)
