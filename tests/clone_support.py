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

from autograder.testkit.sample_class import make_submission, read_scores
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


def python_for_everyone(parent: Path) -> Path | None:
    """The test runner's Python, where every user can run it: the installation itself when it is
    open to all; otherwise (pyenv under /root) a copy of it under ``parent``, its binary's library
    path made relative with ``patchelf`` (Debian package). None when neither can be had."""
    base = Path(sys.base_prefix)
    own = base / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    if _runnable_by_everyone(own):
        return own
    patchelf = shutil.which("patchelf")
    if patchelf is None:
        return None
    copy = parent / "python"
    library = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (copy / "bin").mkdir(parents=True)
    (copy / "lib").mkdir()
    shutil.copy2(own, copy / "bin")
    for shared_library in (base / "lib").glob("libpython*.so*"):
        shutil.copy2(shared_library, copy / "lib", follow_symlinks=False)
    # What a virtual environment does not need: installed packages, tests, caches, GUIs.
    left_out = shutil.ignore_patterns(
        "site-packages", "test", "__pycache__", "idlelib", "tkinter", "turtledemo"
    )
    shutil.copytree(base / "lib" / library, copy / "lib" / library, symlinks=True, ignore=left_out)
    (copy / "lib" / library / "site-packages").mkdir()
    _run([patchelf, "--set-rpath", "$ORIGIN/../lib", str(copy / "bin" / own.name)])
    _run(["chmod", "-R", "a+rX", str(copy)])
    return copy / "bin" / own.name


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
    #: The Python of its .venv, or None when none could be found that every user can run.
    python_for_everyone: Path | None

    @classmethod
    def create(cls) -> ReadmeClone:
        # Under /tmp itself, wherever TMPDIR points: a course cloned there is one of the layouts graded.
        parent = Path(tempfile.mkdtemp(prefix="gated-rnn-clone-", dir="/tmp"))
        try:
            return cls._set_up(parent)
        except BaseException:
            shutil.rmtree(parent, ignore_errors=True)
            raise

    @classmethod
    def _set_up(cls, parent: Path) -> ReadmeClone:
        parent.chmod(0o755)  # an unprivileged user grades in it too
        course = parent / "course"
        _run(["git", "clone", "--quiet", "--shared", str(REPOSITORY_ROOT), str(course)])
        edits = _run(["git", "-C", str(REPOSITORY_ROOT), "stash", "create"]).stdout.strip()
        if edits:
            _run(["git", "-C", str(course), "checkout", "--quiet", "--detach", edits])
        shared = python_for_everyone(parent)
        python = (
            shared
            or Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        )
        # As the user running the tests would run it, with their own pip configuration and cache
        # (index, mirrors, certificates: pip reads them from the environment and the home folder).
        environment = {
            **{name: value for name, value in os.environ.items() if name.startswith("PIP_")},
            "PATH": SYSTEM_PATH,
            "HOME": pwd.getpwuid(os.getuid()).pw_dir,
            "LANG": "C.UTF-8",
        }
        _run(["make", "setup", f"PYTHON={python}"], cwd=course, env=environment)
        return cls(parent, course, shared)

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
        """No grading state left from before; the assignment released; one submission per
        student of :mod:`autograder.testkit.sample_class`'s kinds.

        The first class releases the assignment with ``make release``; later ones start from
        the gradebook as that release left it (a course is released once, graded many times).
        """
        for name in GRADING_STATE:
            path = self.course / name
            if path.is_dir():
                shutil.rmtree(path)
            elif name != "exchange":
                path.unlink(missing_ok=True)
        released = self.parent / "gradebook-as-released.db"
        if released.is_file():
            shutil.copy2(released, self.course / "gradebook.db")
        else:
            result = self.make("release")
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            shutil.copy2(self.course / "gradebook.db", released)
        for student, kind in students.items():
            make_submission(self.course, student, kind)
        if user is not None:
            self.hand_over(user)

    def hand_over(self, user: GradingUser) -> None:
        """Make ``user`` the owner of the course folder, as when the instructor cloned it; its
        environment (.venv) stays the test runner's, which every user may read and run."""
        owned = [self.course, user.home, *(path for path in self.course.iterdir() if path.name != ".venv")]
        _run(["chown", f"{user.uid}:{user.gid}", str(self.course)])
        _run(["chown", "-R", f"{user.uid}:{user.gid}", *map(str, owned[1:])])

    def make(
        self,
        *arguments: str,
        user: GradingUser | None = None,
        tmpdir: Path | None = None,
        path: str | None = None,
        without_user_namespaces: bool = False,
    ) -> subprocess.CompletedProcess:
        """``make ARGUMENTS`` in the course folder, as ``user`` (default: the test runner);
        ``without_user_namespaces`` (root only): as on a machine that switched them off
        (``tests/without_user_namespaces.py``)."""
        user = user or self.runner()
        environment = self.environment(user, tmpdir)
        if path is not None:
            environment["PATH"] = path
        command = ["make", "--no-print-directory", *arguments]
        who = {}
        if without_user_namespaces:
            switch = Path(__file__).with_name("without_user_namespaces.py")
            command = [sys.executable, str(switch), str(user.uid), str(user.gid), *command]
        elif user.uid != os.getuid():
            who = {"user": user.uid, "group": user.gid, "extra_groups": []}
        return subprocess.run(
            command,
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
