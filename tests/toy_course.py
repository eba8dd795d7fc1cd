"""A toy nbgrader course for the grading-engine tests: one notebook, ``double(x)``, and a class
whose submissions pass, fail, loop, ignore interrupts, hoard memory or crash.

Used by ``test_grade_class.py`` and ``test_distributed_grading.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.engine.job_types import Limits
from autograder.testkit.sample_class import run_nbgrader
from rnn_forecast.paths import REPOSITORY_ROOT

ASSIGNMENT = "toy"
HIDDEN_MESSAGE = "expected double to work for odd numbers too"

ANSWER = "def double(x):\n    return 2 * x\n"
SUBMISSIONS = {
    # student: (answer cell, last cell), None keeps the released cell untouched
    "alice": (ANSWER, "result = double(21)"),
    "bob": (None, None),
    "frank": ("def double(x):\n    return x + 2\n", "result = double(21)"),
    "erin": (ANSWER, "while True:\n    pass"),
    "carol": (ANSWER, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
    "dave": (ANSWER, "hoard = []\nwhile True:\n    hoard.append(bytearray(64 * 2**20))"),
    "gus": (ANSWER, "import os\nos._exit(1)"),
}
LIMITS = Limits(timeout=25, memory_mib=1024, interrupt_grace=5)


def nbgrader_cell(source, markdown=False, **flags):
    cell = nbformat.v4.new_markdown_cell(source) if markdown else nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "schema_version": 3,
        "locked": False,
        "solution": False,
        "grade": False,
        "task": False,
        **flags,
    }
    return cell


def toy_notebook():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbgrader_cell("Write `double(x)`.", markdown=True, locked=True, grade_id="intro"),
        nbgrader_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            solution=True,
            grade_id="answer",
        ),
        nbgrader_cell(
            "assert double(2) == 4, 'expected double(2) == 4'\n"
            "### BEGIN HIDDEN TESTS\n"
            f"assert double(5) == 10, {HIDDEN_MESSAGE!r}\n"
            "### END HIDDEN TESTS",
            grade=True,
            locked=True,
            points=2,
            grade_id="test_double",
        ),
        nbgrader_cell(
            "assert double(0) == 0, 'expected double(0) == 0'",
            grade=True,
            locked=True,
            points=1,
            grade_id="test_zero",
        ),
        nbgrader_cell(
            "### BEGIN SOLUTION\nresult = double(21)\n### END SOLUTION", solution=True, grade_id="use_it"
        ),
    ]
    return notebook


def make_course(root: Path, students) -> Path:
    course = root
    course.mkdir(parents=True)
    shutil.copy(REPOSITORY_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    with (course / "nbgrader_config.py").open("a") as config:
        # Plain asserts have no verifier to decide them: sandboxed kernels, in-kernel scores.
        config.write(
            "\nc.Autograde.autograde_preprocessors[0] = 'autograder.engine.trusted.SandboxedExecute'\n"
        )
    source = course / "solutions" / ASSIGNMENT
    source.mkdir(parents=True)
    nbformat.write(toy_notebook(), source / "toy.ipynb")
    released = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert released.returncode == 0, released.stderr
    for student in students:
        submit(course, student, *SUBMISSIONS[student])
    return course


def submit(course, student, answer, last_cell):
    notebook = nbformat.read(course / "exercises" / ASSIGNMENT / "toy.ipynb", as_version=4)
    if answer is not None:
        notebook.cells[1].source = answer
        notebook.cells[4].source = last_cell
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / "toy.ipynb")


def scores(course) -> dict[tuple[str, str], float | None]:
    """(student, grade cell) -> auto score, straight from nbgrader's gradebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            (submission.student.id, grade.name): grade.auto_score
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
            for notebook in submission.notebooks
            for grade in notebook.grades
        }
