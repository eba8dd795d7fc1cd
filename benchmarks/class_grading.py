"""Grade one synthetic class twice: plain ``nbgrader autograde``, then ``autograder.grade_class``.

    .venv/bin/python benchmarks/class_grading.py [--students 24] [--workers N]

The class is made from the exercises' test submissions (reference solutions, the blank
release and the faulty kinds, in turn) in two identical temporary courses. Prints both wall
times, their ratio, the largest kernel's peak memory, and whether the grades agree.
"""

import argparse
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import grading_support  # noqa: E402  (lives with the tests, which build the same class)

from autograder.grade_class import Limits, grade_class  # noqa: E402


def synthetic_class(size: int) -> dict[str, str]:
    kinds = itertools.cycle(grading_support.SUBMISSION_KINDS)
    return {f"student{number:03d}": next(kinds) for number in range(1, size + 1)}


def build(root: Path, students: dict[str, str]) -> Path:
    course = grading_support.make_course(root)
    grading_support.make_class(course, students)
    return course


def sequential(course: Path) -> tuple[float, float]:
    """Wall seconds and the largest resident set (MiB) of plain nbgrader autograde."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        ["nbgrader", "autograde", grading_support.ASSIGNMENT,
         f"--Execute.timeout={grading_support.TEST_TIMEOUT}"],
        cwd=course, env=grading_support.nbgrader_environment(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    students = synthetic_class(args.students)
    kinds = sorted(set(students.values()))
    print(f"Class grading: {args.students} submissions of {len(kinds)} kinds ({', '.join(kinds)}), "
          f"{os.cpu_count()} cores, cell timeout {grading_support.TEST_TIMEOUT} s")
    with tempfile.TemporaryDirectory() as scratch:
        plain_course = build(Path(scratch) / "sequential", students)
        parallel_course = build(Path(scratch) / "parallel", students)

        plain_seconds, plain_peak = sequential(plain_course)
        print(f"  nbgrader autograde (sequential): {plain_seconds:7.1f} s, largest process {plain_peak:.0f} MiB")

        started = time.perf_counter()
        jobs = grade_class(parallel_course, grading_support.ASSIGNMENT, args.workers,
                           Limits(cell_timeout=grading_support.TEST_TIMEOUT))
        parallel_seconds = time.perf_counter() - started
        peak = max(job.peak_mib for job in jobs)
        print(f"  grade_class, {args.workers} workers:        {parallel_seconds:7.1f} s, "
              f"largest kernel {peak:.0f} MiB (at most {args.workers} at once)")
        print(f"  speed-up: {plain_seconds / parallel_seconds:.2f}x")
        same = grading_support.read_scores(plain_course) == grading_support.read_scores(parallel_course)
        print(f"  grades identical for every student: {same}")


if __name__ == "__main__":
    main()
