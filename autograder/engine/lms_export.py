"""``make export LMS=canvas|moodle``: the gradebook as the CSV a university's LMS gradebook imports.

    nbgrader export --exporter=autograder.engine.lms_export.CanvasExport --to build/grades-canvas.csv
    nbgrader export --exporter=autograder.engine.lms_export.MoodleExport --to build/grades-moodle.csv

Two exporter plugins of nbgrader's own interface (``nbgrader.plugins.ExportPlugin``), so
nbgrader opens the gradebook (SQLite or PostgreSQL) and passes it in. Names and ids come
from the gradebook's students (``first_name``, ``last_name``, ``email``, ``lms_user_id``,
set with ``nbgrader db student add`` or ``import``). One row per student and assignment; a
student with no submission gets 0, as nbgrader's own CSV export gives.

- **Canvas** (Grades > Import): the columns ``Student, ID, SIS User ID, SIS Login ID,
  Section``, then one column per assignment, after a ``Points Possible`` row. ``ID`` is the
  student's ``lms_user_id`` (Canvas's user id), ``SIS Login ID`` the nbgrader id (the login
  name, as on a JupyterHub).
- **Moodle** (Grades > Import > CSV file): an identifier column to map (``ID number``, the
  ``lms_user_id``; ``Username`` and ``Email address`` beside it for the other mappings), then
  one grade column per assignment.

A student the LMS cannot match (no ``lms_user_id``, or for Moodle no e-mail either) is
never dropped: the row is written with what the gradebook has, the student is named on
stderr, and in a companion file ``<csv>.txt`` saying what to do. Part of the grading engine.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin


class _LmsExport(ExportPlugin):
    """The rows both LMS files share: student, ids, one score per assignment."""

    lms = ""
    default_to = ""

    def export(self, gradebook: Gradebook) -> None:
        destination = Path(self.to or self.default_to)
        destination.parent.mkdir(parents=True, exist_ok=True)
        assignments = [
            assignment
            for assignment in sorted(
                gradebook.assignments, key=lambda a: (a.duedate is None, a.duedate, a.name)
            )
            if not self.assignment or assignment.name in self.assignment
        ]
        students = [
            student for student in gradebook.students if not self.student or student.id in self.student
        ]
        rows, problems = [], []
        for student in sorted(students, key=lambda s: s.id):
            scores = {}
            for assignment in assignments:
                try:
                    scores[assignment.name] = gradebook.find_submission(assignment.name, student.id).score
                except MissingEntry:
                    scores[assignment.name] = 0.0
                    problems.append(f"{student.id}: no submission of {assignment.name}, exported as 0")
            problems += self.unmatched(student)
            rows.append(self.row(student, scores))
        with destination.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(self.header(assignments))
            writer.writerows(self.before_rows(assignments))
            writer.writerows(rows)
        message = destination.with_name(destination.name + ".txt")
        unmatched = [problem for problem in problems if "no submission" not in problem]
        lines = [
            f"{destination.name}: {len(rows)} students, {len(assignments)} assignments, "
            f"for {self.lms}'s gradebook import.",
        ]
        if unmatched:
            lines += [
                f"{len(unmatched)} students {self.lms} may not match (their rows are in the file; give them an "
                "lms_user_id with `nbgrader db student add ID --lms-user-id=...` and export again, "
                "or match them by hand in the import):",
                *[f"  {problem}" for problem in unmatched],
            ]
        lines += [f"  {problem}" for problem in problems if "no submission" in problem]
        message.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for problem in unmatched:
            self.log.warning("%s", problem)
        self.log.info("Wrote %s and %s", destination, message)

    def unmatched(self, student) -> list[str]:
        return [] if student.lms_user_id else [f"{student.id}: no lms_user_id in the gradebook"]

    def header(self, assignments) -> list[str]:
        raise NotImplementedError

    def before_rows(self, assignments) -> list[list[str]]:
        return []

    def row(self, student, scores: dict[str, float]) -> list[str]:
        raise NotImplementedError


def _score(value: float) -> str:
    return f"{value:g}"


class CanvasExport(_LmsExport):
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment."""

    lms = "Canvas"
    default_to = "grades-canvas.csv"

    def header(self, assignments):
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *[a.name for a in assignments]]

    def before_rows(self, assignments):
        return [["Points Possible", "", "", "", "", *[_score(a.max_score) for a in assignments]]]

    def row(self, student, scores):
        name = ", ".join(part for part in (student.last_name, student.first_name) if part) or student.id
        return [name, student.lms_user_id or "", "", student.id, "", *[_score(s) for s in scores.values()]]


class MoodleExport(_LmsExport):
    """Moodle's CSV grade import: identifier columns to map from, one grade column per assignment."""

    lms = "Moodle"
    default_to = "grades-moodle.csv"

    def unmatched(self, student):
        if student.lms_user_id:
            return []
        if student.email:
            return [f"{student.id}: no lms_user_id (ID number); map by Email address or Username instead"]
        return [f"{student.id}: neither an lms_user_id (ID number) nor an e-mail in the gradebook"]

    def header(self, assignments):
        return [
            "ID number",
            "Username",
            "Email address",
            "First name",
            "Last name",
            *[a.name for a in assignments],
        ]

    def row(self, student, scores):
        return [
            student.lms_user_id or "",
            student.id,
            student.email or "",
            student.first_name or "",
            student.last_name or "",
            *[_score(s) for s in scores.values()],
        ]
