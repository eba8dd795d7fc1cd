"""Grade a class: which students, what every job needs, where the jobs run, what comes back.

    grade_students(course, assignment, workers=None, limits=Limits(), students=None,
                   progress_stream=None, scheduler=None) -> list[JobResult]

1. Reads the course's ``nbgrader_config.py`` as nbgrader does, and from it where the
   gradebook is (``CourseDirectory.db_url``; by default SQLite, ``gradebook.db``).
2. Builds the job context once (:class:`autograder.engine.job_types.JobContext`): the configuration,
   the assignment's non-notebook source files, the course environment's fingerprint and,
   with SQLite, a gradebook holding only the assignment's definition.
3. Makes one job per student: the submission's files, read without following links and
   checked (:mod:`autograder.engine.intake`: links and special files are refused and flag the
   student, notebooks nbgrader cannot grade are left out and score 0), and, with SQLite,
   the student's rows as they are now (manual grades, extensions and flags survive a
   regrade, as they do under plain ``nbgrader autograde``). A submission with no notebook
   left to grade scores 0 without a job; a folder whose name cannot be a student id is
   reported and not graded.
4. Runs the jobs on a pool on this machine, or on a Dask cluster (:mod:`autograder.engine.executors`).
5. Stores each result as it arrives: ``autograded/STUDENT/ASSIGNMENT/`` becomes the job's,
   the log goes to ``.grade_class/ASSIGNMENT/STUDENT.log`` and, with SQLite, the student's
   rows are written into the gradebook through nbgrader's Gradebook API, one student at a
   time. With a server gradebook (PostgreSQL) the job's nbgrader wrote them there itself
   (the two routes: :mod:`autograder.engine.gradebook_routes`):
   no copies of the gradebook, no merge.

nbgrader's ``export``, ``generate_feedback`` and formgrader then read the gradebook as if
grading had been sequential. Regrading a student replaces that student's rows and nothing
else. Nothing under ``submitted/`` is written to.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from autograder.engine.course_config import job_settings, read_course_config
from autograder.engine.executors import DaskCluster, Executor, LocalPool
from autograder.engine.fingerprint import course_environment
from autograder.engine.gradebook_routes import gradebook_route
from autograder.engine.grading_report import Progress
from autograder.engine.intake import (
    Intake,
    Rules,
    class_folders,
    flag_submission,
    read_for_grading,
    score_nothing_submitted,
    shown,
)
from autograder.engine.job_types import JobContext, JobResult, JobSpec, Limits, Outcome
from autograder.engine.trusted import UNSAFE_WARNING


def grade_students(
    course: Path,
    assignment: str,
    workers: int | None = None,
    limits: Limits = Limits(),
    students: list[str] | None = None,
    progress_stream=None,
    scheduler: str | None = None,
) -> list[JobResult]:
    """Autograde ``students`` (default: every submission), on ``workers`` threads here or
    on the Dask cluster at ``scheduler``, and store the results in the course."""
    course = Path(course).resolve()
    stream = progress_stream or sys.stderr
    if limits.unsafe_no_sandbox:
        print(f"WARNING: {UNSAFE_WARNING}", file=stream)
    executor: Executor = (
        DaskCluster(scheduler) if scheduler else LocalPool(max(1, workers or os.cpu_count() or 1))
    )
    with executor:
        return _grade(course, assignment, executor, limits, students, stream)


def _grade(
    course: Path, assignment: str, executor: Executor, limits: Limits, students, stream
) -> list[JobResult]:
    config, coursedir = read_course_config(course)
    with open_gradebook(coursedir, assignment) as gradebook:
        chosen, unusable = choose_students(course, assignment, students)
        rules = Rules.of(coursedir)
        intakes = {student: read_for_grading(course, assignment, student, rules) for student in chosen}
        route = gradebook_route(coursedir.db_url, gradebook, assignment, coursedir.course_id)
        context = JobContext(
            assignment=assignment,
            config=job_settings(config),
            course_id=coursedir.course_id,
            course_folder=str(course),
            limits=limits,
            files=source_files(course, coursedir, assignment),
            environment=course_environment(),
            gradebook=route,
        )
        executor.check(context)
        specs = [
            JobSpec(
                student,
                submission_files(assignment, student, intakes[student]),
                route.earlier_rows(gradebook, assignment, student),
            )
            for student in chosen
            if intakes[student].notebooks()
        ]
        # A server gradebook is written by the jobs as they go: what a job that was not graded
        # wrote there is replaced by what was there before it.
        before = route.snapshot(gradebook, assignment, chosen)
        logs = course / ".grade_class" / assignment
        logs.mkdir(parents=True, exist_ok=True)
        max_score = float(gradebook.find_assignment(assignment).max_score)
        with Progress(len(chosen) + len(unusable), stream) as progress:
            results = [
                JobResult(shown(name), Outcome.REFUSED, max_score=max_score, log=why, refused=(why,))
                for name, why in unusable.items()
            ]
            for student in chosen:
                if not intakes[student].notebooks():
                    score_nothing_submitted(gradebook, assignment, student)
                    results.append(
                        JobResult(student, Outcome.GRADED, max_score=max_score, log="No notebook to grade.")
                    )
            results = [
                take_intake(result, intakes[result.student], gradebook, assignment)
                if result.student in intakes
                else result
                for result in results
            ]
            for result in results:
                progress.update(result)
            for returned in executor.run(specs, context):
                store(course, assignment, returned, logs)
                if returned.outcome.nbgrader_ran and returned.autograded is not None:
                    route.store(gradebook, assignment, returned.rows)
                if returned.outcome == Outcome.NOT_GRADED:
                    route.undo(gradebook, assignment, returned.student, before)
                # Stored: a class's notebooks need not stay in memory.
                result = dataclasses.replace(
                    returned, max_score=returned.max_score or max_score, autograded=None, rows=None
                )
                result = take_intake(result, intakes[result.student], gradebook, assignment)
                progress.update(result)
                results.append(result)
    return sorted(results, key=lambda result: result.student)


def take_intake(result: JobResult, intake: Intake, gradebook: Gradebook, assignment: str) -> JobResult:
    """``result`` with what was refused of the submission; flag the student in the gradebook
    for links and special files, once nbgrader has recorded the submission."""
    if intake.flagged and result.outcome.nbgrader_ran:
        flag_submission(gradebook, assignment, result.student)
    return dataclasses.replace(
        result, flags=(*intake.flags(), *result.flags), refused=tuple(intake.left_out())
    )


def shown_url(db_url: str) -> str:
    """The gradebook's address without its password, for messages."""
    return make_url(db_url).render_as_string(hide_password=True)


