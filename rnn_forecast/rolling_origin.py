"""Lesson 3's rolling-origin evaluation: five consecutive test periods, every model refitted for each.

One chronological split ranks models on one stretch of history, and a ranking can be that
stretch's luck. A rolling-origin evaluation (L. Tashman, "Out-of-sample tests of forecasting
accuracy", International Journal of Forecasting 16, 2000) moves the forecast origin forward:
the last 184 windows are cut into five consecutive blocks of 36 or 37 months (*folds*), and
for each fold every model is trained again on the 721 windows just before it: the first 601
to fit the weights, the last 120 (ten years) to stop training early
(:func:`rnn_forecast.branches.fit_together` with a patience, which stops each member as
``keras.callbacks.EarlyStopping(restore_best_weights=True)`` would). Fold 1's training and
validation windows are exactly those lesson 3 trains its three cells on in plain view.

``make rolling-origin`` (``python -m rnn_forecast.rolling_origin``) trains SimpleRNN, GRU and
LSTM with five seeds in every fold and in four settings of learning rate, batch size and
number of epochs (:data:`SETTINGS`), and writes to ``results/rolling_origin.json``, for every
model, its validation error after each epoch, the epoch it kept, and its predictions of its
fold's months (fold 1's models also predict all 184 test months: the single split). It adds
the three cells trained on raw prices as the original recipe did (seed 0), whose answers
lesson 3 plots. The baselines need no training: lesson 3 refits them per fold itself
(:func:`baseline_forecasts`). It took 37 minutes on a busy 2-core machine (the file records its
own run time); the lesson loads the file (:func:`load_results`).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast.autoregression import fit_autoregression
from rnn_forecast.data import load_monthly_series
from rnn_forecast.metrics import drift_forecast, mean_growth, naive_forecast
from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.results_files import environment, finite, read_json, write_json
from rnn_forecast.windows import TEST_WINDOWS, ScaleFree, make_windows, to_scale_free

RESULTS_PATH = REPOSITORY_ROOT / "results" / "rolling_origin.json"
COMMAND = "make rolling-origin  (python -m rnn_forecast.rolling_origin)"
FOLDS = 5
#: Windows each fold's models learn from (the 721 before the fold), the last VALIDATION of them
#: held out to stop training early.
HISTORY = 721
VALIDATION = 120
SEEDS = (0, 1, 2, 3, 4)
UNITS = 32


@dataclass(frozen=True)
class Setting:
    """How a model is trained: Adam's learning rate, the batch size, at most ``epochs`` epochs,
    stopped once ``patience`` epochs in a row did not lower the validation error."""

    learning_rate: float
    batch_size: int
    epochs: int
    patience: int | None = 10


#: The course's setting (Keras's default learning rate, batches of 32, the original 40 epochs)
#: and three variations of it, each changing one thing.
SETTINGS = {
    "default": Setting(1e-3, 32, 40),
    "learning rate 0.01": Setting(1e-2, 32, 40),
    "100 epochs": Setting(1e-3, 32, 100),
    "batch 8": Setting(1e-3, 8, 40),
}
#: The original recipe on raw prices: all 721 windows, 40 epochs, no validation.
RAW = Setting(1e-3, 32, 40, patience=None)


class ResultsFileError(ValueError):
    """The results file is missing or not what ``make rolling-origin`` writes."""


@dataclass(frozen=True)
class Fold:
    """Which windows a fold's models fit on, validate on and forecast (``[start, stop)`` each)."""

    number: int
    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]


