"""Lesson 3's rolling-origin evaluation: its folds, its baselines, and its results file."""

import itertools
import json

import numpy as np
import pytest

from rnn_forecast.comparison import autoregression_score, drift_score, naive_score
from rnn_forecast.metrics import mae, rmse
from rnn_forecast.rolling_origin import (
    HISTORY,
    RESULTS_PATH,
    SEEDS,
    SETTINGS,
    VALIDATED,
    VALIDATION,
    ResultsFileError,
    baseline_forecasts,
    course_windows,
    fold_data,
    load_results,
    main,
    predictions,
    rolling_baselines,
    rolling_folds,
    rolling_predictions,
    validated_setting,
)


def test_folds_cover_the_test_period_in_order_each_after_its_own_history():
    folds = rolling_folds()
    assert [fold.number for fold in folds] == [1, 2, 3, 4, 5]
    assert folds[0].test[0] == 721
    assert folds[-1].test[1] == 905
    for fold, after in itertools.pairwise(folds):
        assert fold.test[1] == after.test[0], "the blocks follow each other without gap or overlap"
    for fold in folds:
        assert fold.train[1] == fold.validation[0]
        assert fold.validation[1] == fold.test[0], "validation ends where the fold's test block starts"
        assert fold.validation[1] - fold.train[0] == HISTORY
        assert fold.validation[1] - fold.validation[0] == VALIDATION
        assert 36 <= fold.test[1] - fold.test[0] <= 37


def test_a_history_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="cannot hold a history of 800"):
        rolling_folds(history=800)


def test_fold_one_is_the_course_split_with_its_last_120_windows_for_validation(split):
    x, y = course_windows()
    data = fold_data(rolling_folds()[0], x, y)
    np.testing.assert_array_equal(data.x_history, split.x_train)
    np.testing.assert_array_equal(data.train.x, split.x_train[:601] / split.x_train[:601, -1:, :])
    np.testing.assert_array_equal(data.validation.y, split.y_train[601:] / split.x_train[601:, -1, 0])
    np.testing.assert_array_equal(data.x_test, split.x_test[:37])


def test_fold_one_baselines_are_the_comparisons_on_its_block(split):
    x, y = course_windows()
    data = fold_data(rolling_folds()[0], x, y)
    forecasts = baseline_forecasts(data.x_history, data.y_history, split.x_test)  # all 184 test months
    for name, score in [
        ("naive", naive_score),
        ("drift", drift_score),
        ("autoregression", autoregression_score),
    ]:
        expected = score(split)
        assert rmse(split.y_test, forecasts[name]) == pytest.approx(expected.rmse), name
        assert mae(split.y_test, forecasts[name]) == pytest.approx(expected.mae), name


def test_baselines_are_refitted_per_fold_from_that_folds_history_only():
    x, y = course_windows()
    folds = rolling_folds()
    last = fold_data(folds[-1], x, y)
    forecasts = baseline_forecasts(last.x_history, last.y_history, last.x_test)
    changed = y.copy()
    changed[folds[-1].test[0] :] *= 2  # the fold's own test months cannot change its forecasts
    again = fold_data(folds[-1], x, changed)
    for name, forecast in baseline_forecasts(again.x_history, again.y_history, again.x_test).items():
        np.testing.assert_array_equal(forecast, forecasts[name])
    first = fold_data(folds[0], x, y)
    drift_first = baseline_forecasts(first.x_history, first.y_history, last.x_test)["drift"]
    assert not np.allclose(drift_first, forecasts["drift"]), "a later fold learns from a later history"


def test_a_missing_or_broken_results_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ResultsFileError, match="make rolling-origin"):
        load_results(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ResultsFileError, match="not valid JSON"):
        load_results(broken)
    incomplete = json.loads(RESULTS_PATH.read_text())
    incomplete["runs"] = incomplete["runs"][1:]
    broken.write_text(json.dumps(incomplete))
    with pytest.raises(ResultsFileError, match="incomplete"):
        load_results(broken)


