"""A student's gradebook rows as plain data, and an assignment's definition in a gradebook of its own.

A grading job that runs away from the course (:mod:`autograder.engine.grade_job`) grades into a
small SQLite gradebook of its own, which starts from :func:`assignment_gradebook` (the
assignment's definition, hidden tests included, and no student) plus that student's
earlier rows, and it hands back what nbgrader's autograde left there as
:class:`StudentRows`. The orchestrator writes those rows into the course's gradebook.
Everything goes through nbgrader's ``Gradebook`` API, and rows are matched by names
(assignment, notebook, cell), never by database ids, so the course's gradebook ends up
exactly as if nbgrader's autograde had written to it directly.
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import text

STUDENT_FIELDS = ("first_name", "last_name", "email", "lms_user_id")
GRADE_FIELDS = ("auto_score", "manual_score", "extra_credit", "needs_manual_grade")
COMMENT_FIELDS = ("auto_comment", "manual_comment")


@dataclass
class NotebookRows:
    """One submitted notebook: its flag, late penalty, and each cell's grade and comment."""

    flagged: bool
    late_submission_penalty: float | None
    #: grade cell name -> {field: value} for GRADE_FIELDS
    grades: dict[str, dict] = field(default_factory=dict)
    #: solution or task cell name -> {field: value} for COMMENT_FIELDS
    comments: dict[str, dict] = field(default_factory=dict)


@dataclass
class SubmissionRows:
    timestamp: datetime.datetime | None
    extension: datetime.timedelta | None
    notebooks: dict[str, NotebookRows] = field(default_factory=dict)


@dataclass
class StudentRows:
    """Everything a gradebook holds about one student and one assignment."""

    student: str
    #: first_name, last_name, email, lms_user_id (a roster's details survive grading)
    details: dict[str, str | None]
    #: None when the student has no submission of the assignment yet
    submission: SubmissionRows | None = None


def read_rows(gradebook: Gradebook, assignment: str, student: str) -> StudentRows | None:
    """The student's rows for ``assignment``; None when the gradebook does not know the student."""
    try:
        person = gradebook.find_student(student)
    except MissingEntry:
        return None
    rows = StudentRows(student, {name: getattr(person, name) for name in STUDENT_FIELDS})
    try:
        submitted = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return rows
    rows.submission = SubmissionRows(submitted.timestamp, submitted.extension)
    for notebook in submitted.notebooks:
        rows.submission.notebooks[notebook.name] = NotebookRows(
            flagged=bool(notebook.flagged),
            late_submission_penalty=notebook.late_submission_penalty,
            grades={
                grade.name: {name: getattr(grade, name) for name in GRADE_FIELDS} for grade in notebook.grades
            },
            comments={
                comment.name: {name: getattr(comment, name) for name in COMMENT_FIELDS}
                for comment in notebook.comments
            },
        )
    return rows


def write_rows(gradebook: Gradebook, assignment: str, rows: StudentRows) -> None:
    """Make the gradebook hold exactly ``rows`` for this student and assignment.

    The student is created or updated; the submission is created if missing; every value
    nbgrader's autograde writes is set: the submission's timestamp and extension, each
    notebook's flag and late penalty, each grade and comment.
    """
    gradebook.update_or_create_student(rows.student, **rows.details)
    if rows.submission is None:
        return
    try:
        into = gradebook.find_submission(assignment, rows.student)
    except MissingEntry:
        with warnings.catch_warnings():
            # nbgrader's add_submission builds rows before adding them to the session,
            # which SQLAlchemy 2 reports during autoflush; plain autograde does the same.
            warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session")
            into = gradebook.add_submission(assignment, rows.student)
    into.timestamp = rows.submission.timestamp
    into.extension = rows.submission.extension
    for name, notebook in rows.submission.notebooks.items():
        target = gradebook.find_submission_notebook(name, assignment, rows.student)
        target.flagged = notebook.flagged
        target.late_submission_penalty = notebook.late_submission_penalty
        for cell, values in notebook.grades.items():
            grade = gradebook.find_grade(cell, name, assignment, rows.student)
            for key, value in values.items():
                setattr(grade, key, value)
        for cell, values in notebook.comments.items():
            comment = gradebook.find_comment(cell, name, assignment, rows.student)
            for key, value in values.items():
                setattr(comment, key, value)
    gradebook.db.commit()


def restore_rows(gradebook: Gradebook, assignment: str, student: str, rows: StudentRows | None) -> None:
    """Make the gradebook hold what it held of this student before a grading that did not finish.

    ``rows`` are the student's rows from before (:func:`read_rows`): None when the gradebook
    did not know the student, who is then removed unless another assignment of theirs is
    there; without a submission, the submission that grading created is removed.
    """
    if rows is not None and rows.submission is not None:
        write_rows(gradebook, assignment, rows)
        return
    with contextlib.suppress(MissingEntry):
        gradebook.remove_submission(assignment, student)
    if rows is None:
        with contextlib.suppress(MissingEntry):
            if not gradebook.find_student(student).submissions:
                gradebook.remove_student(student)


def assignment_gradebook(course: Gradebook, assignment: str, course_id: str) -> bytes:
    """An SQLite gradebook (as the file's bytes) holding ``assignment``'s definition and no student.

    That is what nbgrader's autograde needs of the course besides the submission: the
    notebooks, the grade, solution and task cells with their points, and the source of
    every locked cell, hidden tests included (autograde restores test cells from it).
    """
    with tempfile.TemporaryDirectory(prefix="assignment-gradebook-") as folder:
        path = Path(folder) / "gradebook.db"
        # A gradebook without tables makes nbgrader ask alembic (a subprocess) for the
        # schema version; carrying the course's own version over keeps the two alike.
        version = course.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
        with sqlite3.connect(path) as database:
            database.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            database.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
        database.close()
        with Gradebook(f"sqlite:///{path}", course_id) as release:
            _copy_assignment(course, release, assignment)
        return path.read_bytes()


def _copy_assignment(source: Gradebook, target: Gradebook, assignment: str) -> None:
    definition = source.find_assignment(assignment)
    target.add_assignment(assignment, duedate=definition.duedate, course_id=definition.course_id)
    for notebook in definition.notebooks:
        target.add_notebook(notebook.name, assignment, kernelspec=notebook.kernelspec)
        for cell in notebook.grade_cells:
            target.add_grade_cell(
                cell.name, notebook.name, assignment, max_score=cell.max_score, cell_type=cell.cell_type
            )
        for cell in notebook.solution_cells:
            target.add_solution_cell(cell.name, notebook.name, assignment)
        for cell in notebook.task_cells:
            target.add_task_cell(
                cell.name, notebook.name, assignment, max_score=cell.max_score, cell_type=cell.cell_type
            )
        for cell in notebook.source_cells:
            target.add_source_cell(
                cell.name,
                notebook.name,
                assignment,
                cell_type=cell.cell_type,
                locked=cell.locked,
                source=cell.source,
                checksum=cell.checksum,
            )
