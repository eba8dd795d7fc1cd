"""The autograder's checks, called directly (no nbgrader): what passes, and the one
sentence a student reads when something fails."""

import json
import re

import numpy as np
import pytest

from autograder import checks, steps
from autograder.calibrate import bound_for
from autograder.checks import (
    StepNotDone,
    check_gates,
    check_gru_parameters,
    check_recurrent_layers,
    check_reported_rmse,
    check_return_sequences,
    check_shapes_and_parameters,
    check_test_rmse,
    check_trained,
    check_units,
)
from autograder.reference import LAYERS, STRUCTURE
from rnn_forecast.models import build_model, fit, set_seed
from rnn_forecast.windows import to_scale_free

import keras


def fails_with(message, check, *args):
    """``check(*args)`` raises AssertionError with exactly ``message``, one sentence."""
    with pytest.raises(AssertionError) as caught:
        check(*args)
    text = str(caught.value)
    assert text == message
    assert "\n" not in text, f"not one line: {text!r}"
    assert ". " not in text, f"not one sentence: {text!r}"


@pytest.fixture(scope="module")
def gru8():
    set_seed(0)
    return build_model(keras.layers.GRU(8))


@pytest.fixture(scope="module")
def lstm32():
    set_seed(0)
    return build_model(keras.layers.LSTM(32))


@pytest.fixture(scope="module")
def trained_gru8(split):
    """A GRU(8) after 2 epochs: trained, though not well."""
    set_seed(0)
    model = build_model(keras.layers.GRU(8))
    train = to_scale_free(split.x_train, split.y_train)
    fit(model, train.x, train.y, epochs=2)
    return model


# ---------------------------------------------------------------- exercise 1


@pytest.mark.parametrize(
    "answer",
    [
        {"forget", "input", "output"},
        ["Output", " INPUT ", "forget"],
        ("forget gate", "Input Gate", "output"),
    ],
)
def test_lstm_gates_accept_any_case_order_and_spaces(answer):
    check_gates(answer, "LSTM")


def test_gru_gates_accept_any_case_order_and_spaces():
    check_gates({" Update", "reset "}, "GRU")


def test_wrong_gates_say_what_was_found():
    fails_with(
        "expected the LSTM's 3 gates (any case and order), found forget and input",
        check_gates,
        {"forget", "input"},
        "LSTM",
    )
    fails_with(
        "expected the GRU's 2 gates (any case and order), found forget and reset",
        check_gates,
        {"reset", "forget"},
        "GRU",
    )
    fails_with("expected the GRU's 2 gates (any case and order), found no names", check_gates, set(), "GRU")


def test_gates_must_be_a_collection_of_strings():
    fails_with(
        "expected a set of gate names such as {'name', 'name'}, found 'reset update'",
        check_gates,
        "reset update",
        "GRU",
    )
    fails_with("expected every gate name to be a string, found 3", check_gates, {"reset", 3}, "GRU")


def test_gru_parameter_count_comes_from_keras():
    assert checks.gru_parameter_count(32, 1) == 3360
    check_gru_parameters(3360)
    check_gru_parameters(np.int64(3360))
    fails_with("expected 3,360 parameters for GRU(32) on 1 feature, found 3,168", check_gru_parameters, 3168)
    fails_with(
        "expected a whole number of parameters for GRU(32) on 1 feature, found float 3360.0",
        check_gru_parameters,
        3360.0,
    )


# ---------------------------------------------------------------- structure


def test_the_reference_models_pass_every_structural_check():
    for exercise, make_layers in LAYERS.items():
        expected = STRUCTURE[exercise]
        model = build_model(*make_layers())
        check_recurrent_layers(model, *expected["classes"])
        check_units(model, *expected["units"])
        check_return_sequences(model, *expected["return_sequences"])
        check_shapes_and_parameters(model, expected["parameters"])


def test_wrong_class_is_named_with_what_was_found(lstm32):
    fails_with("expected a GRU layer, found LSTM with 32 units", check_recurrent_layers, lstm32, "GRU")


def test_a_subclass_is_not_the_class():
    class GRU(keras.layers.LSTM):
        pass

    model = build_model(GRU(8))
    with pytest.raises(AssertionError, match=r"^expected a GRU layer, found .*GRU with 8 units$"):
        check_recurrent_layers(model, "GRU")


def test_a_generic_rnn_around_a_gru_cell_is_not_a_gru():
    model = build_model(keras.layers.RNN(keras.layers.GRUCell(8)))
    fails_with("expected a GRU layer, found RNN", check_recurrent_layers, model, "GRU")


