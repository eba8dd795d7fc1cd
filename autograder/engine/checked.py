"""``make autograde`` and ``make feedback``: nbgrader's own commands, on checked copies of the students' work.

    python -m autograder.engine.checked autograde ASSIGNMENT [--force] [--student ID ...] [--course-dir DIR]
    python -m autograder.engine.checked feedback ASSIGNMENT [--force] [--student ID ...] [--course-dir DIR]

nbgrader's ``autograde`` and ``generate_feedback`` read ``submitted/`` and ``autograded/``
as they find them: they follow links, and one broken notebook ends ``autograde`` for every
student after it (nbgrader #1941). So each command here reads the students' folders itself,
without following links (:mod:`autograder.engine.intake`), into a private staging folder under
``.intake/``, and points nbgrader at that copy (``CourseDirectory.submitted_directory`` or
``autograded_directory``); ``submitted/`` is only read.

- ``autograde`` grades one student per ``nbgrader autograde --student ID`` run, so whatever
  breaks in one submission ends only that student's run, not only the breakages the checks
  know. It costs nbgrader's start-up once per student: 2.8 s per student, 6 % of a class of
  the solutions and three blank releases on a busy 2-core machine
  (``benchmarks/autograde_per_student.py``). Notebooks nbgrader cannot
  grade (not JSON, empty, nbformat 3, a repeated ``grade_id``) are left out of the copy and
  score 0, as nbgrader scores a notebook not handed in; links and special files are refused
  and flag the student in the gradebook. A folder whose name cannot be a student id is not
  graded. Each student's refusals are printed before nbgrader's log of that student, and all
  of them again at the end; the exit status is 1 if any student could not be graded.
- ``feedback`` gives nbgrader only the autograded notebooks and the two files feedback needs
  (``timestamp.txt``, ``submission_secret.txt``), so the feedback, and what ``make
  release-feedback`` publishes, holds nothing else a submission brought.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.engine.course_config import read_course_config
from autograder.engine.intake import (
    FEEDBACK_FILES,
    FLAGGED_HEADING,
    LEFT_OUT_HEADING,
    RECORDS,
    Intake,
    Rules,
    class_folders,
    flag_submission,
    read_for_grading,
    read_submission,
    score_nothing_submitted,
    shown,
)


def autograde(
    course: Path, assignment: str, force: bool = False, students: list[str] | None = None, out=None
) -> int:
    """Autograde every submission of ``assignment`` (or ``students``); the exit status."""
    course, out = Path(course).resolve(), out or sys.stdout
    coursedir = read_course_config(course)[1]
    found = chosen_folders(course / "submitted", assignment, students, "submission of", out)
    if found is None:
        return 1
    chosen, unusable = found
    if not chosen and not unusable:
        print(f"No submissions of {assignment} under {course / 'submitted'}.", file=out)
        return 1
    rules = Rules.of(coursedir)
    intakes, failed = {}, dict(unusable)
    with staging_folder(course) as staging:
        for number, student in enumerate(chosen, 1):
            intake = intakes[student] = read_for_grading(course, assignment, student, rules)
            print(f"== {student} ({number}/{len(chosen)})", file=out)
            for line in [*intake.flags(), *intake.left_out()]:
                print(f"   {line}", file=out)
            problem = autograde_one(course, coursedir, assignment, student, intake, staging, force, out)
            if problem is not None:
                failed[student] = problem
    print(report(intakes, failed), file=out)
    return 1 if failed else 0


def autograde_one(course, coursedir, assignment, student, intake, staging, force, out) -> str | None:
    """nbgrader's autograde of one student's checked copy, then the gradebook's flags; why
    nbgrader failed, or None. A submission with no notebook left scores 0 without nbgrader."""
    problem = None
    if intake.notebooks():
        write_copy(staging / student / assignment, intake)
        options = [
            f"--student={student}",
            f"--CourseDirectory.submitted_directory={staging.relative_to(course)}",
        ]
        status = run_nbgrader(course, "autograde", assignment, *options, *(["--force"] if force else []))
        if status != 0:
            problem = f"nbgrader autograde stopped with exit status {status}: its log above says why"
    else:
        print("   no notebook to grade: every notebook scores 0", file=out)
    if intake.flagged or not intake.notebooks():
        with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
            if not intake.notebooks():
                score_nothing_submitted(gradebook, assignment, student)
            if intake.flagged:
                flag_submission(gradebook, assignment, student)
    return problem


def feedback(
    course: Path, assignment: str, force: bool = False, students: list[str] | None = None, out=None
) -> int:
    """nbgrader's ``generate_feedback`` on the autograded notebooks alone (of ``students``, if
    given); the exit status."""
    course, out = Path(course).resolve(), out or sys.stdout
    rules = Rules.of(read_course_config(course)[1])
    found = chosen_folders(course / "autograded", assignment, students, "autograded", out)
    if found is None:
        return 1
    chosen, unusable = found
    for message in unusable.values():
        print(f"No feedback: {message}", file=out)
    with staging_folder(course) as staging:
        for student in chosen:
            intake = read_submission(course / "autograded", student, assignment, rules=rules)
            for refusal in intake.refused:
                print(f"No feedback from {student}'s autograded {refusal}", file=out)
            kept = set(intake.notebooks()) | set(FEEDBACK_FILES)
            write_copy(
                staging / student / assignment, Intake({p: c for p, c in intake.files.items() if p in kept})
            )
        arguments = [
            f"--CourseDirectory.autograded_directory={staging.relative_to(course)}",
            *(["--force"] if force else []),
        ]
        status = run_nbgrader(course, "generate_feedback", assignment, *arguments)
    return 1 if status or unusable else 0


def chosen_folders(step: Path, assignment: str, students: list[str] | None, what: str, out):
    """:func:`class_folders` of ``step``, narrowed to ``students`` if given; None, having said
    which, when one of them has no folder there."""
    chosen, unusable = class_folders(step, assignment)
    if not students:
        return chosen, unusable
    missing = sorted(set(students) - set(chosen))
    if missing:
        print(f"No {what} {assignment} for {', '.join(missing)} under {step}.", file=out)
        return None
    return [student for student in chosen if student in students], {}


def report(intakes: dict[str, Intake], failed: dict[str, str]) -> str:
    """What the instructor must know at the end of ``make autograde``."""
    flagged = [f"  {student}, {line}" for student, intake in intakes.items() for line in intake.flags()]
    left_out = [f"  {student}, {line}" for student, intake in intakes.items() for line in intake.left_out()]
    total = len(set(intakes) | set(failed))
    lines = [f"{total} submissions: {total - len(failed)} autograded, {len(failed)} not graded."]
    if flagged:
        lines += ["", FLAGGED_HEADING, *flagged]
    if left_out:
        lines += ["", LEFT_OUT_HEADING, *left_out]
    if failed:
        lines += ["", "Students not graded (put it right, then run make autograde again):"]
        lines += [f"  {shown(student)}, {why}" for student, why in failed.items()]
    return "\n".join(lines)


@contextlib.contextmanager
def staging_folder(course: Path):
    """A private folder under the course's ``.intake/`` for nbgrader to read, removed afterwards;
    nbgrader is given it relative to the course, with no pattern characters in its name."""
    (course / RECORDS).mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="staged-", dir=course / RECORDS))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_copy(folder: Path, intake: Intake) -> None:
    for relative, content in intake.files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def run_nbgrader(course: Path, *args: str) -> int:
    """``nbgrader ARGS`` in the course, its log on this process's output; the exit status."""
    environment = dict(os.environ)
    # nbgrader runs alembic through PATH.
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    sys.stdout.flush()  # what this command printed comes before nbgrader's log
    return subprocess.run([nbgrader, *args], cwd=course, env=environment, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("autograde", "feedback"))
    parser.add_argument("assignment", help="the assignment's name, e.g. gated_rnn")
    parser.add_argument("--force", action="store_true", help="regrade, or rewrite feedback, already done")
    parser.add_argument("--student", action="append", metavar="ID", help="only this student (repeatable)")
    parser.add_argument(
        "--course-dir", type=Path, default=Path.cwd(), help="the course directory (default: here)"
    )
    args = parser.parse_args(argv)
    if args.command == "feedback":
        return feedback(args.course_dir, args.assignment, args.force, args.student)
    return autograde(args.course_dir, args.assignment, args.force, args.student)


if __name__ == "__main__":
    raise SystemExit(main())
