"""A real PostgreSQL server for the distributed-grading tests, started here and stopped after,
and how to see a grading job under way.

    with PostgresServer() as server:            # Debian's postgresql, in a temporary folder
        url = server.create_database("course")  # postgresql://grader:PASSWORD@127.0.0.1:PORT/course

The Dask cluster the tests grade on is :class:`autograder.testkit.local_cluster.LocalDaskCluster`
(the class-grading benchmark starts it too).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from autograder.testkit.local_cluster import free_port, stop_process_group

POSTGRES_VERSIONS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
POSTGRES_HINT = "PostgreSQL is not installed: sudo apt-get install postgresql (Debian package postgresql)"


def postgres_problem() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    if not POSTGRES_VERSIONS:
        return POSTGRES_HINT
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "initdb refuses to run as root and runuser is missing: install util-linux"
    return None


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


class PostgresServer:
    """A throw-away PostgreSQL server: its own data folder, a free port on 127.0.0.1, a password."""

    user = "grader"

    def __init__(self):
        problem = postgres_problem()
        if problem:
            raise RuntimeError(problem)
        bin_folder = POSTGRES_VERSIONS[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="gradebook-postgres-"))
        self.password = secrets.token_hex(16)
        self.port = free_port()
        # initdb and postgres refuse to run as root: as root, run them as Debian's postgres user.
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        (self.folder / "password").write_text(self.password + "\n")
        if as_postgres:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.folder / "password", "postgres")
        subprocess.run(
            [
                *as_postgres,
                str(bin_folder / "initdb"),
                "-D",
                str(self.folder / "data"),
                "-U",
                self.user,
                f"--pwfile={self.folder / 'password'}",
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        self.log = (self.folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [
                *as_postgres,
                str(bin_folder / "postgres"),
                "-D",
                str(self.folder / "data"),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.folder),
                "-F",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_until(self._ready, 60, "PostgreSQL accepting connections")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"PostgreSQL stopped: {(self.folder / 'server.log').read_text()[-2000:]}")
        import psycopg

        try:
            psycopg.connect(self.url(), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL (password included)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGINT)  # PostgreSQL's fast shutdown: it ends open sessions
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def autograde_processes(student: str) -> list[psutil.Process]:
    """The ``nbgrader autograde --student STUDENT`` processes running now."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if (
            "autograde" in command
            and "--student" in command
            and command[command.index("--student") + 1] == student
        ):
            found.append(process)
    return found


def kernel_started(autograde: psutil.Process) -> bool:
    """Whether the autograde's student kernel runs (so the job is well under way)."""
    try:
        return any(
            "autograder.engine.kernel_audit" in child.cmdline()
            for child in autograde.children(recursive=True)
        )
    except psutil.Error:
        return False
