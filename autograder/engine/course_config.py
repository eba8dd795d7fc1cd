"""The course's nbgrader configuration, read and written in this one module.

Read on the instructor's machine (:func:`read_course_config`), turned into plain
"Section.trait" values a job can carry (:func:`job_settings`), written back as a job's own
``nbgrader_config.py`` (:func:`write_config`) or rebuilt as a ``Config`` with the job's
limits (:func:`job_config`, for the preflight); with the autograde command and the
environment one job runs nbgrader with. Part of the grading engine, used by
:mod:`autograder.engine.orchestrate`, :mod:`autograder.engine.grade_job`,
:mod:`autograder.engine.executors`, :mod:`autograder.engine.checked` and
:mod:`autograder.engine.doctor`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config, PyFileConfigLoader

from autograder.engine.job_types import JobContext, Limits

THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
#: Settings a job makes its own: its scratch folder is the course root, and it picks the gradebook.
JOB_SETTINGS = ("CourseDirectory.root", "CourseDirectory.db_url")


def read_course_config(course: Path) -> tuple[Config, CourseDirectory]:
    """The course's nbgrader configuration, and nbgrader's view of the course directory."""
    path = course / "nbgrader_config.py"
    config = PyFileConfigLoader(path.name, path=str(course)).load_config() if path.is_file() else Config()
    return config, CourseDirectory(config=config, root=str(course))


def job_settings(config: Config, prefix: str = "") -> dict[str, object]:
    """The configuration as "Section.trait" -> value, each value plain data a job can write back."""
    found: dict[str, object] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Config):
            found.update(job_settings(value, f"{name}."))
        elif name in JOB_SETTINGS:
            continue
        elif _plain(value):
            found[name] = value
        else:
            raise SystemExit(
                f"nbgrader_config.py sets {name} to {value!r}, which cannot be sent to a grading job: "
                "give it a plain value (a string, number, boolean, list or dict of those)."
            )
    return found


def _plain(value) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


def write_config(path: Path, settings: dict[str, object]) -> None:
    """An ``nbgrader_config.py`` that sets each "Section.trait" to its value; readable only by its owner,
    since it may hold the gradebook's password."""
    lines = [
        "# The course's nbgrader configuration as resolved on the instructor's machine (autograder.engine.grade_job)."
    ]
    lines += [f"c.{name} = {value!r}" for name, value in settings.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")


def autograde_command(assignment: str, student: str, limits: Limits) -> list[str]:
    beside_python = Path(sys.executable).parent / "nbgrader"
    nbgrader = str(beside_python) if beside_python.exists() else shutil.which("nbgrader")
    if nbgrader is None:
        raise RuntimeError(
            "nbgrader is not installed in this environment: install the course's environment here"
        )
    return [
        sys.executable,
        "-m",
        "autograder.engine.memory_cap",
        str(limits.memory_mib),
        "--",
        nbgrader,
        "autograde",
        assignment,
        "--student",
        student,
        "--force",
        *([f"--Execute.timeout={limits.cell_timeout}"] if limits.cell_timeout else []),
        *([f"--SandboxedKernelManager.disk_mib={limits.disk_mib}"] if limits.disk_mib else []),
        *(["--SandboxedExecute.unsafe_no_sandbox=True"] if limits.unsafe_no_sandbox else []),
    ]


def job_config(context: JobContext) -> Config:
    """The configuration a job's nbgrader grades with: the course's, and the limits that
    :func:`autograde_command` passes on its command line (for the preflight's kernel)."""
    config = Config()
    for name, value in context.config.items():
        section, trait = name.rsplit(".", 1)
        config[section][trait] = value
    limits = context.limits
    config.SandboxedExecute.unsafe_no_sandbox = limits.unsafe_no_sandbox
    if limits.disk_mib:
        config.SandboxedKernelManager.disk_mib = limits.disk_mib
    if limits.cell_timeout:
        config.Execute.timeout = limits.cell_timeout
    return config


def job_environment(threads: int) -> dict[str, str]:
    """The environment of one autograde: TensorFlow quiet, ``threads`` compute threads."""
    environment = dict(os.environ)
    # nbgrader runs alembic through PATH.
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), environment.get("PATH", "")])
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Kernels graded side by side, each using every core, only fight over them.
    environment.update({name: str(max(1, threads)) for name in THREAD_VARIABLES})
    return environment
