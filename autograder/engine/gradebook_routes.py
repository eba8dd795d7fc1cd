"""The two routes by which a grading job's rows reach the course's gradebook, behind one interface.

    gradebook_route(db_url, gradebook, assignment, course_id) -> SqliteCopy | SharedServer

:class:`SqliteCopy`: the course's gradebook is an SQLite file the jobs cannot share, so each
job grades into a copy holding the assignment's definition (hidden tests included) and the
student's earlier rows, and hands its rows back for the orchestrator to write.
:class:`SharedServer`: the gradebook is a database server (PostgreSQL) every job reaches; the
jobs write their rows there, and what a job that was not graded wrote is put back as it was.

Both are frozen plain values: a route travels inside :class:`autograder.engine.job_types.JobContext`
to wherever the job runs. The instructor's side calls :meth:`~GradebookRoute.earlier_rows`,
:meth:`~GradebookRoute.snapshot`, :meth:`~GradebookRoute.store` and
:meth:`~GradebookRoute.undo`; the job's side :meth:`~GradebookRoute.job_url` and
:meth:`~GradebookRoute.rows_after`. Part of the grading engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from autograder.engine.gradebook_rows import (
    StudentRows,
    assignment_gradebook,
    read_rows,
    restore_rows,
    write_rows,
)


class GradebookRoute(Protocol):
    """How one grading run's jobs read and write student rows."""

    def earlier_rows(self, gradebook: Gradebook, assignment: str, student: str) -> StudentRows | None:
        """What the job must start from, read on the instructor's machine."""

    def snapshot(self, gradebook: Gradebook, assignment: str, students: list[str]) -> dict:
        """What to put back for a student whose job was not graded."""

    def store(self, gradebook: Gradebook, assignment: str, rows: StudentRows | None) -> None:
        """Record the rows a graded job handed back."""

    def undo(self, gradebook: Gradebook, assignment: str, student: str, snapshot: dict) -> None:
        """Put back the student's rows after a job that was not graded."""

    def job_url(self, course: Path, course_id: str, assignment: str, earlier: StudentRows | None) -> str:
        """The gradebook a job's nbgrader grades into, prepared in the job's scratch ``course``."""

    def rows_after(self, gradebook: Gradebook, assignment: str, student: str) -> StudentRows | None:
        """What the job hands back of its gradebook once nbgrader is done."""


@dataclass(frozen=True)
class SqliteCopy:
    """Each job grades into a gradebook file of its own and hands the student's rows back."""

    #: A gradebook file holding only the assignment's definition (gradebook_rows.assignment_gradebook).
    definition: bytes

    def earlier_rows(self, gradebook, assignment, student):
        return read_rows(gradebook, assignment, student)

    def snapshot(self, gradebook, assignment, students):
        return {}  # a job that was not graded hands back nothing, so nothing changed

    def store(self, gradebook, assignment, rows):
        if rows is not None:
            write_rows(gradebook, assignment, rows)

    def undo(self, gradebook, assignment, student, snapshot):
        return None

    def job_url(self, course, course_id, assignment, earlier):
        path = course / "gradebook.db"
        path.write_bytes(self.definition)
        url = f"sqlite:///{path}"
        if earlier is not None:
            with Gradebook(url, course_id) as gradebook:
                write_rows(gradebook, assignment, earlier)
        return url

    def rows_after(self, gradebook, assignment, student):
        return read_rows(gradebook, assignment, student)


@dataclass(frozen=True)
class SharedServer:
    """Every job writes into the course's own gradebook server."""

    #: The server's URL, password included (never printed: orchestrate.shown_url).
    url: str

    def earlier_rows(self, gradebook, assignment, student):
        return None  # the job reads them from the server itself

    def snapshot(self, gradebook, assignment, students):
        return {student: read_rows(gradebook, assignment, student) for student in students}

    def store(self, gradebook, assignment, rows):
        return None  # the job wrote them

    def undo(self, gradebook, assignment, student, snapshot):
        gradebook.db.rollback()  # see what the job wrote, not this session's earlier reads
        restore_rows(gradebook, assignment, student, snapshot[student])

    def job_url(self, course, course_id, assignment, earlier):
        return self.url

    def rows_after(self, gradebook, assignment, student):
        return None


def gradebook_route(db_url: str, gradebook: Gradebook, assignment: str, course_id: str) -> GradebookRoute:
    """The route for the course's gradebook at ``db_url``: a copy for SQLite, the server otherwise."""
    if make_url(db_url).get_backend_name() == "sqlite":
        return SqliteCopy(assignment_gradebook(gradebook, assignment, course_id))
    return SharedServer(db_url)
