"""Process supervision of one autograde: run it to its end under the wall-time limit, measure it.

    supervise(command, cwd, environment, log, limits) -> Supervision

After ``limits.timeout`` seconds the student's kernels are interrupted once a second, as a
person would in Jupyter, so cells that passed before keep their points; a tree still running
``limits.interrupt_grace`` seconds later is killed. The memory figure is sampled from the
kernels. Nothing here decides an outcome: :mod:`autograder.engine.job_outcome` does, from the
measurements returned. Part of the grading engine, used by :mod:`autograder.engine.grade_job`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from autograder.engine.job_types import Limits

POLL = 0.2
#: Environment variable naming the process that must outlive the autograde (autograder.engine.memory_cap).
GRADER_PID_VARIABLE = "AUTOGRADER_GRADER_PID"
KERNEL_MODULES = ("ipykernel_launcher", "autograder.engine.kernel_audit")


@dataclass(frozen=True)
class Supervision:
    """What supervising one autograde measured."""

    exit_code: int
    seconds: float
    #: The student's kernels' largest sampled resident memory, MiB.
    peak_mib: float
    #: The wall-time limit was reached (the kernels were interrupted, or the tree killed).
    timed_out: bool


def supervise(command, cwd: Path, environment, log: Path, limits: Limits) -> Supervision:
    """Run ``command`` in ``cwd`` to its end under the wall-time limit, output to ``log``."""
    started = time.perf_counter()
    deadline = started + limits.timeout
    timed_out = False
    with log.open("w") as output:
        child = subprocess.Popen(
            command,
            cwd=cwd,
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
    child.returncode = os.waitstatus_to_exitcode(status)
    # Sampled, not Linux's peak of the waited-for process (ru_maxrss): that peak
    # misses the sandboxed kernel, which nbgrader does not wait for, and it counts the
    # grader's own memory at the moment it started nbgrader, which would pass a crash
    # off as a student running out of memory.
    return Supervision(
        exit_code=child.returncode,
        seconds=time.perf_counter() - started,
        peak_mib=kernel_peak / 2**20,
        timed_out=timed_out,
    )


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
