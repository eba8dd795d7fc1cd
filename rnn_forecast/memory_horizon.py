"""How far back can each cell remember? The adding problem at several sequence lengths.

``make memory-horizon`` (``python -m rnn_forecast.memory_horizon``) trains SimpleRNN, GRU and
LSTM on the adding problem (:mod:`rnn_forecast.adding`, the settings of lesson 4) at each
sequence length, with several seeds, and writes every model's held-out error after every epoch,
the two trivial baselines and the settings of the run (versions, seeds, lengths, epochs, date,
machine) to ``results/memory_horizon.json``. Lesson 4 loads that file with :func:`load_results`
and plots it: the experiment takes too long to run inside a lesson (about 25 minutes on 2
cores). It also saves the weights of the seed-0 models trained at lesson 4's length
(``results/memory_horizon_models/``), which lesson 4 loads to look at their gates.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast import adding
from rnn_forecast.models import CELLS
from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.results_files import environment, finite, read_checked, write_json

RESULTS_PATH = REPOSITORY_ROOT / "results" / "memory_horizon.json"
MODELS_DIR = REPOSITORY_ROOT / "results" / "memory_horizon_models"
LENGTHS = (10, 25, 50, 100, 200)
SEEDS = (0, 1, 2, 3, 4)
#: The models whose weights are kept: seed 0 of every cell at lesson 4's length.
SAVED_STEPS, SAVED_SEED = adding.STEPS, 0
#: The test sequences of every length come from this seed, the training sequences from it + 1.
DATA_SEED = 1000


class ResultsFileError(ValueError):
    """The results file is missing or not what ``make memory-horizon`` writes."""


def run(
    lengths=LENGTHS,
    seeds=SEEDS,
    epochs: int = adding.EPOCHS,
    train_sequences: int = adding.TRAIN_SEQUENCES,
    test_sequences: int = adding.TEST_SEQUENCES,
    models_dir: Path = MODELS_DIR,
    progress=print,
) -> dict:
    """Train and score every cell at every length; return the results as a JSON-ready dict.

    The seed-0 models at ``SAVED_STEPS`` steps (when both are part of the run) are saved to
    ``models_dir`` as ``<cell>.weights.h5``.
    """
    import numpy as np

    started = time.perf_counter()
    cells = list(CELLS)
    by_length = []
    for steps in lengths:
        x_train, y_train, x_test, y_test = sequences(steps, train_sequences, test_sequences)
        trained = adding.train_cells(cells, seeds, x_train, y_train, x_test, y_test, epochs=epochs)
        saved = {}
        if steps == SAVED_STEPS and SAVED_SEED in seeds:
            Path(models_dir).mkdir(parents=True, exist_ok=True)
            for cell in cells:
                path = saved_model_path(cell, models_dir)
                with warnings.catch_warnings():
                    # Keras 3.15 writes HDF5 through an __array__ that NumPy 2 deprecates; harmless.
                    warnings.filterwarnings(
                        "ignore", "__array__ implementation doesn't accept a copy", DeprecationWarning
                    )
                    trained.models[cell, SAVED_SEED].save_weights(path)
                saved[cell] = path.name
        by_length.append(
            {
                "steps": steps,
                "baselines": adding.baselines(x_test, y_test),
                "fit_seconds": round(trained.seconds, 1),
                "saved_models": saved,
                "test_mse": {
                    cell: {
                        str(seed): [finite(value) for value in trained.test_mse[cell, seed]] for seed in seeds
                    }
                    for cell in cells
                },
            }
        )
        finals = {cell: [trained.test_mse[cell, seed][-1] for seed in seeds] for cell in cells}
        progress(
            f"{steps:>4} steps ({trained.seconds:5.0f} s): "
            + ", ".join(f"{cell} median {np.median(values):.4f}" for cell, values in finals.items())
        )
    return {
        "description": "Adding problem: held-out MSE of each cell after each epoch, per sequence length and seed.",
        "command": "make memory-horizon  (python -m rnn_forecast.memory_horizon)",
        "settings": {
            "lengths": list(lengths),
            "seeds": list(seeds),
            "cells": cells,
            "epochs": epochs,
            "train_sequences": train_sequences,
            "test_sequences": test_sequences,
            "data_seed": DATA_SEED,
            "units": adding.UNITS,
            "batch_size": adding.BATCH_SIZE,
            "learning_rate": adding.LEARNING_RATE,
            "model": "Input((steps, 2)) -> cell(units) -> Dense(1); Adam, mean squared error",
        },
        "environment": environment(started),
        "results": by_length,
    }


def sequences(
    steps: int, train_sequences: int = adding.TRAIN_SEQUENCES, test_sequences: int = adding.TEST_SEQUENCES
):
    """The experiment's training and test sequences of length ``steps``: x_train, y_train, x_test, y_test."""
    import numpy as np

    x_train, y_train = adding.adding_problem(train_sequences, steps, np.random.default_rng(DATA_SEED + 1))
    x_test, y_test = adding.adding_problem(test_sequences, steps, np.random.default_rng(DATA_SEED))
    return x_train, y_train, x_test, y_test


def saved_model_path(cell: str, models_dir: str | Path = MODELS_DIR) -> Path:
    """Where the seed-0 ``cell`` trained at ``SAVED_STEPS`` steps keeps its weights."""
    return Path(models_dir) / f"{cell}.weights.h5"


def load_saved_model(cell: str, models_dir: str | Path = MODELS_DIR):
    """That model, rebuilt with :func:`rnn_forecast.adding.build_adding_model` and its weights loaded."""
    path = saved_model_path(cell, models_dir)
    if not path.is_file():
        raise ResultsFileError(f"{path} does not exist; run `make memory-horizon` to create it")
    model = adding.build_adding_model(cell, SAVED_STEPS)
    model.load_weights(path)
    return model


def load_results(path: str | Path = RESULTS_PATH) -> dict:
    """Read a results file written by :func:`run` and check that it is complete."""
    path = Path(path)
    results = read_checked(path, "memory-horizon", ResultsFileError, _check_results)
    lengths = [entry["steps"] for entry in results["results"]]
    if lengths != results["settings"]["lengths"]:
        raise ResultsFileError(
            f"{path} has lengths {lengths} but its settings say {results['settings']['lengths']}"
        )
    return results


def _check_results(results: dict) -> None:
    settings = results["settings"]
    for entry in results["results"]:
        for cell in settings["cells"]:
            for seed in settings["seeds"]:
                if len(entry["test_mse"][cell][str(seed)]) != settings["epochs"]:
                    raise KeyError(f"{cell}, seed {seed}, {entry['steps']} steps: wrong number of epochs")
        entry["baselines"]["mean"], entry["baselines"]["recent marker"]
    results["environment"]["date"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="sequence lengths")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds of each cell")
    parser.add_argument("--epochs", type=int, default=adding.EPOCHS)
    parser.add_argument("--train-sequences", type=int, default=adding.TRAIN_SEQUENCES)
    parser.add_argument("--test-sequences", type=int, default=adding.TEST_SEQUENCES)
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help=f"default {RESULTS_PATH}")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help=f"default {MODELS_DIR}")
    args = parser.parse_args(argv)
    print(
        f"Memory horizon: lengths {args.lengths}, seeds {args.seeds}, {args.epochs} epochs, "
        f"{args.train_sequences} training sequences; writing {args.output}"
    )
    results = run(
        args.lengths, args.seeds, args.epochs, args.train_sequences, args.test_sequences, args.models_dir
    )
    write_json(args.output, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
