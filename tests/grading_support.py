"""The synthetic class for the tests: the scores each kind of submission must get, the
errors a graded cell showed, and the sample class of :mod:`autograder.sample_class`.

The course, the submissions and plain ``nbgrader autograde`` live in the package because
the grading benchmarks build the same class; tests take them from here, beside what only
tests need:

    course = make_course(tmp_path)                     # config, solutions/, exercises/, gradebook
    make_class(course)                                 # one submission per kind of CLASS
    grading = autograde(course)                        # `nbgrader autograde gated_rnn`
    assert grading.scores["ana"] == expected_scores("solution")
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.sample_class import (
    ASSIGNMENT,
    AUTOGRADED,
    CLASS,
    NOTEBOOKS,
    SUBMISSION_KINDS,
    TEST_TIMEOUT,
    Grading,
    autograde,
    cells_by_grade_id,
    grade_in_the_kernel,
    make_class,
    make_course,
    make_submission,
    nbgrader_environment,
    read_scores,
    run_nbgrader,
    submission_notebooks,
    summary,
    tree_digest,
)

__all__ = [
    "ASSIGNMENT",
    "AUTOGRADED",
    "CLASS",
    "NOTEBOOKS",
    "SUBMISSION_KINDS",
    "TEST_TIMEOUT",
    "Grading",
    "autograde",
    "error_outputs",
    "expected_scores",
    "flagged_notebooks",
    "grade_in_the_kernel",
    "make_class",
    "make_course",
    "make_submission",
    "nbgrader_environment",
    "read_scores",
    "run_nbgrader",
    "submission_notebooks",
    "summary",
    "tree_digest",
]


def expected_scores(kind: str) -> dict[str, float]:
    """grade_id -> the autograded score a submission of ``kind`` must get."""
    lost = SUBMISSION_KINDS[kind][1]
    return {name: (0.0 if name in lost else float(points)) for name, points in AUTOGRADED.items()}


def error_outputs(course: Path, student: str) -> dict[str, list[str]]:
    """grade_id -> the error lines and stderr text of each test cell in the autograded copy."""
    found = {}
    for name in NOTEBOOKS:
        path = Path(course) / "autograded" / student / ASSIGNMENT / f"{name}.ipynb"
        if not path.exists():
            continue
        for cell_id, cell in cells_by_grade_id(nbformat.read(path, as_version=4)).items():
            lines = []
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    lines.append(f"{output.ename}: {output.evalue}")
                elif output.output_type == "stream" and output.name == "stderr":
                    lines.append(f"stderr: {output.text}")
            if lines:
                found[cell_id] = lines
    return found


def flagged_notebooks(course: Path) -> set[tuple[str, str]]:
    """(student, notebook) of every notebook the course's SQLite gradebook marks flagged."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            (submission.student.id, notebook.name)
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
            for notebook in submission.notebooks
            if notebook.flagged
        }
