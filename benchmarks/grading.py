"""Time to autograde one submission: as the course grades, by nbgrader's own in-kernel
pipeline, and as the course graded at an earlier commit.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/grading.py [--rounds N] [--baseline REF]``).
It builds temporary courses (as the tests do), each with the solutions submitted as one
student's work: one graded as the course grades (sandboxed kernel, verdicts from the
verifier), one by nbgrader's own in-kernel pipeline and, with ``--baseline REF``, one graded
by the course's code at git commit REF: a clone of that commit in ``build/baseline-REF/``
with its own environment (set up by its own ``make setup`` the first time, about a minute,
and kept for later runs). Each round grades every way, in rotating order so that a change in
the machine's load hits all alike; the medians' ratios are what the protections cost, and
what the changes since REF cost. Figures are printed, never asserted: speed depends on the
machine.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.testkit import sample_class
from rnn_forecast.paths import REPOSITORY_ROOT


class Baseline:
    """The course's grading at an earlier commit: its own clone and environment."""

    def __init__(self, ref: str):
        self.ref = ref
        self.clone = REPOSITORY_ROOT / "build" / f"baseline-{ref}"
        if not (self.clone / ".venv" / ".installed").exists():
            shutil.rmtree(self.clone, ignore_errors=True)
            subprocess.run(["git", "clone", "-q", str(REPOSITORY_ROOT), str(self.clone)], check=True)
            subprocess.run(["git", "-C", str(self.clone), "checkout", "-q", ref], check=True)
            print(f"  setting up {self.clone} (its own make setup) ...")
            subprocess.run(["make", "-C", str(self.clone), "setup"], check=True, capture_output=True)
        self.bin = self.clone / ".venv" / "bin"

    def nbgrader(self, course: Path, *args: str) -> subprocess.CompletedProcess:
        environment = sample_class.nbgrader_environment()
        environment["PATH"] = f"{self.bin}{os.pathsep}{environment['PATH']}"
        return subprocess.run(
            [str(self.bin / "nbgrader"), *args], cwd=course, env=environment, capture_output=True, text=True
        )

    def make_course(self, folder: Path) -> Path:
        course = folder / "course"
        course.mkdir(parents=True)
        shutil.copy2(self.clone / "nbgrader_config.py", course)
        for name in ("solutions", "exercises"):
            shutil.copytree(self.clone / name, course / name)
        result = self.nbgrader(course, "generate_assignment", sample_class.ASSIGNMENT, "--force")
        if result.returncode != 0:
            raise SystemExit(result.stderr[-3000:])
        return course

    def autograde(self, course: Path) -> sample_class.Grading:
        started = time.perf_counter()
        result = self.nbgrader(
            course,
            "autograde",
            sample_class.ASSIGNMENT,
            "--Execute.timeout=120",
            "--force",
            "--student=student",
        )
        seconds = time.perf_counter() - started
        return sample_class.Grading(course, result, seconds, {}, {}, sample_class.read_scores(course))


def grade(course: Path, baseline: Baseline | None = None) -> float:
    if baseline is None:
        grading = sample_class.autograde(course, "student", timeout=120, extra=("--force",))
    else:
        grading = baseline.autograde(course)
    if grading.result.returncode != 0:
        raise SystemExit(grading.result.stderr[-3000:])
    points = sum(score or 0 for score in grading.scores["student"].values())
    if points != sum(sample_class.AUTOGRADED.values()):
        raise SystemExit(f"the solutions scored {points:g}, not every point: {sample_class.summary(grading)}")
    return grading.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="grade every way N times (default 2)")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also grade with the course's code at this git commit, e.g. 46ea0fe (before issue 15)",
    )
    args = parser.parse_args()
    print(
        f"Grading one submission (3 notebooks, 2 trainings of 40 epochs) with nbgrader autograde, "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )
    baseline = Baseline(args.baseline) if args.baseline else None
    ways = ["protected", "in-kernel", *([f"at {args.baseline}"] if baseline else [])]
    times: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
        courses = {way: sample_class.make_course(Path(scratch) / way) for way in ways[:2]}
        sample_class.grade_in_the_kernel(courses["in-kernel"])
        if baseline:
            courses[ways[2]] = baseline.make_course(Path(scratch) / "baseline")
        for way in ways:
            sample_class.make_submission(courses[way], "student", "solution")
        for round_number in range(args.rounds):
            order = ways[round_number % len(ways) :] + ways[: round_number % len(ways)]
            for way in order:
                times[way].append(grade(courses[way], baseline if way == ways[-1] and baseline else None))
                print(f"  round {round_number + 1}, {way:<12}: {times[way][-1]:6.1f} s")
    median = {way: statistics.median(values) for way, values in times.items()}
    protected, plain = median["protected"], median["in-kernel"]
    print(
        f"median: protected {protected:.1f} s, nbgrader in-kernel {plain:.1f} s; "
        f"protected / in-kernel = {protected / plain:.2f} (the protections cost {100 * (protected / plain - 1):+.0f} %)"
    )
    if baseline:
        before = median[ways[2]]
        print(
            f"median: protected now {protected:.1f} s, protected {ways[2]} {before:.1f} s; "
            f"now / then = {protected / before:.2f} ({100 * (protected / before - 1):+.0f} %)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