def test_layer_count_is_checked(gru8):
    fails_with(
        "expected 2 recurrent layers, LSTM then LSTM, found GRU with 8 units",
        check_recurrent_layers,
        gru8,
        "LSTM",
        "LSTM",
    )
    dense_only = keras.Sequential([keras.Input((12, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    fails_with("expected a GRU layer, found no recurrent layer", check_recurrent_layers, dense_only, "GRU")


def test_wrong_units(lstm32):
    fails_with("expected a recurrent layer with 8 units, found LSTM with 32 units", check_units, lstm32, 8)
    fails_with(
        "expected 2 recurrent layers with 32 and 16 units, found LSTM with 32 units",
        check_units,
        lstm32,
        32,
        16,
    )


def test_return_sequences():
    wrong = build_model(
        keras.layers.LSTM(32, return_sequences=True),
        keras.layers.LSTM(16, return_sequences=True),
        keras.layers.Flatten(),
    )
    fails_with(
        "expected return_sequences=True then return_sequences=False on the recurrent layers, "
        "found LSTM with 32 units with return_sequences=True then LSTM with 16 units with return_sequences=True",
        check_return_sequences,
        wrong,
        True,
        False,
    )


def test_shapes_and_parameters(lstm32):
    fails_with("expected 425 parameters in the model, found 4,897", check_shapes_and_parameters, lstm32, 425)
    wide = build_model(keras.layers.GRU(8), window=24)
    fails_with(
        "expected the input shape (None, 12, 1), found (None, 24, 1)", check_shapes_and_parameters, wide, 425
    )
    two_outputs = keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(8), keras.layers.Dense(2)])
    fails_with(
        "expected the output shape (None, 1), found (None, 2)", check_shapes_and_parameters, two_outputs, 425
    )


def test_a_tutorials_model_hears_that_the_course_head_is_missing_and_that_it_was_never_compiled():
    """The shape most tutorials use: Input, GRU(8), Dense(1), built by hand."""
    tutorial = keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(8), keras.layers.Dense(1)])
    check_recurrent_layers(tutorial, "GRU")
    check_units(tutorial, 8)
    fails_with(
        "expected 425 parameters in the model, found 273: the `Dense(16, relu)` layer that `build_model` puts "
        "before `Dense(1)` is missing, and the model was never compiled; build it with `build_model`, which "
        "adds that head and compiles the model",
        check_shapes_and_parameters,
        tutorial,
        425,
    )
    tutorial.compile(optimizer="adam", loss="mse")
    with pytest.raises(AssertionError, match=r"is missing; build it with `build_model`"):
        check_shapes_and_parameters(tutorial, 425)


def test_another_head_is_named_beside_the_course_head():
    inputs = keras.Input((12, 1))
    hidden = keras.layers.Dense(4, activation="tanh")(keras.layers.GRU(8)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    assert checks.describe_head(model) == ["Dense(4, tanh)", "Dense(1)"]
    assert checks.describe_head(build_model(keras.layers.GRU(8))) == checks.COURSE_HEAD
    with pytest.raises(AssertionError) as caught:
        check_shapes_and_parameters(model, 425)
    assert str(caught.value).startswith(
        "expected 425 parameters in the model, found 305: after the recurrent layers come Dense(4, tanh) then "
        "Dense(1), where `build_model` puts `Dense(16, relu)` then `Dense(1)`, and the model was never compiled"
    )


def test_not_a_model():
    fails_with("expected `model` to be a Keras model, found NoneType None", check_units, None, 8)
    fails_with(
        "expected `model` to be a Keras model, found GRU <GRU name=gru_x, built=False>",
        check_units,
        keras.layers.GRU(8, name="gru_x"),
        8,
    )


# ---------------------------------------------------------------- training and RMSE


SOME_OTHER_WAY = (
    "expected a model trained with the course's `fit`, found one trained some other way, such as Keras's own "
    "`model.fit`, which keeps no record the grader can replay: build the model again and train it with "
    "`fit(model, train.x, train.y)` from `rnn_forecast.models`"
)


def test_an_untrained_model_is_a_step_not_done(gru8):
    with pytest.raises(StepNotDone) as caught:
        check_trained(gru8)
    assert str(caught.value) == "expected a trained model, found that `model` was never trained"
    assert steps.failure_message("2_gru8", caught.value) == steps.missing_answer("2_gru8", "trained")
    assert steps.failure_message("3_stacked_lstm", caught.value).startswith("Step 2 is not done yet: train")


def test_a_model_trained_by_kerass_own_fit_hears_what_to_do(split):
    set_seed(0)
    model = build_model(keras.layers.GRU(8))
    train = to_scale_free(split.x_train, split.y_train)
    model.fit(train.x, train.y, epochs=1, verbose=0)
    fails_with(SOME_OTHER_WAY, check_trained, model)


def test_faking_optimizer_steps_does_not_fake_training():
    set_seed(1)
    model = build_model(keras.layers.LSTM(4))
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(920)
    model.layers[0].cell.bias.assign(model.layers[0].cell.bias + 0.01)
    fails_with(SOME_OTHER_WAY, check_trained, model)


def test_a_model_set_by_hand_after_training_fails_both_training_and_test_error(split):
    """The naive forecast in a network's clothes: the last layer answers "the last month"."""
    set_seed(0)
    model = build_model(keras.layers.GRU(8))
    train = to_scale_free(split.x_train, split.y_train)
    fit(model, train.x, train.y, epochs=2)
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])
    assert checks.graded_rmse(model) < checks.rmse_bound("gru8")  # it would pass on its error alone
    changed = (
        "found that its weights are not where its recorded training ended (were they changed after `fit`?)"
    )
    fails_with(f"expected a model trained with the course's `fit`, {changed}", check_trained, model)
    fails_with(
        f"expected the test error of a model trained with the course's `fit`, {changed}",
        check_test_rmse,
        model,
        "gru8",
    )


