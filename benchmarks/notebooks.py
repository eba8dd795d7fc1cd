"""Wall time of the lesson notebooks, against one reference fit measured in the same run.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/notebooks.py``). Each notebook runs
in a fresh kernel, kernel start-up included, exactly as ``make run`` runs it; the executed
copies go to a temporary folder and are thrown away. Machines differ several-fold, so the
figure that travels is a ratio: the whole set of lessons divided by one reference fit, a
``SimpleRNN(32)`` trained 40 epochs on the course's scale-free S&P 500 windows by Keras's own
``model.fit`` (the unit stays the same when the course's ``fit`` changes), timed just
before and just after the lessons (their mean is the unit; both are printed, as is the load
average, because other work on the machine slows training down). Figures are printed, never
asserted: speed belongs to the machine. ``--only 03`` times the lessons whose file name contains
``03`` (one lesson against the same unit, for example after changing it).
"""

import argparse
import os
import platform
import tempfile
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast import to_scale_free
from rnn_forecast.models import BATCH_SIZE, EPOCHS, build_cell_model, set_seed
from rnn_forecast.notebooks import execute_notebook, lesson_notebooks
from rnn_forecast.windows import course_split


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def reference_fit_seconds() -> float:
    """One SimpleRNN(32), 40 epochs, batch 32, on the 721 scale-free training windows."""
    split = course_split()
    train = to_scale_free(split.x_train, split.y_train)
    set_seed(0)
    model = build_cell_model("SimpleRNN")
    started = time.perf_counter()
    model.fit(train.x, train.y, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="time only the lessons whose file name contains this")
    args = parser.parse_args()
    notebooks = [path for path in lesson_notebooks() if args.only in path.name]
    if not notebooks:
        parser.error(f"no lesson's file name contains {args.only!r}")
    print(
        f"Lessons: {len(notebooks)} notebooks, executed one after another, "
        f"{os.cpu_count()} cores, {platform.machine()}; {load()} before"
    )
    before = reference_fit_seconds()
    print(f"  reference fit before: SimpleRNN(32), 40 epochs on the S&P windows {before:6.1f} s")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for path in notebooks:
            executed = execute_notebook(path, scratch)
            print(f"  {path.name:<32} {executed.seconds:6.1f} s")
    lessons = time.perf_counter() - started
    label = f"lessons with {args.only!r}" if args.only else "all lessons"
    print(f"  {label:<32} {lessons:6.1f} s   ({load()} after)")
    after = reference_fit_seconds()
    print(f"  reference fit after:  {after:6.1f} s")
    unit = (before + after) / 2
    print(f"  lessons / reference fit = {lessons:.1f} s / {unit:.1f} s = {lessons / unit:.1f} fits' worth")


if __name__ == "__main__":
    main()
