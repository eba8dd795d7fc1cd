"""The grading machine's fingerprint: what decides a grade besides the submission and the release.

A job refuses to grade on a machine whose fingerprint differs from the instructor's
(:func:`environment_problem`), so that two workers never grade one class differently.
Part of the grading engine, used by :mod:`autograder.engine.grade_job` and :mod:`autograder.engine.executors`.
"""

from __future__ import annotations

import hashlib
import socket
import sys
from importlib import metadata
from pathlib import Path

from autograder.engine.sandbox import KERNEL_SHOWS, VERIFIER_SHOWS, SandboxUnavailable, require_sandbox
from rnn_forecast.paths import REPOSITORY_ROOT

#: The packages that run a notebook, score it or compute what the checks compare.
GRADING_PACKAGES = (
    "nbgrader",
    "nbconvert",
    "nbclient",
    "jupyter_client",
    "ipykernel",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
)


#: What of the checkout grading runs: the engine (in the grader's own processes) and what
#: the sandboxes show the kernel and the verifier. The tools and the test kit are not in it,
#: so editing them never stops a worker from grading.
GRADING_RUNS = tuple(
    sorted(
        {str(Path(__file__).resolve().parent.relative_to(REPOSITORY_ROOT)), *KERNEL_SHOWS, *VERIFIER_SHOWS}
    )
)
FINGERPRINTED_SUFFIXES = (".py", ".json", ".csv")


def course_environment() -> dict[str, str]:
    """What decides a grade here besides the submission and the release: the files of the
    checkout that grading runs (:data:`GRADING_RUNS`: engine, checks, calibration, the
    shared package, the data), and the versions of the packages that run and score notebooks."""
    found = {}
    for relative in GRADING_RUNS:
        shown = REPOSITORY_ROOT / relative
        for path in [shown] if shown.is_file() else sorted(shown.rglob("*")):
            if path.suffix in FINGERPRINTED_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
                found[str(path.relative_to(REPOSITORY_ROOT))] = _digest(path)
    for name in GRADING_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = ".".join(map(str, sys.version_info[:2]))
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def environment_problem(expected: dict[str, str], sandboxed: bool = True) -> str | None:
    """Why this machine must not grade: a course environment other than ``expected`` (the
    instructor's), or no sandbox; None when it may grade."""
    here = course_environment()
    differences = sorted(name for name in set(here) | set(expected) if here.get(name) != expected.get(name))
    machine = socket.gethostname()
    if differences:
        shown = ", ".join(
            f"{name} {here[name]} here, {expected[name]} on the instructor's machine"
            if name in here and name in expected and "/" not in name
            else name
            for name in differences[:6]
        )
        more = f" and {len(differences) - 6} more" if len(differences) > 6 else ""
        return (
            f"Not graded on {machine}: its course environment differs from the instructor's ({shown}{more}), "
            "so its grades could differ. Install the course's environment from the same commit on every "
            'worker (README, "Grading beyond one machine").'
        )
    if sandboxed:
        try:
            require_sandbox()
        except SandboxUnavailable as error:
            return f"Not graded on {machine}: {error}"
    return None
