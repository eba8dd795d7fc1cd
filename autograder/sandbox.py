"""The operating-system sandbox that student code runs in while it is graded: bubblewrap.

bubblewrap (``bwrap``, Debian package ``bubblewrap``) is the sandbox Flatpak is built on:
small, setuid-free, well kept, and it needs no daemon and no image. Each process it starts
gets its own mount, process, network, IPC and UTS namespaces and sees only what is bound
into it. Here that is:

- read-only: the system (``/usr`` and the few ``/etc`` files programs read), the Python
  installation and the course's virtual environment, the course package (``rnn_forecast``
  and ``autograder``) and ``data/``;
- writable, in memory and size-limited: its working folder ``/home/student`` (also
  ``HOME``), ``/tmp`` and ``/run/kernel`` (the kernel's sockets);
- nothing else: not the course folder (``solutions/``, the gradebook, other students'
  ``submitted/``, ``autograded/`` and ``feedback/``), not the grader's home, no network.

When the sandboxed command ends, every process it started ends with it: the sandbox has
its own process namespace, and the kernel kills a namespace with its first process.

:class:`SandboxedKernelManager` starts Jupyter kernels this way; ``autograder.verifier``
starts the trusted verifier the same way. :func:`require_sandbox` says what to install
when bubblewrap is missing or cannot create namespaces on this machine.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

import autograder
import rnn_forecast
from rnn_forecast.data import DATA_PATH

MIB = 2**20

#: The kernel's working folder and HOME inside the sandbox; it says nothing of where the course is.
WORK_FOLDER = "/home/student"
#: Where the kernel's ZeroMQ sockets and the audit log live inside the sandbox.
KERNEL_RUNTIME = "/run/kernel"
AUDIT_LOG = f"{KERNEL_RUNTIME}/audit.log"

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

#: Environment variables a kernel may inherit; everything else (tokens, database URLs,
#: the grader's paths) stays outside.
INHERITED_ENVIRONMENT = (
    "LANG",
    "LC_",
    "TZ",
    "TF_",
    "OMP_",
    "KMP_",
    "MKL_",
    "OPENBLAS_",
    "NBGRADER_EXECUTION",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONHASHSEED",
    "MPLBACKEND",
    "CUDA_VISIBLE_DEVICES",
)

INSTALL_HINT = (
    "Install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
    "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch); "
    "`make sandbox` installs it when run as root on Debian."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here; the message says why."""


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why student code cannot be sandboxed on this machine, or None when it can.

    Runs ``bwrap ... true`` once, so that a machine without user namespaces (some
    containers) is found out before any student is graded, not in the middle.
    """
    if sys.platform != "linux":
        return f"the sandbox (bubblewrap) needs Linux; this is {sys.platform}. Grade on Linux."
    if bwrap_path() is None:
        return f"bubblewrap (`bwrap`) is not installed. {INSTALL_HINT}"
    probe = subprocess.run(
        [*bwrap_prefix(SandboxView.for_course(), writable={}), "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return (
            f"bubblewrap is installed but cannot start a sandbox here: {probe.stderr.strip()}. "
            "It needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
            "or root; in a container, allow namespaces (e.g. Docker's --security-opt seccomp=unconfined)."
        )
    return None


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailable`, with what to do, when grading cannot be sandboxed."""
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(
            f"Grading stopped: {problem} Grading without the sandbox lets student code read "
            "the solutions and rewrite the gradebook; if you accept that, opt out explicitly "
            "with --unsafe-no-sandbox (make grade) or --TrustedExecute.unsafe_no_sandbox=True "
            "(nbgrader autograde)."
        )


