"""The course's main job: ``python -m rnn_forecast.course`` (what ``make run`` calls).

Prints what a student will see of the data and the three-way comparison of SimpleRNN,
GRU and LSTM on scale-free windows, next to the naive forecast.
"""

from __future__ import annotations

import argparse
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast.comparison import compare, comparison_table, course_split
from rnn_forecast.data import DATA_PATH, describe_series, load_monthly_series


def print_table(table) -> None:
    print(table.to_string(float_format=lambda value: f"{value:,.1f}", na_rep="-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed for the three models (default 0)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    series = load_monthly_series()
    print(f"Data: {DATA_PATH}")
    print(f"      {describe_series(series)}")
    split = course_split(series)
    print(f"      {len(split.x_train)} training and {len(split.x_test)} test windows of 12 months")
    print()
    print(f"Test errors in index points, scale-free windows, seed {args.seed}:")
    naive, scores = compare(seeds=(args.seed,), split=split)
    print_table(comparison_table(naive, scores))
    print()
    print(f"Main job finished in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
