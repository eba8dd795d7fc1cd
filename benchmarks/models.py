"""Fit time and test RMSE of SimpleRNN, GRU and LSTM over several seeds.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/models.py --seeds 5``).
Figures are printed, never asserted: speed depends on the machine.
"""

import argparse
import os
import platform
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast.comparison import compare, comparison_table
from rnn_forecast.course import print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    args = parser.parse_args()
    print(f"Models: {args.seeds} seeds, 40 epochs, scale-free windows, "
          f"{os.cpu_count()} cores, {platform.machine()}")
    started = time.perf_counter()
    naive, scores = compare(seeds=range(args.seeds))
    print_table(comparison_table(naive, scores))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