def open_gradebook(coursedir: CourseDirectory, assignment: str) -> Gradebook:
    """The course's gradebook, which must know ``assignment`` (its tests come from there)."""
    url = make_url(coursedir.db_url)
    release_first = (
        f"release the assignment first (`make release`, i.e. "
        f"nbgrader generate_assignment {assignment}, from the course folder)"
    )
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise SystemExit(f"no gradebook at {url.database}: {release_first}")
    try:
        gradebook = Gradebook(coursedir.db_url, coursedir.course_id)
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise SystemExit(
            f"Cannot open the gradebook at {shown_url(coursedir.db_url)} ({str(reason).strip()}). "
            "Check CourseDirectory.db_url in nbgrader_config.py and that the database server is running."
        ) from None
    try:
        gradebook.find_assignment(assignment)
    except MissingEntry:
        gradebook.close()
        raise SystemExit(
            f"the gradebook at {shown_url(coursedir.db_url)} has no assignment {assignment}: {release_first}"
        ) from None
    return gradebook


def choose_students(
    course: Path, assignment: str, students: list[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The students to grade, and the folders in submitted/ that cannot be graded -> why."""
    available, unusable = class_folders(course / "submitted", assignment)
    if not students:
        return available, unusable
    missing = sorted(set(students) - set(available) - set(unusable))
    if missing:
        raise SystemExit(
            f"no submission of {assignment} for {', '.join(missing)} under {course / 'submitted'}"
        )
    return [s for s in available if s in students], {n: why for n, why in unusable.items() if n in students}


def _files(course: Path, paths) -> dict[str, bytes]:
    return {str(Path(path).relative_to(course)): Path(path).read_bytes() for path in paths}


def submission_files(assignment: str, student: str, intake: Intake) -> dict[str, bytes]:
    """A job's copy of the submission: what the intake read, relative to the course."""
    return {f"submitted/{student}/{assignment}/{path}": content for path, content in intake.files.items()}


def source_files(course: Path, coursedir: CourseDirectory, assignment: str) -> dict[str, bytes]:
    """The assignment's source files that autograde copies next to the notebooks (not the notebooks)."""
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    if not source.is_dir():
        return {}
    return _files(course, sorted(find_all_files(str(source), [*coursedir.ignore, "*.ipynb"])))


#: What store() records of each job beside its log: the outcome and the grading's cost.
JOB_RECORD_FIELDS = ("outcome", "exit_code", "seconds", "peak_mib", "reason", "attempts", "worker")


def store(course: Path, assignment: str, result: JobResult, logs: Path) -> None:
    """Put the notebooks a job brought back into the course; of a job in which nbgrader never ran,
    only its log. Its rows go through the gradebook's route."""
    (logs / f"{result.student}.log").write_text(result.log, encoding="utf-8")
    # What was measured, for the class report (autograder.engine.class_data reads it back).
    record = {name: getattr(result, name) for name in JOB_RECORD_FIELDS}
    (logs / f"{result.student}.json").write_text(json.dumps(record, default=str), encoding="utf-8")
    if not result.outcome.nbgrader_ran or result.autograded is None:
        return
    folder = course / "autograded" / result.student / assignment
    # As nbgrader's `autograde --force` does: the old autograded copy goes, the new one comes.
    shutil.rmtree(folder, ignore_errors=True)
    for relative, content in result.autograded.items():
        target = course / relative
        if folder not in target.parents:
            raise ValueError(f"a grading job returned {relative}, outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
