"""A class on one server: JupyterHub with a Unix account for the instructor and each student.

    sudo make hub-users INSTRUCTOR=ada STUDENTS="ana ben"   # python -m autograder.tools.hub users ...
    sudo make hub INSTRUCTOR=ada                             # python -m autograder.tools.hub start ...

Course tooling (``autograder/tools/``), beside ``lab``: it starts the same two views, one per
account, behind JupyterHub.

``users`` creates the accounts (PAM logs them in; students share one group, which the hub
admits). ``start`` sets the class up and runs JupyterHub in the foreground, as root: it spawns
each user's JupyterLab as that user. Everything the class needs lives in one folder,
``HUB_DIR`` (default ``/srv/gated-rnn-hub``), except the instructor's course, a clone of this
repository in the instructor's home that only the instructor can read:

- ``python/``: a copy of this Python, made only when it lives where not every account can
  run it (pyenv under ``/root``);
- ``course/``: the course as published to students (the shared package, ``data/``,
  ``results/``, the lessons and the few ``autograder`` modules their notebooks import:
  :data:`PUBLISHED`), copied from the instructor's course, never ``solutions/``;
- ``env/``: the environment every student's server runs on: a virtual environment of that
  Python with the packages of the ``.venv`` make hub runs from (hard links, read-only), the
  published course on its path, and nbgrader's system-wide configuration;
- ``exchange/``: nbgrader's exchange with nbgrader's permissions (students write to
  ``inbound/`` without reading it, read ``outbound/``, fetch their own feedback by name);
- ``state/``: the hub's own, root's alone: its configuration, database, cookie secret and
  the proxy's token.

The instructor's server runs on the course's own ``.venv``, built the same way on the
instructor's course (so Formgrader, ``make grade`` and the rest use the course's code, as ``make
lab-instructor`` does), with ``COURSE_EXCHANGE`` naming the hub's exchange; each student's runs
on ``env/``. Both start through ``python -m autograder.tools.hub server ROLE``, as that user: it writes
the role's view (:func:`autograder.tools.lab.write_view_config`, into ``~/.jupyter``), gives a
student the lessons in their home (:func:`autograder.tools.lab.prepare_workspace`), and starts
``jupyterhub-singleuser`` (a student's with the course's prebuilt lab extension, as ``make
lab``). Templates of the configuration files are in ``hub/``; README, "Running a class on
JupyterHub", says who owns what and why.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import secrets
import shutil
import stat
import string
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from autograder.tools import lab
from rnn_forecast.paths import REPOSITORY_ROOT

#: Where the templates of the configuration files are (hub/*.in).
TEMPLATES = REPOSITORY_ROOT / "hub"
DEFAULT_HUB_DIR = Path("/srv/gated-rnn-hub")
DEFAULT_GROUP = "gated-rnn-students"
#: The course folder in the instructor's home, unless given.
COURSE_FOLDER = "gated-rnn"
#: What a fresh login has on PATH; the hub passes nothing of root's own environment on.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: What students' servers may read of the course, and why; nothing else of it is published.
PUBLISHED = {
    "rnn_forecast": "the shared package the lessons and exercises import",
    "data": "the S&P 500 series the package reads, and its README (lesson 3 links it)",
    "results": "the results files and saved models lessons 3 and 4 load",
    "lessons": "copied into each student's home at each start (make lab's rules: edits are kept)",
    "autograder/__init__.py": "makes autograder a package",
    "autograder/steps.py": "each exercise's setup cell: the sentence for a step not done yet",
    "autograder/checks.py": "the test cells call the checks when a student runs them or presses Validate",
    "autograder/calibration.json": "check_test_rmse reads the RMSE bounds (the exercises state them)",
    "autograder/engine": "the course's nbgrader settings, which lab.py reads (no answers in it)",
    "autograder/tools/__init__.py": "makes autograder.tools a package",
    "autograder/tools/lab.py": "the working folder and the view a student's server starts with",
    "autograder/tools/open_steps.py": "the server part of Submit's confirmation: the steps still open",
    "autograder/tools/labextension/prebuilt": "the course's lab extension, built: Submit lists the open steps and asks",
    "autograder/tools/hub.py": "starts a student's server (python -m autograder.tools.hub server student)",
    "nbgrader_config.py": "the course id, read when a student's server starts",
}

#: Unix account names the hub creates: what useradd accepts by default and nbgrader takes as a student id.
ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
#: Accounts below this uid are the system's (root, daemon, ...): never a student or the instructor.
FIRST_USER_UID = 1000

#: Each role's server: the nbgrader view (autograder.tools.lab.VIEWS) and the page it opens on.
ROLE_PAGES = {"student": f"/lab/tree/{lab.START_PAGE}", "instructor": "/lab?formgrader=true"}


class HubError(SystemExit):
    """The class cannot be set up as asked; the message says why and what to do."""


# ---------------------------------------------------------------- the accounts


def _run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()[-3000:]
        raise HubError(f"{what} failed: `{' '.join(command)}` said: {said}")
    return result


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise HubError(
            f"{what} needs root (it creates Unix accounts and runs their servers): run it with sudo."
        )


def check_account_name(name: str) -> None:
    if not ACCOUNT_NAME.fullmatch(name):
        raise HubError(
            f"{name!r} cannot be an account name here: use a lower-case letter, then up to 31 lower-case "
            "letters, digits, '_' or '-' (nbgrader knows each student by it)."
        )


def account(name: str) -> pwd.struct_passwd:
    """The existing account ``name``, which must be a person's, not the system's."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise HubError(
            f"there is no account {name!r}: create it first with `sudo make hub-users INSTRUCTOR=... STUDENTS=...`."
        ) from None
    if entry.pw_uid < FIRST_USER_UID:
        raise HubError(f"{name!r} is a system account (uid {entry.pw_uid}): pick a person's account.")
    return entry


