"""The parallel class-grading command, on a small assignment that needs no TensorFlow.

A toy course (the repository's nbgrader_config.py, a one-notebook assignment) is graded
once with ``autograder.engine.grade_class`` and once with plain ``nbgrader autograde``; the tests
read both through nbgrader's own gradebook, export and feedback.
"""

import subprocess
import sys
from pathlib import Path

import grading_support as support
import pytest
from nbgrader.api import Gradebook
from toy_course import (
    ASSIGNMENT,
    HIDDEN_MESSAGE,
    LIMITS,
    SUBMISSIONS,
    make_course,
    scores,
    submit,
)

from autograder.engine.grade_class import main
from autograder.engine.job_types import Limits, Outcome
from autograder.engine.orchestrate import grade_students
from autograder.testkit import sample_class
from autograder.testkit.sample_class import run_nbgrader, tree_digest

# Real nbgrader grading, with submissions that run into the time limit.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("parallel") / "course", SUBMISSIONS)
    before = tree_digest(course / "submitted")
    jobs = grade_students(course, ASSIGNMENT, workers=2, limits=LIMITS)
    return course, {job.student: job for job in jobs}, before


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The same class graded by plain nbgrader, minus the submissions that never end."""
    course = make_course(tmp_path_factory.mktemp("sequential") / "course", ["alice", "bob", "frank"])
    result = run_nbgrader(course, "autograde", ASSIGNMENT)
    assert result.returncode == 0, result.stderr[-2000:]
    return course


def test_every_submission_is_graded_and_recorded_with_its_outcome(graded):
    _, jobs, _ = graded
    outcomes = {student: (job.outcome, job.score) for student, job in jobs.items()}
    assert outcomes == {
        "alice": (Outcome.GRADED, 3.0),
        "bob": (Outcome.GRADED, 0.0),
        "frank": (Outcome.GRADED, 0.0),
        # interrupted at the time limit: keeps the points of the cells that ran before
        "erin": (Outcome.TIMED_OUT, 3.0),
        # ignores interrupts, so it is killed and nbgrader records nothing
        "carol": (Outcome.TIMED_OUT, 0.0),
        # stopped by MemoryError at the limit; the cells before it keep their points
        "dave": (Outcome.MEMORY, 3.0),
        # the kernel died: nbgrader gives up on the student
        "gus": (Outcome.CRASHED, 0.0),
    }
    assert all(job.max_score == 3.0 and job.peak_mib > 0 for job in jobs.values())
    assert jobs["carol"].seconds < LIMITS.timeout + LIMITS.interrupt_grace + 15


def test_a_crash_is_no_memory_limit_however_much_memory_the_grader_holds(tmp_path):
    # CI once graded gus "memory limit": Linux's peak of a child counts the memory of the
    # process that started it, and the test process held over a GiB by then.
    course = make_course(tmp_path / "course", ["gus"])
    grader_memory = b"\x01" * (LIMITS.memory_mib + 100) * 2**20
    [job] = grade_students(course, ASSIGNMENT, workers=1, limits=LIMITS)
    del grader_memory  # held until grading is done
    assert (job.outcome, job.score) == (Outcome.CRASHED, 0.0)
    assert job.peak_mib < 0.9 * LIMITS.memory_mib


def test_parallel_grades_equal_sequential_nbgrader_autograde(graded, sequential):
    parallel = scores(graded[0])
    plain = scores(sequential)
    assert plain
    assert {key: parallel[key] for key in plain} == plain


def test_submissions_are_byte_for_byte_unchanged(graded):
    course, _, before = graded
    assert tree_digest(course / "submitted") == before


def test_nbgrader_export_reads_the_merged_gradebook(graded):
    course = graded[0]
    result = run_nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert result.returncode == 0, result.stderr
    rows = (course / "grades.csv").read_text().splitlines()
    assert len(rows) == 1 + len(SUBMISSIONS)
    alice = next(row for row in rows if ",alice," in row)
    assert ",3.0," in alice


def test_feedback_shows_pass_or_fail_and_message_but_no_hidden_test(graded):
    course = graded[0]
    result = run_nbgrader(course, "generate_feedback", ASSIGNMENT)
    assert result.returncode == 0, result.stderr[-2000:]
    failed = (course / "feedback" / "frank" / ASSIGNMENT / "toy.html").read_text()
    passed = (course / "feedback" / "alice" / ASSIGNMENT / "toy.html").read_text()
    for page in (failed, passed):
        assert "double(5)" not in page
        assert "HIDDEN TESTS" not in page
    assert f"Checks failed: {HIDDEN_MESSAGE}" in failed
    assert failed.count(HIDDEN_MESSAGE) == 1, "the hidden test's traceback must not be shown"
    assert "Checks passed." in passed
    # The autograded notebook itself keeps the hidden tests for the instructor.
    autograded = (course / "autograded" / "frank" / ASSIGNMENT / "toy.ipynb").read_text()
    assert "double(5)" in autograded


def test_regrading_one_student_replaces_only_that_student(tmp_path):
    course = make_course(tmp_path / "course", ["alice", "bob"])
    grade_students(course, ASSIGNMENT, workers=2, limits=LIMITS)
    first = scores(course)
    alice_file = course / "autograded" / "alice" / ASSIGNMENT / "toy.ipynb"
    alice_written = alice_file.stat().st_mtime_ns
    submit(course, "bob", *SUBMISSIONS["alice"])  # bob resubmits a working answer

    jobs = grade_students(course, ASSIGNMENT, workers=2, limits=LIMITS, students=["bob"])

    assert [(job.student, job.outcome, job.score) for job in jobs] == [("bob", Outcome.GRADED, 3.0)]
    second = scores(course)
    assert {k: v for k, v in second.items() if k[0] == "alice"} == {
        k: v for k, v in first.items() if k[0] == "alice"
    }
    assert alice_file.stat().st_mtime_ns == alice_written
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == 2


def test_a_regrade_keeps_what_the_instructor_set_by_hand(tmp_path):
    """Each job grades in a gradebook of its own; the student's earlier rows travel with it, so
    manual grades, flags, extensions and the roster survive, as under plain nbgrader autograde."""
    course = make_course(tmp_path / "course", ["alice"])
    grade_students(course, ASSIGNMENT, workers=1, limits=LIMITS)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.find_grade("test_double", "toy", ASSIGNMENT, "alice").manual_score = 1.5
        gradebook.find_submission_notebook("toy", ASSIGNMENT, "alice").flagged = True
        gradebook.update_or_create_student("alice", first_name="Alice", last_name="Liddell")
        gradebook.db.commit()
        gradebook.grant_extension(ASSIGNMENT, "alice", days=2)

    grade_students(course, ASSIGNMENT, workers=1, limits=LIMITS)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("test_double", "toy", ASSIGNMENT, "alice")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (2.0, 1.5, True)
        assert gradebook.find_submission_notebook("toy", ASSIGNMENT, "alice").flagged
        assert gradebook.find_student("alice").last_name == "Liddell"
        assert gradebook.find_submission(ASSIGNMENT, "alice").extension.days == 2
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == 1


def test_command_line_prints_a_summary_and_fails_on_an_unknown_student(tmp_path, capsys):
    course = make_course(tmp_path / "course", ["alice"])
    code = main([ASSIGNMENT, "--course-dir", str(course), "--workers", "1"])
    out = capsys.readouterr()
    assert code == 0
    assert "alice" in out.out
    assert "3/3" in out.out
    assert Outcome.GRADED in out.out
    assert "1/1 done, 0 failed" in out.err
    with pytest.raises(SystemExit, match="no submission of toy for zoe"):
        main([ASSIGNMENT, "--course-dir", str(course), "--student", "zoe"])


def test_missing_gradebook_says_to_release_first(tmp_path):
    with pytest.raises(SystemExit, match="release the assignment first"):
        grade_students(tmp_path, ASSIGNMENT)


#: The kinds of the synthetic class no other test grades in parallel (the hostile class's
#: make grade has the solution and the release, the Dask test the untrained and the tampered).
PARALLEL_ONLY_HERE = ("wrong_class", "wrong_units", "raw_prices", "infinite_loop")


def test_parallel_grades_of_the_course_class_equal_nbgrader_autograde(tmp_path):
    """The exercises' synthetic class: the same grades, cell by cell, as sequential nbgrader gives
    each kind of submission (``grading_support.expected_scores``, which ``tests/test_autograder.py``
    holds nbgrader's own grading of the class to)."""
    course = sample_class.make_course(tmp_path)
    students = {s: kind for s, kind in sample_class.CLASS.items() if kind in PARALLEL_ONLY_HERE}
    sample_class.make_class(course, students)
    before = tree_digest(course / "submitted")

    jobs = grade_students(
        course,
        sample_class.ASSIGNMENT,
        workers=2,
        limits=Limits(cell_timeout=sample_class.TEST_TIMEOUT),
    )

    assert {job.student for job in jobs} == set(students)
    assert sample_class.read_scores(course) == {
        student: support.expected_scores(kind) for student, kind in students.items()
    }
    assert tree_digest(course / "submitted") == before


# ---------------------------------------------------------------- without the sandbox


def without_bwrap() -> dict[str, str]:
    """nbgrader's environment with only the virtual environment on PATH: no bubblewrap."""
    environment = sample_class.nbgrader_environment()
    environment["PATH"] = str(Path(sys.executable).parent)
    return environment


def test_grading_stops_and_says_what_to_install_when_the_sandbox_is_missing(tmp_path):
    course = make_course(tmp_path / "course", ["alice"])
    before = tree_digest(course / "submitted")
    for command in (
        [sys.executable, "-m", "autograder.engine.grade_class", ASSIGNMENT],
        [str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT],
    ):
        result = subprocess.run(
            command, cwd=course, env=without_bwrap(), capture_output=True, text=True, check=False
        )
        assert result.returncode != 0
        message = result.stdout + result.stderr
        assert "apt-get install bubblewrap" in message, message[-2000:]
        assert "unsafe" in message, message[-2000:]
    assert tree_digest(course / "submitted") == before
    assert all(score is None for score in scores(course).values()), "nothing may be scored"


def test_the_unsafe_opt_out_grades_and_warns_on_every_run(tmp_path):
    course = make_course(tmp_path / "course", ["alice"])
    result = subprocess.run(
        [sys.executable, "-m", "autograder.engine.grade_class", ASSIGNMENT, "--unsafe-no-sandbox"],
        cwd=course,
        env=without_bwrap(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WITHOUT THE SANDBOX" in result.stderr
    assert "WITHOUT THE SANDBOX" in (course / ".grade_class" / ASSIGNMENT / "alice.log").read_text()
    assert scores(course)[("alice", "test_double")] == 2.0
