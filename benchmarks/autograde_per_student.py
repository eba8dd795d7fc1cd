"""What ``make autograde`` pays for grading one student per nbgrader run, on checked copies.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/autograde_per_student.py [--rounds N]``).
It builds two temporary courses from the repository (as the tests do), each with the same
small class: the solutions and three untouched releases. Each round grades one course with
a single ``nbgrader autograde`` over the whole class (what ``make autograde`` ran before) and
the other with ``make autograde``'s command (``python -m autograder.engine.checked autograde``: the
intake's checked copy, then one ``nbgrader autograde --student`` per student), each run
regrading everyone (``--force``), in alternating order so that a change in the machine's
load hits both alike. The difference is what the per-student runs and the checks cost.
Figures are printed, never asserted: speed depends on the machine.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.testkit import sample_class

CLASS = {"ana": "solution", "ben": "release", "cai": "release", "dee": "release"}
COMMANDS = {
    "one nbgrader run": [str(Path(sys.executable).parent / "nbgrader"), "autograde", sample_class.ASSIGNMENT],
    "make autograde": [
        sys.executable,
        "-m",
        "autograder.engine.checked",
        "autograde",
        sample_class.ASSIGNMENT,
    ],
}


def grade(course: Path, way: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [*COMMANDS[way], "--force"],
        cwd=course,
        env=sample_class.nbgrader_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{way} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    scores = sample_class.read_scores(course)
    points = {student: sum(score or 0 for score in cells.values()) for student, cells in scores.items()}
    expected = {s: sum(sample_class.AUTOGRADED.values()) if k == "solution" else 0 for s, k in CLASS.items()}
    if points != expected:
        raise SystemExit(f"{way} graded {points}, not {expected}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="grade both ways N times (default 1)")
    args = parser.parse_args()
    print(
        f"Autograding a class of {len(CLASS)} (the solutions, {len(CLASS) - 1} untouched releases) "
        f"in one nbgrader run and one run per student, {os.cpu_count()} cores, {platform.machine()}"
    )
    times = {way: [] for way in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="autograde-bench-") as scratch:
        courses = {}
        for way in COMMANDS:
            courses[way] = sample_class.make_course(Path(scratch) / way.replace(" ", "-"))
            sample_class.make_class(courses[way], CLASS)
        for round_number in range(args.rounds):
            order = list(COMMANDS) if round_number % 2 == 0 else list(reversed(COMMANDS))
            for way in order:
                times[way].append(grade(courses[way], way))
                print(f"  round {round_number + 1}, {way:<16}: {times[way][-1]:6.1f} s")
    single, each = (statistics.median(times[way]) for way in COMMANDS)
    print(
        f"median: one nbgrader run {single:.1f} s, make autograde {each:.1f} s; "
        f"ratio {each / single:.2f}, {(each - single) / len(CLASS):+.1f} s per student"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
