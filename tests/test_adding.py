"""The adding problem, its baselines, and the memory-horizon experiment's results file."""

import json

import numpy as np
import pytest

from rnn_forecast import adding
from rnn_forecast.memory_horizon import (
    DATA_SEED,
    RESULTS_PATH,
    SAVED_SEED,
    SAVED_STEPS,
    ResultsFileError,
    load_results,
    load_saved_model,
    main,
)


def test_two_markers_one_per_half_and_the_target_is_their_sum():
    x, y = adding.adding_problem(400, 30, np.random.default_rng(0))
    values, markers = x[..., 0], x[..., 1]
    assert x.dtype == np.float32
    assert x.shape == (400, 30, 2)
    assert (markers[:, :15].sum(axis=1) == 1).all()
    assert (markers[:, 15:].sum(axis=1) == 1).all()
    assert np.allclose(y, (values * markers).sum(axis=1))


def test_baselines_on_a_hand_computed_case():
    # steps 4: marked values 0.2 (first half) and 0.9 (second half), target 1.1
    x = np.array([[[0.2, 1], [0.5, 0], [0.9, 1], [0.3, 0]]], dtype="float32")
    scores = adding.baselines(x, np.array([1.1]))
    assert scores["mean"] == pytest.approx(0.1**2)
    assert scores["recent marker"] == pytest.approx((1.1 - 1.4) ** 2)


def test_baselines_approach_their_theory_on_many_sequences():
    x, y = adding.adding_problem(200_000, 10, np.random.default_rng(1))
    scores = adding.baselines(x, y)
    assert scores["mean"] == pytest.approx(1 / 6, rel=0.02)
    assert scores["recent marker"] == pytest.approx(1 / 12, rel=0.02)


@pytest.mark.slow  # runs a small memory-horizon experiment end to end
def test_the_experiment_writes_its_settings_every_curve_and_the_models_lesson_4_opens(tmp_path):
    output, models = tmp_path / "horizon.json", tmp_path / "models"
    main(
        [
            "--lengths",
            "6",
            str(SAVED_STEPS),
            "--seeds",
            "0",
            "1",
            "--epochs",
            "2",
            "--train-sequences",
            "64",
            "--test-sequences",
            "32",
            "--output",
            str(output),
            "--models-dir",
            str(models),
        ]
    )
    results = load_results(output)
    assert results["settings"]["lengths"] == [6, SAVED_STEPS]
    assert results["settings"]["seeds"] == [0, 1]
    assert results["results"][1]["saved_models"] == {
        cell: f"{cell}.weights.h5" for cell in ("SimpleRNN", "GRU", "LSTM")
    }
    x, y = adding.adding_problem(32, SAVED_STEPS, np.random.default_rng(DATA_SEED))
    for cell in ("SimpleRNN", "GRU", "LSTM"):
        mse = np.mean((load_saved_model(cell, models).predict(x, verbose=0)[:, 0] - y) ** 2)
        assert mse == pytest.approx(results["results"][1]["test_mse"][cell][str(SAVED_SEED)][-1], abs=1e-5)
    assert {"date", "python", "tensorflow", "keras", "numpy", "machine", "cores", "seconds"} <= set(
        results["environment"]
    )
    for entry in results["results"]:
        assert set(entry["test_mse"]) == {"SimpleRNN", "GRU", "LSTM"}
        assert all(len(curve) == 2 for cell in entry["test_mse"].values() for curve in cell.values())


def test_the_committed_results_are_complete_and_made_with_the_current_settings():
    results = load_results(RESULTS_PATH)
    settings = results["settings"]
    assert (settings["epochs"], settings["learning_rate"], settings["units"], settings["batch_size"]) == (
        adding.EPOCHS,
        adding.LEARNING_RATE,
        adding.UNITS,
        adding.BATCH_SIZE,
    )
    assert (settings["train_sequences"], settings["test_sequences"], settings["data_seed"]) == (
        adding.TRAIN_SEQUENCES,
        adding.TEST_SEQUENCES,
        DATA_SEED,
    )
    assert len(settings["seeds"]) >= 3
    assert len(settings["lengths"]) >= 4
    assert SAVED_STEPS in settings["lengths"]


def test_the_committed_models_are_the_ones_the_results_file_scored():
    """Lesson 4 opens these models: they must be the seed-0 models whose curves the file holds."""
    results = load_results(RESULTS_PATH)
    entry = next(entry for entry in results["results"] if entry["steps"] == SAVED_STEPS)
    x, y = adding.adding_problem(
        results["settings"]["test_sequences"], SAVED_STEPS, np.random.default_rng(DATA_SEED)
    )
    for cell in results["settings"]["cells"]:
        mse = np.mean((load_saved_model(cell).predict(x, verbose=0)[:, 0] - y) ** 2)
        assert mse == pytest.approx(entry["test_mse"][cell][str(SAVED_SEED)][-1], abs=1e-5), cell


def test_a_missing_or_broken_results_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ResultsFileError, match="make memory-horizon"):
        load_results(tmp_path / "absent.json")
    with pytest.raises(ResultsFileError, match="make memory-horizon"):
        load_saved_model("GRU", tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"settings": {"lengths": [10]}, "results": []}))
    with pytest.raises(ResultsFileError, match="incomplete"):
        load_results(broken)