def create_accounts(
    instructor: str,
    students: list[str],
    group: str = DEFAULT_GROUP,
    passwords: dict[str, str] | None = None,
    home_base: Path | None = None,
) -> dict[str, str]:
    """Create the accounts that do not exist yet; returns each new account's password.

    Students join ``group``, which the hub admits; the instructor is admitted by name and
    must not be in it. Each home is the account's alone (mode 0700): Debian's useradd
    leaves it readable by everyone. Existing accounts keep their password. ``passwords``
    gives chosen passwords (otherwise random ones), ``home_base`` another folder for the
    homes than ``/home``.
    """
    require_root("Creating accounts")
    names = [instructor, *students]
    for name in names:
        check_account_name(name)
    if instructor in students:
        raise HubError(f"{instructor} cannot be the instructor and a student.")
    try:
        grp.getgrnam(group)
    except KeyError:
        _run(["groupadd", group], f"creating the group {group}")
    created: dict[str, str] = {}
    for name in names:
        try:
            existing = pwd.getpwnam(name)
        except KeyError:
            existing = None
        is_student = name != instructor
        if existing is None:
            command = ["useradd", "--create-home", "--shell", "/bin/bash", "--user-group"]
            if home_base is not None:
                command += ["--base-dir", str(home_base)]
            if is_student:
                command += ["--groups", group]
            _run([*command, name], f"creating the account {name}")
            password = (passwords or {}).get(name) or secrets.token_urlsafe(9)
            _run(["chpasswd"], f"setting {name}'s password", input=f"{name}:{password}\n")
            created[name] = password
        else:
            account(name)
            if is_student:
                _run(["usermod", "--append", "--groups", group, name], f"adding {name} to {group}")
        members = grp.getgrnam(group).gr_mem
        if not is_student and name in members:
            raise HubError(f"the instructor {name} is in the students' group {group}: remove them from it.")
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    return created


# ---------------------------------------------------------------- the class's settings and folders


@dataclass(frozen=True)
class Hub:
    """One class's hub: where its folders are, who teaches it, and where it listens."""

    directory: Path
    instructor: str
    course: Path
    group: str = DEFAULT_GROUP
    ip: str = "127.0.0.1"
    port: int = 8000

    @property
    def python_copy(self) -> Path:
        return self.directory / "python"

    @property
    def published(self) -> Path:
        return self.directory / "course"

    @property
    def env(self) -> Path:
        return self.directory / "env"

    @property
    def exchange(self) -> Path:
        return self.directory / "exchange"

    @property
    def state(self) -> Path:
        return self.directory / "state"

    @property
    def config_file(self) -> Path:
        return self.state / "jupyterhub_config.py"

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"


def open_to_everyone(path: Path) -> bool:
    """Whether every account may pass through each folder on the way to ``path`` (and into it)."""
    path = Path(path).resolve()
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in (path, *path.parents) if folder.exists())