def test_an_uncompiled_model_fails_the_training_check():
    model = keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(8), keras.layers.Dense(1)])
    fails_with(
        "expected a model compiled and trained with the course's `fit`, found one that was never compiled: "
        "build it with `build_model`, which compiles it with Adam and mean squared error",
        check_trained,
        model,
    )


def test_a_trained_model_passes_the_training_check(trained_gru8):
    check_trained(trained_gru8)


def test_the_calibration_file_separates_reference_runs_from_controls():
    calibration = json.loads(checks.CALIBRATION_PATH.read_text())
    assert set(calibration["exercises"]) == set(LAYERS)
    assert len(calibration["seeds"]) >= 10
    for exercise, entry in calibration["exercises"].items():
        assert len(entry["rmse_by_seed"]) == len(calibration["seeds"]), exercise
        assert max(entry["rmse_by_seed"]) <= entry["max_rmse"] < min(entry["controls"].values()), exercise
        assert entry["max_rmse"] == bound_for(entry["rmse_by_seed"])


def test_a_model_trained_on_raw_prices_fails_the_rmse_bound_in_one_sentence(split):
    set_seed(0)
    model = build_model(keras.layers.GRU(8))
    fit(model, split.x_train, split.y_train, epochs=2)
    check_trained(model)  # trained, on the wrong inputs: only its test error shows it
    with pytest.raises(AssertionError) as caught:
        check_test_rmse(model, "gru8")
    assert re.fullmatch(
        r"expected a test RMSE of at most [\d,.]+ index points on the 184 test windows, found [\d,.]+",
        str(caught.value),
    )


def test_a_model_that_cannot_read_the_windows_fails_in_one_sentence():
    model = keras.Sequential([keras.Input((12, 2)), keras.layers.GRU(8), keras.layers.Dense(1)])
    with pytest.raises(
        AssertionError,
        match=r"^expected a model that predicts from windows of shape \(184, 12, 1\), "
        r"found that calling it raised \w+$",
    ):
        check_test_rmse(model, "gru8")


def test_the_grader_recomputes_rmse_from_the_data(trained_gru8, split):
    """Same number as the course's own recipe, whatever the student's variables say."""
    from rnn_forecast import from_scale_free, rmse
    from rnn_forecast.models import predict

    test = to_scale_free(split.x_test)
    own = rmse(split.y_test, from_scale_free(predict(trained_gru8, test.x), test.last))
    assert checks.graded_rmse(trained_gru8) == pytest.approx(own, rel=1e-5)


def test_the_reported_rmse_must_be_the_models_in_index_points(trained_gru8, split):
    from rnn_forecast import from_scale_free, rmse
    from rnn_forecast.models import predict

    test = to_scale_free(split.x_test)
    ratios = predict(trained_gru8, test.x)
    right = rmse(split.y_test, from_scale_free(ratios, test.last))
    check_reported_rmse(right, trained_gru8)
    check_reported_rmse(round(right, 1), trained_gru8)
    check_reported_rmse(np.float32(right), trained_gru8)
    in_ratios = rmse(split.y_test / test.last, ratios)
    fails_with(
        f"expected the test RMSE of `model` in index points, {checks.graded_rmse(trained_gru8):,.1f} as the "
        f"grader computes it, found {in_ratios:.4g}: that is a ratio, so multiply the predictions back to index "
        "points with `from_scale_free(ratios, test.last)` before comparing them with `split.y_test`",
        check_reported_rmse,
        in_ratios,
        trained_gru8,
    )
    with pytest.raises(
        AssertionError, match=r"^expected the test RMSE of `model` in index points, [\d,.]+ as "
    ):
        check_reported_rmse(right + 10, trained_gru8)
    fails_with(
        "expected the test RMSE as one number in index points, found str '121.6'",
        check_reported_rmse,
        "121.6",
        trained_gru8,
    )


def test_checks_print_nothing_and_warn_nothing(capfd, gru8, lstm32, recwarn):
    for call in (
        lambda: check_recurrent_layers(lstm32, "GRU"),
        lambda: check_units(lstm32, 8),
        lambda: check_trained(gru8),
        lambda: check_test_rmse(gru8, "gru8"),
        lambda: check_gates({"x"}, "GRU"),
        lambda: check_reported_rmse(0.03, gru8),
        lambda: check_shapes_and_parameters(
            keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(8), keras.layers.Dense(1)]), 425
        ),
    ):
        with pytest.raises(AssertionError):
            call()
    check_shapes_and_parameters(gru8, 425)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert len(recwarn) == 0