def rolling_folds(
    windows: int = 905,
    test_windows: int = TEST_WINDOWS,
    folds: int = FOLDS,
    history: int = HISTORY,
    validation: int = VALIDATION,
) -> list[Fold]:
    """The last ``test_windows`` windows in ``folds`` consecutive blocks, each after its own history.

    >>> first, *_, last = rolling_folds()
    >>> first
    Fold(number=1, train=(0, 601), validation=(601, 721), test=(721, 758))
    >>> last
    Fold(number=5, train=(148, 749), validation=(749, 869), test=(869, 905))
    """
    if not 0 < validation < history <= windows - test_windows:
        raise ValueError(
            f"{windows} windows cannot hold a history of {history} (of them {validation} for validation) "
            f"before {test_windows} test windows"
        )
    blocks = np.array_split(np.arange(windows - test_windows, windows), folds)
    return [
        Fold(
            number,
            (int(block[0]) - history, int(block[0]) - validation),
            (int(block[0]) - validation, int(block[0])),
            (int(block[0]), int(block[-1]) + 1),
        )
        for number, block in enumerate(blocks, start=1)
    ]


@dataclass(frozen=True)
class FoldData:
    """A fold's windows: scale-free training and validation windows, the raw history and test windows."""

    train: ScaleFree
    validation: ScaleFree
    x_history: np.ndarray
    y_history: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def fold_data(fold: Fold, x: np.ndarray, y: np.ndarray) -> FoldData:
    """Cut the course's windows ``x``, ``y`` (from :func:`~rnn_forecast.windows.make_windows`) for ``fold``."""
    train, validation, test = (slice(*fold.train), slice(*fold.validation), slice(*fold.test))
    history = slice(fold.train[0], fold.validation[1])
    return FoldData(
        to_scale_free(x[train], y[train]),
        to_scale_free(x[validation], y[validation]),
        x[history],
        y[history],
        x[test],
        y[test],
    )


def baseline_forecasts(x_history: np.ndarray, y_history: np.ndarray, x_test: np.ndarray) -> dict:
    """Naive, drift and autoregression forecasts of ``x_test``, drift and autoregression fitted on the history.

    The baselines have nothing to tune, so they learn from the whole history before the fold
    (training and validation windows alike).
    """
    return {
        "naive": naive_forecast(x_test),
        "drift": drift_forecast(x_test, mean_growth(x_history, y_history)),
        "autoregression": fit_autoregression(x_history, y_history).forecast(x_test),
    }


def course_windows() -> tuple[np.ndarray, np.ndarray]:
    """The course's 905 windows of 12 months and their targets."""
    return make_windows(load_monthly_series()["close"].to_numpy())


def _train_fold(setting: Setting, data: FoldData, cells, seeds, predict_also=None) -> tuple[dict, float]:
    """Every cell and seed trained side by side on one fold; what the results file keeps of each."""
    from rnn_forecast.branches import fit_together
    from rnn_forecast.models import build_cell_model, set_seed

    keys, models = [], []
    for cell in cells:
        for seed in seeds:
            set_seed(seed)  # the seed fixes the initial weights; fit_together's seeds, the orders
            models.append(build_cell_model(cell, UNITS))
            keys.append((cell, seed))
    together = fit_together(
        models,
        data.train.x,
        data.train.y,
        seeds=[seed for _, seed in keys],
        epochs=setting.epochs,
        batch_size=setting.batch_size,
        learning_rate=setting.learning_rate,
        validation=(data.validation.x, data.validation.y),
        patience=setting.patience,
    )
    block = together.predict(to_scale_free(data.x_test).x)
    also = None if predict_also is None else together.predict(to_scale_free(predict_also).x)
    trained: dict = {cell: {} for cell in cells}
    for column, (cell, seed) in enumerate(keys):
        curve = together.validation_mse[:, column]
        entry = {
            "best_epoch": int(together.best_epochs[column]),
            "epochs_run": int(together.epochs_run[column]),
            "validation_mse": [finite(value, 7) for value in curve[np.isfinite(curve)]],
            "predictions": [finite(value) for value in block[:, column]],
        }
        if also is not None:
            entry["all_test_predictions"] = [finite(value) for value in also[:, column]]
        trained[cell][str(seed)] = entry
    return trained, together.seconds