def make_folder(path: Path, mode: int, owner: pwd.struct_passwd | None = None) -> None:
    """``path`` as a real folder (never a link) with ``mode``, owned by ``owner`` or root."""
    path.mkdir(exist_ok=True)
    found = path.lstat()
    if not stat.S_ISDIR(found.st_mode):
        raise HubError(f"{path} is not a folder: remove it and run make hub again.")
    uid, gid = (owner.pw_uid, owner.pw_gid) if owner else (0, 0)
    if (found.st_uid, found.st_gid) != (uid, gid):
        os.lchown(path, uid, gid)
    os.chmod(path, mode)


def prepare_folders(hub: Hub) -> None:
    """HUB_DIR and its state folder; HUB_DIR must be reachable by every account."""
    hub.directory.mkdir(parents=True, exist_ok=True)
    make_folder(hub.directory, 0o755)
    if not open_to_everyone(hub.directory):
        raise HubError(
            f"{hub.directory} lies in a folder that not every account may enter, so students' servers "
            "could not reach their environment: pick another HUB_DIR (for example /srv/gated-rnn-hub)."
        )
    make_folder(hub.state, 0o700)


def prepare_exchange(hub: Hub, course_id: str, instructor: pwd.struct_passwd) -> None:
    """nbgrader's exchange, made before any student can make its folders first.

    The root is world-writable as nbgrader requires, with the sticky bit, so that no student
    can rename or remove what others made there (nbgrader checks only the rwx bits). The
    course's folders belong to the instructor: ``outbound`` readable by all, ``inbound``
    writable and not readable by students (setgid as nbgrader makes it, sticky so that a
    submission can be removed only by its owner), ``feedback`` enterable but not listable.
    """
    make_folder(hub.exchange, 0o1777)
    course = hub.exchange / course_id
    if course.exists() or course.is_symlink():
        found = course.lstat()
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != instructor.pw_uid:
            raise HubError(
                f"{course} exists and is not the instructor's folder (someone made it before make hub did): "
                "look at what is in it, remove it, and run make hub again."
            )
    make_folder(course, 0o755, instructor)
    for name, mode in (("outbound", 0o755), ("inbound", 0o3733), ("feedback", 0o711)):
        make_folder(course / name, mode, instructor)


# ---------------------------------------------------------------- a Python every account can run


def runnable_by_everyone(executable: Path) -> bool:
    resolved = Path(executable).resolve()
    return (
        resolved.is_file()
        and bool(resolved.stat().st_mode & stat.S_IXOTH)
        and open_to_everyone(resolved.parent)
    )


def hub_python(hub: Hub, base_executable: Path | None = None) -> Path:
    """The Python the hub's environments are built on: this one, when every account can run it.

    Otherwise (pyenv under ``/root``, say) a copy of its installation in ``HUB_DIR/python``:
    the interpreter, its shared library (found through ``$ORIGIN``, set with ``patchelf``)
    and the standard library. The copy is made once per Python version.
    """
    base = Path(base_executable or getattr(sys, "_base_executable", sys.executable))
    if runnable_by_everyone(base):
        return base.resolve()
    prefix = Path(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    target = hub.python_copy
    stamp = target / "copied-from"
    copied = target / "bin" / version
    wanted = f"{prefix} {sys.version}\n"
    if stamp.is_file() and stamp.read_text() == wanted and copied.is_file():
        return copied
    libraries = sorted((prefix / "lib").glob("libpython*.so*"))
    patchelf = shutil.which("patchelf")
    if libraries and patchelf is None:
        raise HubError(
            f"{base} is not runnable by every account and needs its shared library: install patchelf "
            "(apt-get install patchelf) so that make hub can copy it, or give make hub a Python 3.11 "
            "every account can run (make hub PYTHON=/usr/local/bin/python3.11)."
        )
    shutil.rmtree(target, ignore_errors=True)
    (target / "bin").mkdir(parents=True)
    (target / "lib").mkdir()
    shutil.copy2(prefix / "bin" / version, copied)
    for library in libraries:
        shutil.copy2(library, target / "lib", follow_symlinks=False)
    # A venv needs the standard library, not what is installed into this Python or its tests.
    left_out = shutil.ignore_patterns(
        "site-packages", "test", "__pycache__", "idlelib", "tkinter", "turtledemo"
    )
    shutil.copytree(prefix / "lib" / version, target / "lib" / version, symlinks=True, ignore=left_out)
    (target / "lib" / version / "site-packages").mkdir()
    if libraries:
        _run(
            [patchelf, "--set-rpath", "$ORIGIN/../lib", str(copied)],
            "pointing the copied Python at its library",
        )
    _run(["chmod", "-R", "a+rX,go-w", str(target)], "opening the copied Python to every account")
    stamp.write_text(wanted)
    return copied


# ---------------------------------------------------------------- the instructor's course


def clone_course(source: Path, course: Path, instructor: pwd.struct_passwd) -> None:
    """A clone of ``source`` at ``course``, with its uncommitted changes, owned by the instructor."""
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(source), str(course)], "cloning the course")
    changes = subprocess.run(
        ["git", "-C", str(source), "diff", "HEAD", "--binary"], capture_output=True, check=True
    ).stdout
    if changes:
        applied = subprocess.run(
            ["git", "-C", str(course), "apply"], input=changes, capture_output=True, check=False
        )
        if applied.returncode != 0:
            raise HubError(
                f"the uncommitted changes of {source} do not apply to its clone: commit them first."
            )
        print(f"The course in {course} carries this checkout's uncommitted changes (git status shows them).")
    _run(
        ["chown", "-R", "-h", f"{instructor.pw_uid}:{instructor.pw_gid}", str(course)],
        "giving the course to the instructor",
    )


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copy2(source, target)