@dataclass(frozen=True)
class SandboxView:
    """The part of this machine a sandboxed process sees, all of it read-only."""

    readonly: tuple[Path, ...]
    #: Paths that must not be visible; building a sandbox fails if a read-only path holds one.
    hidden: tuple[Path, ...] = field(default=())

    @classmethod
    def for_course(cls, course_root: Path | None = None) -> SandboxView:
        """The system, Python, the course package and data; ``course_root`` stays hidden."""
        paths = [
            Path("/usr"),
            *(Path(p) for p in ETC_FILES),
            Path(sys.base_prefix).resolve(),
            Path(sys.prefix),
            Path(sys.prefix).resolve(),
            Path(rnn_forecast.__file__).resolve().parent,
            Path(autograder.__file__).resolve().parent,
            DATA_PATH.resolve().parent,
        ]
        existing = tuple(dict.fromkeys(p for p in paths if p.exists()))
        view = cls(existing, (Path(course_root).resolve(),) if course_root else ())
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
    writable: dict[str, int],
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
) -> list[str]:
    """The ``bwrap`` arguments that run a command in ``view``.

    ``writable`` maps each in-memory writable folder to its size limit in bytes.
    ``environment`` replaces the whole environment; ``workdir`` is the starting folder.
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
    for path in view.readonly:
        args += ["--ro-bind", str(path), str(path)]
    for name in ("bin", "lib", "lib64", "sbin"):
        top = Path("/") / name
        if top.is_symlink():  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    args += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys"]
    # A folder inside another (say a working folder under /tmp) is mounted after it.
    for folder, size in sorted(writable.items(), key=lambda item: len(Path(item[0]).parts)):
        args += ["--size", str(size), "--tmpfs", folder]
    # Nothing outside the writable folders can be created, renamed or replaced.
    args += ["--remount-ro", "/"]
    if environment is not None:
        args += ["--clearenv"]
        for name, value in environment.items():
            args += ["--setenv", name, value]
    if workdir is not None:
        args += ["--chdir", workdir]
    return [*args, "--"]


def sandbox_environment(inherited: dict[str, str], home: str) -> dict[str, str]:
    """The environment inside the sandbox: the harmless part of ``inherited``, and PATH/HOME."""
    kept = {k: v for k, v in inherited.items() if k.startswith(INHERITED_ENVIRONMENT)}
    return {
        **kept,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": "/tmp",
    }


class SandboxedKernelManager(AsyncKernelManager):
    """A Jupyter kernel manager whose kernels run inside bubblewrap.

    The kernel talks to its client over Unix sockets in ``/run/kernel``, a small
    in-memory folder of the sandbox, which the grader reaches through
    ``/proc/PID/root``; so the kernel needs no network and no writable folder of the
    grader's. Interrupts are sent as Jupyter messages: the kernel is in a session of its
    own, out of reach of the grader's process-group signals.
    """

    work_size_mib = Integer(256, help="Size limit of the kernel's working folder, MiB.").tag(config=True)
    tmp_size_mib = Integer(256, help="Size limit of the kernel's /tmp, MiB.").tag(config=True)
    course_root = Unicode("", help="The course folder, which must stay hidden.").tag(config=True)
    audit_protected = List(Unicode(), help="Folders whose access the audit hook reports.").tag(config=True)

    def _transport_default(self):
        return "ipc"

    def _ip_default(self):
        return f"{KERNEL_RUNTIME}/ipc"

    @property
    def sandbox_pid(self) -> int | None:
        """The process ID (outside) of the sandbox's first process, once it runs."""
        return getattr(self, "_sandbox_pid", None)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        kernel = super().format_kernel_cmd(extra_arguments)
        workdir = WORK_FOLDER
        connection_file = os.path.realpath(self.connection_file)
        view = SandboxView.for_course(Path(self.course_root) if self.course_root else None)
        environment = sandbox_environment(self._launch_args.get("env") or dict(os.environ), workdir)
        environment.update(
            {
                # ipykernel watches its parent; PID 1 (the sandbox's init) means "no parent to watch".
                "JPY_PARENT_PID": "1",
                "AUTOGRADER_AUDIT_LOG": AUDIT_LOG,
                "AUTOGRADER_AUDIT_PROTECTED": os.pathsep.join(self.audit_protected),
                "AUTOGRADER_AUDIT_WRITABLE": os.pathsep.join(
                    [workdir, "/tmp", KERNEL_RUNTIME, "/dev", "/proc"]
                ),
            }
        )
        prefix = bwrap_prefix(
            view,
            writable={
                workdir: self.work_size_mib * MIB,
                "/tmp": self.tmp_size_mib * MIB,
                KERNEL_RUNTIME: 4 * MIB,
            },
            environment=environment,
            workdir=workdir,
        )
        # The connection file (ports and key) is the one file of the grader's the kernel reads.
        prefix[-1:-1] = ["--ro-bind", connection_file, connection_file]
        if kernel[1:3] == ["-m", "ipykernel_launcher"]:
            # Start the audit hook before ipykernel, and so before any student code.
            kernel = [kernel[0], "-m", "autograder.kernel_audit", *kernel[3:]]
        return [*prefix, *kernel]

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw.pop("cwd", None)  # the kernel starts in its own WORK_FOLDER instead
        await super()._async_launch_kernel(kernel_cmd, **kw)
        outer = psutil.Process(self.provisioner.process.pid)
        for _ in range(500):
            children = outer.children()
            if children:
                break
            await asyncio.sleep(0.01)
        else:
            raise SandboxUnavailable("bubblewrap started but its sandbox did not appear within 5 s")
        self._sandbox_pid = children[0].pid
        # The same sockets, reached from outside through the sandbox's root.
        self.ip = f"/proc/{self._sandbox_pid}/root{KERNEL_RUNTIME}/ipc"

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

    def read_sandbox_file(self, path: str, limit: int = MIB) -> bytes | None:
        """Up to ``limit`` bytes of a regular file inside the running sandbox, or None.

        The last component is opened without following symbolic links, so a student
        cannot point the grader at a file outside.
        """
        if self.sandbox_pid is None:
            return None
        try:
            descriptor = os.open(
                f"/proc/{self.sandbox_pid}/root{path}", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
            )
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            return os.read(descriptor, limit)
        finally:
            os.close(descriptor)
