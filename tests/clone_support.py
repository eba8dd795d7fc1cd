"""A fresh clone of this checkout under /tmp, set up by the README's own commands, to grade in.

    clone = ReadmeClone.create()               # git clone, then `make setup` (about a minute)
    clone.start_class({"ana": "solution"})     # no grading state left; `make release`; submissions
    clone.make("grade", "GRADE_FLAGS=--workers 2")

This is the layout an instructor has: ``.venv`` inside the course folder, the course
package installed editable from it, every command run through ``make`` with the course's
own environment. The clone is taken from this checkout's HEAD plus its uncommitted changes
to tracked files (``git stash create``), so a developer's test run grades what they edit;
CI runs on a clean checkout. Its virtual environment is built on a Python that every user
can run (``/usr/bin/python3.11`` where the test runner's own lives under ``/root``), so
that an unprivileged user can grade in it too (:func:`unprivileged_user`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.sample_class import make_submission, read_scores
from rnn_forecast.paths import REPOSITORY_ROOT

#: What a fresh login shell has on PATH: nothing of the test runner's own environment.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: What grading leaves in a course folder; removed before each class so that tests start alike.
GRADING_STATE = (
    "submitted",
    "autograded",
    "feedback",
    "exchange",
    ".grade_class",
    "gradebook.db",
    "grades.csv",
)


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _runnable_by_everyone(path: Path) -> bool:
    """Whether any user may execute ``path``: it and every folder on the way to it are open to others."""
    resolved = path.resolve()
    if not resolved.is_file() or not resolved.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in resolved.parents)


def python_for_everyone() -> Path | None:
    """A Python 3.11 with venv support that an unprivileged user can run, or None."""
    candidates = [
        Path(sys.base_prefix) / "bin" / "python3.11",
        Path("/usr/bin/python3.11"),
        Path("/usr/local/bin/python3.11"),
    ]
    for candidate in candidates:
        if _runnable_by_everyone(candidate):
            has_venv = subprocess.run(
                [str(candidate), "-c", "import ensurepip, venv"], capture_output=True, check=False
            )
            if has_venv.returncode == 0:
                return candidate
    return None


@dataclass(frozen=True)
class GradingUser:
    """Who runs a command: the test runner, or an unprivileged user made for the test."""

    name: str
    uid: int
    gid: int
    home: Path


@dataclass
class ReadmeClone:
    """A clone of this checkout set up with ``make setup``; ``course`` is its folder."""

    parent: Path
    course: Path
    python: Path

    @classmethod
    def create(cls) -> ReadmeClone:
        # Under /tmp itself, wherever TMPDIR points: a course cloned there is one of the layouts graded.
        parent = Path(tempfile.mkdtemp(prefix="gated-rnn-clone-", dir="/tmp"))
        parent.chmod(0o755)  # an unprivileged user grades in it too
        course = parent / "course"
        _run(["git", "clone", "--quiet", "--shared", str(REPOSITORY_ROOT), str(course)])
        edits = _run(["git", "-C", str(REPOSITORY_ROOT), "stash", "create"]).stdout.strip()
        if edits:
            _run(["git", "-C", str(course), "checkout", "--quiet", "--detach", edits])
        python = python_for_everyone() or Path(sys.base_prefix) / "bin" / "python3.11"
        clone = cls(parent, course, python)
        environment = clone.environment(clone.runner())
        # pip's cache of the user running the tests (warm on CI after its own `make setup`).
        environment["PIP_CACHE_DIR"] = str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "pip")
        _run(["make", "setup", f"PYTHON={python}"], cwd=course, env=environment)
        return clone

    def remove(self) -> None:
        shutil.rmtree(self.parent, ignore_errors=True)

    def runner(self) -> GradingUser:
        """The user running the tests, with a home of its own beside the clone."""
        me = pwd.getpwuid(os.getuid())
        home = self.parent / f"home-{me.pw_name}"
        home.mkdir(exist_ok=True)
        return GradingUser(me.pw_name, me.pw_uid, me.pw_gid, home)

    def environment(self, user: GradingUser, tmpdir: Path | None = None) -> dict[str, str]:
        """A fresh login's environment: the system's PATH, the user's home, and TMPDIR if given."""
        environment = {"PATH": SYSTEM_PATH, "HOME": str(user.home), "USER": user.name, "LANG": "C.UTF-8"}
        if tmpdir is not None:
            environment["TMPDIR"] = str(tmpdir)
        return environment

    def start_class(self, students: dict[str, str], user: GradingUser | None = None) -> None:
        """No grading state left from before; the assignment released (``make release``, as
        ``user``); one submission per student of :mod:`autograder.sample_class`'s kinds."""
        for name in GRADING_STATE:
            path = self.course / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        if user is not None:
            self.hand_over(user)
        released = self.make("release", user=user)
        assert released.returncode == 0, released.stdout[-3000:] + released.stderr[-3000:]
        for student, kind in students.items():
            make_submission(self.course, student, kind)
        if user is not None:
            self.hand_over(user)

    def hand_over(self, user: GradingUser) -> None:
        """Make ``user`` the owner of the course folder, as when the instructor cloned it."""
        _run(["chown", "-R", f"{user.uid}:{user.gid}", str(self.course), str(user.home)])

    def make(
        self,
        *arguments: str,
        user: GradingUser | None = None,
        tmpdir: Path | None = None,
        path: str | None = None,
    ) -> subprocess.CompletedProcess:
        """``make ARGUMENTS`` in the course folder, as ``user`` (default: the test runner)."""
        user = user or self.runner()
        environment = self.environment(user, tmpdir)
        if path is not None:
            environment["PATH"] = path
        who = {}
        if user.uid != os.getuid():
            who = {"user": user.uid, "group": user.gid, "extra_groups": []}
        return subprocess.run(
            ["make", "--no-print-directory", *arguments],
            cwd=self.course,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=3600,
            **who,
        )

    def scores(self) -> dict[str, float]:
        """student -> total autograded score, from the course's gradebook."""
        return {
            student: sum(score or 0 for score in cells.values())
            for student, cells in read_scores(self.course).items()
        }


@contextlib.contextmanager
def unprivileged_user(parent: Path) -> Iterator[GradingUser]:
    """A user made for the test (``useradd``) with a home under ``parent``, removed afterwards.

    Run as a normal user, the tests already grade unprivileged: that user is used instead.
    """
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        home = parent / f"home-{me.pw_name}"
        home.mkdir(exist_ok=True)
        yield GradingUser(me.pw_name, me.pw_uid, me.pw_gid, home)
        return
    name = f"grader{uuid.uuid4().hex[:8]}"
    home = parent / f"home-{name}"
    home.mkdir()
    _run(["useradd", "--user-group", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh", name])
    try:
        entry = pwd.getpwnam(name)
        os.chown(home, entry.pw_uid, entry.pw_gid)
        yield GradingUser(name, entry.pw_uid, entry.pw_gid, home)
    finally:
        _run(["userdel", name])
