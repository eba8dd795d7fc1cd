"""Autograde a whole class in parallel with nbgrader's own autograde and gradebook.

    python -m autograder.grade_class ASSIGNMENT [--workers N] [--timeout S] [--memory-limit MiB]
                                                [--student ID ...] [--course-dir DIR]

``make grade`` runs it for the course's assignment. Every student is graded by its own
``nbgrader autograde ASSIGNMENT --student ID --force`` process, up to N at a time. SQLite
takes one writer at a time, so each of those processes writes to a private copy of the
gradebook (a shard), and this command copies that student's rows back into the course
gradebook through nbgrader's Gradebook API, one student after another. nbgrader's
``export``, ``generate_feedback`` and formgrader then read the gradebook as if grading had
been sequential. Regrading a student replaces that student's rows and nothing else.

Limits apply per submission: wall time (after it, the student's kernel is interrupted
until nbgrader finishes, so cells that passed before keep their points; a kernel that
ignores interrupts is killed) and memory (a data-size limit inherited by the kernel, so an
allocation beyond it raises MemoryError in the student's cell). Nothing under
``submitted/`` is written to: nbgrader reads submissions and writes ``autograded/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

import nbformat
import psutil
from nbgrader.api import Gradebook, MissingEntry

from autograder.sandbox import SandboxUnavailable, require_sandbox
from autograder.trusted import FLAGS_KEY, UNSAFE_WARNING

GRADED = "graded"
TIMED_OUT = "timed out"
MEMORY = "memory limit"
CRASHED = "crashed"

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MIB = 4096
POLL = 0.2


@dataclass
class Job:
    """One student's autograde: where its shard and log live, and what came of it."""

    student: str
    shard: Path
    log: Path
    outcome: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    peak_mib: float = 0.0
    score: float = 0.0
    max_score: float = 0.0
    #: Reasons the grader flagged this submission for the instructor (autograder.trusted).
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. After ``timeout`` seconds the kernel is interrupted once a
    second; one still running ``interrupt_grace`` seconds later is killed."""

    timeout: float = DEFAULT_TIMEOUT
    memory_mib: int = DEFAULT_MEMORY_MIB
    interrupt_grace: float = 20.0
    #: nbgrader's per-cell timeout (``Execute.timeout``); None keeps nbgrader_config.py's.
    cell_timeout: int | None = None
    #: Size limit of each kernel's working folder, MiB; None keeps the sandbox's default.
    disk_mib: int | None = None
    #: Grade without the sandbox (autograder.sandbox). Unsafe; warned about on every run.
    unsafe_no_sandbox: bool = False


def submitted_students(course: Path, assignment: str) -> list[str]:
    """Students with a folder ``submitted/STUDENT/ASSIGNMENT``, sorted."""
    submitted = course / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())


def gradebook_path(course: Path) -> Path:
    return course / "gradebook.db"


def snapshot(source: Path, target: Path) -> None:
    """Copy an SQLite database consistently, even while it is open elsewhere."""
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    # Connections used as context managers commit but do not close.
    src.close()
    dst.close()


def merge_student(shard: Path, course_gradebook: Path, assignment: str, student: str) -> None:
    """Copy one student's submission rows from a shard into the course gradebook.

    Rows are matched by names (assignment, notebook, cell), never by database ids, and
    every value nbgrader's autograde writes is copied: student details, the submission's
    timestamp and extension, each notebook's flag and late penalty, each grade and comment.
    """
    with Gradebook(f"sqlite:///{shard}") as source, Gradebook(f"sqlite:///{course_gradebook}") as target:
        try:
            submitted = source.find_submission(assignment, student)
        except MissingEntry:
            return  # nbgrader stopped before it recorded anything for this student
        person = submitted.student
        target.update_or_create_student(
            student,
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email,
            lms_user_id=person.lms_user_id,
        )
        try:
            merged = target.find_submission(assignment, student)
        except MissingEntry:
            with warnings.catch_warnings():
                # nbgrader's add_submission builds rows before adding them to the session,
                # which SQLAlchemy 2 reports during autoflush; plain autograde does the same.
                warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session")
                merged = target.add_submission(assignment, student)
        merged.timestamp = submitted.timestamp
        merged.extension = submitted.extension
        for notebook in submitted.notebooks:
            into = target.find_submission_notebook(notebook.name, assignment, student)
            into.flagged = notebook.flagged
            into.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                row = target.find_grade(grade.name, notebook.name, assignment, student)
                row.auto_score = grade.auto_score
                row.manual_score = grade.manual_score
                row.extra_credit = grade.extra_credit
                row.needs_manual_grade = grade.needs_manual_grade
            for comment in notebook.comments:
                row = target.find_comment(comment.name, notebook.name, assignment, student)
                row.auto_comment = comment.auto_comment
                row.manual_comment = comment.manual_comment
        target.db.commit()


def read_score(course_gradebook: Path, assignment: str, student: str) -> tuple[float, float]:
    with Gradebook(f"sqlite:///{course_gradebook}") as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return 0.0, gradebook.find_assignment(assignment).max_score
        return float(submission.score), float(submission.max_score)


def read_flags(course: Path, assignment: str, student: str) -> list[str]:
    """The reasons the grader flagged this student's autograded notebooks, notebook by notebook."""
    flags = []
    for path in sorted((course / "autograded" / student / assignment).glob("*.ipynb")):
        found = nbformat.read(path, as_version=4).metadata.get(FLAGS_KEY, {}).get("flags", [])
        flags += [f"{path.stem}: {flag}" for flag in found]
    return flags


