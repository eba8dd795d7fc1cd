"""One student's grading as a self-contained job: files in, files, rows and figures out.

    run_job(spec, release, scratch_root=None, threads=1) -> JobResult

The job assumes no filesystem shared with the instructor's machine. It builds a small
course of its own in a fresh scratch folder: the course's nbgrader configuration as
resolved on the instructor's machine, the submission's files, the assignment's
non-notebook source files and, with an SQLite gradebook, a gradebook holding the
assignment's definition (hidden tests included) and this student's earlier rows. It runs
nbgrader's own ``autograde ASSIGNMENT --student ID --force`` there, reads back what that
wrote (the autograded notebooks, the student's rows, the score, the grader's flags) and
removes the folder. With a server gradebook (PostgreSQL) nbgrader writes the student's rows
there directly and the job hands back none.

Every protection of the course's grading travels with the job, whichever machine runs it:
the configuration puts the sandboxed kernel and the verifier into autograde's pipeline
(:mod:`autograder.trusted`; the kernel sees neither the scratch folder nor the gradebook's
address), and the job adds the limits: wall time (after it the kernel is interrupted until
nbgrader finishes, so cells that passed before keep their points; a kernel that ignores
interrupts is killed), memory (a data-size limit the kernel inherits, so the allocating cell
raises ``MemoryError``), the kernel's disk, and death with the process that started it. A
job refuses to grade on a machine whose course environment differs from the instructor's.
A fault of the grading machinery (reported by the preprocessors, :mod:`autograder.trusted`)
is the outcome :data:`NOT_GRADED`: the job hands back no rows and no notebooks, and is tried
once more first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat
import psutil
from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config

import autograder
import rnn_forecast
from autograder.gradebook_rows import StudentRows, read_rows, write_rows
from autograder.sandbox import SandboxUnavailable, require_sandbox
from autograder.trusted import FAULTS_VARIABLE, FLAGS_KEY
from rnn_forecast.data import DATA_PATH

GRADED = "graded"
TIMED_OUT = "timed out"
MEMORY = "memory limit"
CRASHED = "crashed"
#: The grading machinery failed, not the submission (no sandbox, a verifier that died twice, a
#: worker lost twice, another course environment): no score, and the reason says what to do.
NOT_GRADED = "not graded"
#: Outcomes of a job in which nbgrader ran, so that its autograded files and rows count.
NBGRADER_RAN = (GRADED, TIMED_OUT, MEMORY, CRASHED)
#: A job that was not graded is tried once more (a verifier or a kernel that failed once).
ATTEMPTS = 2

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MIB = 4096
POLL = 0.2
THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
#: The packages that run a notebook, score it or compute what the checks compare.
GRADING_PACKAGES = (
    "nbgrader",
    "nbconvert",
    "nbclient",
    "jupyter_client",
    "ipykernel",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
)
#: Environment variable naming the process that must outlive the autograde (autograder.limits).
GRADER_PID_VARIABLE = "AUTOGRADER_GRADER_PID"


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
    #: Grade without the sandbox (autograder.sandbox). Unsafe; warned about on every run.
    unsafe_no_sandbox: bool = False


@dataclass(frozen=True)
class Release:
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
    #: The instructor's :func:`course_environment`; a worker with another one refuses to grade.
    environment: dict[str, str]
    #: SQLite: a gradebook file holding the assignment's definition (gradebook_rows.assignment_gradebook).
    gradebook: bytes | None = None
    #: A server gradebook's URL (PostgreSQL), password included; None with SQLite.
    gradebook_url: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """One student's job: the submission, and with SQLite the student's rows before this grading."""

    student: str
    #: submitted/STUDENT/ASSIGNMENT/...: path relative to the course -> content.
    files: dict[str, bytes]
    earlier_rows: StudentRows | None = None


@dataclass
class JobResult:
    """What came of one student's job: the figures, the log, and what to store in the course."""

    student: str
    outcome: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    peak_mib: float = 0.0
    score: float = 0.0
    max_score: float = 0.0
    #: Reasons the grader flagged this submission for the instructor (autograder.trusted).
    flags: list[str] = field(default_factory=list)
    #: Not graded: what broke and what to do.
    reason: str = ""
    #: Files of the submission not graded for what they are, and why (autograder.intake); the
    #: refused links and special files are among the flags.
    refused: list[str] = field(default_factory=list)
    log: str = ""
    #: autograded/STUDENT/ASSIGNMENT/...: path relative to the course -> content; None if nbgrader never ran.
    autograded: dict[str, bytes] | None = None
    #: SQLite: the student's rows after grading, for the course's gradebook.
    rows: StudentRows | None = None
    #: How many times the job started (a second time only after its worker died).
    attempts: int = 1
    worker: str = ""


