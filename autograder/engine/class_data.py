"""What a graded class looks like, read back for the instructor's report: one plain value per submission.

    read_class(course, assignment) -> ClassData

Reads the course's gradebook through nbgrader's ``Gradebook`` API (wherever
``nbgrader_config.py`` puts it: SQLite or a PostgreSQL server), and each student's autograded
notebooks under ``autograded/STUDENT/ASSIGNMENT/``: the sentence a failed test cell showed
(the error output :mod:`autograder.engine.trusted` wrote), the flags it recorded in the
notebook's metadata (read by :func:`autograder.engine.job_outcome.notebook_flags`), and the answer cells'
sources, code and written (for :mod:`autograder.engine.similarity`). What ``make grade`` measured of each job
(outcome, time, peak memory) comes from the record :mod:`autograder.engine.orchestrate` keeps
beside each job's log. Part of the grading engine; :mod:`autograder.engine.class_report`
turns it into the report. Nothing here writes anywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from autograder.engine.course_config import read_course_config
from autograder.engine.job_outcome import notebook_flags

#: A figure at the end of a failure sentence ("found 1,234.5"), and the RMSE an answer cell printed.
_FOUND = re.compile(r"found (-?[\d,]+(?:\.\d+)?)\s*$")
_PRINTED_RMSE = re.compile(r"test RMSE (-?[\d,]+(?:\.\d+)?) index points")


@dataclass(frozen=True)
class GradedCell:
    """One graded cell of the assignment, as the gradebook defines it."""

    notebook: str
    grade_id: str
    points: float
    #: "code" for an autograded test cell, "markdown" for a written answer graded by hand.
    kind: str


@dataclass
class Submission:
    """One student's graded submission, everything the report shows of it."""

    student: str
    first_name: str | None
    last_name: str | None
    email: str | None
    lms_user_id: str | None
    score: float
    max_score: float
    #: notebook -> its score
    notebook_scores: dict[str, float]
    #: (notebook, grade_id) -> points scored
    points: dict[tuple[str, str], float]
    #: (notebook, grade_id) -> the failure sentence its autograded cell showed (absent: it passed)
    failures: dict[tuple[str, str], str]
    seconds_late: float
    flagged_notebooks: list[str]
    #: The grader's reasons, "notebook: grade_id: reason" (notebook metadata)
    flags: list[str]
    #: notebook -> {answer cell grade_id: source}
    answers: dict[str, dict[str, str]]
    #: notebook -> every cell's text output, in order (for figures a notebook printed)
    printed: dict[str, list[str]] = field(default_factory=dict)
    #: What make grade recorded of the job (None: graded otherwise, for example by make autograde).
    job: dict | None = None
    #: notebook -> {written answer cell grade_id: its markdown} (the cells graded by hand)
    written: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.student

    def passed(self, cell: GradedCell) -> bool:
        """Full points, and no failure shown (a 0-point check passes only if it showed none)."""
        key = (cell.notebook, cell.grade_id)
        return key not in self.failures and self.points.get(key, 0.0) >= cell.points


@dataclass
class ClassData:
    assignment: str
    course_id: str
    tests: list[GradedCell]
    submissions: list[Submission]
    #: notebook -> {answer cell grade_id: the released starter code}
    starter: dict[str, dict[str, str]]
    #: notebook -> {written answer cell grade_id: the released starter text ("YOUR ANSWER HERE")}
    written_starter: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def notebooks(self) -> list[str]:
        return sorted({cell.notebook for cell in self.tests} | set(self.starter))


def job_record_path(course: Path, assignment: str, student: str) -> Path:
    """Where ``make grade`` keeps what it measured of one student's job (beside the job's log)."""
    return Path(course) / ".grade_class" / assignment / f"{student}.json"


