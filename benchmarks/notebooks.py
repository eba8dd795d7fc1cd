"""Wall time of each lesson notebook, executed headless, and of the whole lesson set.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/notebooks.py``). Each notebook runs
in a fresh kernel, kernel start-up included, exactly as ``make run`` runs it; the executed
copies go to a temporary folder and are thrown away. The load average is printed next to the
times, because other work on the machine slows training down. Figures are printed, never
asserted: speed belongs to the machine.
"""

import argparse
import os
import platform
import tempfile
import time

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast.notebooks import execute_notebook, lesson_notebooks


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    notebooks = lesson_notebooks()
    print(f"Lessons: {len(notebooks)} notebooks, executed one after another, "
          f"{os.cpu_count()} cores, {platform.machine()}; {load()} before")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for path in notebooks:
            executed = execute_notebook(path, scratch)
            print(f"  {path.name:<32} {executed.seconds:6.1f} s")
    print(f"  {'all lessons':<32} {time.perf_counter() - started:6.1f} s   ({load()} after)")


if __name__ == "__main__":
    main()
