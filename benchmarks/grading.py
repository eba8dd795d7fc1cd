"""Time to autograde one submission with ``nbgrader autograde``, as an instructor would.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/grading.py [--runs N]``).
It builds a temporary course from the repository (as the tests do), submits the
solutions as one student's work, grades it N times (default 1) and prints the wall
time of each run. Figures are printed, never asserted: speed depends on the machine.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import grading_support as support  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="grade the submission N times (default 1)")
    args = parser.parse_args()
    print(f"Grading: one submission (3 notebooks, 2 trainings of 40 epochs), nbgrader autograde, "
          f"{os.cpu_count()} cores, {platform.machine()}")
    times = []
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        course = support.make_course(Path(scratch))
        support.make_submission(course, "student", "solution")
        for run in range(args.runs):
            grading = support.autograde(course, "student", timeout=120, extra=("--force",))
            if grading.result.returncode != 0:
                print(grading.result.stderr[-3000:])
                return 1
            points = sum(score or 0 for score in grading.scores["student"].values())
            times.append(grading.seconds)
            print(f"run {run + 1}: {grading.seconds:.1f} s, {points:g} of "
                  f"{sum(support.AUTOGRADED.values())} autograded points")
    if len(times) > 1:
        print(f"median {statistics.median(times):.1f} s, min {min(times):.1f} s, max {max(times):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
