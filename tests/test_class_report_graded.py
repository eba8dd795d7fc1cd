"""The class report after real grading: the toy course graded by ``make grade``'s engine, then reported.

The synthetic class of ``test_class_report.py`` is written without grading; this closes the
loop on what grading really leaves behind (autograded notebooks, the gradebook, each job's
record beside its log) with a one-notebook course that needs no TensorFlow.
"""

import re

import pytest
from toy_course import ASSIGNMENT, LIMITS, make_course

from autograder.engine.class_data import read_class
from autograder.engine.class_report import write_report
from autograder.engine.orchestrate import grade_students

pytestmark = pytest.mark.slow  # real nbgrader grading, with a submission that runs into the time limit

#: Graded, graded with a wrong answer, the released cell untouched, stopped at the time limit, crashed.
STUDENTS = ["alice", "frank", "bob", "erin", "gus"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("reported") / "course", STUDENTS)
    jobs = {job.student: job for job in grade_students(course, ASSIGNMENT, workers=2, limits=LIMITS)}
    return course, jobs


def test_the_report_reads_what_grading_left_behind(graded):
    course, jobs = graded
    data = read_class(course, ASSIGNMENT)
    by_student = {s.student: s for s in data.submissions}
    assert set(by_student) == set(STUDENTS)
    for student, job in jobs.items():
        assert by_student[student].score == job.score
        assert by_student[student].job["outcome"] == job.outcome
        assert by_student[student].job["seconds"] == pytest.approx(job.seconds)
    # frank's wrong answer failed a test with a sentence; alice failed none.
    assert by_student["frank"].failures
    assert not by_student["alice"].failures


def test_the_report_lists_the_submissions_not_graded_cleanly_with_their_outcome(graded):
    course, jobs = graded
    page = write_report(course, ASSIGNMENT, course / "report.html").read_text(encoding="utf-8")
    section = re.search(r"<h2 id='not-clean'>.*?(?=<h2)", page, re.S).group(0)
    unclean = sorted(student for student, job in jobs.items() if job.outcome != "graded")
    assert unclean == ["erin", "gus"]
    for student in unclean:
        assert f"<td>{student}</td><td>{jobs[student].outcome}</td>" in section
    assert "<td>alice</td>" not in section
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3  # no RMSE figure without --rmse
