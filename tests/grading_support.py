"""What only the tests need of the synthetic class: the scores each kind of submission must get,
and the errors a graded cell showed. The class itself (the course, the submissions, plain
``nbgrader autograde``) is :mod:`autograder.testkit.sample_class`, which the grading
benchmarks build too; tests import it from there:

    course = sample_class.make_course(tmp_path)        # config, solutions/, exercises/, gradebook
    sample_class.make_class(course)                    # one submission per kind of CLASS
    grading = sample_class.autograde(course)           # `nbgrader autograde gated_rnn`
    assert grading.scores["ana"] == expected_scores("solution")
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.testkit.sample_class import (
    ASSIGNMENT,
    AUTOGRADED,
    NOTEBOOKS,
    SUBMISSION_KINDS,
    cells_by_grade_id,
)


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