def build_env(target: Path, course: Path, python: Path) -> None:
    """A virtual environment at ``target`` that imports ``course``, with the packages of the
    environment make hub runs from (installed once, from the pinned requirements).

    The packages are hard links to that environment's files where both are on one
    filesystem (copies otherwise): owned by root, read-only to every account, and inside
    ``target``, so that the grading sandbox, which shows a kernel its environment's folder,
    shows them too. The environment's own editable install (which points at the checkout
    make hub runs from, ``solutions/`` beside it) is left out; a ``.pth`` names ``course``.
    ``bin/`` gets that environment's console scripts (nbgrader, jupyter, ...) pointed at
    ``target``'s Python, and a ``.installed`` stamp newer than the requirements, so that the
    course's ``make`` targets use it as they would the ``.venv`` of ``make setup``.
    """
    shared = Path(sysconfig.get_paths()["purelib"])
    if not (target / "bin" / "python").exists():
        _run([str(python), "-m", "venv", "--without-pip", str(target)], f"creating {target}")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = target / "lib" / version / "site-packages"
    source_stamp = Path(sys.prefix) / ".installed"
    wanted = f"{shared} {source_stamp.stat().st_mtime_ns if source_stamp.exists() else 0}\n"
    stamp = target / ".packages-from"
    if not (stamp.is_file() and stamp.read_text() == wanted):
        # The packages, and what they install beside them: JupyterLab's application and the
        # labextensions (share/jupyter), the server extensions they switch on (etc/jupyter).
        for relative, ignored in (
            (site.relative_to(target), ("__editable__*", "gated_rnn_course-*", "__pycache__")),
            (Path("share") / "jupyter", ()),
            (Path("etc") / "jupyter", ("nbgrader_config.py",)),
        ):
            shutil.rmtree(target / relative, ignore_errors=True)
            if (Path(sys.prefix) / relative).is_dir():
                shutil.copytree(
                    Path(sys.prefix) / relative,
                    target / relative,
                    symlinks=True,
                    copy_function=_link_or_copy,
                    ignore=shutil.ignore_patterns(*ignored),
                )
        stamp.write_text(wanted)
    (site / "gated_rnn_course.pth").write_text(f"{course}\n")
    running = Path(sys.prefix) / "bin"
    for script in sorted(running.iterdir()):
        if script.name.startswith(("python", "activate", "pip")) or not script.is_file():
            continue
        lines = script.read_bytes().split(b"\n", 1)
        if len(lines) == 2 and lines[0].startswith(b"#!") and lines[0].endswith(b"python"):
            copy = target / "bin" / script.name
            copy.write_bytes(b"#!" + str(target / "bin" / "python").encode() + b"\n" + lines[1])
            os.chmod(copy, 0o755)
    (target / ".installed").touch()


