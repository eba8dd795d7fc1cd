"""The three-way comparison: SimpleRNN, GRU and LSTM against three forecasts that need no network.

The baselines: naive (next month = this month), drift (this month times the training
windows' mean monthly ratio) and the linear autoregression on last month's log return
(:mod:`rnn_forecast.autoregression`), all fitted on the training windows only.

Used by the main job (``make run``), the benchmark (``make bench``) and the lessons, so
that all of them report numbers from the same recipe.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnn_forecast.autoregression import fit_autoregression
from rnn_forecast.metrics import drift_forecast, mae, mean_growth, naive_forecast, rmse
from rnn_forecast.models import CELLS, EPOCHS, build_cell_model, fit, predict, set_seed
from rnn_forecast.windows import Split, course_split, from_scale_free, to_scale_free

NAIVE = "naive (next = this month)"
DRIFT = "drift (this month x mean rise)"
AUTOREGRESSION = "autoregression (last month's return)"


@dataclass(frozen=True)
class Score:
    """One model's test errors in index points."""

    name: str
    seed: int | None
    rmse: float
    mae: float
    fit_seconds: float
    parameters: int


def naive_score(split: Split) -> Score:
    """Test errors of predicting that next month equals this month."""
    prediction = naive_forecast(split.x_test)
    return Score(NAIVE, None, rmse(split.y_test, prediction), mae(split.y_test, prediction), 0.0, 0)


def drift_score(split: Split) -> Score:
    """Test errors of predicting this month times the training windows' mean monthly ratio."""
    prediction = drift_forecast(split.x_test, mean_growth(split.x_train, split.y_train))
    return Score(DRIFT, None, rmse(split.y_test, prediction), mae(split.y_test, prediction), 0.0, 0)


def autoregression_score(split: Split) -> Score:
    """Test errors of the least-squares line on last month's log return, fitted on the training windows."""
    prediction = fit_autoregression(split.x_train, split.y_train).forecast(split.x_test)
    return Score(AUTOREGRESSION, None, rmse(split.y_test, prediction), mae(split.y_test, prediction), 0.0, 0)


def baseline_scores(split: Split) -> list[Score]:
    """Naive, drift and autoregression, in that order."""
    return [naive_score(split), drift_score(split), autoregression_score(split)]


def score_cell(cell: str, split: Split, seed: int, epochs: int = EPOCHS) -> Score:
    """Train ``cell`` (32 units) on scale-free windows and score it in index points."""
    set_seed(seed)
    train = to_scale_free(split.x_train, split.y_train)
    test = to_scale_free(split.x_test)
    model = build_cell_model(cell)
    trained = fit(model, train.x, train.y, epochs=epochs)
    prediction = from_scale_free(predict(model, test.x), test.last)
    return Score(
        cell,
        seed,
        rmse(split.y_test, prediction),
        mae(split.y_test, prediction),
        trained.seconds,
        model.count_params(),
    )


def compare(seeds=(0,), cells=tuple(CELLS), epochs: int = EPOCHS, split: Split | None = None):
    """Score every cell for every seed, one after another with :func:`~rnn_forecast.models.fit`.

    Returns the baselines' scores (naive, drift, autoregression) and the list of cell scores.
    """
    split = split if split is not None else course_split()
    scores = [score_cell(cell, split, seed, epochs) for seed in seeds for cell in cells]
    return baseline_scores(split), scores


def comparison_table(baselines: Score | list[Score], scores: list[Score]) -> pd.DataFrame:
    """One row per model: median, min and max over seeds of test RMSE, MAE and fit time.

    The baselines (one score or a list: naive, drift, autoregression) come last. With a single seed median,
    min and max coincide, and the table shows each value once.
    """
    rows = []
    for name in dict.fromkeys(score.name for score in scores):
        mine = [score for score in scores if score.name == name]
        rows.append(
            {
                "model": name,
                "parameters": mine[0].parameters,
                "seeds": len(mine),
                **_spread("RMSE", [s.rmse for s in mine]),
                **_spread("MAE", [s.mae for s in mine]),
                **_spread("fit s", [s.fit_seconds for s in mine]),
            }
        )
    for baseline in [baselines] if isinstance(baselines, Score) else baselines:
        rows.append(
            {
                "model": baseline.name,
                "parameters": 0,
                "seeds": np.nan,
                **_spread("RMSE", [baseline.rmse]),
                **_spread("MAE", [baseline.mae]),
                **_spread("fit s", [0.0]),
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    if len({score.seed for score in scores}) == 1:
        # One seed: median, min and max coincide, so show the value once.
        table = table.drop(columns=["seeds", *(c for c in table if c.endswith((" min", " max")))])
        table = table.rename(columns=lambda c: c.removesuffix(" median"))
    return table


def _spread(label: str, values: list[float]) -> dict[str, float]:
    return {
        f"{label} median": statistics.median(values),
        f"{label} min": min(values),
        f"{label} max": max(values),
    }
