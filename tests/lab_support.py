"""A course copy, isolated Jupyter folders and a real JupyterLab server, for the tests of the
assignment loop (``test_exchange_loop.py``) and of both roles in a browser (``test_browser.py``).

Nothing here writes into the repository: the course is copied into a temporary folder, the
exchange is a temporary folder (``COURSE_EXCHANGE``), and every process gets its own HOME
and ``JUPYTER_CONFIG_DIR``/``JUPYTER_DATA_DIR``/``JUPYTER_RUNTIME_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.testkit import sample_class
from autograder.testkit.local_cluster import free_port
from rnn_forecast.paths import REPOSITORY_ROOT

NBGRADER = str(REPOSITORY_ROOT / ".venv" / "bin" / "nbgrader")

CHROMIUM = Path("/usr/bin/chromium")
#: Chromium's flags for a quiet, reproducible headless run in a container (FACTS.md).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium(profile: Path):
    """Debian's Chromium driven by Playwright, with a profile of its own; skips where it is missing."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is missing: install the Debian package `chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def repository_state() -> list[str]:
    """What git reports of the repository: changed, untracked and ignored paths.

    build/ (where the browser test saves its screenshots, on purpose) and bytecode caches
    are left out.
    """
    result = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(
        line
        for line in result.stdout.splitlines()
        if not line[3:].startswith("build/") and "__pycache__" not in line
    )


def isolated_environment(home: Path, exchange: Path) -> dict[str, str]:
    """nbgrader's environment with its own HOME and Jupyter folders, and the course's exchange."""
    env = sample_class.nbgrader_environment()
    for name in ("config", "data", "runtime"):
        (home / f".jupyter-{name}").mkdir(parents=True, exist_ok=True)
        env[f"JUPYTER_{name.upper()}_DIR"] = str(home / f".jupyter-{name}")
    env["HOME"] = str(home)
    env["COURSE_EXCHANGE"] = str(exchange)
    env.pop("JUPYTERHUB_USER", None)
    return env


def run(command, cwd, env, what) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def copy_course(root: Path) -> Path:
    """The course as an instructor has it: the repository's course files and its Makefile.

    The virtual environment is the repository's (a link); :func:`make` passes
    ``-o .venv/.installed`` so that make never reinstalls it from the copy.
    """
    course = root / "course"
    course.mkdir()
    for name in ("Makefile", "nbgrader_config.py"):
        shutil.copy2(REPOSITORY_ROOT / name, course / name)
    for folder in ("solutions", "exercises", "lessons"):
        shutil.copytree(
            REPOSITORY_ROOT / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    (course / "data").mkdir()
    shutil.copy2(REPOSITORY_ROOT / "data" / "README.md", course / "data" / "README.md")
    (course / ".venv").symlink_to(REPOSITORY_ROOT / ".venv")
    return course


def make(course: Path, target: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``make TARGET`` with the course copy's Makefile, as the instructor types it."""
    return run(["make", "-C", str(course), "-o", ".venv/.installed", target], course, env, f"make {target}")


class JupyterLabServer:
    """``jupyter lab`` started as ``make lab`` starts it, on a free local port, with a token."""

    TOKEN = "course-test-token"

    def __init__(self, lab, env: dict[str, str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = [
            "--no-browser",
            f"--ServerApp.port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.TOKEN}",
            "--ServerApp.port_retries=0",
        ]
        if os.geteuid() == 0:
            extra.append("--allow-root")  # as make lab passes it
        self.log = log
        self._log_file = open(log, "w", encoding="utf-8")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            lab.command(*extra),
            cwd=lab.cwd,
            env=lab.environment(env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_up()

    def _wait_until_up(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.TOKEN}", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise AssertionError(
            f"jupyter lab did not answer within {seconds} s:\n{self.log.read_text()[-3000:]}"
        )

    def start_url(self) -> str:
        """The address a user opens: the server redirects it to the view's default page."""
        return f"{self.url}/?token={self.TOKEN}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