def read_class(course: Path, assignment: str) -> ClassData:
    """The class's graded submissions of ``assignment`` in the nbgrader course at ``course``."""
    course = Path(course).resolve()
    _, coursedir = read_course_config(course)
    url = make_url(coursedir.db_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        # Opening it would create an empty gradebook in the instructor's course.
        raise FileNotFoundError(f"no gradebook at {url.database}")
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        defined = gradebook.find_assignment(assignment)
        tests = [
            GradedCell(notebook.name, cell.name, float(cell.max_score), cell.cell_type)
            for notebook in sorted(defined.notebooks, key=lambda n: n.name)
            for cell in notebook.grade_cells
        ]
        starter = _released_sources(defined.notebooks, _answer_ids)
        written_starter = _released_sources(defined.notebooks, _written_ids)
        submissions = []
        for submitted in sorted(gradebook.assignment_submissions(assignment), key=lambda s: s.student.id):
            person = submitted.student
            autograded = course / "autograded" / person.id / assignment
            submission = Submission(
                student=person.id,
                first_name=person.first_name,
                last_name=person.last_name,
                email=person.email,
                lms_user_id=person.lms_user_id,
                score=float(submitted.score),
                max_score=float(submitted.max_score),
                notebook_scores={notebook.name: float(notebook.score) for notebook in submitted.notebooks},
                points={
                    (notebook.name, grade.name): float(grade.score)
                    for notebook in submitted.notebooks
                    for grade in notebook.grades
                },
                failures={},
                seconds_late=float(submitted.total_seconds_late or 0.0),
                flagged_notebooks=sorted(
                    notebook.name for notebook in submitted.notebooks if notebook.flagged
                ),
                flags=[],
                answers={},
            )
            _read_notebooks(submission, autograded, {cell.grade_id for cell in tests if cell.kind == "code"})
            record = job_record_path(course, assignment, person.id)
            if record.is_file():
                submission.job = json.loads(record.read_text(encoding="utf-8"))
            submissions.append(submission)
    return ClassData(assignment, coursedir.course_id, tests, submissions, starter, written_starter)


def _released_sources(notebooks, cell_ids) -> dict[str, dict[str, str]]:
    """notebook -> grade id -> the released source of the cells ``cell_ids(notebook)`` names."""
    return {
        notebook.name: {
            cell.name: cell.source or "" for cell in notebook.source_cells if cell.name in cell_ids(notebook)
        }
        for notebook in notebooks
    }


def _answer_ids(notebook) -> set[str]:
    """The grade ids of the cells a student writes code in (nbgrader ``solution`` code cells)."""
    return {cell.name for cell in notebook.solution_cells} - {cell.name for cell in notebook.grade_cells}


def _written_ids(notebook) -> set[str]:
    """The grade ids of the cells a student writes prose in (markdown ``solution`` cells, graded by hand)."""
    written = {cell.name for cell in notebook.grade_cells if cell.cell_type == "markdown"}
    return written & {cell.name for cell in notebook.solution_cells}


def _read_notebooks(submission: Submission, autograded: Path, test_ids: set[str]) -> None:
    for path in sorted(autograded.glob("*.ipynb")) if autograded.is_dir() else []:
        notebook = nbformat.read(path, as_version=4)
        answers, written, printed = {}, {}, []
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            outputs = cell.get("outputs", [])
            printed += [output.get("text", "") for output in outputs if output.get("output_type") == "stream"]
            if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
                answers[grade_id] = cell.source
            if cell.cell_type == "markdown" and meta.get("solution"):
                written[grade_id] = cell.source
            if grade_id in test_ids:
                errors = [output for output in outputs if output.get("output_type") == "error"]
                if errors:
                    submission.failures[(path.stem, grade_id)] = _sentence(errors[-1])
        submission.flags += notebook_flags(notebook, path.stem)
        submission.answers[path.stem] = answers
        submission.written[path.stem] = written
        submission.printed[path.stem] = printed


def _sentence(error) -> str:
    """A failure as the student read it: the check's sentence, or the error's name and value."""
    value = str(error.get("evalue", "")).strip()
    name = error.get("ename", "")
    return value if name == "AssertionError" and value else f"{name}: {value}".strip(": ")


def found_figure(sentence: str) -> float | None:
    """The figure a failure sentence ends on ("... found 1,789.8"), or None."""
    match = _FOUND.search(sentence)
    return float(match.group(1).replace(",", "")) if match else None


def printed_rmse(lines: list[str]) -> float | None:
    """The test RMSE a notebook printed ("test RMSE 122.1 index points"), or None."""
    for line in lines:
        match = _PRINTED_RMSE.search(line)
        if match:
            return float(match.group(1).replace(",", ""))
    return None
