"""Run a command under a memory cap: ``python -m autograder.engine.memory_cap MEBIBYTES -- COMMAND...``.

The cap is the kernel's data limit (RLIMIT_DATA: heap and private mappings), inherited
by every process the command starts, so a student's kernel that allocates without end
gets a ``MemoryError`` in the offending cell instead of taking the machine down, and
nbgrader goes on to grade the cells after it. The command replaces this process
(``exec``), so the caller's process id, wait status and resource usage are the command's.
Linux enforces RLIMIT_DATA; macOS accepts it and ignores it.

On Linux the command also dies with the grader that started it (the process named by
``AUTOGRADER_GRADER_PID``): when a Dask worker dies mid-job and the student is regraded
elsewhere, the first autograde must not live on and write to the gradebook as well.
"""

import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_grader() -> None:
    grader = os.environ.get("AUTOGRADER_GRADER_PID")
    if sys.platform != "linux" or not grader:
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(grader):  # the grader died before the request took effect
        os._exit(1)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        sys.exit("usage: python -m autograder.engine.memory_cap MEBIBYTES -- COMMAND [ARGS...]")
    limit = int(argv[0]) * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    die_with_grader()
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
