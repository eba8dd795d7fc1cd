"""A Dask cluster on this machine, started as real processes as an instructor would start one.

    with LocalDaskCluster(workers=2, hidden=(course,)) as cluster:
        grade_students(course, ..., scheduler=cluster.address)

It runs ``dask scheduler`` and one ``dask worker`` (with its nanny) per worker, each worker
in a scratch folder of its own. ``hidden`` folders are replaced by empty ones in the
workers' view of the filesystem (bubblewrap), so a run proves that the workers grade
without the course folder. Used by the distributed-grading tests and the class-grading
benchmark; :class:`autograder.engine.executors.DaskCluster` is the client side that sends the
jobs to such a cluster.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM) -> None:
    """End a process started in a session of its own, and every process in that session."""
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


class LocalDaskCluster:
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
        self._start(
            "scheduler",
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            environment,
            self.folder,
        )
        hide = [
            "bwrap",
            "--dev-bind",
            "/",
            "/",
            *(arg for path in hidden for arg in ("--tmpfs", str(path))),
            "--",
        ]
        for number in range(1, workers + 1):
            scratch = self.folder / f"worker{number}"
            scratch.mkdir()
            command = [
                str(BIN / "dask"),
                "worker",
                self.address,
                "--name",
                f"worker{number}",
                "--nthreads",
                "1",
                "--local-directory",
                str(scratch),
                "--memory-limit",
                "0",
                "--no-dashboard",
            ]
            self._start(f"worker{number}", [*(hide if hidden else []), *command], environment, scratch)
        self.wait_for_workers(workers)

    def _start(self, name: str, command: list[str], environment, folder: Path) -> None:
        log = (self.folder / f"{name}.log").open("w")
        self.log_files.append(log)
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=folder,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def client(self):
        from distributed import Client

        return Client(self.address, timeout="60s", set_as_default=False)

    def wait_for_workers(self, count: int) -> None:
        with self.client() as client:
            client.wait_for_workers(count, timeout=180)

    def worker_pids(self) -> dict[int, str]:
        """Process ID -> address of every worker the scheduler knows now and that answers.

        A worker that dies while it is asked is left out rather than failing the question: the
        tests kill workers, and two of their killers may ask at the same moment.
        """
        with self.client() as client:
            return {pid: address for address, pid in client.run(os.getpid, on_error="ignore").items()}

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}" for path in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process_group(process)
        for log in self.log_files:
            log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalDaskCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
