"""Whether grading can run on this machine, checked before any student is graded.

    python -m autograder.engine.doctor [--course-dir DIR] [--preflight]

``make doctor`` prints every check. ``make autograde`` runs ``--preflight`` first, and
``make grade`` runs the same checks itself (on a Dask cluster, on every worker), so that a
machine that cannot grade stops the run before the first student, with one message naming
the cause and what to do, instead of failing each student in turn. The checks, each
needing the ones before it:

1. bubblewrap is installed and can create its namespaces here, as this user;
2. a kernel would import this course's package (not another checkout's), and the
   sandbox's view holds what the kernel needs without showing the course folder;
3. one student kernel starts in the sandbox with the course's configuration, imports what
   the sandbox shows it and reads ``data/``, and its audit trail flags nothing: what the
   sandbox shows on purpose is no attempt to leave it;
4. one verifier starts in its sandbox, loads the checks and answers a request (when the
   course's autograde pipeline uses it: ``TrustedExecute``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from traitlets.config import Config

from autograder.engine import sandbox
from autograder.engine.trusted import FLAGS_KEY, UNSAFE_WARNING, GraderFault, SandboxedExecute
from autograder.engine.verifier import Verifier, VerifierFailed

STOPPED = "Grading stopped before the first student"


@dataclass(frozen=True)
class Finding:
    """One check: its name, whether it passed, and what was found (with what to do when it failed)."""

    check: str
    passed: bool
    detail: str


def probe_code() -> str:
    """A cell that reads, as an import does, every module the sandbox shows the kernel, and the
    data through the course package: honest work, which must not be flagged."""
    modules = [
        relative.removesuffix(".py").replace("/", ".")
        for relative in sandbox.KERNEL_SHOWS
        if relative.startswith("autograder/") and relative.endswith(".py")
    ]
    return (
        "import importlib.util\n"
        "import rnn_forecast\n"
        f"for name in {modules!r}:\n"
        "    with open(importlib.util.find_spec(name).origin, 'rb') as module:\n"
        "        module.read()\n"
        "print(len(rnn_forecast.load_monthly_series()), 'months read')\n"
    )


def uses_verifier(config: Config) -> bool:
    """Whether the course's autograde pipeline decides points with the verifier (TrustedExecute)."""
    pipeline = config.get("Autograde", {}).get("autograde_preprocessors", [])
    return any(str(step).endswith("TrustedExecute") for step in pipeline)


def run_checks(config: Config, course: Path | None) -> Iterator[Finding]:
    """Each check in turn; after a failed one, the checks that need it are not run."""
    unsafe = bool(config.get("SandboxedExecute", {}).get("unsafe_no_sandbox", False))
    if unsafe:
        yield Finding("sandbox", True, f"not used: {UNSAFE_WARNING}")
    else:
        found = _sandbox_findings()
        yield from found
        if not all(finding.passed for finding in found):
            return
    if not uses_verifier(config):
        yield _kernel_finding(config, course)
        return
    # The verifier loads Keras for several seconds: it starts first and loads while the kernel runs.
    started = time.perf_counter()
    try:
        verifier = Verifier(sandboxed=not unsafe, course_root=course)
    except (OSError, sandbox.SandboxUnavailable) as error:
        yield Finding("verifier", False, f"the verifier could not be started: {error}")
        return
    try:
        yield (kernel := _kernel_finding(config, course))
        if kernel.passed:
            yield _verifier_finding(verifier, started)
    finally:
        verifier.close()


def _sandbox_findings() -> list[Finding]:
    problem = sandbox.bubblewrap_problem()
    if problem:
        return [Finding("bubblewrap", False, problem)]
    found = [
        Finding("bubblewrap", True, f"{sandbox.bwrap_path()} starts a sandbox here as {getpass.getuser()}")
    ]
    problem = sandbox.package_problem()
    if problem:
        return [*found, Finding("course package", False, problem)]
    packages = ", ".join(f"{name} from {where}" for name, where in sandbox.kernel_packages().items())
    found.append(Finding("course package", True, f"a kernel imports {packages}, as this grader does"))
    problem = sandbox.view_problem()
    if problem:
        return [*found, Finding("sandbox view", False, problem)]
    shown = "; ".join(str(path) for path in sandbox.SandboxView.for_kernel().readonly)
    return [*found, Finding("sandbox view", True, f"the kernel sees, read-only: {shown}")]


