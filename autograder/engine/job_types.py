"""The plain values a grading run passes between the instructor's machine and its jobs.

:class:`Limits` and :class:`JobContext` are built once per run on the instructor's machine,
:class:`JobSpec` once per student, :class:`JobResult` once per job (:mod:`autograder.engine.grade_job`);
all are frozen and hold only plain data, so they cross process and machine boundaries
(Dask pickles them) unchanged. :class:`Outcome` names what came of a job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from autograder.engine.gradebook_routes import GradebookRoute
from autograder.engine.gradebook_rows import StudentRows

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MIB = 4096


class Outcome(enum.StrEnum):
    """What came of one student's job; its value is the word the summary prints."""

    GRADED = "graded"
    TIMED_OUT = "timed out"
    MEMORY = "memory limit"
    CRASHED = "crashed"
    #: The grading machinery failed, not the submission (no sandbox, a verifier that died twice, a
    #: worker lost twice, another course environment): no score, and the reason says what to do.
    NOT_GRADED = "not graded"
    #: A folder in submitted/ whose name cannot be a student id: nothing graded or recorded.
    REFUSED = "refused"

    @property
    def nbgrader_ran(self) -> bool:
        """nbgrader ran, so the job's autograded files and rows count.

        >>> Outcome.TIMED_OUT.nbgrader_ran, Outcome.NOT_GRADED.nbgrader_ran
        (True, False)
        """
        return self in (Outcome.GRADED, Outcome.TIMED_OUT, Outcome.MEMORY, Outcome.CRASHED)


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. After ``timeout`` seconds the kernel is interrupted once a
    second; one still running ``interrupt_grace`` seconds later is killed."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mib: int = DEFAULT_MEMORY_MIB
    interrupt_grace: float = 20.0
    #: nbgrader's per-cell timeout (``Execute.timeout``); None keeps nbgrader_config.py's.
    cell_timeout: int | None = None
    #: Size limit of everything a kernel writes (working folder, /tmp, /dev/shm), MiB; None keeps the sandbox's default.
    disk_mib: int | None = None
    #: Grade without the sandbox (autograder.engine.sandbox). Unsafe; warned about on every run.
    unsafe_no_sandbox: bool = False


@dataclass(frozen=True)
class JobContext:
    """What every job of one grading run needs of the course, built once on the instructor's machine."""

    assignment: str
    #: The course's nbgrader configuration as resolved there: "Section.trait" -> plain value.
    config: dict[str, object]
    course_id: str
    #: The course folder on the instructor's machine; the kernel's audit hook reports attempts to reach it.
    course_folder: str
    limits: Limits
    #: The assignment's non-notebook source files, which autograde copies next to the notebooks:
    #: path relative to the course -> content.
    files: dict[str, bytes]
    #: The instructor's course environment (autograder.course_environment); a worker with another one refuses to grade.
    environment: dict[str, str]
    #: How the jobs' rows reach the course's gradebook: a copy (SQLite) or the shared server.
    gradebook: GradebookRoute


@dataclass(frozen=True)
class JobSpec:
    """One student's job: the submission, and with SQLite the student's rows before this grading."""

    student: str
    #: submitted/STUDENT/ASSIGNMENT/...: path relative to the course -> content.
    files: dict[str, bytes]
    earlier_rows: StudentRows | None = None


@dataclass(frozen=True)
class JobResult:
    """What came of one student's job: the figures, the log, and what to store in the course."""

    student: str
    outcome: Outcome
    exit_code: int | None = None
    seconds: float = 0.0
    peak_mib: float = 0.0
    score: float = 0.0
    max_score: float = 0.0
    #: Reasons the grader flagged this submission for the instructor (autograder.engine.trusted).
    flags: tuple[str, ...] = ()
    #: Not graded: what broke and what to do.
    reason: str = ""
    #: Files of the submission not graded for what they are, and why (autograder.engine.intake); the
    #: refused links and special files are among the flags.
    refused: tuple[str, ...] = ()
    log: str = ""
    #: autograded/STUDENT/ASSIGNMENT/...: path relative to the course -> content; None if nbgrader never ran.
    autograded: dict[str, bytes] | None = field(default=None, repr=False)
    #: SQLite: the student's rows after grading, for the course's gradebook.
    rows: StudentRows | None = field(default=None, repr=False)
    #: How many times the job started (a second time only after its worker died).
    attempts: int = 1
    worker: str = ""
