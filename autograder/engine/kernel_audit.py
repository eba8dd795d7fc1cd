"""Start a Jupyter kernel with an audit hook that records attempts to leave the sandbox.

    python -m autograder.engine.kernel_audit -f CONNECTION_FILE   (in place of ipykernel_launcher)

The sandbox already stops student code from reading or writing outside its own folders
and from using the network; this hook only makes such attempts *visible*, so that the
grader can flag the submission for the instructor. Python's audit hooks (PEP 578) cannot
be removed once added, and this one is added before ipykernel starts, so before any
student code runs. It records, one message each:

- opening or listing a path under a protected folder (the course folder, outside the
  sandbox's view) that the sandbox does not show on purpose: the environment and the
  course package the sandbox shows (``AUTOGRADER_AUDIT_SHOWN``) are read by every import;
- opening a file for writing outside the writable folders;
- a network connection (any socket address that is not a Unix socket path).

The records go out as they happen, on the socket whose other end the grader holds
(``AUTOGRADER_AUDIT_FD``, opened before this module runs): student code can add records,
which only flag it further, but not take back one already sent. Student code can get
around a Python-level hook (for example through ``ctypes``), but not around the sandbox;
a flag is evidence for the instructor, the sandbox is the protection.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
from collections.abc import Callable

#: At most this many records are sent; an attempt in a loop does not flood the grader.
MAX_RECORDS = 200
#: A record longer than this is cut (a path can be long; the grader keeps 4 KiB of each).
RECORD_CHARACTERS = 1000

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _folders(variable: str) -> tuple[str, ...]:
    return tuple(
        os.path.join(os.path.normpath(part), "")
        for part in os.environ.get(variable, "").split(os.pathsep)
        if part
    )


class AuditTrail:
    """The audit hook; ``report`` sends one record out of the kernel."""

    def __init__(
        self,
        report: Callable[[str], None],
        protected: tuple[str, ...],
        writable: tuple[str, ...],
        shown: tuple[str, ...] = (),
    ):
        self.report = report
        self.protected = protected
        self.writable = writable
        self.shown = shown
        # The kernel's own working folder may lie inside a protected one (the course's
        # autograded/ folder); a protected folder may lie inside a writable one (/tmp).
        self.own = tuple(w for w in writable if self._under(w, protected))
        self.records = 0
        self._reporting = False
        self._send("audit started")

    def _send(self, line: str) -> None:
        self._reporting = True
        try:
            self.report(line.replace("\n", " ")[:RECORD_CHARACTERS])
        except (OSError, ValueError):  # the student closed the socket: the sandbox still holds
            pass
        finally:
            self._reporting = False

    def record(self, line: str) -> None:
        if self.records >= MAX_RECORDS:
            return
        self.records += 1
        self._send(line)

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

    def _hidden(self, path: str) -> bool:
        """Under a protected folder and not shown on purpose: neither inside what the sandbox
        shows nor a folder on the way to it (listing those shows only what is shown), nor the
        bytecode cache Python looks for beside a module it shows."""
        if not self._under(path, self.protected) or self._under(path, self.own):
            return False
        if self._under(path, self.shown) or any(shown.startswith(path) for shown in self.shown):
            return False
        folder, name = os.path.split(path.rstrip("/"))
        if os.path.basename(folder) == "__pycache__" and name.endswith(".pyc"):
            source = os.path.join(os.path.dirname(folder), name.split(".")[0] + ".py", "")
            return source not in self.shown
        return True

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
            if writing and not self._under(path, self.writable):
                self.record(f"write {path.rstrip('/')}")
            elif self._hidden(path):
                self.record(f"{'write' if writing else 'read'} {path.rstrip('/')}")
        elif event in ("os.listdir", "os.scandir", "sqlite3.connect"):
            if not args or args[0] in (":memory:", ""):
                return
            path = self._absolute(args[0])
            if path is not None and self._hidden(path):
                self.record(f"{'open database' if event == 'sqlite3.connect' else 'list'} {path.rstrip('/')}")
        elif event in ("socket.connect", "socket.sendto"):
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) != socket.AF_UNIX:
                self.record(f"network {address!r}")


def main() -> None:
    descriptor = os.environ.get("AUTOGRADER_AUDIT_FD")
    if descriptor:
        channel = socket.socket(fileno=int(descriptor))
        sys.addaudithook(
            AuditTrail(
                lambda line: channel.send(line.encode(errors="replace")),
                _folders("AUTOGRADER_AUDIT_PROTECTED"),
                _folders("AUTOGRADER_AUDIT_WRITABLE"),
                _folders("AUTOGRADER_AUDIT_SHOWN"),
            )
        )
    sys.argv = ["ipykernel_launcher", *sys.argv[1:]]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
