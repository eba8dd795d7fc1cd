"""The course's main job: ``python -m rnn_forecast.course`` (what ``make run`` calls).

Prints what a student will see of the data and the three-way comparison of SimpleRNN,
GRU and LSTM on scale-free windows, next to the naive, drift and autoregression forecasts; then
executes every lesson notebook headless into ``build/lessons/`` and saves its figures in
``build/figures/``.
"""

from __future__ import annotations

import argparse
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast.autoregression import fit_autoregression, lag_autocorrelation, log_returns
from rnn_forecast.comparison import compare, comparison_table
from rnn_forecast.data import DATA_PATH, describe_series, load_monthly_series
from rnn_forecast.metrics import mean_growth
from rnn_forecast.notebooks import execute_notebook, lesson_notebooks, save_figures
from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.windows import course_split

BUILD_DIR = REPOSITORY_ROOT / "build"


def print_table(table) -> None:
    print(table.to_string(float_format=lambda value: f"{value:,.1f}", na_rep="-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed for the three models (default 0)")
    parser.add_argument("--no-lessons", action="store_true", help="skip executing the lesson notebooks")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    series = load_monthly_series()
    print(f"Data: {DATA_PATH}")
    print(f"      {describe_series(series)}")
    split = course_split(series)
    print(f"      {len(split.x_train)} training and {len(split.x_test)} test windows of 12 months")
    print()
    print(f"Test errors in index points, scale-free windows, seed {args.seed}:")
    baselines, scores = compare(seeds=(args.seed,), split=split)
    print_table(comparison_table(baselines, scores))
    print(
        f"drift = this month x {mean_growth(split.x_train, split.y_train):.4f}, the mean ratio next month / this month "
        "of the training windows."
    )
    autoregression = fit_autoregression(split.x_train, split.y_train)
    correlation = lag_autocorrelation(log_returns(series["close"]))
    for line in [
        f"autoregression = this month x exp({autoregression.intercept:.4f} + {autoregression.coefficients[0]:.3f} "
        "x last month's log return), least squares on the training windows.",
        "  Why it works: each month's value is an average of daily closes, and averaging a random walk gives its",
        "  monthly changes a lag-1 autocorrelation of about 0.25 (Working 1960); the monthly log returns have "
        f"{correlation:.3f}.",
        "A cell must beat all three before its memory means anything; lesson 3 tests whether one does.",
    ]:
        print(line)
    print()
    if not args.no_lessons:
        run_lessons(BUILD_DIR / "lessons", BUILD_DIR / "figures")
        print()
    print(f"Main job finished in {time.perf_counter() - started:.0f} s.")
    return 0


def run_lessons(executed_dir, figures_dir) -> None:
    """Execute every lesson headless; keep the executed copies and the figures."""
    notebooks = lesson_notebooks()
    print(f"Executing the {len(notebooks)} lesson notebooks headless:")
    figures = 0
    for path in notebooks:
        executed = execute_notebook(path, executed_dir)
        saved = save_figures(executed, figures_dir)
        figures += len(saved)
        print(f"  {path.name:<32} {executed.seconds:5.0f} s, {len(saved)} figures")
    print(f"Executed copies: {executed_dir}")
    print(f"Figures ({figures} PNG files): {figures_dir}")


if __name__ == "__main__":
    raise SystemExit(main())
