"""The sandbox itself (bubblewrap): what a sandboxed process can see, write and reach.

These run real ``bwrap`` on this machine (``.ci/run`` installs it); without it they are
skipped with the package to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from autograder.engine import sandbox
from autograder.engine.kernel_audit import AuditTrail

needs_bwrap = pytest.mark.skipif(
    sandbox.sandbox_problem() is not None, reason=f"no usable sandbox here: {sandbox.sandbox_problem()}"
)


def run_sandboxed(tmp_path: Path, code: str, *, hidden: Path | None = None) -> subprocess.CompletedProcess:
    view = sandbox.SandboxView.for_kernel(hidden)
    work = str(tmp_path / "work")
    command = [
        *sandbox.bwrap_prefix(
            view,
            sandbox.Space(8 * sandbox.MIB, (work, "/tmp", "/dev/shm")),
            environment={"HOME": work},
            workdir=work,
        ),
        sys.executable,
        "-c",
        code,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@needs_bwrap
def test_a_course_folder_outside_the_view_does_not_exist_inside(tmp_path):
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "solutions" / "answer.txt").write_text("secret")
    result = run_sandboxed(tmp_path, f"import os; print(os.path.exists({str(course)!r}))", hidden=course)
    assert result.stdout.strip() == "False", result.stderr


@needs_bwrap
def test_a_course_under_tmp_is_read_only_around_what_the_sandbox_shows_of_it(tmp_path):
    """The README's layout cloned under /tmp: the course folder holds .venv, which the kernel sees."""
    course = tmp_path / "course"
    (course / ".venv").mkdir(parents=True)
    (course / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    view = sandbox.SandboxView((*sandbox.SandboxView.for_kernel().readonly, course / ".venv"), (course,))
    code = (
        f"import os\nprint(open({str(course / '.venv' / 'pyvenv.cfg')!r}).read().strip())\n"
        f"for path in ({str(course / 'nbgrader_config.py')!r}, {str(course / '.venv' / 'new')!r}):\n"
        "    try:\n        open(path, 'w')\n        print('wrote', path)\n"
        "    except OSError as e:\n        print(e.errno)\n"
    )
    command = [
        *sandbox.bwrap_prefix(view, sandbox.Space(sandbox.MIB, ("/tmp",)), environment={}, workdir="/tmp"),
        sys.executable,
        "-c",
        code,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.split() == ["home", "=", "/usr/bin", "30", "30"], result.stdout + result.stderr


@needs_bwrap
def test_the_package_and_data_are_read_only_and_the_work_folder_is_writable(tmp_path):
    code = (
        "import rnn_forecast, pathlib\n"
        "print(rnn_forecast.DATA_PATH.is_file())\n"
        "try:\n    open(rnn_forecast.DATA_PATH, 'a')\nexcept OSError as e:\n    print(type(e).__name__, e.errno)\n"
        "pathlib.Path('mine.txt').write_text('x'); print(pathlib.Path('mine.txt').read_text())\n"
    )
    result = run_sandboxed(tmp_path, code)
    assert result.stdout.split() == ["True", "OSError", "30", "x"], result.stderr  # 30: read-only file system
    assert not (tmp_path / "work" / "mine.txt").exists(), "the work folder lives in the sandbox's memory"


@needs_bwrap
def test_the_work_folder_has_a_size_limit(tmp_path):
    code = (
        "try:\n    open('big', 'wb').write(b'0' * (16 * 2**20))\nexcept OSError as e:\n    print(e.errno)\n"
    )
    assert run_sandboxed(tmp_path, code).stdout.strip() == "28"  # 28: no space left on device


@needs_bwrap
def test_dev_shm_tmp_and_the_work_folder_share_one_disk_limit(tmp_path):
    """3 MiB into each of three places is 9 MiB: more than the 8 MiB limit, so the last place fills up."""
    code = (
        "written = 0\n"
        "for place in ('/dev/shm', '/tmp', '.'):\n"
        "    try:\n"
        "        with open(f'{place}/fill', 'wb') as f:\n"
        "            for _ in range(3):\n"
        "                f.write(b'0' * 2**20)\n"
        "                f.flush()\n"
        "                written += 1\n"
        "    except OSError as e:\n"
        "        print(place, e.errno)\n"
        "print('written', written)\n"
    )
    printed = run_sandboxed(tmp_path, code).stdout.split()
    assert printed[:2] == [".", "28"], printed  # 28: no space left on device
    assert printed[2] == "written"
    assert int(printed[3]) <= 8


@needs_bwrap
def test_nothing_but_the_writable_place_can_be_written(tmp_path):
    code = (
        "for path in ('/dev/new', '/new', '/run/new', '/sys/new', '/usr/new'):\n"
        "    try:\n        open(path, 'w')\n        print('wrote', path)\n"
        "    except OSError as e:\n        print(e.errno)\n"
    )
    result = run_sandboxed(tmp_path, code)
    assert result.stdout.split() == ["30"] * 5, result.stdout + result.stderr  # 30: read-only file system


@needs_bwrap
def test_there_is_no_network(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    code = (
        "import socket\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\n"
        "except OSError as e:\n    print('refused')\n"
    )
    try:
        assert run_sandboxed(tmp_path, code).stdout.strip() == "refused"
    finally:
        server.close()


@needs_bwrap
def test_nothing_started_inside_outlives_the_sandboxed_command(tmp_path):
    marker = f"outlive-{uuid.uuid4().hex}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}], "
        "start_new_session=True)\n"
    )
    run_sandboxed(tmp_path, code)
    time.sleep(0.5)
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]


def test_a_view_that_would_show_the_course_is_refused(tmp_path):
    with pytest.raises(sandbox.SandboxUnavailable, match="would show"):
        sandbox.SandboxView((tmp_path,), (tmp_path / "course",)).check()


def test_the_sandbox_environment_keeps_only_named_harmless_variables():
    inside = sandbox.sandbox_environment(
        {
            "JUPYTERHUB_API_TOKEN": "t",
            "PGPASSWORD": "p",
            "TF_VAR_db_password": "terraform's secret",
            "LC_SECRET": "s",
            "OMP_SECRET": "s",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "LANG": "C.UTF-8",
        },
        home="/w",
    )
    assert set(inside) == {
        "TF_CPP_MIN_LOG_LEVEL",
        "LANG",
        "PATH",
        "HOME",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
    }
    assert inside["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert inside["HOME"] == "/w"


@needs_bwrap
def test_no_process_in_the_sandbox_shows_the_graders_environment(tmp_path, monkeypatch):
    """bubblewrap's own first process (PID 1 inside) must not carry the grader's environment."""
    monkeypatch.setenv("PGPASSWORD", "the-gradebook-password")
    code = (
        "import os\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    for name in ('environ', 'cmdline'):\n"
        "        print(pid, name, open(f'/proc/{pid}/{name}', 'rb').read())\n"
    )
    result = run_sandboxed(tmp_path, code)
    assert result.returncode == 0, result.stderr
    assert "1 environ" in result.stdout, result.stderr
    assert "the-gradebook-password" not in result.stdout


# ---------------------------------------------------------------- the audit hook


def audit(event, args, shown=()):
    records = []
    trail = AuditTrail(records.append, protected=("/course/",), writable=("/work/", "/tmp/"), shown=shown)
    trail(event, args)
    assert records[0] == "audit started"
    return records[1:]


def test_the_audit_records_reads_of_the_course_and_writes_outside_the_sandbox():
    assert audit("open", ("/course/solutions/a.ipynb", "r", 0)) == ["read /course/solutions/a.ipynb"]
    assert audit("open", ("/usr/lib/x.py", "w", 0)) == ["write /usr/lib/x.py"]
    assert audit("os.listdir", ("/course/submitted",)) == ["list /course/submitted"]
    assert audit("sqlite3.connect", ("/course/gradebook.db",)) == ["open database /course/gradebook.db"]
    with socket.socket() as sock:
        assert audit("socket.connect", (sock, ("10.0.0.1", 80))) == ["network ('10.0.0.1', 80)"]


def test_the_audit_sees_a_course_inside_tmp_but_not_the_kernels_own_folder_in_it():
    records = []
    trail = AuditTrail(
        records.append, protected=("/tmp/course/",), writable=("/tmp/course/autograded/a/", "/tmp/")
    )
    trail("open", ("/tmp/course/solutions/a.ipynb", "r", 0))
    trail("open", ("/tmp/course/autograded/a/model.keras", "w", 0))
    trail("open", ("/tmp/scratch", "w", 0))
    assert records[1:] == ["read /tmp/course/solutions/a.ipynb"]


def test_the_audit_ignores_what_honest_code_does():
    assert audit("open", ("/usr/lib/x.py", "r", 0)) == []
    assert audit("open", ("/work/model.keras", "wb", 0)) == []
    assert audit("open", ("/tmp/x", None, 0o101)) == []
    assert audit("sqlite3.connect", (":memory:",)) == []


def test_what_the_sandbox_shows_of_the_course_on_purpose_is_no_attempt():
    """The README's layout: the environment and the package live inside the course folder."""
    shown = ("/course/.venv/", "/course/autograder/steps.py/")
    assert audit("open", ("/course/.venv/lib/python3.11/site-packages/zmq/__init__.py", "r", 0), shown) == []
    assert audit("os.listdir", ("/course/.venv/lib",), shown) == []
    assert audit("os.listdir", ("/course/autograder",), shown) == []  # on the way to what is shown
    assert audit("os.listdir", ("/course",), shown) == []
    assert audit("open", ("/course/autograder/__pycache__/steps.cpython-311.pyc", "r", 0), shown) == []
    # What it does not show is hidden, and reaching for it is an attempt.
    assert audit("open", ("/course/autograder/engine/verifier.py", "r", 0), shown) == [
        "read /course/autograder/engine/verifier.py"
    ]
    assert audit("open", ("/course/autograder/__pycache__/checks.cpython-311.pyc", "r", 0), shown) == [
        "read /course/autograder/__pycache__/checks.cpython-311.pyc"
    ]
    assert audit("os.listdir", ("/course/solutions",), shown) == ["list /course/solutions"]
    assert audit("open", ("/course/.venv/lib/x.py", "a", 0), shown) == ["write /course/.venv/lib/x.py"]


# ---------------------------------------------------------------- a real kernel in the sandbox


class Kernel:
    """A kernel started by :class:`sandbox.SandboxedKernelManager`, and a way to run code in it."""

    def __init__(self, km: sandbox.SandboxedKernelManager):
        self.km = km
        self.client = km.client()
        self.client.start_channels()

    async def _run(self, code: str) -> str:
        message_id = self.client.execute(code)
        printed = []
        while True:
            message = await self.client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") != message_id:
                continue
            content = message["content"]
            if message["msg_type"] == "stream":
                printed.append(content["text"])
            elif message["msg_type"] == "error":
                printed.append(f"{content['ename']}: {content['evalue']}")
            elif message["msg_type"] == "status" and content["execution_state"] == "idle":
                return "".join(printed)

    def run(self, code: str) -> str:
        return asyncio.run(self._run(code))


@contextlib.contextmanager
def sandboxed_kernel(environment: dict[str, str] | None = None, **settings):
    km = sandbox.SandboxedKernelManager(kernel_name="python3", **settings)
    asyncio.run(km.start_kernel(env=environment or dict(os.environ)))
    kernel = Kernel(km)
    try:
        asyncio.run(kernel.client.wait_for_ready(timeout=60))
        yield kernel
    finally:
        kernel.client.stop_channels()
        asyncio.run(km.shutdown_kernel(now=True))


@pytest.mark.slow
@needs_bwrap
def test_no_unlisted_variable_reaches_the_kernel():
    secrets = {"TF_VAR_db_password": "tf-var-secret", "LC_SECRET": "lc-secret", "PGPASSWORD": "pg-secret"}
    with sandboxed_kernel({**os.environ, **secrets, "TF_CPP_MIN_LOG_LEVEL": "3"}) as kernel:
        seen = kernel.run(
            "import os\nprint(sorted(os.environ.items()))\nprint(open('/proc/1/environ').read())"
        )
    assert "TF_CPP_MIN_LOG_LEVEL" in seen
    for value in secrets.values():
        assert value not in seen


@pytest.mark.slow
@needs_bwrap
def test_the_kernels_dev_shm_tmp_and_working_folder_share_one_disk_limit():
    with sandboxed_kernel(disk_mib=16) as kernel:
        printed = kernel.run(
            "written = 0\n"
            "for place in ('/dev/shm', '/tmp', '.'):\n"
            "    try:\n"
            "        with open(f'{place}/fill', 'wb') as f:\n"
            "            for _ in range(8):\n"
            "                f.write(b'0' * 2**20)\n"
            "                f.flush()\n"
            "                written += 1\n"
            "    except OSError as e:\n"
            "        print(place, 'full', e.errno)\n"
            "print('written', written)\n"
        )
    assert "/tmp full 28" in printed
    assert int(printed.split()[-1]) <= 16


@pytest.mark.slow
@needs_bwrap
def test_records_the_kernel_sent_cannot_be_taken_back(tmp_path):
    """The kernel reads a hidden file, then tries to erase the trail: the read is recorded all the same."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    secret = course / "solutions" / "key.txt"
    secret.write_text("the answers")
    with sandboxed_kernel(course_root=str(course), audit_protected=[str(course)]) as kernel:
        printed = kernel.run(
            "import os, socket\n"
            f"try:\n    open({str(secret)!r}).read()\nexcept OSError as e:\n    print('read failed', e.errno)\n"
            "fd = int(os.environ['AUTOGRADER_AUDIT_FD'])\n"
            "try:\n    os.open(f'/proc/self/fd/{fd}', os.O_RDONLY)\n"
            "except OSError as e:\n    print('cannot read the trail back', e.errno)\n"
            "os.write(fd, b'nothing happened')\n"
            "socket.socket(fileno=os.dup(fd)).shutdown(socket.SHUT_RDWR)\n"
            "os.close(fd)\n"
            "open('/run/kernel/audit.log', 'w').close()  # where the trail used to be\n"
            "print('erased')\n"
        )
        records = kernel.km.audit_records()
    assert "read failed 2" in printed
    assert "erased" in printed
    assert records[0] == "audit started"
    assert f"read {secret}" in records
    assert "nothing happened" in records  # what the kernel adds is only more against itself


@needs_bwrap
def test_a_sandbox_that_cannot_start_says_why(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: creating new namespace failed: simulated' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    sandbox.bwrap_path.cache_clear()
    try:
        km = sandbox.SandboxedKernelManager(kernel_name="python3")
        with pytest.raises(sandbox.SandboxUnavailable, match=r"exit status 1.*simulated"):
            asyncio.run(km.start_kernel())
    finally:
        sandbox.bwrap_path.cache_clear()
