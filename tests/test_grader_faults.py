"""A grader that fails in the middle of a class: the students are "not graded", never scored.

The preflight (``tests/test_where_grading_runs.py``) stops a machine that cannot grade at
all. Here the grader passes it and fails afterwards, for every student: a ``bwrap`` on PATH
that runs the real bubblewrap, except for a student's kernel (whose environment names
``NBGRADER_EXECUTION``) or for the verifier, where it prints a message and exits 1. Both
``make grade``'s command and plain ``nbgrader autograde`` must then write no score and no
gradebook row for anyone, say what broke and what to do, and exit non-zero; ``make grade``
tries each student once more, then lists them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from toy_course import make_course as make_toy_course

from autograder.engine.grade_class import EXIT_NOT_GRADED
from autograder.engine.sandbox import sandbox_problem
from autograder.testkit import sample_class

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_problem() is not None, reason=f"needs the sandbox: {sandbox_problem()}"),
]

MESSAGE = "bwrap: simulated failure after the preflight"


def failing_bwrap(folder: Path, refuse_when: str) -> dict[str, str]:
    """nbgrader's environment with a ``bwrap`` first on PATH that refuses commands holding ``refuse_when``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "bwrap"
    script.write_text(
        f'#!/bin/sh\ncase "$*" in *{refuse_when}*) echo "{MESSAGE}" >&2; exit 1;; esac\n'
        f'exec {shutil.which("bwrap")} "$@"\n'
    )
    script.chmod(0o755)
    environment = sample_class.nbgrader_environment()
    environment["PATH"] = f"{folder}{os.pathsep}{environment['PATH']}"
    return environment


def nbgrader(course: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def no_rows(course: Path, assignment: str) -> bool:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return gradebook.assignment_submissions(assignment) == [] and gradebook.students == []


def test_kernels_that_cannot_start_after_the_preflight_leave_every_student_not_graded(tmp_path):
    course = make_toy_course(tmp_path / "course", ["alice", "bob"])
    environment = failing_bwrap(tmp_path / "bin", "NBGRADER_EXECUTION")

    graded = subprocess.run(
        [sys.executable, "-m", "autograder.engine.grade_class", "toy", "--workers", "2"],
        cwd=course,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert graded.returncode == EXIT_NOT_GRADED, graded.stdout + graded.stderr[-3000:]
    assert "Not graded, because the grader failed" in graded.stdout
    for student in ("alice", "bob"):
        assert f"  {student}: " in graded.stdout
        log = (course / ".grade_class" / "toy" / f"{student}.log").read_text()
        assert log.count(MESSAGE) >= 2, "tried once more"
    assert MESSAGE in graded.stdout, "the sandbox's own message reaches the instructor"
    assert "2 not graded" in graded.stderr
    assert no_rows(course, "toy")
    assert not (course / "autograded").exists()

    plain = nbgrader(course, "autograde", "toy", env=environment)
    output = plain.stdout + plain.stderr
    assert plain.returncode != 0
    assert "Not graded: alice" in output
    assert "Not graded: bob" in output
    assert MESSAGE in output
    assert "make doctor" in output
    assert no_rows(course, "toy")
    assert not list(course.glob("autograded/*/toy")), "nbgrader would skip a student with an autograded copy"


def test_a_verifier_that_fails_after_the_preflight_leaves_the_student_not_graded(tmp_path):
    course = sample_class.make_course(tmp_path)
    folder = sample_class.make_submission(course, "ben", "release")
    for name in sample_class.NOTEBOOKS[1:]:
        (folder / f"{name}.ipynb").unlink()  # one notebook is enough to reach the verifier
    result = nbgrader(
        course,
        "autograde",
        sample_class.ASSIGNMENT,
        env=failing_bwrap(tmp_path / "bin", "autograder.engine.verifier"),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Not graded: ben" in output
    assert "the verifier failed twice" in output
    assert MESSAGE in output
    assert no_rows(course, sample_class.ASSIGNMENT)
