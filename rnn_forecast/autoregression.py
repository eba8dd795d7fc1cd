"""The third baseline: a linear autoregression on monthly log returns, and why it finds something.

The series holds monthly **averages** of daily closes (``data/README.md``). H. Working showed
("Note on the correlation of first differences of averages in a random chain", Econometrica
28, 1960) that averaging a random walk over each period gives the period-to-period changes a
lag-1 autocorrelation of :func:`working_autocorrelation`, about 0.25, although the walk
itself has none: two consecutive averages share the walk's path between them. So last
month's return says a little about next month's, and a least-squares line on it
(:func:`fit_autoregression`) is a baseline a recurrent network must beat before its
"memory" means anything.

Used by the comparison (:mod:`rnn_forecast.comparison`, ``make run``), the rolling-origin
evaluation (:mod:`rnn_forecast.rolling_origin`) and lesson 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def log_returns(values) -> np.ndarray:
    """Month-to-month log returns ``log(v[t] / v[t-1])`` of a positive series.

    >>> log_returns([1.0, np.e, 1.0]).round(6).tolist()
    [1.0, -1.0]
    """
    return np.diff(np.log(np.asarray(values, dtype="float64")))


def lag_autocorrelation(values, lag: int = 1) -> float:
    """The correlation between each value and the one ``lag`` steps later (Pearson's, over the pairs).

    >>> lag_autocorrelation([1.0, 2.0, 1.0, 2.0, 1.0, 2.0])
    -1.0
    """
    values = np.asarray(values, dtype="float64")
    return float(np.corrcoef(values[:-lag], values[lag:])[0, 1])


def working_autocorrelation(steps_per_period: int) -> float:
    """Working's lag-1 autocorrelation of the changes of period averages of a random walk.

    A random walk averaged over ``steps_per_period`` steps per period: the changes from one
    period's average to the next have lag-1 autocorrelation ``(m**2 - 1) / (2 * (2 * m**2 + 1))``,
    0 for ``m = 1`` (no averaging) and 0.25 in the limit.

    >>> working_autocorrelation(1), round(working_autocorrelation(21), 4)
    (0.0, 0.2492)
    """
    m = steps_per_period
    return (m**2 - 1) / (2 * (2 * m**2 + 1))


def _features(x, lags: int) -> np.ndarray:
    """An intercept column and the last ``lags`` log returns of each window, oldest first."""
    levels = np.asarray(x, dtype="float64")[:, :, 0]
    if not 1 <= lags < levels.shape[1]:
        months = levels.shape[1]
        raise ValueError(f"a window of {months} months has 1 to {months - 1} returns; got lags={lags}")
    returns = np.diff(np.log(levels), axis=1)[:, -lags:]
    return np.column_stack([np.ones(len(levels)), returns])


@dataclass(frozen=True)
class Autoregression:
    """``log(next / this month) = intercept + coefficients . (the last lags log returns)``."""

    intercept: float
    coefficients: tuple[float, ...]  # oldest return first, last month's return last

    @property
    def lags(self) -> int:
        return len(self.coefficients)

    def forecast(self, x) -> np.ndarray:
        """Next month's value for every window of ``x`` (shape ``(n, months, 1)``), in index points."""
        weights = np.array([self.intercept, *self.coefficients])
        last = np.asarray(x, dtype="float64")[:, -1, 0]
        return last * np.exp(_features(x, self.lags) @ weights)


def fit_autoregression(x_train, y_train, lags: int = 1) -> Autoregression:
    """Least squares of the next month's log return on the windows' last ``lags`` log returns.

    Fitted on training windows only. On a series whose returns follow exactly
    ``r[t] = 0.002 - 0.8 r[t-1]``, it finds that rule and forecasts every month:

    >>> returns = [0.05]
    >>> for _ in range(30):
    ...     returns.append(0.002 - 0.8 * returns[-1])
    >>> levels = 100 * np.exp(np.cumsum([0.0, *returns]))
    >>> x = np.stack([levels[i : i + 3] for i in range(len(levels) - 3)])[:, :, None]
    >>> model = fit_autoregression(x, levels[3:])
    >>> round(model.intercept, 6), round(model.coefficients[0], 6)
    (0.002, -0.8)
    >>> bool(np.allclose(model.forecast(x), levels[3:]))
    True
    """
    x_train = np.asarray(x_train, dtype="float64")
    target = np.log(np.asarray(y_train, dtype="float64").reshape(-1) / x_train[:, -1, 0])
    weights, *_ = np.linalg.lstsq(_features(x_train, lags), target, rcond=None)
    return Autoregression(float(weights[0]), tuple(float(w) for w in weights[1:]))