def run_job(spec: JobSpec, release: Release, scratch_root: str | None = None, threads: int = 1) -> JobResult:
    """Grade one submission in a scratch folder under ``scratch_root`` (default: the system's temp).

    A fault of the grading machinery is the outcome :data:`NOT_GRADED`, never a score: the
    job then hands back no rows and no notebooks, after trying once more.
    """
    result = JobResult(spec.student, worker=socket.gethostname())
    problem = environment_problem(release.environment, sandboxed=not release.limits.unsafe_no_sandbox)
    if problem is not None:
        result.outcome = NOT_GRADED
        result.reason = result.log = problem
        return result
    for attempt in range(1, ATTEMPTS + 1):
        result.outcome = result.reason = ""
        scratch = Path(tempfile.mkdtemp(prefix="autograde-", dir=scratch_root))
        try:
            _grade(spec, release, scratch, threads, result)
        except Exception as error:  # noqa: BLE001  (reported as the job's outcome, with the traceback in its log)
            result.outcome = NOT_GRADED
            failure = f"{type(error).__name__}: {error}"
            result.reason = f"grading failed on {result.worker} ({failure}); the log has the traceback"
            result.log += f"\nGrading {spec.student} failed on {result.worker}:\n{traceback.format_exc()}"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if result.outcome != NOT_GRADED or attempt == ATTEMPTS:
            break
        earlier = result.log
        result.log = f"{earlier}\nNot graded ({result.reason}); grading {spec.student} once more.\n"
    return result


def _grade(spec: JobSpec, release: Release, scratch: Path, threads: int, result: JobResult) -> None:
    course = scratch / "course"
    _write_files(course, {**release.files, **spec.files})
    if release.gradebook is not None:
        (course / "gradebook.db").write_bytes(release.gradebook)
        db_url = f"sqlite:///{course / 'gradebook.db'}"
        if spec.earlier_rows is not None:
            with Gradebook(db_url, release.course_id) as gradebook:
                write_rows(gradebook, release.assignment, spec.earlier_rows)
    else:
        db_url = release.gradebook_url
    write_config(
        course / "nbgrader_config.py",
        {
            **release.config,
            "CourseDirectory.db_url": db_url,
            "SandboxedExecute.audited_folders": [release.course_folder],
        },
    )
    log = scratch / "autograde.log"
    faults = scratch / "faults.jsonl"
    command = autograde_command(release.assignment, spec.student, release.limits)
    environment = {**job_environment(threads), FAULTS_VARIABLE: str(faults)}
    timed_out = run_limited(command, course, environment, log, release.limits, result)
    result.log += log.read_text(errors="replace")
    autograded = course / "autograded" / spec.student / release.assignment
    reported = read_faults(faults)
    if reported:
        # The notebooks were not run, or not scored, because the grader failed: nothing to store.
        result.outcome, result.reason = NOT_GRADED, reported[0]
        result.autograded = result.rows = None
        result.score = 0.0
        return
    if timed_out:
        result.outcome = TIMED_OUT
    elif ran_out_of_memory(autograded, result, release.limits):
        result.outcome = MEMORY
    elif result.exit_code != 0:
        result.outcome = CRASHED
    else:
        result.outcome = GRADED
    result.flags = read_flags(autograded)
    with Gradebook(db_url, release.course_id) as gradebook:
        result.score, result.max_score = read_score(gradebook, release.assignment, spec.student)
        rows = (
            read_rows(gradebook, release.assignment, spec.student) if release.gradebook is not None else None
        )
    result.autograded = {
        str(path.relative_to(course)): path.read_bytes()
        for path in sorted(autograded.rglob("*"))
        if path.is_file()
    }
    result.rows = rows


