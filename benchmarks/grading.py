"""Time to autograde one submission, with the course's protections and without them.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/grading.py [--rounds N]``).
It builds two temporary courses from the repository (as the tests do), each with the
solutions submitted as one student's work: one graded as the course grades (sandboxed
kernel, verdicts from the verifier), one by nbgrader's own in-kernel pipeline. Each round
grades both, in alternating order so that a change in the machine's load hits both alike,
and the medians' ratio is what the protections cost. Figures are printed, never asserted:
speed depends on the machine.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from autograder import sample_class


def grade(course: Path) -> float:
    grading = sample_class.autograde(course, "student", timeout=120, extra=("--force",))
    if grading.result.returncode != 0:
        raise SystemExit(grading.result.stderr[-3000:])
    points = sum(score or 0 for score in grading.scores["student"].values())
    if points != sum(sample_class.AUTOGRADED.values()):
        raise SystemExit(f"the solutions scored {points:g}, not every point: {sample_class.summary(grading)}")
    return grading.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="grade both ways N times (default 2)")
    args = parser.parse_args()
    print(
        f"Grading one submission (3 notebooks, 2 trainings of 40 epochs) with nbgrader autograde, "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )
    times = {"protected": [], "in-kernel": []}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        courses = {}
        for way in times:
            courses[way] = sample_class.make_course(Path(scratch) / way)
            sample_class.make_submission(courses[way], "student", "solution")
        sample_class.grade_in_the_kernel(courses["in-kernel"])
        for round_number in range(args.rounds):
            order = list(times) if round_number % 2 == 0 else list(reversed(times))
            for way in order:
                times[way].append(grade(courses[way]))
                print(f"  round {round_number + 1}, {way:<9}: {times[way][-1]:6.1f} s")
    protected, plain = statistics.median(times["protected"]), statistics.median(times["in-kernel"])
    print(
        f"median: protected {protected:.1f} s, nbgrader in-kernel {plain:.1f} s; "
        f"protected / in-kernel = {protected / plain:.2f} (the protections cost {100 * (protected / plain - 1):+.0f} %)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