def prepare_course(hub: Hub, instructor: pwd.struct_passwd, python: Path, source: Path) -> None:
    """The instructor's course: cloned from ``source`` if missing, with its ``.venv``."""
    if not hub.course.exists():
        hub.course.parent.mkdir(parents=True, exist_ok=True)
        clone_course(source, hub.course, instructor)
    if hub.course.lstat().st_uid != instructor.pw_uid or not hub.course.is_dir():
        raise HubError(
            f"{hub.course} is not a folder of {instructor.pw_name}'s: the instructor must own the course."
        )
    # Root's, read-only to the instructor: its packages are links to root's own files.
    build_env(hub.course / ".venv", hub.course, python)


def publish(hub: Hub) -> None:
    """Copy what students may read of the course (:data:`PUBLISHED`) to ``HUB_DIR/course``.

    Only regular files and folders are copied, owned by root and readable by all; the old
    copy is swapped out whole, so that a server starting meanwhile sees one or the other.
    """
    fresh = hub.directory / "course.new"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    for relative in PUBLISHED:
        source = hub.course / relative
        target = fresh / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(
                source,
                target,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info"),
            )
        elif source.is_file() and not source.is_symlink():
            shutil.copyfile(source, target)
        else:
            raise HubError(
                f"{source} is missing or a link: the course to publish must hold it as a file or folder."
            )
    for folder, subfolders, files in os.walk(fresh):
        os.chmod(folder, 0o755)
        for name in subfolders + files:
            path = Path(folder, name)
            if path.is_symlink():
                path.unlink()  # a link in the course could point at anything root can read
            else:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
    old = hub.directory / "course.old"
    shutil.rmtree(old, ignore_errors=True)
    if hub.published.exists():
        hub.published.rename(old)
    fresh.rename(hub.published)
    shutil.rmtree(old, ignore_errors=True)


def prepare_env(hub: Hub, python: Path) -> None:
    """``HUB_DIR/env``, the students' environment, on the published course."""
    build_env(hub.env, hub.published, python)


# ---------------------------------------------------------------- configuration files from hub/*.in


def render(template: str, **values) -> str:
    """``hub/TEMPLATE`` with each ``$name`` replaced by the Python literal of its value."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return string.Template(text).substitute({name: repr(value) for name, value in values.items()})


def write_configs(hub: Hub, course: lab.Course, proxy: Path) -> None:
    """nbgrader's system-wide configuration in the students' environment, and the hub's own."""
    system = hub.env / "etc" / "jupyter"
    system.mkdir(parents=True, exist_ok=True)
    (system / "nbgrader_config.py").write_text(
        render(
            "nbgrader_config.system.py.in",
            course_id=course.course_id,
            exchange=str(hub.exchange),
            cell_timeout=course.cell_timeout,
        )
    )
    token = hub.state / "proxy_token"
    if not token.is_file():
        descriptor = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(descriptor, secrets.token_hex(32).encode())
        os.close(descriptor)
    hub.config_file.write_text(
        render(
            "jupyterhub_config.py.in",
            bind_url=f"{hub.url}/",
            hub_bind_url=f"http://127.0.0.1:{hub.port + 1}",
            proxy_api_url=f"http://127.0.0.1:{hub.port + 2}",
            proxy=str(proxy),
            proxy_token_file=str(token),
            db_url=f"sqlite:///{hub.state / 'jupyterhub.sqlite'}",
            cookie_secret_file=str(hub.state / "jupyterhub_cookie_secret"),
            instructor=hub.instructor,
            group=hub.group,
            instructor_bin=str(hub.course / ".venv" / "bin"),
            student_bin=str(hub.env / "bin"),
            course=str(hub.course),
            exchange=str(hub.exchange),
            pages=ROLE_PAGES,
            system_path=SYSTEM_PATH,
        )
    )
    os.chmod(hub.config_file, 0o600)


def prepare(hub: Hub, proxy: Path, source: Path = REPOSITORY_ROOT) -> None:
    """Everything the class needs, made or brought up to date; nothing a student made is touched."""
    require_root("make hub")
    os.umask(0o022)
    if not Path(proxy).is_file():
        raise HubError(
            f"JupyterHub's proxy {proxy} is missing: install it (apt-get install node-configurable-http-proxy, "
            "or npm install -g configurable-http-proxy) or name it with make hub PROXY=..."
        )
    instructor = account(hub.instructor)
    try:
        grp.getgrnam(hub.group)
    except KeyError:
        raise HubError(
            f"the students' group {hub.group} does not exist: create the students with make hub-users."
        ) from None
    prepare_folders(hub)
    python = hub_python(hub)
    prepare_course(hub, instructor, python, source)
    course = lab.read_course(hub.course)
    publish(hub)
    prepare_env(hub, python)
    prepare_exchange(hub, course.course_id, instructor)
    write_configs(hub, course, proxy)


