"""``make export LMS=canvas|moodle``: nbgrader's own ``export`` with the course's exporter plugins.

The synthetic class of the report's tests (a real gradebook, written without grading) is
exported through the real ``nbgrader export --exporter=...`` command; each file is read
back with ``csv`` and its scores compared with the gradebook's. The student without an
LMS id is in the file and named on stderr and in the companion message.
"""

from __future__ import annotations

import csv

import pytest
from nbgrader.api import Gradebook

from autograder.testkit.report_class import CLASS, build_class, lms_id
from autograder.testkit.sample_class import ASSIGNMENT, make_course, run_nbgrader

pytestmark = pytest.mark.slow  # a real `nbgrader generate_assignment` and `nbgrader export`

NO_ID = [student for student, spec in CLASS.items() if lms_id(student, spec) is None]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("export"))
    build_class(course, CLASS)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        # A student on the roster who handed nothing in: exported as 0, never left out.
        gradebook.update_or_create_student("zoe", first_name="Zoe", last_name="Zhu", lms_user_id="canvas-9")
    return course


@pytest.fixture(scope="module")
def scores(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        found = {s.student.id: s.score for s in gradebook.assignment_submissions(ASSIGNMENT)}
        return found | {"zoe": 0.0}, float(gradebook.find_assignment(ASSIGNMENT).max_score)


def export(course, exporter: str, name: str):
    done = run_nbgrader(
        course, "export", f"--exporter=autograder.engine.lms_export.{exporter}", "--to", f"build/{name}"
    )
    assert done.returncode == 0, done.stderr
    with (course / "build" / name).open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    return rows, done.stderr, (course / "build" / f"{name}.txt").read_text(encoding="utf-8")


def test_the_canvas_file_has_canvass_columns_and_every_students_score(course, scores):
    expected, max_score = scores
    rows, stderr, message = export(course, "CanvasExport", "grades-canvas.csv")
    header, points, *students = rows
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert points[0] == "Points Possible"
    assert float(points[5]) == max_score
    by_login = {row[3]: row for row in students}
    assert set(by_login) == set(expected)
    for student, score in expected.items():
        assert float(by_login[student][5]) == pytest.approx(score)
    assert by_login["ana"][0] == "Alves, Ana"
    assert by_login["ana"][1] == lms_id("ana", CLASS["ana"])
    # Hostile-looking names stay data: csv quotes them, nothing is dropped.
    assert by_login["mia"][0] == "<script>alert('mia')</script>, Mia"
    for student in NO_ID:
        assert by_login[student][1] == ""
        assert f"{student}: no lms_user_id" in stderr
        assert f"{student}: no lms_user_id" in message
    assert "zoe: no submission of gated_rnn, exported as 0" in message


def test_the_moodle_file_maps_by_id_number_and_keeps_every_students_grade(course, scores):
    expected, _ = scores
    rows, stderr, message = export(course, "MoodleExport", "grades-moodle.csv")
    header, *students = rows
    assert header == ["ID number", "Username", "Email address", "First name", "Last name", ASSIGNMENT]
    by_user = {row[1]: row for row in students}
    assert set(by_user) == set(expected)
    for student, score in expected.items():
        assert float(by_user[student][5]) == pytest.approx(score)
    assert by_user["chloe"][3] == "Chloé"
    for student in NO_ID:
        assert by_user[student][0] == ""
        assert by_user[student][2] == f"{student}@example.edu"
        assert f"{student}: no lms_user_id (ID number); map by Email address" in stderr
        assert student in message