def _kernel_finding(config: Config, course: Path | None) -> Finding:
    """One notebook of one cell, run as grading runs a student's: sandboxed, with the course's settings."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(probe_code())]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    settings = Config(config)
    if course is not None:
        settings.CourseDirectory.root = str(course)
    started = time.perf_counter()
    try:
        ran, _ = SandboxedExecute(config=settings).preprocess(notebook, {})
    except (GraderFault, sandbox.SandboxUnavailable, SystemExit) as error:
        return Finding("student kernel", False, str(error))
    outputs = ran.cells[0].outputs
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    if errors:
        return Finding(
            "student kernel",
            False,
            f"the kernel started, but a cell importing what the sandbox shows failed ({errors[0]}): "
            "the sandbox's view lacks something the kernel needs (autograder/engine/sandbox.py, KERNEL_SHOWS)",
        )
    flags = ran.metadata.get(FLAGS_KEY, {}).get("flags", [])
    if flags:
        return Finding(
            "student kernel",
            False,
            f"honest code was flagged ({flags[0]}{' and more' if len(flags) > 1 else ''}): every student would "
            "be flagged for reading what the sandbox shows on purpose",
        )
    where = os.environ.get("TMPDIR") or "/tmp"
    return Finding(
        "student kernel",
        True,
        f"started in the sandbox, read the course package and data/, nothing flagged "
        f"({time.perf_counter() - started:.1f} s; TMPDIR {where})",
    )


def _verifier_finding(verifier: Verifier, started: float) -> Finding:
    try:
        verifier.wait_until_ready()
        verdict = verifier.judge([], {})
    except VerifierFailed as error:
        return Finding("verifier", False, str(error))
    if not verdict.passed:
        return Finding("verifier", False, f"the verifier answered, wrongly: {verdict.message}")
    seconds = time.perf_counter() - started
    return Finding(
        "verifier", True, f"started in its sandbox, loaded the checks and answered ({seconds:.1f} s)"
    )


#: What to do after a failed check whose message does not say it all.
FIXES = {
    "bubblewrap": f" {sandbox.OPT_OUT}",
    "student kernel": " Check bubblewrap and the course's environment here (`make doctor` shows each check).",
    "verifier": " Check the course's environment here (`make setup`; `make doctor` shows each check).",
}


def preflight_problem(config: Config, course: Path | None) -> str | None:
    """Why grading must not start on this machine (one message, with what to do), or None."""
    for finding in run_checks(config, course):
        if not finding.passed:
            return f"{finding.check}: {finding.detail}{FIXES.get(finding.check, '')}"
    return None


def course_config(course: Path) -> Config:
    """The course's nbgrader configuration, as ``nbgrader autograde`` run there reads it."""
    from autograder.engine.course_config import read_course_config

    return read_course_config(course)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--course-dir", type=Path, default=Path.cwd(), help="the course folder (default: here)"
    )
    parser.add_argument(
        "--preflight", action="store_true", help="print only a failure, or one line that grading can start"
    )
    args = parser.parse_args(argv)
    course = args.course_dir.resolve()
    config = course_config(course)
    started = time.perf_counter()
    if args.preflight:
        problem = preflight_problem(config, course)
        if problem:
            print(f"{STOPPED}: {problem}", file=sys.stderr)
            return 1
        print(
            f"Preflight: the sandbox, a student kernel and the verifier work here "
            f"({time.perf_counter() - started:.0f} s; `make doctor` shows each check)."
        )
        return 0
    print(f"Checking that grading can run for {course}, as {getpass.getuser()}:")
    failed = None
    for finding in run_checks(config, course):
        print(f"  {'ok  ' if finding.passed else 'FAIL'} {finding.check}: {finding.detail}")
        if not finding.passed:
            failed = finding
    if failed is not None:
        print(f"Grading cannot run here: {failed.check}: {failed.detail}{FIXES.get(failed.check, '')}")
        return 1
    print(f"Grading can run here ({time.perf_counter() - started:.0f} s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