def start(hub: Hub, proxy: Path) -> None:
    """Set the class up, then run JupyterHub in this process (Ctrl-C stops it and every server)."""
    prepare(hub, proxy)
    students = sorted(grp.getgrnam(hub.group).gr_mem)
    print(
        f"JupyterHub for the class at {hub.url}/ : instructor {hub.instructor} (course {hub.course}), "
        f"students {', '.join(students) or '(none yet: make hub-users STUDENTS=...)'}.\n"
        f"Its state is in {hub.state}; run it without make: {hub.env}/bin/jupyterhub -f {hub.config_file}",
        flush=True,
    )
    jupyterhub = hub.env / "bin" / "jupyterhub"
    os.chdir(hub.state)
    environment = {
        "PATH": f"{hub.env / 'bin'}:{SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "HOME": pwd.getpwuid(0).pw_dir,
    }
    os.execve(jupyterhub, [str(jupyterhub), "-f", str(hub.config_file)], environment)


# ---------------------------------------------------------------- a user's server, started by the hub as that user


def serve(role: str) -> None:
    """Run by the hub as the user: the role's view, a student's lessons, then the server."""
    config_dir = Path(os.environ.get("JUPYTER_CONFIG_DIR") or Path.home() / ".jupyter")
    lab.write_view_config(config_dir, role)
    arguments = [sys.executable, "-m", "jupyterhub.singleuser"]
    if role == "student":
        for note in lab.prepare_workspace(
            Path.home(), lab.read_course(REPOSITORY_ROOT), studying_alone_possible=False
        ):
            print(note, flush=True)
        # The course's lab extension, prebuilt, as make lab loads it (nothing installed).
        arguments.append(f"--LabApp.extra_labextensions_path={lab.COURSE_LAB_EXTENSIONS}")
    else:
        # Formgrader and nbgrader take the folder they start in as the course (as make lab-instructor).
        os.chdir(REPOSITORY_ROOT)
    os.execv(sys.executable, arguments)


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.tools.hub", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    users = commands.add_parser("users", help="create the instructor's and the students' accounts (root)")
    users.add_argument("--instructor", required=True)
    users.add_argument("--group", default=DEFAULT_GROUP, help="the students' group, which the hub admits")
    users.add_argument("students", nargs="*")
    started = commands.add_parser("start", help="set the class up and run JupyterHub (root)")
    started.add_argument("--instructor", required=True)
    started.add_argument("--hub-dir", type=Path, default=DEFAULT_HUB_DIR)
    started.add_argument(
        "--course", type=Path, help=f"the instructor's course (default ~INSTRUCTOR/{COURSE_FOLDER})"
    )
    started.add_argument("--group", default=DEFAULT_GROUP)
    started.add_argument(
        "--ip", default="127.0.0.1", help="where the hub listens (default: this machine only)"
    )
    started.add_argument(
        "--port", type=int, default=8000, help="the hub's port; the next two are its internal ones"
    )
    started.add_argument(
        "--proxy",
        type=Path,
        required=True,
        help="configurable-http-proxy (Debian: node-configurable-http-proxy)",
    )
    server = commands.add_parser("server", help="start this user's server (the hub runs it as the user)")
    server.add_argument("role", choices=sorted(ROLE_PAGES))
    arguments = parser.parse_args(argv)
    if arguments.command == "users":
        created = create_accounts(arguments.instructor, arguments.students, arguments.group)
        for name, password in created.items():
            print(f"{name}\t{password}")
        if created:
            print(
                "Give each person their password once; they can change it with `passwd` in a terminal of their lab."
            )
    elif arguments.command == "start":
        course = arguments.course or Path(account(arguments.instructor).pw_dir) / COURSE_FOLDER
        hub = Hub(
            arguments.hub_dir.resolve(),
            arguments.instructor,
            course.resolve(),
            arguments.group,
            arguments.ip,
            arguments.port,
        )
        start(hub, arguments.proxy.resolve())
    else:
        serve(arguments.role)


if __name__ == "__main__":
    main()
