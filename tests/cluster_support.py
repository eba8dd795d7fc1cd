"""Real servers for the distributed-grading tests and benchmark, started here and stopped after.

    with PostgresServer() as server:            # Debian's postgresql, in a temporary folder
        url = server.create_database("course")  # postgresql://grader:PASSWORD@127.0.0.1:PORT/course
    with DaskCluster(workers=2, hidden=[course]) as cluster:
        grade_class(course, ..., scheduler=cluster.address)

:class:`DaskCluster` runs ``dask scheduler`` and one ``dask worker`` (with its nanny) per
worker, as an instructor would, each worker in a scratch folder of its own. ``hidden``
folders are replaced by empty ones in the workers' view of the filesystem (bubblewrap), so
a test proves that the workers grade without the course folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
POSTGRES_VERSIONS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
POSTGRES_HINT = "PostgreSQL is not installed: sudo apt-get install postgresql (Debian package postgresql)"


def postgres_problem() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    if not POSTGRES_VERSIONS:
        return POSTGRES_HINT
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "initdb refuses to run as root and runuser is missing: install util-linux"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.2)


def _stop_group(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM) -> None:
    """End a process this module started, and every process in its session."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, how)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


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
            [*as_postgres, str(bin_folder / "initdb"), "-D", str(self.folder / "data"), "-U", self.user,
             f"--pwfile={self.folder / 'password'}", "--auth=scram-sha-256", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )
        self.log = (self.folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [*as_postgres, str(bin_folder / "postgres"), "-D", str(self.folder / "data"), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(self.folder), "-F"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
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
        _stop_group(self.process, signal.SIGINT)  # PostgreSQL's fast shutdown: it ends open sessions
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class DaskCluster:
    """``dask scheduler`` and ``workers`` × ``dask worker`` on this machine, started as an instructor would.

    Each worker has one thread (one submission at a time) and a scratch folder of its own,
    which is also its working folder; a nanny restarts a worker that dies. Workers see
    each of ``hidden`` as an empty folder.
    """

    def __init__(self, workers: int = 2, hidden: tuple[Path, ...] = (), allowed_failures: int | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="dask-cluster-"))
        self.log_files = []
        environment = dict(os.environ)
        environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
        if allowed_failures is not None:
            environment["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = str(allowed_failures)
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes = []
        try:
            self._start_all(port, workers, hidden, environment)
        except BaseException:
            self.stop()
            raise

    def _start_all(self, port: int, workers: int, hidden, environment) -> None:
        self._start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], environment, self.folder)
        hide = ["bwrap", "--dev-bind", "/", "/", *(arg for path in hidden for arg in ("--tmpfs", str(path))), "--"]
        for number in range(1, workers + 1):
            scratch = self.folder / f"worker{number}"
            scratch.mkdir()
            command = [str(BIN / "dask"), "worker", self.address, "--name", f"worker{number}", "--nthreads", "1",
                       "--local-directory", str(scratch), "--memory-limit", "0", "--no-dashboard"]
            self._start(f"worker{number}", [*(hide if hidden else []), *command], environment, scratch)
        self.wait_for_workers(workers)

    def _start(self, name: str, command: list[str], environment, folder: Path) -> None:
        log = (self.folder / f"{name}.log").open("w")
        self.log_files.append(log)
        self.processes.append(subprocess.Popen(command, cwd=folder, env=environment, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="60s", set_as_default=False)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=180)

    def worker_pids(self) -> dict[int, str]:
        """Process ID -> address of every worker the scheduler knows now."""
        with self.client() as client:
            return {pid: address for address, pid in client.run(os.getpid).items()}

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop_group(process)
        for log in self.log_files:
            log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def autograde_processes(student: str) -> list[psutil.Process]:
    """The ``nbgrader autograde --student STUDENT`` processes running now."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "autograde" in command and "--student" in command and command[command.index("--student") + 1] == student:
            found.append(process)
    return found


def kernel_started(autograde: psutil.Process) -> bool:
    """Whether the autograde's student kernel runs (so the job is well under way)."""
    try:
        return any("autograder.kernel_audit" in child.cmdline() for child in autograde.children(recursive=True))
    except psutil.Error:
        return False