def _raw_price_controls(x: np.ndarray, y: np.ndarray, cells, seed: int = 0) -> dict:
    """The original recipe: each cell on raw index levels, 721 windows, 40 epochs; its answers."""
    from rnn_forecast.branches import fit_together
    from rnn_forecast.models import build_cell_model, set_seed

    history, test = slice(0, HISTORY), slice(len(x) - TEST_WINDOWS, len(x))
    models = []
    for cell in cells:
        set_seed(seed)
        models.append(build_cell_model(cell, UNITS))
    together = fit_together(
        models,
        x[history],
        y[history],
        seeds=[seed] * len(models),
        epochs=RAW.epochs,
        batch_size=RAW.batch_size,
        learning_rate=RAW.learning_rate,
    )
    training, testing = together.predict(x[history]), together.predict(x[test])
    return {
        cell: {
            "seed": seed,
            "training_answers": [finite(value, 2) for value in training[:, column]],
            "test_answers": [finite(value, 2) for value in testing[:, column]],
        }
        for column, cell in enumerate(cells)
    }


def run(settings=None, seeds=SEEDS, folds: int = FOLDS, progress=print) -> dict:
    """Train and score every setting, fold, cell and seed; return the results as a JSON-ready dict."""
    from rnn_forecast.models import CELLS

    started = time.perf_counter()
    settings = SETTINGS if settings is None else settings
    cells = list(CELLS)
    x, y = course_windows()
    all_test = x[len(x) - TEST_WINDOWS :]
    chosen_folds = rolling_folds(len(x), folds=folds)
    runs = []
    for name, setting in settings.items():
        for fold in chosen_folds:
            data = fold_data(fold, x, y)
            trained, seconds = _train_fold(
                setting, data, cells, seeds, predict_also=all_test if fold.number == 1 else None
            )
            runs.append(
                {"setting": name, "fold": fold.number, "seconds": round(seconds, 1), "models": trained}
            )
            stopped = [entry["epochs_run"] for cell in trained.values() for entry in cell.values()]
            progress(
                f"{name:<20} fold {fold.number}: {len(stopped)} models in {seconds:5.0f} s, "
                f"epochs run {min(stopped)}-{max(stopped)}"
            )
    raw = _raw_price_controls(x, y, cells)
    progress("raw-price controls trained")
    return {
        "description": (
            "Lesson 3's rolling-origin evaluation: SimpleRNN, GRU and LSTM refitted for each of five "
            "consecutive test blocks of the last 184 months, in four training settings, with early stopping "
            "on the last 120 of the 721 windows before each block; predictions are next-month / this-month "
            "ratios (multiply by the window's last month for index points)."
        ),
        "command": COMMAND,
        "settings": {
            "cells": cells,
            "seeds": list(seeds),
            "units": UNITS,
            "history_windows": HISTORY,
            "validation_windows": VALIDATION,
            "folds": [asdict(fold) for fold in chosen_folds],
            "training": {name: asdict(setting) for name, setting in settings.items()},
            "raw_prices": asdict(RAW),
            "model": "Input((12, 1)) -> cell(32) -> Dense(16, relu) -> Dense(1); Adam, mean squared error",
        },
        "environment": environment(started),
        "runs": runs,
        "raw_prices": raw,
    }


VALIDATED = "validated"


def predictions(
    results: dict, setting: str, fold: int, cell: str, seed: int, *, all_test=False
) -> np.ndarray:
    """One model's predicted ratios (next month / this month) for its fold's test windows.

    ``all_test`` (fold 1 only): for all 184 test windows, the single split's test period.
    """
    entry = next(run for run in results["runs"] if (run["setting"], run["fold"]) == (setting, fold))
    model = entry["models"][cell][str(seed)]
    return np.array(model["all_test_predictions" if all_test else "predictions"], dtype="float64")


