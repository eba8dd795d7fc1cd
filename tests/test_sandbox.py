"""The sandbox itself (bubblewrap): what a sandboxed process can see, write and reach.

These run real ``bwrap`` on this machine (``.ci/run`` installs it); without it they are
skipped with the package to install.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from autograder import sandbox
from autograder.kernel_audit import AuditTrail

needs_bwrap = pytest.mark.skipif(
    sandbox.sandbox_problem() is not None, reason=f"no usable sandbox here: {sandbox.sandbox_problem()}"
)


def run_sandboxed(tmp_path: Path, code: str, *, hidden: Path | None = None) -> subprocess.CompletedProcess:
    view = sandbox.SandboxView.for_course(hidden)
    work = str(tmp_path / "work")
    command = [
        *sandbox.bwrap_prefix(
            view,
            writable={work: 8 * sandbox.MIB, "/tmp": 8 * sandbox.MIB},
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


def test_the_sandbox_environment_keeps_no_secrets():
    inside = sandbox.sandbox_environment(
        {"JUPYTERHUB_API_TOKEN": "t", "PGPASSWORD": "p", "TF_CPP_MIN_LOG_LEVEL": "3", "LANG": "C.UTF-8"},
        home="/w",
    )
    assert "JUPYTERHUB_API_TOKEN" not in inside
    assert "PGPASSWORD" not in inside
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


def audit(tmp_path, event, args):
    log = tmp_path / f"audit-{uuid.uuid4().hex}.log"
    trail = AuditTrail(str(log), protected=("/course/",), writable=("/work/", "/tmp/"))
    trail(event, args)
    trail.log.close()
    return log.read_text().splitlines()[1:]


def test_the_audit_records_reads_of_the_course_and_writes_outside_the_sandbox(tmp_path):
    assert audit(tmp_path, "open", ("/course/solutions/a.ipynb", "r", 0)) == [
        "read /course/solutions/a.ipynb"
    ]
    assert audit(tmp_path, "open", ("/usr/lib/x.py", "w", 0)) == ["write /usr/lib/x.py"]
    assert audit(tmp_path, "os.listdir", ("/course/submitted",)) == ["list /course/submitted"]
    assert audit(tmp_path, "sqlite3.connect", ("/course/gradebook.db",)) == [
        "open database /course/gradebook.db"
    ]
    with socket.socket() as sock:
        assert audit(tmp_path, "socket.connect", (sock, ("10.0.0.1", 80))) == ["network ('10.0.0.1', 80)"]


def test_the_audit_sees_a_course_inside_tmp_but_not_the_kernels_own_folder_in_it(tmp_path):
    log = tmp_path / "audit.log"
    trail = AuditTrail(str(log), protected=("/tmp/course/",), writable=("/tmp/course/autograded/a/", "/tmp/"))
    trail("open", ("/tmp/course/solutions/a.ipynb", "r", 0))
    trail("open", ("/tmp/course/autograded/a/model.keras", "w", 0))
    trail("open", ("/tmp/scratch", "w", 0))
    trail.log.close()
    assert log.read_text().splitlines()[1:] == ["read /tmp/course/solutions/a.ipynb"]


def test_the_audit_ignores_what_honest_code_does(tmp_path):
    assert audit(tmp_path, "open", ("/usr/lib/x.py", "r", 0)) == []
    assert audit(tmp_path, "open", ("/work/model.keras", "wb", 0)) == []
    assert audit(tmp_path, "open", ("/tmp/x", None, 0o101)) == []
    assert audit(tmp_path, "sqlite3.connect", (":memory:",)) == []
