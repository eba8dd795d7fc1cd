"""The operating-system sandbox that student code runs in while it is graded: bubblewrap.

bubblewrap (``bwrap``, Debian package ``bubblewrap``) is the sandbox Flatpak is built on:
small, setuid-free, well kept, and it needs no daemon and no image. Each process it starts
gets its own mount, process, network, IPC and UTS namespaces and sees only what is bound
into it. Here that is:

- read-only: the system (``/usr`` and the few ``/etc`` files programs read), the Python
  installation and the course's virtual environment, and of the course exactly what the
  kernel needs (:data:`KERNEL_SHOWS`, each with its reason), wherever the course folder is:
  under ``/tmp``, with ``TMPDIR`` anywhere, with ``.venv`` inside it;
- writable: one in-memory filesystem whose size is the disk limit, seen as the working
  folder ``/home/student`` (also ``HOME``), ``/tmp``, ``/dev/shm`` and ``/run/kernel`` (the
  kernel's sockets); everything the kernel writes counts against that one limit;
- nothing else: not the rest of the course folder (``solutions/``, the gradebook, other
  students' ``submitted/``, ``autograded/`` and ``feedback/``, the verifier), not the
  grader's home, no network, and an environment of a few named variables.

When the sandboxed command ends, every process it started ends with it: the sandbox has
its own process namespace, and the kernel kills a namespace with its first process.

:class:`SandboxedKernelManager` starts Jupyter kernels this way; ``autograder.engine.verifier``
starts the trusted verifier the same way. :func:`sandbox_problem` says what is wrong, and
what to do, when this machine cannot sandbox (``make doctor`` prints every check).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, Integer, List, Unicode

import autograder
import rnn_forecast
from rnn_forecast.paths import REPOSITORY_ROOT

MIB = 2**20

#: The sandbox's one writable place, an in-memory filesystem; the folders below live in it.
WRITABLE = "/run/writable"
#: The kernel's working folder and HOME inside the sandbox; it says nothing of where the course is.
WORK_FOLDER = "/home/student"
#: Where the kernel's ZeroMQ sockets live inside the sandbox.
KERNEL_RUNTIME = "/run/kernel"
#: Every folder a kernel can write to: each is a part of the one writable place.
KERNEL_FOLDERS = (WORK_FOLDER, "/tmp", "/dev/shm", KERNEL_RUNTIME)
#: Where the kernel reads its connection file (ports and key), wherever the grader keeps it.
CONNECTION_FILE = "/run/connection.json"

#: Files under /etc that Python, NumPy, TensorFlow and matplotlib read; nothing else of /etc.
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/mime.types",
)
#: The devices a program expects; no terminal, no shared memory outside the writable place.
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

#: The only variables a kernel may inherit, by exact name: a prefix would let in secrets
#: such as TF_VAR_db_password (Terraform's convention) or an LC_ variable of anyone's making.
INHERITED_ENVIRONMENT = (
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "TZ",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NBGRADER_EXECUTION",
    "PYTHONHASHSEED",
    "MPLBACKEND",
    "CUDA_VISIBLE_DEVICES",
)

#: What of the course checkout a student's kernel sees, read-only, and why: nothing else of it
#: (solutions/, the gradebook, submissions, the verifier, the rest of autograder/).
KERNEL_SHOWS = {
    "rnn_forecast": "the shared package the exercises import: data, windows, models, metrics",
    "data": "the S&P 500 series that rnn_forecast.load_monthly_series reads",
    "autograder/__init__.py": "makes autograder a package",
    "autograder/engine/__init__.py": "makes autograder.engine a package",
    "autograder/engine/kernel_audit.py": "the kernel's entry point, which installs the audit hook before student code",
    "autograder/steps.py": "each exercise's setup cell: the sentence for a step not done yet",
    "autograder/engine/handover.py": "hands each checked answer over to the verifier as plain data",
    # The kernel runs the visible part of each test cell (autograder.engine.trusted), which calls the
    # checks so that the student's sentences appear in the feedback; points come from the
    # verifier. Hidden tests and the RMSE bounds never reach the kernel.
    "autograder/checks.py": "the visible test cells call the checks in the kernel, for the sentences they print",
    "autograder/engine/registry.py": "the checks module marks its checks with the registry's decorator",
    "autograder/engine/course.py": "the registry reads the name of the course's checks module there",
}
#: What the verifier sees of the checkout: the checks, the answer key, the data. It never runs student code.
VERIFIER_SHOWS = {
    "autograder/__init__.py": "makes autograder a package",
    "autograder/engine": "the verifier, the registry and the hand-over it decodes",
    "autograder/checks.py": "the checks the verifier runs",
    "autograder/steps.py": "the sentence for a step not done yet, in the verdicts",
    "autograder/calibration.json": "the RMSE bounds check_test_rmse compares with",
    "rnn_forecast": "what the checks compute with: windows, scaling, metrics",
    "data": "the test windows are rebuilt from the S&P 500 series",
}
#: The course's packages; the kernel must import them from where the grader does.
COURSE_PACKAGES = ("autograder", "rnn_forecast")

INSTALL_HINT = (
    "Install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
    "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch); "
    "`make sandbox` installs it when run as root on Debian."
)
OPT_OUT = (
    "Grading without the sandbox lets student code read the solutions and rewrite the gradebook; "
    "if you accept that, opt out explicitly with --unsafe-no-sandbox (make grade) or "
    "--SandboxedExecute.unsafe_no_sandbox=True (nbgrader autograde)."
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here, or could not start; the message says why and what to do."""


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why student code cannot be sandboxed on this machine, or None when it can: bubblewrap,
    the view of the course a kernel needs, and the course package a kernel would import."""
    return bubblewrap_problem() or view_problem() or package_problem()


@functools.lru_cache(maxsize=1)
def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot start a sandbox here, or None.

    Runs ``bwrap ... true`` once, so that a machine without user namespaces (some
    containers, Ubuntu's AppArmor restriction) is found out before any student is graded.
    """
    if sys.platform != "linux":
        return f"the sandbox (bubblewrap) needs Linux; this is {sys.platform}. Grade on Linux."
    if bwrap_path() is None:
        return f"bubblewrap (`bwrap`) is not installed. {INSTALL_HINT}"
    probe = subprocess.run(
        [*bwrap_prefix(SandboxView((Path("/usr"),)), Space(MIB, ("/tmp",)), environment={}), "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        said = probe.stderr.strip() or probe.stdout.strip() or f"exit status {probe.returncode}"
        return f"bubblewrap is installed but cannot start a sandbox here ({said}). {namespace_advice()}"
    return None


def view_problem() -> str | None:
    """Why the sandbox cannot show a kernel or the verifier what they need, or None."""
    try:
        SandboxView.for_kernel()
        SandboxView.for_verifier()
    except SandboxUnavailable as error:
        return str(error)
    return None


def namespace_advice() -> str:
    """What to change on this machine so that bubblewrap can create its namespaces."""

    def setting(name: str) -> str | None:
        try:
            return Path("/proc/sys", *name.split(".")).read_text().strip()
        except OSError:
            return None

    if setting("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10 and later): give bwrap "
            "an AppArmor profile that allows them (Ubuntu's apparmor package ships one, "
            "bwrap-userns-restrict, among its extra profiles: copy it to /etc/apparmor.d/ and load it "
            "with `sudo apparmor_parser -r /etc/apparmor.d/bwrap-userns-restrict`), or lift the "
            "restriction with `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`."
        )
    if setting("kernel.unprivileged_userns_clone") == "0":
        return (
            "Unprivileged user namespaces are switched off here: "
            "`sudo sysctl kernel.unprivileged_userns_clone=1`, or grade as root."
        )
    if setting("user.max_user_namespaces") == "0":
        return "User namespaces are switched off here: `sudo sysctl user.max_user_namespaces=15000`."
    return (
        "It needs user namespaces (unprivileged ones, or root). In a container, allow them: Docker "
        "`--security-opt seccomp=unconfined --security-opt systempaths=unconfined`; Kubernetes: "
        'the securityContext in the README, "Grading beyond one machine".'
    )


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailable`, with what to do, when grading cannot be sandboxed."""
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(f"Grading stopped: {problem} {OPT_OUT}")


@functools.lru_cache(maxsize=1)
def kernel_packages() -> dict[str, str | None]:
    """Where this environment's Python imports the course packages from, as a kernel does:
    in a fresh process, isolated from this one's working folder and PYTHONPATH."""
    code = (
        "import importlib.util, json\n"
        "def where(name):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    return list(spec.submodule_search_locations)[0] if spec and spec.submodule_search_locations else None\n"
        f"print(json.dumps({{name: where(name) for name in {COURSE_PACKAGES!r}}}))\n"
    )
    found = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd="/", check=False, env={}
    )
    try:
        return json.loads(found.stdout)
    except ValueError:
        return dict.fromkeys(COURSE_PACKAGES)


def package_problem() -> str | None:
    """Why a kernel would import another course package than this grader's, or None."""
    here = {autograder.__name__: autograder, rnn_forecast.__name__: rnn_forecast}
    for name, location in kernel_packages().items():
        grader = Path(here[name].__file__).resolve().parent
        if location is None:
            return (
                f"the environment {sys.prefix} cannot import the course package `{name}`, so no kernel "
                f"could start: run `make setup` in the course folder {grader.parent}."
            )
        if Path(location).resolve() != grader:
            return (
                f"a student's kernel would import the course package `{name}` from {location} (the "
                f"editable install in {sys.prefix}), not this course's {grader}: give this course an "
                f"environment of its own (`make setup` in {grader.parent}), or grade from {Path(location).parent}."
            )
    return None


@dataclass(frozen=True)
class Space:
    """The sandbox's one writable place: an in-memory filesystem of ``size`` bytes, seen at each
    of ``folders`` (symbolic links into it), so that whatever is written anywhere counts once."""

    size: int
    folders: tuple[str, ...]

    @staticmethod
    def location(folder: str) -> str:
        """Where ``folder`` really is inside the sandbox: a folder of the writable place."""
        return f"{WRITABLE}/{folder.strip('/').replace('/', '-')}"


@dataclass(frozen=True)
class SandboxView:
    """The part of this machine a sandboxed process sees, all of it read-only."""

    readonly: tuple[Path, ...]
    #: Paths that must not be visible; building a sandbox fails if a read-only path holds one.
    hidden: tuple[Path, ...] = field(default=())

    @classmethod
    def for_kernel(cls, course_root: Path | None = None) -> SandboxView:
        """What a student's kernel sees: the system, Python and :data:`KERNEL_SHOWS`."""
        return cls._build(KERNEL_SHOWS, course_root)

    @classmethod
    def for_verifier(cls, course_root: Path | None = None) -> SandboxView:
        """What the verifier sees: the system, Python and :data:`VERIFIER_SHOWS`."""
        return cls._build(VERIFIER_SHOWS, course_root)

    @classmethod
    def _build(cls, shows: dict[str, str], course_root: Path | None) -> SandboxView:
        system = [
            Path("/usr"),
            *(Path(p) for p in ETC_FILES),
            Path(sys.base_prefix).resolve(),
            Path(sys.prefix),
            Path(sys.prefix).resolve(),
        ]
        course = []
        for relative in shows:
            path = REPOSITORY_ROOT / relative
            if not path.exists():
                raise SandboxUnavailable(
                    f"the sandbox must show {path} ({shows[relative]}), which does not exist: "
                    "restore the course checkout (`git status` shows what is missing)."
                )
            course.append(path)
        paths = [p for p in system if p.exists()] + course
        view = cls(tuple(dict.fromkeys(paths)), (Path(course_root).resolve(),) if course_root else ())
        view.check()
        return view

    def check(self) -> None:
        """Refuse a view that would show a hidden path (e.g. a course folder inside /usr)."""
        for hidden in self.hidden:
            for shown in self.readonly:
                if hidden == shown or shown in hidden.parents:
                    raise SandboxUnavailable(
                        f"the sandbox would show {hidden}, because it lies inside {shown}, "
                        "which student code must see. Move the course folder out of it."
                    )


def bwrap_prefix(
    view: SandboxView,
    space: Space,
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
    files: dict[str, str] | None = None,
    status_fd: int | None = None,
) -> list[str]:
    """The ``bwrap`` arguments that run a command in ``view``, writing only into ``space``.

    ``environment`` replaces the whole environment; ``workdir`` is the starting folder;
    ``files`` maps files outside to where the sandbox sees them (read-only); bubblewrap writes
    the sandbox's process ID (JSON, ``child-pid``) to ``status_fd`` once it runs.
    """
    # bubblewrap's own first process is PID 1 inside the sandbox, and its environment can be
    # read there (/proc/1/environ): it must start with none, or the grader's secrets show.
    cleared = ["/usr/bin/env", "-i"] if environment is not None else []
    args = [
        *cleared,
        bwrap_path() or "bwrap",
        "--die-with-parent",  # the grader dies, the sandbox dies
        "--new-session",  # no access to the grader's terminal (TIOCSTI)
        "--unshare-all",  # own mount, PID, network, IPC, UTS and cgroup namespaces: no network
        "--cap-drop",
        "ALL",
    ]
    if status_fd is not None:
        args += ["--json-status-fd", str(status_fd)]
    # The writable place comes first, so that what is shown read-only below one of its
    # folders (a course cloned under /tmp) is mounted on top of it rather than hidden by it.
    # Its links are relative: bubblewrap resolves an absolute one outside the new root.
    args += ["--size", str(space.size), "--tmpfs", WRITABLE]
    linked: dict[Path, Path] = {}
    for folder in sorted(space.folders, key=lambda folder: len(Path(folder).parts)):  # /tmp before /tmp/work
        inside = Path(Space.location(folder))
        parent = _through_links(Path(folder).parent, linked)
        args += ["--dir", str(inside), "--symlink", os.path.relpath(inside, parent), folder]
        linked[Path(folder)] = inside
    # A course folder inside a writable folder (a clone under /tmp) would hold what is shown of
    # it in writable folders of its own: it gets a read-only filesystem of its own instead.
    sealed = [
        folder
        for folder in dict.fromkeys([*view.hidden, REPOSITORY_ROOT])
        if _through_links(folder, linked) != folder and any(folder in path.parents for path in view.readonly)
    ]
    for folder in sealed:
        args += ["--size", str(MIB), "--tmpfs", str(folder)]
    for path in view.readonly:
        args += ["--ro-bind", str(path), str(path)]
    for folder in sealed:
        args += ["--remount-ro", str(folder)]
    for name in ("bin", "lib", "lib64", "sbin"):
        top = Path("/") / name
        if top.is_symlink():  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    # /dev is built here rather than by bubblewrap's --dev, whose own in-memory /dev (with
    # /dev/shm in it) would be writable up to half the machine's memory, outside any limit.
    args += ["--proc", "/proc", "--ro-bind", "/sys", "/sys"]
    for device in DEVICES:
        args += ["--dev-bind", device, device]
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        args += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{name}"]
    args += ["--symlink", "/proc/self/fd", "/dev/fd"]
    for outside, inside in (files or {}).items():
        args += ["--ro-bind", outside, inside]
    # Nothing outside the writable place can be created, renamed or replaced.
    args += ["--remount-ro", "/"]
    if environment is not None:
        args += ["--clearenv"]
        for name, value in environment.items():
            args += ["--setenv", name, value]
    if workdir is not None:
        args += ["--chdir", workdir]
    return [*args, "--"]


def _through_links(path: Path, linked: dict[Path, Path]) -> Path:
    """Where ``path`` really is once the links made so far are followed (a folder under /tmp)."""
    for link, target in linked.items():
        if path == link or link in path.parents:
            return target / path.relative_to(link)
    return path


def sandbox_environment(inherited: dict[str, str], home: str) -> dict[str, str]:
    """The environment inside the sandbox: the named harmless variables of ``inherited``, and PATH/HOME."""
    kept = {name: inherited[name] for name in INHERITED_ENVIRONMENT if name in inherited}
    return {
        **kept,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": "/tmp",
        # Python would try to write bytecode next to the read-only course package.
        "PYTHONDONTWRITEBYTECODE": "1",
    }


# ---------------------------------------------------------------- what comes out of a sandbox


class OutputTail:
    """What a sandbox writes to its standard output and error, read by a thread as it comes:
    the last ``limit`` bytes are kept, so a kernel that prints without end fills nothing."""

    def __init__(self, descriptor: int, limit: int = 64 * 1024):
        self.descriptor, self.limit = descriptor, limit
        self.data = bytearray()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self.descriptor, 65536):
                self.data += chunk
                del self.data[: -self.limit]
        finally:
            os.close(self.descriptor)

    def text(self, wait: float = 0.0) -> str:
        """The kept output; ``wait`` seconds for the writer's last words after it ended."""
        self.thread.join(wait)
        return bytes(self.data).decode(errors="replace").strip()


class AuditRecords:
    """The kernel's audit trail: one message per record on a socket the grader holds the other end of.

    The kernel holds only its own end, opened before any student code runs: it can add
    records (more flags against itself) but never read, remove or rewrite one already sent.
    A thread takes them in as they come, so a kernel that writes many is never held up.
    """

    #: At most this many records are kept; the audit hook itself sends at most 200.
    KEPT = 400
    RECORD_BYTES = 4096

    def __init__(self, grader_end: socket.socket):
        self.socket = grader_end
        self.socket.setblocking(False)
        self.records: list[str] = []
        self.started = threading.Event()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                readable, _, _ = select.select([self.socket], [], [], 0.2)
            except (OSError, ValueError):  # closed meanwhile
                return
            if readable and not self.collect():
                time.sleep(0.2)  # the kernel's end is closed: nothing more will come

    def collect(self) -> bool:
        """Take in every record waiting now; False once the kernel's end is closed."""
        with self._lock:
            while not self._closed.is_set():
                try:
                    message = self.socket.recv(self.RECORD_BYTES)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not message:
                    return False
                if message == b"audit started":
                    self.started.set()
                if len(self.records) < self.KEPT:
                    self.records.append(message.decode(errors="replace").replace("\n", " "))
            return False

    def lines(self) -> list[str]:
        """Every record received so far, the first one "audit started"."""
        self.collect()
        return list(self.records)

    def close(self) -> None:
        self.collect()
        self._closed.set()
        self.thread.join()
        self.socket.close()


class _KernelChannels:
    """The three ways a sandboxed kernel speaks to the grader besides Jupyter's sockets: the
    audit trail, bubblewrap's status (the sandbox's process ID) and its output."""

    def __init__(self):
        grader_end, self.kernel_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.audit = AuditRecords(grader_end)
        self.status_read, self.status_write = os.pipe()
        self.output_read, self.output_write = os.pipe()
        self.output: OutputTail | None = None

    @property
    def child_fds(self) -> tuple[int, ...]:
        return (self.kernel_end.fileno(), self.status_write)

    def launched(self) -> None:
        """The sandbox holds its ends now; the grader keeps only its own."""
        self.kernel_end.close()
        os.close(self.status_write)
        os.close(self.output_write)
        self.output = OutputTail(self.output_read)

    def sandbox_pid(self, timeout: float) -> int | None:
        """The sandbox's first process as bubblewrap reports it (``child-pid``)."""
        text = b""
        deadline = time.monotonic() + timeout
        while b"child-pid" not in text and time.monotonic() < deadline:
            readable, _, _ = select.select([self.status_read], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.status_read, 4096) if readable else b""
            if readable and not chunk:
                break
            text += chunk
        for line in text.decode(errors="replace").splitlines():
            try:
                return int(json.loads(line)["child-pid"])
            except (ValueError, KeyError, TypeError):
                continue
        return None

    def close(self) -> None:
        self.audit.close()
        os.close(self.status_read)
        if self.output is None:  # never launched: the sandbox's ends are still here
            self.kernel_end.close()
            for descriptor in (self.status_write, self.output_write, self.output_read):
                os.close(descriptor)


class SandboxedKernelManager(AsyncKernelManager):
    """A Jupyter kernel manager whose kernels run inside bubblewrap.

    The kernel talks to its client over Unix sockets in ``/run/kernel``, which the grader
    reaches through ``/proc/PID/root``; so the kernel needs no network and no writable
    folder of the grader's. Its audit trail comes out on a socket of its own
    (:class:`AuditRecords`); what bubblewrap or the kernel print goes to a bounded buffer,
    and into the error when the sandbox cannot start. Interrupts are sent as Jupyter
    messages: the kernel is in a session of its own, out of reach of the grader's
    process-group signals.
    """

    disk_mib = Integer(
        256,
        help="Size limit of everything the kernel can write (its working folder, /tmp, /dev/shm), MiB.",
    ).tag(config=True)
    start_timeout = Float(
        60.0, help="Seconds the sandbox and the kernel may take to start; raise it on a very busy machine."
    ).tag(config=True)
    course_root = Unicode("", help="The course folder, which must stay hidden.").tag(config=True)
    audit_protected = List(Unicode(), help="Folders whose access the audit hook reports.").tag(config=True)

    _channels: _KernelChannels | None = None
    # What the last kernel sent and printed stays readable after it ended and its channels closed.
    _audit: AuditRecords | None = None
    _output: OutputTail | None = None
    _sandbox_pid: int | None = None

    def _transport_default(self):
        return "ipc"

    def _ip_default(self):
        return f"{KERNEL_RUNTIME}/ipc"

    @property
    def sandbox_pid(self) -> int | None:
        """The process ID (outside) of the sandbox's first process, once it runs."""
        return self._sandbox_pid

    def view(self) -> SandboxView:
        return SandboxView.for_kernel(Path(self.course_root) if self.course_root else None)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        kernel = super().format_kernel_cmd(extra_arguments)
        if kernel[1:3] != ["-m", "ipykernel_launcher"]:
            raise SandboxUnavailable(
                f"the kernel command {' '.join(kernel[:3])} is not Python's ipykernel, which the sandbox "
                "starts with its audit hook: grade with the python3 kernel."
            )
        connection_file = os.path.realpath(self.connection_file)
        kernel = [
            CONNECTION_FILE if arg in (self.connection_file, connection_file) else arg for arg in kernel
        ]
        view = self.view()
        self._close_channels()
        self._channels = channels = _KernelChannels()
        environment = sandbox_environment(self._launch_args.get("env") or dict(os.environ), WORK_FOLDER)
        environment.update(
            {
                # ipykernel watches its parent; PID 1 (the sandbox's init) means "no parent to watch".
                "JPY_PARENT_PID": "1",
                "AUTOGRADER_AUDIT_FD": str(channels.kernel_end.fileno()),
                "AUTOGRADER_AUDIT_PROTECTED": os.pathsep.join(self.audit_protected),
                "AUTOGRADER_AUDIT_SHOWN": os.pathsep.join(str(p) for p in view.readonly),
                "AUTOGRADER_AUDIT_WRITABLE": os.pathsep.join([*KERNEL_FOLDERS, WRITABLE, "/dev", "/proc"]),
            }
        )
        prefix = bwrap_prefix(
            view,
            Space(self.disk_mib * MIB, KERNEL_FOLDERS),
            environment=environment,
            workdir=WORK_FOLDER,
            files={connection_file: CONNECTION_FILE},
            status_fd=channels.status_write,
        )
        # Start the audit hook before ipykernel, and so before any student code.
        return [*prefix, kernel[0], "-m", "autograder.engine.kernel_audit", *kernel[3:]]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.pop("cwd", None)  # the kernel starts in its own WORK_FOLDER instead
        channels = self._channels
        kw.update(pass_fds=channels.child_fds, stdout=channels.output_write, stderr=channels.output_write)
        await super()._async_launch_kernel(kernel_cmd, **kw)
        channels.launched()
        self._audit, self._output = channels.audit, channels.output
        bubblewrap = self.provisioner.process
        deadline = time.monotonic() + self.start_timeout
        # The kernel's audit hook says "audit started" once Python runs in the sandbox with the
        # course package importable; bubblewrap ending first means the sandbox could not start.
        while not channels.audit.started.is_set():
            if bubblewrap.poll() is not None:
                raise SandboxUnavailable(
                    f"the sandbox ended before the kernel started (exit status {bubblewrap.returncode}): "
                    f"{self.sandbox_output() or 'it printed nothing'}"
                )
            if time.monotonic() > deadline:
                bubblewrap.kill()
                raise SandboxUnavailable(
                    f"the sandboxed kernel did not start within {self.start_timeout:g} s "
                    f"({self.sandbox_output() or 'it printed nothing'}); on a very busy machine raise "
                    "--SandboxedKernelManager.start_timeout"
                )
            await asyncio.sleep(0.02)
        self._sandbox_pid = channels.sandbox_pid(timeout=10.0)
        if self._sandbox_pid is None:
            bubblewrap.kill()
            raise SandboxUnavailable("bubblewrap started the kernel but did not report the sandbox's process")
        # The same sockets, reached from outside through the sandbox's root.
        self.ip = f"/proc/{self._sandbox_pid}/root{Space.location(KERNEL_RUNTIME)}/ipc"

    def sandbox_output(self) -> str:
        """The last of what bubblewrap and the kernel printed (for a sandbox or kernel that died)."""
        return self._output.text(wait=1.0) if self._output is not None else ""

    def audit_records(self) -> list[str]:
        """The kernel's audit trail so far (:class:`AuditRecords`); empty before it started."""
        return self._audit.lines() if self._audit is not None else []

    def _close_channels(self) -> None:
        if self._channels is not None:
            self._channels.close()
            self._channels = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._audit is not None:
            self._audit.collect()  # what was sent before the kernel ended stays readable
        self._close_channels()

    cleanup_resources = _async_cleanup_resources

    async def _async_interrupt_kernel(self):
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        message = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, message)

    interrupt_kernel = _async_interrupt_kernel

    def sandbox_processes(self) -> list[psutil.Process]:
        """Every process in the sandbox except its init and the kernel itself."""
        if self.sandbox_pid is None:
            return []
        try:
            init = psutil.Process(self.sandbox_pid)
            everyone = init.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        kernel = everyone[0].pid if everyone else None
        return [p for p in everyone if p.pid != kernel]
