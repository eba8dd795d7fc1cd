"""Fit time and test RMSE of SimpleRNN, GRU and LSTM over several seeds, and training them together.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/models.py --seeds 5``). Prints

1. the comparison as ``make run`` computes it (one model after another with
   ``rnn_forecast.models.fit``), over N seeds, beside the naive and drift baselines;
2. the same cells and seeds trained side by side by ``rnn_forecast.branches.fit_together``
   (each member exactly as if alone, in its own order of windows): the wall time of both ways
   and their ratio, measured in this run, and the RMSE spread of the together-trained models.

Figures are printed, never asserted: speed depends on the machine.
"""

import argparse
import os
import platform
import statistics
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast import from_scale_free, rmse, to_scale_free
from rnn_forecast.branches import fit_together
from rnn_forecast.comparison import compare, comparison_table
from rnn_forecast.course import print_table
from rnn_forecast.models import CELLS, build_cell_model, set_seed
from rnn_forecast.windows import course_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    args = parser.parse_args()
    seeds = range(args.seeds)
    print(
        f"Models: {args.seeds} seeds, 40 epochs, scale-free windows, "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )
    split = course_split()
    started = time.perf_counter()
    baselines, scores = compare(seeds=seeds, split=split)
    one_by_one = time.perf_counter() - started
    print_table(comparison_table(baselines, scores))

    train, test = to_scale_free(split.x_train, split.y_train), to_scale_free(split.x_test)
    started = time.perf_counter()
    keys, models = [], []
    for seed in seeds:
        for cell in CELLS:
            set_seed(seed)
            models.append(build_cell_model(cell))
            keys.append((cell, seed))
    together = fit_together(models, train.x, train.y, seeds=[seed for _, seed in keys])
    predictions = together.predict(test.x)
    side_by_side = time.perf_counter() - started
    print(f"\nThe same {len(models)} models, one after another: {one_by_one:6.1f} s (fits and scoring)")
    print(
        f"                   side by side (fit_together): {side_by_side:6.1f} s "
        f"(build, fit and scoring); ratio {one_by_one / side_by_side:.2f}"
    )
    for cell in CELLS:
        errors = [
            rmse(split.y_test, from_scale_free(predictions[:, column], test.last))
            for column, key in enumerate(keys)
            if key[0] == cell
        ]
        print(
            f"  side by side, {cell:>9} test RMSE median {statistics.median(errors):6.1f} "
            f"(min {min(errors):.1f}, max {max(errors):.1f})"
        )


if __name__ == "__main__":
    main()
