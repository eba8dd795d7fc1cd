"""The adding problem, its baselines, and the memory-horizon experiment's results file."""

import json

import numpy as np
import pytest

from rnn_forecast import adding
from rnn_forecast.memory_horizon import RESULTS_PATH, ResultsFileError, load_results, main


def test_two_markers_one_per_half_and_the_target_is_their_sum():
    x, y = adding.adding_problem(400, 30, np.random.default_rng(0))
    values, markers = x[..., 0], x[..., 1]
    assert x.dtype == np.float32 and x.shape == (400, 30, 2)
    assert (markers[:, :15].sum(axis=1) == 1).all() and (markers[:, 15:].sum(axis=1) == 1).all()
    assert np.allclose(y, (values * markers).sum(axis=1))


def test_baselines_on_a_hand_computed_case():
    # steps 4: marked values 0.2 (first half) and 0.9 (second half), target 1.1
    x = np.array([[[0.2, 1], [0.5, 0], [0.9, 1], [0.3, 0]]], dtype="float32")
    scores = adding.baselines(x, np.array([1.1]))
    assert scores["mean"] == pytest.approx(0.1 ** 2)
    assert scores["recent marker"] == pytest.approx((1.1 - 1.4) ** 2)


def test_baselines_approach_their_theory_on_many_sequences():
    x, y = adding.adding_problem(200_000, 10, np.random.default_rng(1))
    scores = adding.baselines(x, y)
    assert scores["mean"] == pytest.approx(1 / 6, rel=0.02)
    assert scores["recent marker"] == pytest.approx(1 / 12, rel=0.02)


def test_the_experiment_writes_its_settings_and_every_curve(tmp_path):
    output = tmp_path / "horizon.json"
    main(["--lengths", "6", "8", "--seeds", "0", "1", "--epochs", "2", "--train-sequences", "64",
          "--test-sequences", "32", "--output", str(output)])
    results = load_results(output)
    assert results["settings"]["lengths"] == [6, 8] and results["settings"]["seeds"] == [0, 1]
    assert {"date", "python", "tensorflow", "keras", "numpy", "machine", "cores", "seconds"} <= set(results["environment"])
    for entry in results["results"]:
        assert set(entry["test_mse"]) == {"SimpleRNN", "GRU", "LSTM"}
        assert all(len(curve) == 2 for cell in entry["test_mse"].values() for curve in cell.values())


def test_the_committed_results_are_complete():
    results = load_results(RESULTS_PATH)
    assert results["settings"]["epochs"] == adding.EPOCHS
    assert results["settings"]["learning_rate"] == adding.LEARNING_RATE
    assert len(results["settings"]["seeds"]) >= 3 and len(results["settings"]["lengths"]) >= 4


def test_a_missing_or_broken_results_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ResultsFileError, match="make memory-horizon"):
        load_results(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"settings": {"lengths": [10]}, "results": []}))
    with pytest.raises(ResultsFileError, match="incomplete"):
        load_results(broken)