def autograde_command(assignment: str, job: Job, limits: Limits) -> list[str]:
    beside_python = Path(sys.executable).parent / "nbgrader"
    nbgrader = str(beside_python) if beside_python.exists() else shutil.which("nbgrader")
    if nbgrader is None:
        raise SystemExit("nbgrader is not installed here: run this through `make grade`, or activate .venv")
    return [
        sys.executable, "-m", "autograder.limits", str(limits.memory_mib), "--",
        nbgrader, "autograde", assignment,
        "--student", job.student,
        "--force",
        f"--CourseDirectory.db_url=sqlite:///{job.shard}",
        *([f"--Execute.timeout={limits.cell_timeout}"] if limits.cell_timeout else []),
        *([f"--SandboxedKernelManager.work_size_mib={limits.disk_mib}"] if limits.disk_mib else []),
        *(["--SandboxedExecute.unsafe_no_sandbox=True"] if limits.unsafe_no_sandbox else []),
    ]


def worker_environment(workers: int) -> dict[str, str]:
    """The environment for each autograde: TensorFlow quiet, and threads shared fairly."""
    environment = dict(os.environ)
    bin_directory = str(Path(sys.executable).parent)
    # nbgrader runs alembic through PATH.
    environment["PATH"] = os.pathsep.join([bin_directory, environment.get("PATH", "")])
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # N kernels each using every core only fight over them.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        environment.setdefault(name, threads)
    return environment


