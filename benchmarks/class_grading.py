"""Grade one synthetic class three ways: plain ``nbgrader autograde``, ``make grade`` here, ``make grade`` on Dask.

    .venv/bin/python benchmarks/class_grading.py [--students 16] [--workers 2]

The class is made from the exercises' test submissions (reference solutions, the blank
release and the faulty kinds, in turn) in three identical temporary courses. The Dask route
sends the jobs to a cluster started here beforehand, as an instructor's would be: a
``dask scheduler`` and ``--workers`` ``dask worker`` processes of one thread each, which do
not see the course folder. Prints the three wall times, the ratios, the largest kernel's peak
memory, and whether the grades agree.
"""

import argparse
import itertools
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from autograder.engine.job_types import Limits
from autograder.engine.orchestrate import grade_students
from autograder.testkit import sample_class
from autograder.testkit.local_cluster import LocalDaskCluster


def synthetic_class(size: int) -> dict[str, str]:
    kinds = itertools.cycle(sample_class.SUBMISSION_KINDS)
    return {f"student{number:03d}": next(kinds) for number in range(1, size + 1)}


def build(root: Path, students: dict[str, str]) -> Path:
    course = sample_class.make_course(root)
    sample_class.make_class(course, students)
    return course


def sequential(course: Path) -> tuple[float, float]:
    """Wall seconds and the largest resident set (MiB) of plain nbgrader autograde."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        ["nbgrader", "autograde", sample_class.ASSIGNMENT, f"--Execute.timeout={sample_class.TEST_TIMEOUT}"],
        cwd=course,
        env=sample_class.nbgrader_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def timed_grade_class(course: Path, **where) -> tuple[float, float]:
    """Wall seconds of grade_class and the largest kernel's peak (MiB)."""
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        jobs = grade_students(
            course,
            sample_class.ASSIGNMENT,
            progress_stream=quiet,
            limits=Limits(cell_timeout=sample_class.TEST_TIMEOUT),
            **where,
        )
    return time.perf_counter() - started, max(job.peak_mib for job in jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    students = synthetic_class(args.students)
    kinds = sorted(set(students.values()))
    print(
        f"Class grading: {args.students} submissions of {len(kinds)} kinds ({', '.join(kinds)}), "
        f"{os.cpu_count()} cores, {args.workers} at once, cell timeout {sample_class.TEST_TIMEOUT} s"
    )
    with tempfile.TemporaryDirectory() as scratch:
        courses = {route: build(Path(scratch) / route, students) for route in ("sequential", "local", "dask")}

        plain_seconds, plain_peak = sequential(courses["sequential"])
        print(
            f"  nbgrader autograde (sequential):      {plain_seconds:7.1f} s, largest process {plain_peak:.0f} MiB"
        )

        local_seconds, local_peak = timed_grade_class(courses["local"], workers=args.workers)
        print(
            f"  make grade, {args.workers} workers here:          {local_seconds:7.1f} s, "
            f"largest kernel {local_peak:.0f} MiB"
        )

        started = time.perf_counter()
        with LocalDaskCluster(workers=args.workers, hidden=(courses["dask"],)) as cluster:
            startup = time.perf_counter() - started
            dask_seconds, dask_peak = timed_grade_class(courses["dask"], scheduler=cluster.address)
        print(
            f"  make grade --scheduler, {args.workers} Dask workers: {dask_seconds:7.1f} s, "
            f"largest kernel {dask_peak:.0f} MiB (cluster started beforehand in {startup:.1f} s, not counted)"
        )

        print(
            f"  speed-up over sequential: local {plain_seconds / local_seconds:.2f}x, "
            f"Dask {plain_seconds / dask_seconds:.2f}x"
        )
        print(f"  Dask / local wall time: {dask_seconds / local_seconds:.3f} (the issue allows at most 1.10)")
        scores = {route: sample_class.read_scores(course) for route, course in courses.items()}
        same = scores["sequential"] == scores["local"] == scores["dask"]
        print(f"  grades identical for every student, all three ways: {same}")


if __name__ == "__main__":
    main()
