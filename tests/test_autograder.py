"""The exercises graded by real nbgrader in a temporary course built from the repository.

The synthetic class (``sample_class.CLASS``) is graded once per session by the
``graded_class`` fixture; the tests below read its results.
"""

import filecmp
import json
import re

import grading_support as support
import nbformat
import pytest

from autograder import steps
from autograder.checks import rmse_bound
from autograder.testkit import sample_class
from autograder.testkit.sample_class import ASSIGNMENT, AUTOGRADED, CLASS, NOTEBOOKS, SUBMISSION_KINDS
from rnn_forecast.paths import REPOSITORY_ROOT

#: Real nbgrader grading of the whole synthetic class: minutes. The notebooks' own tests are fast.
slow = pytest.mark.slow

STUDENT_OF = {kind: student for student, kind in CLASS.items()}


def cells(folder, name):
    notebook = nbformat.read(REPOSITORY_ROOT / folder / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    return [cell for cell in notebook.cells]


# ---------------------------------------------------------------- the notebooks themselves (fast)


def test_every_cell_of_the_solutions_is_an_nbgrader_cell_with_a_unique_id():
    ids = []
    for name in NOTEBOOKS:
        for cell in cells("solutions", name):
            assert "nbgrader" in cell.metadata, (
                f"{name}: a cell without nbgrader metadata: {cell.source[:60]!r}"
            )
            ids.append(cell.metadata["nbgrader"]["grade_id"])
    assert len(ids) == len(set(ids))


def test_autograded_cells_are_locked_tests_with_the_points_the_tests_expect():
    found = {}
    for name in NOTEBOOKS:
        for cell in cells("solutions", name):
            meta = cell.metadata["nbgrader"]
            if meta["grade"] and cell.cell_type == "code":
                assert meta["locked"], meta["grade_id"]
                assert not meta["solution"], meta["grade_id"]
                found[meta["grade_id"]] = meta["points"]
    assert found == AUTOGRADED


def test_rmse_tests_are_hidden_and_structural_tests_visible():
    for name in NOTEBOOKS:
        for cell in cells("solutions", name):
            meta = cell.metadata["nbgrader"]
            if not (meta["grade"] and cell.cell_type == "code"):
                continue
            hidden = "### BEGIN HIDDEN TESTS" in cell.source
            assert hidden == ("check_test_rmse" in cell.source), meta["grade_id"]
    released = {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for name in NOTEBOOKS
        for cell in cells("exercises", name)
    }
    assert "check_test_rmse" not in "".join(released.values())
    assert 'check_recurrent_layers(model, "GRU")' in released["ex2_layers_test"]


def test_each_exercise_has_a_manually_graded_answer():
    manual = [
        cell.metadata["nbgrader"]["grade_id"]
        for name in NOTEBOOKS
        for cell in cells("solutions", name)
        if cell.cell_type == "markdown" and cell.metadata["nbgrader"]["grade"]
    ]
    assert manual == ["ex1_cell_state_answer", "ex2_compare_answer", "ex3_compare_answer"]


def test_solutions_are_committed_without_outputs():
    for name in NOTEBOOKS:
        for cell in cells("solutions", name):
            assert not cell.get("outputs"), f"{name}: {cell.metadata['nbgrader']['grade_id']} has outputs"


@slow
def test_committed_exercises_are_what_generate_assignment_makes(tmp_path):
    """CI's proof that exercises/ was regenerated after the last change to solutions/."""
    course = sample_class.make_course(tmp_path, register=False)
    result = sample_class.run_nbgrader(
        course,
        "generate_assignment",
        ASSIGNMENT,
        "--no-db",
        "--force",
        "--CourseDirectory.release_directory=regenerated",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    comparison = filecmp.dircmp(
        REPOSITORY_ROOT / "exercises" / ASSIGNMENT, course / "regenerated" / ASSIGNMENT
    )
    assert comparison.left_only == comparison.right_only == [], "files differ: run make release"
    for name in sorted(comparison.common_files):
        committed = (REPOSITORY_ROOT / "exercises" / ASSIGNMENT / name).read_bytes()
        regenerated = (course / "regenerated" / ASSIGNMENT / name).read_bytes()
        assert committed == regenerated, (
            f"exercises/{ASSIGNMENT}/{name} is stale: run make release and commit"
        )


# ---------------------------------------------------------------- the graded class (nbgrader autograde)


@slow
def test_grading_the_class_finishes_normally(graded_class):
    assert graded_class.result.returncode == 0, graded_class.result.stderr[-5000:]
    assert set(graded_class.scores) == set(CLASS), sample_class.summary(graded_class)
    for student in CLASS:
        for name in NOTEBOOKS:
            assert (graded_class.course / "autograded" / student / ASSIGNMENT / f"{name}.ipynb").is_file()


@slow
def test_the_solutions_get_every_autograded_point(graded_class):
    student = STUDENT_OF["solution"]
    assert graded_class.scores[student] == support.expected_scores("solution")
    assert sum(graded_class.scores[student].values()) == sum(AUTOGRADED.values())
    # The 0-point checks of the reported RMSE score nothing; the verifier must still pass them.
    assert support.error_outputs(graded_class.course, student) == {}


@slow
def test_the_untouched_release_gets_zero_autograded_points(graded_class):
    scores = graded_class.scores[STUDENT_OF["release"]]
    assert scores == support.expected_scores("release")
    assert sum(scores.values()) == 0


@pytest.mark.parametrize("kind", ["wrong_class", "wrong_units", "untrained", "raw_prices"])
@slow
def test_a_faulty_submission_loses_exactly_the_checks_it_breaks(graded_class, kind):
    scores = graded_class.scores[STUDENT_OF[kind]]
    assert scores == support.expected_scores(kind), SUBMISSION_KINDS[kind][0]
    assert 0 < sum(scores.values()) < sum(AUTOGRADED.values())


@slow
def test_an_endless_loop_zeroes_its_exercise_and_the_others_are_graded(graded_class):
    student = STUDENT_OF["infinite_loop"]
    scores = graded_class.scores[student]
    assert scores == support.expected_scores("infinite_loop")
    assert all(score == 0 for name, score in scores.items() if name.startswith("ex2_"))
    assert all(score == AUTOGRADED[name] for name, score in scores.items() if not name.startswith("ex2_"))
    notebook = nbformat.read(
        graded_class.course / "autograded" / student / ASSIGNMENT / "2_gru8.ipynb", as_version=4
    )
    build = next(c for c in notebook.cells if c.metadata["nbgrader"]["grade_id"] == "ex2_build_answer")
    assert any(o.output_type == "error" for o in build.outputs), "the endless cell was not interrupted"


@slow
def test_an_edited_test_cell_is_restored_and_still_fails(graded_class):
    student = STUDENT_OF["tampered_test"]
    submitted = nbformat.read(
        graded_class.course / "submitted" / student / ASSIGNMENT / "1_gates.ipynb", as_version=4
    )
    graded = nbformat.read(
        graded_class.course / "autograded" / student / ASSIGNMENT / "1_gates.ipynb", as_version=4
    )
    original = next(
        c for c in cells("solutions", "1_gates") if c.metadata["nbgrader"]["grade_id"] == "ex1_lstm_test"
    )

    def source(notebook):
        return next(c.source for c in notebook.cells if c.metadata["nbgrader"]["grade_id"] == "ex1_lstm_test")

    assert source(submitted) == "pass"
    assert source(graded) == original.source
    assert graded_class.scores[student] == support.expected_scores("tampered_test")
    assert support.error_outputs(graded_class.course, student)["ex1_lstm_test"] == [
        "AssertionError: expected the LSTM's 3 gates (any case and order), found forget and input"
    ]


@slow
def test_submissions_are_byte_for_byte_unchanged(graded_class):
    assert graded_class.submitted_before == graded_class.submitted_after
    assert len(graded_class.submitted_before) == len(CLASS) * (len(NOTEBOOKS) + 1)


@slow
def test_no_cell_writes_to_stderr(graded_class):
    for student in CLASS:
        for cell_id, lines in support.error_outputs(graded_class.course, student).items():
            assert not any(line.startswith("stderr:") for line in lines), (student, cell_id, lines)


#: (student kind, test cell) -> what the student reads, exactly.
MESSAGES = {
    ("wrong_class", "ex2_layers_test"): "expected a GRU layer, found LSTM with 8 units",
    ("wrong_class", "ex2_shape_test"): "expected 425 parameters in the model, found 481",
    ("wrong_class", "ex3_layers_test"): (
        "expected 2 recurrent layers, LSTM then LSTM, found GRU with 32 units then GRU with 16 units"
    ),
    ("wrong_units", "ex2_units_test"): "expected a recurrent layer with 8 units, found GRU with 32 units",
    ("wrong_units", "ex3_units_test"): (
        "expected 2 recurrent layers with 32 and 16 units, found LSTM with 32 units then LSTM with 8 units"
    ),
    # A model never trained is a step not done: the verifier words it as that step's sentence.
    ("untrained", "ex2_trained_test"): steps.missing_answer("2_gru8", "trained"),
    ("untrained", "ex3_trained_test"): steps.missing_answer("3_stacked_lstm", "trained"),
}


@slow
def test_failing_tests_say_what_was_expected_and_found_in_one_sentence(graded_class):
    for (kind, cell_id), message in MESSAGES.items():
        errors = support.error_outputs(graded_class.course, STUDENT_OF[kind])
        assert errors.get(cell_id) == [f"AssertionError: {message}"], (kind, cell_id, errors.get(cell_id))
    raw = support.error_outputs(graded_class.course, STUDENT_OF["raw_prices"])["ex2_rmse_test"]
    assert len(raw) == 1, raw
    bound = re.escape(f"{rmse_bound('gru8'):,.1f}")
    assert re.fullmatch(
        rf"AssertionError: expected a test RMSE of at most {bound} index points on the 184 test windows, "
        r"found [\d,]+\.\d",
        raw[0],
    ), raw


@slow
def test_feedback_and_export_work_on_the_graded_class(graded_class):
    course = graded_class.course
    feedback = sample_class.run_nbgrader(course, "generate_feedback", ASSIGNMENT)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    for student in CLASS:
        for name in NOTEBOOKS:
            assert (course / "feedback" / student / ASSIGNMENT / f"{name}.html").is_file()
    export = sample_class.run_nbgrader(course, "export")
    assert export.returncode == 0, export.stderr[-3000:]
    rows = (course / "grades.csv").read_text().splitlines()
    header = rows[0].split(",")
    totals = {}
    for row in rows[1:]:
        fields = dict(zip(header, row.split(","), strict=True))
        totals[fields["student_id"]] = float(fields["raw_score"])
    for student, kind in CLASS.items():
        # The solutions' manual answers are not graded yet, so raw_score is the autograded part.
        assert totals[student] == sum(support.expected_scores(kind).values()), (student, kind)


@slow
def test_the_graded_solution_lies_in_the_calibrated_distribution(graded_class):
    """The solution notebook runs the calibration's recipe (seed 0): on the machine that
    calibrated, the very same number; elsewhere, within the calibrated spread."""
    calibration = json.loads((REPOSITORY_ROOT / "autograder" / "calibration.json").read_text())
    for name, cell_id, label, exercise in [
        ("2_gru8", "ex2_rmse_answer", r"GRU\(8\)", "gru8"),
        ("3_stacked_lstm", "ex3_rmse_answer", r"LSTM\(32\) \+ LSTM\(16\)", "stacked_lstm"),
    ]:
        notebook = nbformat.read(
            graded_class.course / "autograded" / STUDENT_OF["solution"] / ASSIGNMENT / f"{name}.ipynb",
            as_version=4,
        )
        printed = "".join(
            output.get("text", "")
            for cell in notebook.cells
            if cell.metadata["nbgrader"]["grade_id"] == cell_id
            for output in cell.outputs
        )
        found = float(re.search(label + r" test RMSE ([\d.]+)", printed).group(1))
        entry = calibration["exercises"][exercise]
        assert 0.9 * entry["min"] <= found <= 1.1 * entry["max"], (exercise, found, entry)
