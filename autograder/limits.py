"""Run a command under a memory cap: ``python -m autograder.limits MEBIBYTES -- COMMAND...``.

The cap is the kernel's data limit (RLIMIT_DATA: heap and private mappings), inherited
by every process the command starts, so a student's kernel that allocates without end
gets a ``MemoryError`` in the offending cell instead of taking the machine down, and
nbgrader goes on to grade the cells after it. The command replaces this process
(``exec``), so the caller's process id, wait status and resource usage are the command's.
Linux enforces RLIMIT_DATA; macOS accepts it and ignores it.
"""

import os
import resource
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        sys.exit("usage: python -m autograder.limits MEBIBYTES -- COMMAND [ARGS...]")
    limit = int(argv[0]) * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
