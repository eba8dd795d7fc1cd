"""Start a Jupyter kernel with an audit hook that records attempts to leave the sandbox.

    python -m autograder.kernel_audit -f CONNECTION_FILE   (in place of ipykernel_launcher)

The sandbox already stops student code from reading or writing outside its own folders
and from using the network; this hook only makes such attempts *visible*, so that the
grader can flag the submission for the instructor. Python's audit hooks (PEP 578) cannot
be removed once added, and this one is added before ipykernel starts, so before any
student code runs. It records, one line each, in ``AUTOGRADER_AUDIT_LOG``:

- opening or listing a path under a protected folder (the course folder, outside the
  sandbox's view);
- opening a file for writing outside the writable folders;
- a network connection (any socket address that is not a Unix socket path).

Student code can get around a Python-level hook (for example through ``ctypes``), but not
around the sandbox; a flag is evidence for the instructor, the sandbox is the protection.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys

#: At most this many lines are recorded; an attempt in a loop does not fill the log.
MAX_RECORDS = 200

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _folders(variable: str) -> tuple[str, ...]:
    return tuple(
        os.path.join(os.path.normpath(part), "")
        for part in os.environ.get(variable, "").split(os.pathsep)
        if part
    )


class AuditTrail:
    """The audit hook and the log it writes to."""

    def __init__(self, log_path: str, protected: tuple[str, ...], writable: tuple[str, ...]):
        self.protected = protected
        self.writable = writable
        # The kernel's own working folder may lie inside a protected one (the course's
        # autograded/ folder); a protected folder may lie inside a writable one (/tmp).
        self.own = tuple(w for w in writable if self._under(w, protected))
        self.records = 0
        self._reporting = False
        self.log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115  (open for the kernel's lifetime)
        self.log.write("audit started\n")

    def record(self, line: str) -> None:
        if self.records >= MAX_RECORDS:
            return
        self.records += 1
        self._reporting = True
        try:
            self.log.write(line.replace("\n", " ") + "\n")
        except (OSError, ValueError):  # the student closed or filled it: the sandbox still holds
            pass
        finally:
            self._reporting = False

    def _absolute(self, path) -> str | None:
        if isinstance(path, int) or path is None:
            return None  # a file descriptor
        try:
            path = os.fsdecode(os.fspath(path))
        except TypeError:
            return None
        return os.path.join(os.path.normpath(os.path.abspath(path)), "")

    @staticmethod
    def _under(path: str, folders: tuple[str, ...]) -> bool:
        return any(path.startswith(folder) for folder in folders)

    def _protected(self, path: str) -> bool:
        return self._under(path, self.protected) and not self._under(path, self.own)

    def __call__(self, event: str, args: tuple) -> None:
        if self._reporting:
            return
        if event == "open":
            path = self._absolute(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if self._protected(path):
                self.record(f"{'write' if writing else 'read'} {path.rstrip('/')}")
            elif writing and not self._under(path, self.writable):
                self.record(f"write {path.rstrip('/')}")
        elif event in ("os.listdir", "os.scandir", "sqlite3.connect"):
            if not args or args[0] in (":memory:", ""):
                return
            path = self._absolute(args[0])
            if path is not None and self._protected(path):
                self.record(f"{'open database' if event == 'sqlite3.connect' else 'list'} {path.rstrip('/')}")
        elif event in ("socket.connect", "socket.sendto"):
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) != socket.AF_UNIX:
                self.record(f"network {address!r}")


def main() -> None:
    log_path = os.environ.get("AUTOGRADER_AUDIT_LOG")
    if log_path:
        sys.addaudithook(
            AuditTrail(
                log_path, _folders("AUTOGRADER_AUDIT_PROTECTED"), _folders("AUTOGRADER_AUDIT_WRITABLE")
            )
        )
    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