def _write_files(course: Path, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def write_config(path: Path, settings: dict[str, object]) -> None:
    """An ``nbgrader_config.py`` that sets each "Section.trait" to its value; readable only by its owner,
    since it may hold the gradebook's password."""
    lines = [
        "# The course's nbgrader configuration as resolved on the instructor's machine (autograder.grade_job)."
    ]
    lines += [f"c.{name} = {value!r}" for name, value in settings.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


def autograde_command(assignment: str, student: str, limits: Limits) -> list[str]:
    beside_python = Path(sys.executable).parent / "nbgrader"
    nbgrader = str(beside_python) if beside_python.exists() else shutil.which("nbgrader")
    if nbgrader is None:
        raise RuntimeError(
            "nbgrader is not installed in this environment: install the course's environment here"
        )
    return [
        sys.executable,
        "-m",
        "autograder.limits",
        str(limits.memory_mib),
        "--",
        nbgrader,
        "autograde",
        assignment,
        "--student",
        student,
        "--force",
        *([f"--Execute.timeout={limits.cell_timeout}"] if limits.cell_timeout else []),
        *([f"--SandboxedKernelManager.disk_mib={limits.disk_mib}"] if limits.disk_mib else []),
        *(["--SandboxedExecute.unsafe_no_sandbox=True"] if limits.unsafe_no_sandbox else []),
    ]


def job_config(release: Release) -> Config:
    """The configuration a job's nbgrader grades with: the course's, and the limits that
    :func:`autograde_command` passes on its command line (for the preflight's kernel)."""
    config = Config()
    for name, value in release.config.items():
        section, trait = name.rsplit(".", 1)
        config[section][trait] = value
    limits = release.limits
    config.SandboxedExecute.unsafe_no_sandbox = limits.unsafe_no_sandbox
    if limits.disk_mib:
        config.SandboxedKernelManager.disk_mib = limits.disk_mib
    if limits.cell_timeout:
        config.Execute.timeout = limits.cell_timeout
    return config


def job_environment(threads: int) -> dict[str, str]:
    """The environment of one autograde: TensorFlow quiet, ``threads`` compute threads."""
    environment = dict(os.environ)
    # nbgrader runs alembic through PATH.
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Kernels graded side by side, each using every core, only fight over them.
    environment.update({name: str(max(1, threads)) for name in THREAD_VARIABLES})
    return environment


def run_limited(command, course: Path, environment, log: Path, limits: Limits, result: JobResult) -> bool:
    """Run one autograde to its end under the wall-time limit; True if the limit was hit."""
    started = time.perf_counter()
    deadline = started + limits.timeout
    timed_out = False
    with log.open("w") as output:
        child = subprocess.Popen(
            command,
            cwd=course,
            env={**environment, GRADER_PID_VARIABLE: str(os.getpid())},
            stdout=output,
            stderr=output,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = psutil.Process(child.pid)
        kernel_peak = 0
        while True:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
            if pid:
                break
            kernel_peak = max(kernel_peak, sum(_resident(kernel) for kernel in student_kernels(process)))
            now = time.perf_counter()
            if now > deadline:
                timed_out = True
                if now > deadline + limits.interrupt_grace:
                    kill_tree(process)
                else:
                    interrupt_kernels(process)
                time.sleep(1.0)
            else:
                time.sleep(POLL)
    result.seconds = time.perf_counter() - started
    result.exit_code = child.returncode = os.waitstatus_to_exitcode(status)
    # Sampled, not Linux's peak of the waited-for process (ru_maxrss): that peak
    # misses the sandboxed kernel, which nbgrader does not wait for, and it counts the
    # grader's own memory at the moment it started nbgrader, which would pass a crash
    # off as a student running out of memory.
    result.peak_mib = kernel_peak / 2**20
    return timed_out


KERNEL_MODULES = ("ipykernel_launcher", "autograder.kernel_audit")


def student_kernels(process: psutil.Process) -> list[psutil.Process]:
    """The kernels running students' code among the processes nbgrader started."""
    kernels = []
    for child in safe_children(process):
        try:
            if child.cmdline()[1:3] in (["-m", module] for module in KERNEL_MODULES):
                kernels.append(child)
        except psutil.Error:
            pass
    return kernels


def _resident(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def interrupt_kernels(process: psutil.Process) -> None:
    """Send Ctrl-C to the kernels nbgrader started, as a person would in Jupyter.

    Only the kernels: the sandbox around one, or the verifier, would simply stop.
    """
    for kernel in student_kernels(process):
        with contextlib.suppress(psutil.Error):
            kernel.send_signal(signal.SIGINT)


def kill_tree(process: psutil.Process) -> None:
    for member in [*safe_children(process), process]:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()


def safe_children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def ran_out_of_memory(autograded: Path, result: JobResult, limits: Limits) -> bool:
    """A MemoryError in the autograded notebooks or the log, or a peak at the limit."""
    for path in autograded.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") == "MemoryError":
                    return True
    if "MemoryError" in result.log:
        return True
    return result.exit_code != 0 and result.peak_mib >= 0.9 * limits.memory_mib


def read_faults(path: Path) -> list[str]:
    """The grader faults nbgrader's preprocessors reported (autograder.trusted.GraderFault), first first."""
    if not path.is_file():
        return []
    reasons = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            reasons.append(str(json.loads(line)["reason"]))
        except (ValueError, KeyError, TypeError):
            continue
    return reasons


def read_flags(autograded: Path) -> list[str]:
    """The reasons the grader flagged the autograded notebooks, notebook by notebook."""
    flags = []
    for path in sorted(autograded.glob("*.ipynb")):
        found = nbformat.read(path, as_version=4).metadata.get(FLAGS_KEY, {}).get("flags", [])
        flags += [f"{path.stem}: {flag}" for flag in found]
    return flags


def read_score(gradebook: Gradebook, assignment: str, student: str) -> tuple[float, float]:
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return 0.0, float(gradebook.find_assignment(assignment).max_score)
    return float(submission.score), float(submission.max_score)


# ---------------------------------------------------------------- the machine that grades


def course_environment() -> dict[str, str]:
    """What decides a grade here besides the submission and the release: the course
    package's files (checks, verifier, calibration), the data, and the versions of the
    packages that run and score notebooks."""
    found = {}
    for package in (autograder, rnn_forecast):
        folder = Path(package.__file__).resolve().parent
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts and path.is_file():
                found[f"{folder.name}/{path.relative_to(folder)}"] = _digest(path)
    for path in sorted(DATA_PATH.parent.glob("*.csv")):
        found[f"data/{path.name}"] = _digest(path)
    for name in GRADING_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = ".".join(map(str, sys.version_info[:2]))
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def environment_problem(expected: dict[str, str], sandboxed: bool = True) -> str | None:
    """Why this machine must not grade: a course environment other than ``expected`` (the
    instructor's), or no sandbox; None when it may grade."""
    here = course_environment()
    differences = sorted(name for name in set(here) | set(expected) if here.get(name) != expected.get(name))
    machine = socket.gethostname()
    if differences:
        shown = ", ".join(
            f"{name} {here[name]} here, {expected[name]} on the instructor's machine"
            if name in here and name in expected and "/" not in name
            else name
            for name in differences[:6]
        )
        more = f" and {len(differences) - 6} more" if len(differences) > 6 else ""
        return (
            f"Not graded on {machine}: its course environment differs from the instructor's ({shown}{more}), "
            "so its grades could differ. Install the course's environment from the same commit on every "
            'worker (README, "Grading beyond one machine").'
        )
    if sandboxed:
        try:
            require_sandbox()
        except SandboxUnavailable as error:
            return f"Not graded on {machine}: {error}"
    return None
