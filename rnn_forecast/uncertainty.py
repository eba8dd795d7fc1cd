"""How sure is "model A beats model B"? A paired block bootstrap of two forecasts' errors.

Two forecasts of the same months make errors that move together (a crash surprises every
model), so their difference is far less noisy than either error: compare them **paired**,
month by month. And neighbouring months' errors are correlated, so resample **blocks** of
consecutive months rather than single months (the moving-block bootstrap, Künsch 1989):
each resample keeps the months' pairing and, within a block, their order.

:func:`paired_difference` returns the observed difference of an error measure (for example
RMSE of A minus RMSE of B) and a percentile interval over resamples. An interval wholly below
zero says A beats B on this evidence; one that contains zero says the data cannot tell them
apart. Lesson 3 uses it against the best baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Resamples and block length lesson 3 uses: twelve months, one year of neighbours.
RESAMPLES = 2000
BLOCK = 12


def block_bootstrap_indices(n: int, block: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` rows of ``n`` month indices, each row whole blocks of ``block`` consecutive months.

    Blocks start anywhere from 0 to ``n - block``; the last block of a row is cut to fit.

    >>> rows = block_bootstrap_indices(10, 4, 3, np.random.default_rng(0))
    >>> rows.shape, bool(np.all(np.diff(rows[:, :4], axis=1) == 1))
    ((3, 10), True)
    """
    if not 1 <= block <= n:
        raise ValueError(f"a block of {block} months does not fit into {n} months; choose 1 to {n}")
    blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(resamples, blocks))
    return (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]


def rmse_of(errors: np.ndarray) -> np.ndarray:
    """RMSE along the last axis."""
    return np.sqrt(np.mean(np.square(errors), axis=-1))


def mae_of(errors: np.ndarray) -> np.ndarray:
    """MAE along the last axis."""
    return np.mean(np.abs(errors), axis=-1)


MEASURES = {"RMSE": rmse_of, "MAE": mae_of}


@dataclass(frozen=True)
class Difference:
    """``measure(A) - measure(B)`` on the months observed, and a bootstrap interval for it."""

    observed: float
    low: float
    high: float
    level: float

    @property
    def verdict(self) -> str:
        """'A better' (interval below zero), 'B better' (above) or 'tie' (contains zero)."""
        if self.high < 0:
            return "A better"
        if self.low > 0:
            return "B better"
        return "tie"


def paired_difference(
    errors_a,
    errors_b,
    measure: str = "RMSE",
    *,
    block: int = BLOCK,
    resamples: int = RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> Difference:
    """The difference ``measure(errors_a) - measure(errors_b)`` with a paired block-bootstrap interval.

    ``errors_a`` and ``errors_b`` are the two forecasts' errors on the same months, in time
    order. Both are resampled with the same blocks of months.

    Two forecasts whose errors differ by a constant factor: the interval excludes zero.

    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=120)
    >>> paired_difference(0.8 * a, a).verdict
    'A better'
    >>> paired_difference(a, rng.normal(size=120)).verdict
    'tie'
    """
    a, b = (np.asarray(errors, dtype="float64").reshape(-1) for errors in (errors_a, errors_b))
    if a.shape != b.shape:
        raise ValueError(f"{a.size} errors against {b.size}: pair each month's error of A with B's")
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    score = MEASURES[measure]
    rows = block_bootstrap_indices(len(a), block, resamples, np.random.default_rng(seed))
    differences = score(a[rows]) - score(b[rows])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Difference(float(score(a) - score(b)), float(low), float(high), level)
