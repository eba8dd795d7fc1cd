"""Sliding windows, chronological splits (the course's own too) and the scale-free transform.

A model sees the last ``WINDOW`` months and predicts the next one. The test set is the
most recent ``TEST_WINDOWS`` windows, never a random sample: a shuffled split would let
the model train on months that lie after the ones it is tested on.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from rnn_forecast.data import load_monthly_series

WINDOW = 12
TEST_WINDOWS = 184


class Split(NamedTuple):
    """Training and test windows, in time order."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class ScaleFree(NamedTuple):
    """Windows divided by their own last value, and the values to undo that."""

    x: np.ndarray
    y: np.ndarray
    last: np.ndarray


def make_windows(values, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Cut a 1-D series into overlapping windows and next-step targets.

    Returns ``x`` of shape ``(len(values) - window, window, 1)``, where ``x[i]`` holds
    ``values[i : i + window]``, and ``y`` of shape ``(len(values) - window,)`` with
    ``y[i] = values[i + window]``, the month right after the window.
    """
    series = np.asarray(values, dtype="float64")
    if series.ndim != 1:
        raise ValueError(f"expected a 1-D series, got an array of shape {series.shape}")
    if not 0 < window < len(series):
        raise ValueError(
            f"a window of {window} needs a series longer than {window} values; got {len(series)}"
        )
    count = len(series) - window
    x = np.lib.stride_tricks.sliding_window_view(series, window)[:count]
    return x.reshape(count, window, 1).copy(), series[window:].copy()


def chronological_split(x: np.ndarray, y: np.ndarray, test_windows: int = TEST_WINDOWS) -> Split:
    """Keep the last ``test_windows`` windows for testing and everything before for training."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} windows but y has {len(y)} targets")
    if not 0 < test_windows < len(x):
        raise ValueError(f"cannot keep {test_windows} of {len(x)} windows for testing")
    cut = len(x) - test_windows
    return Split(x[:cut], y[:cut], x[cut:], y[cut:])


def course_split(series: pd.DataFrame | None = None) -> Split:
    """The course's 12-month windows of the S&P 500, split 721 / 184 in time order."""
    if series is None:
        series = load_monthly_series()
    return chronological_split(*make_windows(series["close"].to_numpy()))


def to_scale_free(x: np.ndarray, y: np.ndarray | None = None) -> ScaleFree:
    """Divide each window, and its target, by the window's last value.

    The network then sees shapes ("the index rose 3 % this year") rather than levels,
    so test months far above anything in training look like training months.
    ``y`` may be omitted when only inputs are needed (at prediction time).
    """
    last = x[:, -1, 0].copy()
    if np.any(last == 0):
        raise ValueError("a window ends in 0 and cannot be divided by its last value")
    scaled_y = None if y is None else y / last
    return ScaleFree(x / last[:, None, None], scaled_y, last)


def from_scale_free(ratio, last: np.ndarray) -> np.ndarray:
    """Turn predicted ratios back into index points: the exact inverse of :func:`to_scale_free`."""
    return np.asarray(ratio, dtype="float64").reshape(-1) * last
