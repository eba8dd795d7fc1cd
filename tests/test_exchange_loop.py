"""The whole nbgrader loop on one machine, with nbgrader's own commands, for two students.

The instructor's steps run the Makefile's own targets (``make release``, ``collect``,
``autograde``, ``feedback``, ``release-feedback``) in a copy of the course; the students'
steps run the nbgrader commands the *Assignments* tab runs (``fetch_assignment``,
``submit``, ``fetch_feedback``) in working folders prepared as ``make lab`` prepares them
(``autograder.tools.lab``). Everything lives under a temporary folder: the course copy, the
exchange (``COURSE_EXCHANGE``), each role's HOME and Jupyter folders.

Two students on one machine: nbgrader takes a student's name from the operating system
(``pwd.getpwuid(os.getuid())``, not from ``$USER``), so each student here says who they are
with nbgrader's ``--student`` option and keeps their own working folder, HOME and
submission cache. The cheap class: ana answers exercise 1, ben hands in the release.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from lab_support import NBGRADER, copy_course, isolated_environment, make, repository_state, run

from autograder.testkit import sample_class
from autograder.testkit.sample_class import ASSIGNMENT, NOTEBOOKS
from autograder.tools import lab
from rnn_forecast.paths import REPOSITORY_ROOT

pytestmark = pytest.mark.slow

STUDENTS = ("ana", "ben")
#: Exercise 1's autograded points: ana's answers earn them, the rest scores 0.
EXPECTED_SCORES = {
    "ana": {"1_gates": 3.0, "2_gru8": 0.0, "3_stacked_lstm": 0.0},
    "ben": {"1_gates": 0.0, "2_gru8": 0.0, "3_stacked_lstm": 0.0},
}


@dataclass
class Loop:
    course: Path
    exchange: Path
    workspaces: dict
    submitted: dict  # student -> notebook name -> bytes handed in
    repository_before: list
    repository_after: list


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    before = repository_state()
    root = tmp_path_factory.mktemp("loop")
    course, exchange = copy_course(root), root / "exchange"
    instructor = isolated_environment(root / "instructor", exchange)
    make(course, "release", instructor)
    with mock.patch.dict(os.environ, {"COURSE_EXCHANGE": str(exchange)}):
        settings = lab.read_course(course)
    workspaces, students, submitted = {}, {}, {}
    for student in STUDENTS:
        workspaces[student] = lab.student_lab(root / student / "workspace", settings)[0].cwd
        students[student] = isolated_environment(root / student, exchange)
        students[student]["JUPYTER_CONFIG_DIR"] = str(workspaces[student] / lab.JUPYTER_CONFIG)
        run(
            [NBGRADER, "fetch_assignment", ASSIGNMENT],
            workspaces[student],
            students[student],
            f"{student}: fetch",
        )
    answered = sample_class.submission_notebooks("solution", course)["1_gates"]
    nbformat.write(answered, workspaces["ana"] / lab.EXERCISES / ASSIGNMENT / "1_gates.ipynb")
    for student in STUDENTS:
        folder = workspaces[student] / lab.EXERCISES / ASSIGNMENT
        submitted[student] = {name: (folder / f"{name}.ipynb").read_bytes() for name in NOTEBOOKS}
        run(
            [NBGRADER, "submit", ASSIGNMENT, f"--student={student}"],
            workspaces[student],
            students[student],
            f"{student}: submit",
        )
    for target in ("collect", "autograde", "feedback", "release-feedback"):
        make(course, target, instructor)
    for student in STUDENTS:
        run(
            [NBGRADER, "fetch_feedback", ASSIGNMENT, f"--student={student}"],
            workspaces[student],
            students[student],
            f"{student}: fetch feedback",
        )
    return Loop(course, exchange, workspaces, submitted, before, repository_state())


def feedback_files(workspace: Path) -> dict[str, Path]:
    """notebook name -> the feedback HTML a student fetched (one submission, so one timestamp)."""
    found = sorted((workspace / lab.EXERCISES / ASSIGNMENT / "feedback").glob("*/*.html"))
    return {path.stem: path for path in found}


def gradebook_scores(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            name: gradebook.find_submission_notebook(name, ASSIGNMENT, student).score for name in NOTEBOOKS
        }


def test_release_publishes_the_committed_release_to_the_exchange(loop):
    published = loop.exchange / "gated_rnn" / "outbound" / ASSIGNMENT
    assert sorted(p.name for p in published.iterdir()) == sorted(f"{name}.ipynb" for name in NOTEBOOKS)
    for name in NOTEBOOKS:
        committed = (REPOSITORY_ROOT / "exercises" / ASSIGNMENT / f"{name}.ipynb").read_bytes()
        assert (published / f"{name}.ipynb").read_bytes() == committed, name


def test_each_student_fetched_into_their_own_working_folder(loop):
    for student, workspace in loop.workspaces.items():
        assert workspace.parent.name == student
        for name in NOTEBOOKS:
            assert (workspace / lab.EXERCISES / ASSIGNMENT / f"{name}.ipynb").is_file(), (student, name)
        assert (workspace / lab.LESSONS / "01_why_rnns_forget.ipynb").is_file()


def test_collect_brings_each_submission_unchanged_to_submitted(loop):
    for student in STUDENTS:
        folder = loop.course / "submitted" / student / ASSIGNMENT
        for name in NOTEBOOKS:
            assert (folder / f"{name}.ipynb").read_bytes() == loop.submitted[student][name], (student, name)
    assert sorted(p.name for p in (loop.course / "submitted").iterdir()) == sorted(STUDENTS)


def test_the_gradebook_holds_the_scores_the_submissions_earn(loop):
    for student in STUDENTS:
        assert gradebook_scores(loop.course, student) == EXPECTED_SCORES[student], student


def test_each_students_feedback_arrives_in_that_students_folder_only(loop):
    for student, workspace in loop.workspaces.items():
        fetched = feedback_files(workspace)
        assert sorted(fetched) == sorted(NOTEBOOKS), (student, fetched)
        for name, path in fetched.items():
            own = loop.course / "feedback" / student / ASSIGNMENT / f"{name}.html"
            assert path.read_bytes() == own.read_bytes(), (student, name)
    ana, ben = (feedback_files(loop.workspaces[s])["1_gates"].read_bytes() for s in STUDENTS)
    assert ana != ben


def test_the_feedback_shows_the_scores_the_gradebook_holds(loop):
    for student, workspace in loop.workspaces.items():
        scores = gradebook_scores(loop.course, student)
        for name, path in feedback_files(workspace).items():
            html = path.read_text(encoding="utf-8")
            assert f"<h4>{name} (Score: {scores[name]:.1f} / " in html, (student, name, scores[name])


def test_the_loop_leaves_the_repository_as_it_was(loop):
    assert loop.repository_after == loop.repository_before