def run_limited(command, course: Path, environment, job: Job, limits: Limits) -> bool:
    """Run one autograde to its end under the wall-time limit; True if the limit was hit."""
    started = time.perf_counter()
    deadline = started + limits.timeout
    timed_out = False
    with job.log.open("w") as log:
        child = subprocess.Popen(
            command, cwd=course, env=environment, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        process = psutil.Process(child.pid)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
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
    job.seconds = time.perf_counter() - started
    job.exit_code = child.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports the largest resident set among the process and the children it
    # waited for: here the kernel, the process that runs the student's code.
    job.peak_mib = usage.ru_maxrss / 1024
    return timed_out


KERNEL_MODULES = ("ipykernel_launcher", "autograder.kernel_audit")


def interrupt_kernels(process: psutil.Process) -> None:
    """Send Ctrl-C to the kernels nbgrader started, as a person would in Jupyter.

    Only the kernels: the sandbox around one, or the verifier, would simply stop.
    """
    for child in safe_children(process):
        try:
            if child.cmdline()[1:3] in (["-m", module] for module in KERNEL_MODULES):
                child.send_signal(signal.SIGINT)
        except psutil.Error:
            pass


def kill_tree(process: psutil.Process) -> None:
    for member in [*safe_children(process), process]:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass


def safe_children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def ran_out_of_memory(course: Path, assignment: str, job: Job, limits: Limits) -> bool:
    """A MemoryError in the autograded notebooks or the log, or a peak at the limit."""
    folder = course / "autograded" / job.student / assignment
    for path in folder.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") == "MemoryError":
                    return True
    if "MemoryError" in job.log.read_text(errors="replace"):
        return True
    return job.exit_code != 0 and job.peak_mib >= 0.9 * limits.memory_mib


def grade_one(course: Path, assignment: str, job: Job, limits: Limits, environment, gradebook_lock: Lock) -> Job:
    with gradebook_lock:
        snapshot(gradebook_path(course), job.shard)
    timed_out = run_limited(autograde_command(assignment, job, limits), course, environment, job, limits)
    if timed_out:
        job.outcome = TIMED_OUT
    elif ran_out_of_memory(course, assignment, job, limits):
        job.outcome = MEMORY
    elif job.exit_code != 0:
        job.outcome = CRASHED
    else:
        job.outcome = GRADED
    return job


class Progress:
    """One self-rewriting line on a terminal; one line per student elsewhere (CI logs)."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.done = self.failed = 0
        self.started = time.perf_counter()
        self.interactive = self.stream.isatty()
        self.update(None)

    def update(self, job: Job | None) -> None:
        if job is not None:
            self.done += 1
            self.failed += job.outcome != GRADED
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} done, {self.failed} failed, "
            f"{_clock(elapsed)} elapsed, {_clock(left)} left"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif job is not None:
            self.stream.write(
                f"{line}  ({job.student}: {job.outcome}, {job.score:g}/{job.max_score:g})\n"
            )
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN: nothing finished yet
        return "?"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def grade_class(
    course: Path,
    assignment: str,
    workers: int | None = None,
    limits: Limits = Limits(),
    students: list[str] | None = None,
    progress_stream=None,
) -> list[Job]:
    """Autograde ``students`` (default: every submission) and merge them into the gradebook."""
    course = course.resolve()
    if limits.unsafe_no_sandbox:
        print(f"WARNING: {UNSAFE_WARNING}", file=progress_stream or sys.stderr)
    else:
        try:
            require_sandbox()
        except SandboxUnavailable as error:
            raise SystemExit(str(error)) from None
    if not gradebook_path(course).is_file():
        raise SystemExit(
            f"no gradebook at {gradebook_path(course)}: release the assignment first "
            f"(`make release`, i.e. nbgrader generate_assignment {assignment})"
        )
    available = submitted_students(course, assignment)
    if students:
        missing = sorted(set(students) - set(available))
        if missing:
            raise SystemExit(
                f"no submission of {assignment} for {', '.join(missing)} under {course / 'submitted'}"
            )
        available = [s for s in available if s in students]
    workers = max(1, workers or os.cpu_count() or 1)
    work = course / ".grade_class" / assignment
    work.mkdir(parents=True, exist_ok=True)
    jobs = [Job(s, work / f"{s}.db", work / f"{s}.log") for s in available]
    environment = worker_environment(workers)
    gradebook_lock = Lock()
    progress = Progress(len(jobs), progress_stream)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(grade_one, course, assignment, job, limits, environment, gradebook_lock)
            for job in jobs
        ]
        for future in as_completed(futures):
            job = future.result()
            with gradebook_lock:
                merge_student(job.shard, gradebook_path(course), assignment, job.student)
                job.score, job.max_score = read_score(gradebook_path(course), assignment, job.student)
            job.flags = read_flags(course, assignment, job.student)
            job.shard.unlink(missing_ok=True)
            progress.update(job)
    progress.close()
    return jobs


def summary_table(jobs: list[Job]) -> str:
    """One row per student; the flags column counts the reasons listed under the table."""
    header = f"{'student':<20} {'score':>11} {'wall s':>7} {'peak MiB':>9} {'flags':>5}  outcome"
    rows = [
        f"{j.student:<20} {f'{j.score:g}/{j.max_score:g}':>11} {j.seconds:>7.1f} {j.peak_mib:>9.0f} "
        f"{len(j.flags) or '-':>5}  {j.outcome}"
        for j in jobs
    ]
    flagged = [f"  {j.student}, {flag}" for j in jobs for flag in j.flags]
    if flagged:
        rows += ["", "Flagged for the instructor (look at the autograded notebooks):", *flagged]
    return "\n".join([header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", help="the assignment's name, e.g. gated_rnn")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="submissions graded at once (default: the number of cores, %(default)s)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help="wall-time limit per submission in seconds (default %(default)s)")
    parser.add_argument("--memory-limit", type=int, default=DEFAULT_MEMORY_MIB, metavar="MIB",
                        help="memory limit of a submission's kernel in MiB (default %(default)s)")
    parser.add_argument("--cell-timeout", type=int, metavar="S",
                        help="nbgrader's per-cell timeout (default: nbgrader_config.py's)")
    parser.add_argument("--student", action="append", metavar="ID",
                        help="grade only this student (repeatable); default: every submission")
    parser.add_argument("--course-dir", type=Path, default=Path.cwd(),
                        help="the nbgrader course directory (default: the current one)")
    parser.add_argument("--disk-limit", type=int, metavar="MIB",
                        help="size limit of each kernel's working folder in MiB (default 256)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without the sandbox: student code can then read the solutions and "
                             "change course files. Only for machines where bubblewrap cannot run.")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    jobs = grade_class(
        args.course_dir, args.assignment, args.workers,
        Limits(args.timeout, args.memory_limit, cell_timeout=args.cell_timeout, disk_mib=args.disk_limit,
               unsafe_no_sandbox=args.unsafe_no_sandbox),
        args.student,
    )
    if not jobs:
        print(f"No submissions of {args.assignment} under {args.course_dir.resolve() / 'submitted'}.")
        return 1
    print(summary_table(jobs))
    failed = [j for j in jobs if j.outcome != GRADED]
    print(
        f"{len(jobs)} submissions in {time.perf_counter() - started:.0f} s with {args.workers} workers; "
        f"median {statistics.median(j.seconds for j in jobs):.0f} s each, "
        f"peak {max(j.peak_mib for j in jobs):.0f} MiB; {len(failed)} not graded cleanly"
        + (f" (logs: {jobs[0].log.parent})" if failed else "")
        + f"; {sum(bool(j.flags) for j in jobs)} flagged"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