def validated_setting(results: dict, fold: int, cell: str, seed: int) -> str:
    """The setting whose model reached the lowest validation error: what a forecaster would keep.

    Chosen on the validation windows alone, before any test month is looked at.
    """
    best = {
        run["setting"]: min(run["models"][cell][str(seed)]["validation_mse"])
        for run in results["runs"]
        if run["fold"] == fold
    }
    return min(best, key=best.get)


def rolling_predictions(results: dict, cell: str, seed: int, setting: str = VALIDATED) -> np.ndarray:
    """A cell's predicted ratios for all test windows, each fold's block by the model refitted for it.

    ``setting`` names one of the file's training settings, or :data:`VALIDATED` to take, fold by
    fold, the setting :func:`validated_setting` keeps.
    """
    blocks = []
    for fold in results["settings"]["folds"]:
        chosen = validated_setting(results, fold["number"], cell, seed) if setting == VALIDATED else setting
        blocks.append(predictions(results, chosen, fold["number"], cell, seed))
    return np.concatenate(blocks)


def rolling_baselines(x: np.ndarray, y: np.ndarray, results: dict) -> dict[str, np.ndarray]:
    """Each baseline's forecasts of all test windows, refitted fold by fold on the fold's history."""
    blocks = []
    for fold in results["settings"]["folds"]:
        data = fold_data(
            Fold(fold["number"], *(tuple(fold[part]) for part in ("train", "validation", "test"))), x, y
        )
        blocks.append(baseline_forecasts(data.x_history, data.y_history, data.x_test))
    return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}


def load_results(path: str | Path = RESULTS_PATH) -> dict:
    """Read a results file written by :func:`run` and check that it is complete."""
    path = Path(path)
    results = read_json(path, "rolling-origin", ResultsFileError)
    try:
        settings = results["settings"]
        folds = {fold["number"]: fold for fold in settings["folds"]}
        expected = {(name, number) for name in settings["training"] for number in folds}
        found = {(entry["setting"], entry["fold"]) for entry in results["runs"]}
        if found != expected:
            raise KeyError(f"runs for {sorted(expected - found)} missing")
        for entry in results["runs"]:
            fold = folds[entry["fold"]]
            for cell in settings["cells"]:
                for seed in settings["seeds"]:
                    model = entry["models"][cell][str(seed)]
                    if len(model["predictions"]) != fold["test"][1] - fold["test"][0]:
                        raise KeyError(
                            f"{entry['setting']}, fold {entry['fold']}, {cell} {seed}: predictions"
                        )
                    if entry["fold"] == 1 and len(model["all_test_predictions"]) != TEST_WINDOWS:
                        raise KeyError(f"{entry['setting']}, {cell} {seed}: all_test_predictions")
        for cell in settings["cells"]:
            results["raw_prices"][cell]["test_answers"]
        results["environment"]["date"]
    except (KeyError, TypeError) as error:
        raise ResultsFileError(
            f"{path} is incomplete ({error!s}); run `make rolling-origin` to write it again"
        ) from None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds of each cell")
    parser.add_argument("--folds", type=int, default=FOLDS, help=f"test blocks (default {FOLDS})")
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=list(SETTINGS),
        default=list(SETTINGS),
        help="training settings to run",
    )
    parser.add_argument("--epochs", type=int, help="cap every setting's epochs (for a quick trial run)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help=f"default {RESULTS_PATH}")
    args = parser.parse_args(argv)
    settings = {name: SETTINGS[name] for name in args.settings}
    if args.epochs is not None:
        settings = {
            name: Setting(s.learning_rate, s.batch_size, min(s.epochs, args.epochs), s.patience)
            for name, s in settings.items()
        }
    print(
        f"Rolling origin: {args.folds} folds, settings {', '.join(settings)}, seeds {args.seeds}; "
        f"writing {args.output}"
    )
    results = run(settings, args.seeds, args.folds)
    write_json(args.output, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
