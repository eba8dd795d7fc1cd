"""``make report``: the class report's numbers, sentences, flags and copied pairs, on a synthetic class.

The class (:data:`autograder.testkit.report_class.CLASS`, 16 students) is written straight
into a real nbgrader gradebook and real autograded notebooks derived from the course's own,
so grade ids are real and no grading runs. Every figure the report prints is computed here
again from the gradebook and the notebooks by other code, and compared with the HTML.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys

import numpy as np
import pytest
from cluster_support import PostgresServer, postgres_problem
from grading_support import error_outputs
from nbgrader.api import Gradebook

from autograder.engine.class_data import job_record_path, read_class
from autograder.engine.class_report import calibration_targets, write_report
from autograder.engine.similarity import similar_pairs
from autograder.testkit.report_class import CLASS, HOSTILE_FLAG, HOSTILE_WRITING, build_class
from autograder.testkit.sample_class import ASSIGNMENT, make_course, nbgrader_environment, run_nbgrader
from rnn_forecast.paths import REPOSITORY_ROOT

pytestmark = pytest.mark.slow  # the course's gradebook comes from a real `nbgrader generate_assignment`

RMSE = [
    "2_gru8:ex2_rmse_test:ex2_reported_rmse_test:gru8",
    "3_stacked_lstm:ex3_rmse_test:ex3_reported_rmse_test:stacked_lstm",
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("report"))
    build_class(course, CLASS)
    return course


@pytest.fixture(scope="module")
def report(course):
    """The report as `make report` writes it: the command line, in the course folder."""
    output = course / "build" / "report.html"
    command = [sys.executable, "-m", "autograder.engine.class_report", ASSIGNMENT, "--output", str(output)]
    command += ["--calibration", str(REPOSITORY_ROOT / "autograder" / "calibration.json")]
    command += [argument for spec in RMSE for argument in ("--rmse", spec)]
    done = subprocess.run(command, cwd=course, env=nbgrader_environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return output.read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_class_has_at_least_twelve_students(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert len(gradebook.assignment_submissions(ASSIGNMENT)) == len(CLASS) >= 12


def test_scores_and_each_tests_pass_rate_and_discrimination_equal_the_gradebooks(course, report):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submissions = gradebook.assignment_submissions(ASSIGNMENT)
        totals = {s.student.id: float(s.score) for s in submissions}
        cells = {
            (notebook.name, cell.name): float(cell.max_score)
            for notebook in gradebook.find_assignment(ASSIGNMENT).notebooks
            for cell in notebook.grade_cells
            if cell.cell_type == "code"
        }
        points = {
            (s.student.id, notebook.name, grade.name): float(grade.score)
            for s in submissions
            for notebook in s.notebooks
            for grade in notebook.grades
        }
    assert (
        f"Mean {statistics.fmean(totals.values()):.2f} , median {statistics.median(totals.values()):g}"
        in text_of(report)
    )
    errors = {student: error_outputs(course, student) for student in totals}
    students = sorted(totals)
    for (notebook, cell), maximum in cells.items():
        passed = [
            points[(student, notebook, cell)] >= maximum and cell not in errors[student]
            for student in students
        ]
        rest = [totals[student] - points[(student, notebook, cell)] for student in students]
        shown = (
            f"{np.corrcoef(np.array(passed, dtype=float), rest)[0, 1]:.2f}"
            if len(set(passed)) > 1
            else "undefined"
        )
        row = (
            f"<td>{notebook}</td><td>{cell}</td><td>{maximum:g}</td>"
            f"<td>{sum(passed)}/{len(students)} ({sum(passed) / len(students):.0%})</td>"
            f"<td>{statistics.fmean(points[(s, notebook, cell)] for s in students):.2f}</td><td>{shown}</td>"
        )
        assert row in report, row


def test_a_test_everyone_passes_is_called_out_as_separating_no_one(report):
    row = re.search(r"<td>ex1_lstm_test</td>.*?</tr>", report).group(0)
    assert f"{len(CLASS)}/{len(CLASS)} (100%)" in row
    assert "separates no one" in row


def test_a_shared_misconception_is_one_sentence_counted(report):
    shared = [s for s in CLASS.values() if "found 32" in s.failures.get(("2_gru8", "ex2_units_test"), "")]
    assert len(shared) >= 3
    assert f"<td>{len(shared)} ×</td><td>expected 8 units in the recurrent layer, found 32</td>" in report


def test_the_rmse_section_counts_what_the_notebooks_and_the_grader_show(report):
    targets = calibration_targets(RMSE, REPOSITORY_ROOT / "autograder" / "calibration.json")
    gru8 = targets[0]
    # Every student but the one who never built a model (leo) has a figure; mia's is the grader's.
    figures = [
        spec.rmse["2_gru8"]
        for student, spec in CLASS.items()
        if ("2_gru8", "ex2_reported_rmse_test") not in spec.failures
    ]
    in_band = sum(gru8.honest_min <= value <= gru8.honest_max for value in figures)
    above = sum(value > gru8.bound for value in figures)
    assert above == 1
    row = (
        f"<td>2_gru8</td><td>{len(figures)}</td><td>{statistics.median(figures):.1f}</td>"
        f"<td>{in_band}</td><td>{above}</td>"
    )
    assert row in report


def test_flagged_crashed_and_late_submissions_are_listed_with_their_reasons(course, report):
    text = text_of(report)
    assert "ivy 2_gru8 2_gru8: ex2_rmse_test: test RMSE 60.2 is far below" in text
    assert "jon crashed 1" in text
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        late = {
            s.student.id: s.timestamp - s.assignment.duedate
            for s in gradebook.assignment_submissions(ASSIGNMENT)
            if s.timestamp > s.assignment.duedate
        }
    assert list(late) == ["kim"]
    minutes = round(late["kim"].total_seconds() / 60)
    assert f"<td>kim</td><td>{minutes // 60} h {minutes % 60:02d} min</td>" in report
    slowest = re.search(r"<th>slowest</th>.*?</tbody>", report, re.S).group(0)
    assert re.search(r"<td>jon</td><td>240.0</td><td>3950</td><td>crashed</td>", slowest)


def test_student_strings_are_escaped(report):
    assert "<img src=x" not in report
    assert "&lt;img src=x onerror=alert(1)&gt;" in report
    assert HOSTILE_FLAG.split(": ", 1)[0] in report
    assert "<script" not in report
    assert HOSTILE_WRITING not in report
    assert "&lt;img src=y onerror=alert(2)&gt;" in report


def test_the_copied_pair_is_found_and_the_independent_solution_is_not(course, report):
    pairs, compared = similar_pairs(read_class(course, ASSIGNMENT), 0.6)
    assert [(pair.first, pair.second) for pair in pairs] == [("finn", "gia")]
    assert compared == len(CLASS) * (len(CLASS) - 1) // 2
    assert "finn and gia" in report
    assert "hugo and" not in report
    assert "and hugo" not in report
    # The renamed lines are shown side by side, matched.
    assert "<mark>per_block = hidden" in report
    assert "<mark>block_weights = n_units" in report


def test_copied_written_answers_are_found_and_answers_in_ones_own_words_are_not(course, report):
    data = read_class(course, ASSIGNMENT)
    pairs, compared = similar_pairs(data, 0.6, kind="written")
    assert [(pair.first, pair.second) for pair in pairs] == [("olga", "pia")]
    assert compared == len(CLASS) * (len(CLASS) - 1) // 2
    # hugo and ned answered the same three questions in their own words: they share phrases
    # ("close to a random walk", "the naive forecast") but far from the bar.
    every, _ = similar_pairs(data, 0.0, kind="written")
    own_words = next(pair for pair in every if (pair.first, pair.second) == ("hugo", "ned"))
    assert own_words.similarity < 0.3
    # Listed with the code pairs, labelled, the text side by side as the students wrote it.
    copied = report[report.index("<h2 id='copied'>") :]
    assert re.search(r"<h3>olga and pia: \d+% \(\d+ characters shared\), written answers</h3>", copied)
    assert re.search(r"<h3>finn and gia: \d+% \(\d+ tokens shared\), code answers</h3>", copied)
    assert "<th>olga: written answers</th><th>pia: written answers</th>" in copied
    assert "conveyor belt that the forget gate trims" in text_of(copied)
    assert "in the Cell State, a conveyor belt" in text_of(copied)  # pia's own capitals, matched case-blind
    assert re.search(r"<mark>[^<]*Cell State, a conveyor belt", copied)


def test_the_report_is_one_file_with_embedded_figures(report):
    images = re.findall(r'<img alt="[^"]*" src="([^"]*)"', report)
    assert len(images) == 4
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', report)


def test_the_report_tells_what_to_do_without_a_gradebook(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.engine.class_report", ASSIGNMENT, "--course-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert done.returncode == 1
    assert "Grade the class first (make grade)" in done.stderr
    assert not (tmp_path / "gradebook.db").exists()  # no empty gradebook left in the course


def test_the_report_opens_in_chromium_with_every_figure_drawn(course, report, tmp_path):
    """The browser's view: every image decoded (none broken), each section there; the README's screenshot."""
    from lab_support import chromium

    path = course / "build" / "report.html"
    with chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        page.goto(path.as_uri())
        images = page.eval_on_selector_all(
            "img", "images => images.map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}))"
        )
        assert len(images) == 4
        assert all(image["complete"] and image["width"] > 0 for image in images), images
        for section in (
            "scores",
            "tests",
            "failures",
            "rmse",
            "flagged",
            "not-clean",
            "late",
            "cost",
            "copied",
        ):
            assert page.locator(f"h2#{section}").is_visible()
        assert page.locator("mark").count() > 0
        shots = REPOSITORY_ROOT / "build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1100, "height": 1000})
        page.screenshot(path=shots / "report.png")


def test_the_report_opens_on_the_commonest_failure_and_the_counts(report):
    glance = text_of(re.search(r"<h2 id='glance'>.*?</ul>", report, re.S).group(0))
    assert "Most common failure: 3 × “expected 8 units in the recurrent layer, found 32”" in glance
    assert (
        "1 flagged, 1 not graded cleanly, 1 late; "
        "2 pairs look copied (1 in code answers, 1 in written answers)."
    ) in glance


def test_make_grade_records_each_jobs_outcome_and_cost_where_the_report_reads_it(tmp_path):
    from autograder.engine.job_types import JobResult, Outcome
    from autograder.engine.orchestrate import store

    logs = tmp_path / ".grade_class" / ASSIGNMENT
    logs.mkdir(parents=True)
    job = JobResult("ana", Outcome.MEMORY, exit_code=-9, seconds=12.5, peak_mib=4000.0, log="killed")
    store(tmp_path, ASSIGNMENT, job, logs)
    record = json.loads(job_record_path(tmp_path, ASSIGNMENT, "ana").read_text(encoding="utf-8"))
    assert record["outcome"] == "memory limit"
    assert (record["exit_code"], record["seconds"], record["peak_mib"]) == (-9, 12.5, 4000.0)


def comparable(report: str) -> str:
    """The report's text, without the minute it was written."""
    return re.sub(r"written \S+ \S+ UTC", "written", text_of(report))


@pytest.mark.skipif(postgres_problem() is not None, reason=str(postgres_problem()))
def test_a_class_in_a_postgresql_gradebook_gives_the_same_report(report, tmp_path):
    """The gradebook on a PostgreSQL server (nbgrader_config.py's db_url), the same class: the same page."""
    course = make_course(tmp_path, register=False)
    with PostgresServer() as server:
        url = server.create_database("report")
        with (course / "nbgrader_config.py").open("a", encoding="utf-8") as config:
            config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
        released = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
        assert released.returncode == 0, released.stderr[-3000:]
        (course / "gradebook.db").unlink(missing_ok=True)
        build_class(course, CLASS, db_url=url)
        output = write_report(
            course,
            ASSIGNMENT,
            course / "report.html",
            calibration_targets(RMSE, REPOSITORY_ROOT / "autograder" / "calibration.json"),
        )
        assert not (course / "gradebook.db").exists()
        assert comparable(output.read_text(encoding="utf-8")) == comparable(report)
