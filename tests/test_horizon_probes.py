"""The horizon probes' script and its committed results file, which lesson 4 loads."""

import json

import pytest

from rnn_forecast import adding
from rnn_forecast.horizon_probes import PROBES, PROBES_PATH, find_runs, load_probes, main
from rnn_forecast.memory_horizon import DATA_SEED, ResultsFileError


def test_the_committed_probes_are_complete_and_made_with_the_current_settings():
    results = load_probes(PROBES_PATH)
    settings = results["settings"]
    assert (settings["train_sequences"], settings["test_sequences"], settings["data_seed"]) == (
        adding.TRAIN_SEQUENCES,
        adding.TEST_SEQUENCES,
        DATA_SEED,
    )
    assert (settings["units"], settings["batch_size"]) == (adding.UNITS, adding.BATCH_SIZE)
    assert settings["probes"] == list(PROBES)
    assert len(settings["seeds"]) >= 5
    made = [
        (run["cell"], run["steps"], run["learning_rate"], run["clipnorm"], run["epochs"])
        for run in results["runs"]
    ]
    planned = [
        (cell, steps, rate, clip, epochs)
        for runs in PROBES.values()
        for cell, steps, rate, clip, epochs, _ in runs
    ]
    assert sorted(made, key=repr) == sorted(planned, key=repr)


@pytest.mark.slow  # trains every probe for one epoch on a few sequences
def test_the_script_writes_every_run_with_its_settings(tmp_path):
    output = tmp_path / "probes.json"
    main(
        [
            "--seeds",
            "0",
            "--epochs",
            "1",
            "--train-sequences",
            "32",
            "--test-sequences",
            "16",
            "--output",
            str(output),
        ]
    )
    results = load_probes(output)
    assert results["settings"]["seeds"] == [0]
    assert len(results["runs"]) == sum(len(runs) for runs in PROBES.values())
    (clipped,) = find_runs(results, probe="simple_rnn", steps=25, learning_rate=1e-3, clipnorm=1.0)
    assert clipped["trained"] == "alone, plain model.fit"
    assert len(clipped["test_mse"]["0"]) == 1
    assert {"date", "python", "tensorflow", "keras", "cores", "seconds"} <= set(results["environment"])


def test_a_missing_or_broken_probes_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ResultsFileError, match="make horizon-probes"):
        load_probes(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "settings": {"seeds": [0]},
                "runs": [{"cell": "GRU", "steps": 5, "epochs": 2, "test_mse": {"0": [0.1]}}],
            }
        )
    )
    with pytest.raises(ResultsFileError, match="incomplete"):
        load_probes(broken)
