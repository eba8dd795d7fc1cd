"""Run a command as a user of a machine where user namespaces are switched off.

    python tests/without_user_namespaces.py UID GID COMMAND [ARGUMENT ...]      (as root)

Hardened kernels and containers set ``user.max_user_namespaces=0``; then an unprivileged
bubblewrap cannot start a sandbox. The limit is kept per user namespace, so this script
switches it off inside a namespace of its own, which maps every id to itself, and runs
COMMAND there as UID:GID. The machine's own setting stays as it is; the kernel refuses
bubblewrap exactly as it would on such a machine, and ``/proc/sys/user/max_user_namespaces``
reads 0, as there.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

CLONE_NEWUSER = 0x10000000
#: Every id, mapped to itself.
IDENTITY_MAP = "0 0 4294967295"


def run_without_user_namespaces(uid: int, gid: int, command: list[str]) -> int:
    unshared_read, unshared_write = os.pipe()
    mapped_read, mapped_write = os.pipe()
    child = os.fork()
    if child == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUSER) != 0:
            print(f"unshare(CLONE_NEWUSER) failed: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
            os._exit(126)
        os.write(unshared_write, b"1")
        os.read(mapped_read, 1)
        Path("/proc/sys/user/max_user_namespaces").write_text("0")
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        os.execvp(command[0], command)
    if not os.read(unshared_read, 1):
        _, status = os.waitpid(child, 0)
        return os.waitstatus_to_exitcode(status)
    # Only a process outside the new namespace with CAP_SETUID may map ids other than its own.
    Path(f"/proc/{child}/uid_map").write_text(IDENTITY_MAP)
    Path(f"/proc/{child}/gid_map").write_text(IDENTITY_MAP)
    os.write(mapped_write, b"1")
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(run_without_user_namespaces(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