def test_the_committed_results_are_complete_and_made_with_the_current_settings():
    results = load_results(RESULTS_PATH)
    settings = results["settings"]
    assert settings["seeds"] == list(SEEDS)
    assert settings["cells"] == ["SimpleRNN", "GRU", "LSTM"]
    assert (settings["history_windows"], settings["validation_windows"]) == (HISTORY, VALIDATION)
    assert [tuple(fold["test"]) for fold in settings["folds"]] == [fold.test for fold in rolling_folds()]
    assert settings["training"] == {
        name: {
            "learning_rate": s.learning_rate,
            "batch_size": s.batch_size,
            "epochs": s.epochs,
            "patience": s.patience,
        }
        for name, s in SETTINGS.items()
    }
    for run in results["runs"]:
        epochs = settings["training"][run["setting"]]["epochs"]
        for cell in settings["cells"]:
            for seed in settings["seeds"]:
                model = run["models"][cell][str(seed)]
                assert 1 <= model["best_epoch"] <= model["epochs_run"] <= epochs
                assert len(model["validation_mse"]) == model["epochs_run"]
                assert min(model["validation_mse"]) == model["validation_mse"][model["best_epoch"] - 1]


def test_rolling_predictions_take_each_folds_block_from_the_setting_validation_chose():
    results = load_results(RESULTS_PATH)
    pooled = rolling_predictions(results, "GRU", 1)
    assert pooled.shape == (184,)
    start = 0
    for fold in results["settings"]["folds"]:
        chosen = validated_setting(results, fold["number"], "GRU", 1)
        lowest = {
            run["setting"]: min(run["models"]["GRU"]["1"]["validation_mse"])
            for run in results["runs"]
            if run["fold"] == fold["number"]
        }
        assert lowest[chosen] == min(lowest.values())
        block = predictions(results, chosen, fold["number"], "GRU", 1)
        np.testing.assert_array_equal(pooled[start : start + len(block)], block)
        start += len(block)
    np.testing.assert_array_equal(
        rolling_predictions(results, "GRU", 1, "default")[:37], predictions(results, "default", 1, "GRU", 1)
    )
    assert VALIDATED not in results["settings"]["training"]


def test_rolling_baselines_cover_the_184_test_months_and_start_with_fold_one(split):
    x, y = course_windows()
    forecasts = rolling_baselines(x, y, load_results(RESULTS_PATH))
    assert {name: forecast.shape for name, forecast in forecasts.items()} == {
        "naive": (184,),
        "drift": (184,),
        "autoregression": (184,),
    }
    np.testing.assert_array_equal(forecasts["naive"], split.x_test[:, -1, 0])


@pytest.mark.slow  # trains a small rolling-origin run end to end, then the lesson's plain fit
def test_the_script_trains_fold_one_exactly_as_the_lessons_plain_keras_fit(tmp_path):
    """The script's fit_together models are the lesson's train_forecaster models, epoch for epoch."""
    from test_lesson_inline import keras_forecaster

    from rnn_forecast.models import CELLS, predict, set_seed

    output = tmp_path / "rolling.json"
    main(["--epochs", "3", "--seeds", "2", "--folds", "2", "--settings", "default", "--output", str(output)])
    results = load_results(output)
    x, y = course_windows()
    fold = rolling_folds(folds=2)[0]
    data = fold_data(fold, x, y)
    lesson = keras_forecaster()
    lesson["MAX_EPOCHS"] = 3
    for cell, layer in CELLS.items():
        set_seed(2)
        model, history = lesson["train_forecaster"](
            layer(32), data.train.x, data.train.y, seed=2, validation=(data.validation.x, data.validation.y)
        )
        ratios = predict(model, x[721:] / x[721:, -1:, :])
        np.testing.assert_allclose(
            predictions(results, "default", 1, cell, 2, all_test=True), ratios, atol=2e-6
        )
        np.testing.assert_allclose(
            results["runs"][0]["models"][cell]["2"]["validation_mse"], history.history["val_loss"], rtol=1e-4
        )
