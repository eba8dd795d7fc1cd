"""Errors in index points and in percent, and the naive and drift baselines every model must beat.

(The third baseline, the autoregression on last month's return, is in
:mod:`rnn_forecast.autoregression`.)
"""

from __future__ import annotations

import numpy as np


def _errors(y_true, y_pred) -> np.ndarray:
    truth = np.asarray(y_true, dtype="float64").reshape(-1)
    prediction = np.asarray(y_pred, dtype="float64").reshape(-1)
    if truth.shape != prediction.shape:
        raise ValueError(f"{truth.size} true values but {prediction.size} predictions; they must pair up")
    return prediction - truth


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, in the units of ``y_true``."""
    return float(np.sqrt(np.mean(_errors(y_true, y_pred) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error, in the units of ``y_true``."""
    return float(np.mean(np.abs(_errors(y_true, y_pred))))


def percent_errors(y_true, y_pred, last) -> np.ndarray:
    """Each miss as a percentage of the window's last month: ``100 (y_pred - y_true) / last``.

    The scale-free models are trained on the ratio ``y / last``, so this is 100 times the error
    of what they predict: its mean square is their loss (times 100²). Unlike an error in index
    points, it does not grow with the index.

    >>> percent_errors([110.0, 200.0], [100.0, 210.0], [100.0, 200.0]).tolist()
    [-10.0, 5.0]
    """
    last = np.asarray(last, dtype="float64").reshape(-1)
    return 100 * _errors(y_true, y_pred) / last


def error_measures(y_true, y_pred, last) -> dict[str, float]:
    """RMSE and MAE in index points, and in percent of the window's last month (:func:`percent_errors`).

    >>> error_measures([110.0, 200.0], [100.0, 210.0], [100.0, 200.0])
    {'RMSE': 10.0, 'MAE': 10.0, 'RMSE %': 7.905694150420948, 'MAE %': 7.5}
    """
    percent = percent_errors(y_true, y_pred, last)
    return {
        "RMSE": rmse(y_true, y_pred),
        "MAE": mae(y_true, y_pred),
        "RMSE %": float(np.sqrt(np.mean(percent**2))),
        "MAE %": float(np.mean(np.abs(percent))),
    }


def naive_forecast(x: np.ndarray) -> np.ndarray:
    """Predict that next month equals this month: the last value of each window."""
    return x[:, -1, 0].copy()


def mean_growth(x_train: np.ndarray, y_train: np.ndarray) -> float:
    """The mean ratio "next month / this month" over the training windows.

    >>> mean_growth(np.array([[[1.0]], [[2.0]]]), np.array([1.1, 2.0]))
    1.05
    """
    last = np.asarray(x_train, dtype="float64")[:, -1, 0]
    return float(np.mean(np.asarray(y_train, dtype="float64").reshape(-1) / last))


def drift_forecast(x: np.ndarray, growth: float) -> np.ndarray:
    """Predict this month times ``growth`` (from :func:`mean_growth` on the training windows).

    The naive forecast with the average rise of the training period added: a model that
    beats the naive forecast by about as much as this has learnt the trend, not a pattern.
    """
    return x[:, -1, 0] * growth
