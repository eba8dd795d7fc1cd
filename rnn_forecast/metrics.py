"""Errors in index points, and the two baselines every model must beat."""

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
