"""Calibrate the hidden RMSE tests: ``python -m autograder.calibrate`` (``make calibrate``).

Trains the reference solution of exercises 2 and 3 with seeds 0..N-1 (default 10),
scores each with the grader's own :func:`autograder.checks.graded_rmse`, and writes the
distribution and the bound to ``autograder/calibration.json``, which the hidden tests
read. It also scores two models that must fail (the reference architecture trained on
raw index levels, and one never trained) and refuses to write a bound that would pass
either of them or fail any reference run.

The bound: ``MARGIN`` times the worst reference run, rounded up to 5 index points.
The worst seed, not the median, so that every honest run here passes; the 25 % margin
because a student's machine, seed or Keras build gives other floats than this one; and
an upper bound only, because a near-random-walk series has no "too good" RMSE that
only cheating reaches (a model that copies the last month scores about the naive 125).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before Keras imports it)
from autograder.checks import CALIBRATION_PATH, graded_rmse
from autograder.reference import LAYERS, reference_model
from rnn_forecast.comparison import naive_score
from rnn_forecast.windows import course_split

import keras
import tensorflow as tf

MARGIN = 1.25
ROUND_TO = 5.0


def bound_for(values: list[float]) -> float:
    """``MARGIN`` x the worst run, rounded up to a multiple of ``ROUND_TO``.

    >>> bound_for([120.0, 150.2])
    190.0
    """
    return math.ceil(max(values) * MARGIN / ROUND_TO) * ROUND_TO


def calibrate(seeds: int, exercises=tuple(LAYERS), log=print) -> dict:
    result = {
        "rule": (
            f"max_rmse = {MARGIN} x the worst reference run, rounded up to {ROUND_TO:g} index "
            "points; it must lie above every reference run and below every control"
        ),
        "seeds": list(range(seeds)),
        "naive_rmse": round(naive_score(course_split()).rmse, 2),
        "environment": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "machine": platform.machine(),
        },
        "exercises": {},
    }
    for exercise in exercises:
        runs = []
        for seed in range(seeds):
            started = time.perf_counter()
            runs.append(graded_rmse(reference_model(exercise, seed)))
            log(f"{exercise} seed {seed}: test RMSE {runs[-1]:.1f} ({time.perf_counter() - started:.1f} s)")
        controls = {
            "raw_prices_seed_0": graded_rmse(reference_model(exercise, 0, inputs="raw")),
            "untrained_seed_0": graded_rmse(reference_model(exercise, 0, inputs="untrained")),
        }
        bound = bound_for(runs)
        log(
            f"{exercise}: bound {bound:.1f}; controls "
            + ", ".join(f"{k} {v:.1f}" for k, v in controls.items())
        )
        if not max(runs) <= bound < min(controls.values()):
            raise SystemExit(
                f"{exercise}: the bound {bound:.1f} does not separate the reference runs "
                f"(worst {max(runs):.1f}) from the controls ({min(controls.values()):.1f}); "
                "no calibration written"
            )
        result["exercises"][exercise] = {
            "rmse_by_seed": [round(value, 2) for value in runs],
            "median": round(statistics.median(runs), 2),
            "min": round(min(runs), 2),
            "max": round(max(runs), 2),
            "max_rmse": bound,
            "controls": {name: round(value, 1) for name, value in controls.items()},
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10, at least 10)")
    args = parser.parse_args(argv)
    if args.seeds < 10:
        parser.error("the calibration needs at least 10 seeds")
    started = time.perf_counter()
    result = calibrate(args.seeds)
    CALIBRATION_PATH.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Wrote {CALIBRATION_PATH} in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
