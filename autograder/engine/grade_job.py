"""One student's grading as a self-contained job: files in, files, rows and figures out.

    run_job(spec, context, scratch_root=None, threads=1) -> JobResult

This module builds the scratch course and reads back what nbgrader wrote; the values it
passes are in :mod:`autograder.engine.job_types`, the job's nbgrader configuration in
:mod:`autograder.engine.course_config`, the supervision of the autograde in :mod:`autograder.engine.supervise`,
the outcome in :mod:`autograder.engine.job_outcome`, the machine's fingerprint in
:mod:`autograder.engine.fingerprint`.

The job assumes no filesystem shared with the instructor's machine. It builds a small
course of its own in a fresh scratch folder: the course's nbgrader configuration as
resolved on the instructor's machine, the submission's files, the assignment's
non-notebook source files and the gradebook its route prepares
(:mod:`autograder.engine.gradebook_routes`: with SQLite, a copy holding the assignment's
definition, hidden tests included, and this student's earlier rows). It runs
nbgrader's own ``autograde ASSIGNMENT --student ID --force`` there, reads back what that
wrote (the autograded notebooks, the student's rows, the score, the grader's flags) and
removes the folder. With a server gradebook (PostgreSQL) nbgrader writes the student's rows
there directly and the job hands back none.

Every protection of the course's grading travels with the job, whichever machine runs it:
the configuration puts the sandboxed kernel and the verifier into autograde's pipeline
(:mod:`autograder.engine.trusted`; the kernel sees neither the scratch folder nor the gradebook's
address), and the job adds the limits: wall time (after it the kernel is interrupted until
nbgrader finishes, so cells that passed before keep their points; a kernel that ignores
interrupts is killed), memory (a data-size limit the kernel inherits, so the allocating cell
raises ``MemoryError``), the kernel's disk, and death with the process that started it. A
job refuses to grade on a machine whose course environment differs from the instructor's.
A fault of the grading machinery (reported by the preprocessors, :mod:`autograder.engine.trusted`)
is the outcome ``Outcome.NOT_GRADED``: the job hands back no rows and no notebooks, and is tried
once more first.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import tempfile
import traceback
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.engine import job_outcome
from autograder.engine.course_config import autograde_command, job_environment, write_config
from autograder.engine.fingerprint import environment_problem
from autograder.engine.job_types import JobContext, JobResult, JobSpec, Outcome
from autograder.engine.supervise import supervise
from autograder.engine.trusted import FAULTS_VARIABLE

#: A job that was not graded is tried once more (a verifier or a kernel that failed once).
ATTEMPTS = 2


def run_job(
    spec: JobSpec, context: JobContext, scratch_root: str | None = None, threads: int = 1
) -> JobResult:
    """Grade one submission in a scratch folder under ``scratch_root`` (default: the system's temp).

    A fault of the grading machinery is the outcome ``Outcome.NOT_GRADED``, never a score: the
    job then hands back no rows and no notebooks, after trying once more.
    """
    worker = socket.gethostname()
    problem = environment_problem(context.environment, sandboxed=not context.limits.unsafe_no_sandbox)
    if problem is not None:
        return JobResult(spec.student, Outcome.NOT_GRADED, reason=problem, log=problem, worker=worker)
    earlier = ""
    for attempt in range(1, ATTEMPTS + 1):
        scratch = Path(tempfile.mkdtemp(prefix="autograde-", dir=scratch_root))
        try:
            result = _grade(spec, context, scratch, threads, worker)
        except Exception as error:  # noqa: BLE001  (reported as the job's outcome, with the traceback in its log)
            failure = f"{type(error).__name__}: {error}"
            result = JobResult(
                spec.student,
                Outcome.NOT_GRADED,
                reason=f"grading failed on {worker} ({failure}); the log has the traceback",
                log=f"\nGrading {spec.student} failed on {worker}:\n{traceback.format_exc()}",
                worker=worker,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        result = dataclasses.replace(result, log=earlier + result.log)
        if result.outcome != Outcome.NOT_GRADED or attempt == ATTEMPTS:
            return result
        earlier = f"{result.log}\nNot graded ({result.reason}); grading {spec.student} once more.\n"
    raise AssertionError("unreachable: the last attempt returns")


def _grade(spec: JobSpec, context: JobContext, scratch: Path, threads: int, worker: str) -> JobResult:
    course = scratch / "course"
    _write_files(course, {**context.files, **spec.files})
    db_url = context.gradebook.job_url(course, context.course_id, context.assignment, spec.earlier_rows)
    write_config(
        course / "nbgrader_config.py",
        {
            **context.config,
            "CourseDirectory.db_url": db_url,
            "SandboxedExecute.audited_folders": [context.course_folder],
        },
    )
    log = scratch / "autograde.log"
    faults = scratch / "faults.jsonl"
    command = autograde_command(context.assignment, spec.student, context.limits)
    environment = {**job_environment(threads), FAULTS_VARIABLE: str(faults)}
    measured = supervise(command, course, environment, log, context.limits)
    text = log.read_text(errors="replace")
    autograded = course / "autograded" / spec.student / context.assignment
    reported = job_outcome.read_faults(faults)
    outcome = job_outcome.decide(
        measured,
        reported,
        memory_error=not reported and job_outcome.memory_error_shown(autograded, text),
        limits=context.limits,
    )
    figures = {"exit_code": measured.exit_code, "seconds": measured.seconds, "peak_mib": measured.peak_mib}
    if outcome == Outcome.NOT_GRADED:
        # The notebooks were not run, or not scored, because the grader failed: nothing to store.
        return JobResult(spec.student, outcome, reason=reported[0], log=text, worker=worker, **figures)
    with Gradebook(db_url, context.course_id) as gradebook:
        score, max_score = read_score(gradebook, context.assignment, spec.student)
        rows = context.gradebook.rows_after(gradebook, context.assignment, spec.student)
    return JobResult(
        spec.student,
        outcome,
        score=score,
        max_score=max_score,
        flags=tuple(job_outcome.read_flags(autograded)),
        log=text,
        autograded={
            str(path.relative_to(course)): path.read_bytes()
            for path in sorted(autograded.rglob("*"))
            if path.is_file()
        },
        rows=rows,
        worker=worker,
        **figures,
    )


def _write_files(course: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def read_score(gradebook: Gradebook, assignment: str, student: str) -> tuple[float, float]:
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return 0.0, float(gradebook.find_assignment(assignment).max_score)
    return float(submission.score), float(submission.max_score)
