"""What came of one autograde, decided from what was measured and what nbgrader wrote.

:func:`decide` is a pure function of the measurements (:class:`autograder.engine.supervise.Supervision`)
and of two facts read from the job's files: a grader fault reported by the preprocessors
(:func:`read_faults`) and a ``MemoryError`` shown in the notebooks or the log
(:func:`memory_error_shown`). Part of the grading engine, used by :mod:`autograder.engine.grade_job`.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from autograder.engine.job_types import Limits, Outcome
from autograder.engine.supervise import Supervision
from autograder.engine.trusted import FLAGS_KEY

#: A crashed autograde whose kernels' peak reached this fraction of the limit ran out of memory.
MEMORY_PEAK_FRACTION = 0.9


def decide(supervision: Supervision, faults: list[str], memory_error: bool, limits: Limits) -> Outcome:
    """The job's outcome; a fault of the grader outranks everything the submission did.

    >>> from autograder.engine.job_types import Limits
    >>> ran = Supervision(exit_code=1, seconds=3.0, peak_mib=3900.0, timed_out=False)
    >>> decide(ran, [], False, Limits(memory_mib=4096))
    <Outcome.MEMORY: 'memory limit'>
    >>> decide(ran, ["the verifier died"], False, Limits())
    <Outcome.NOT_GRADED: 'not graded'>
    """
    if faults:
        return Outcome.NOT_GRADED
    if supervision.timed_out:
        return Outcome.TIMED_OUT
    if memory_error or (
        supervision.exit_code != 0 and supervision.peak_mib >= MEMORY_PEAK_FRACTION * limits.memory_mib
    ):
        return Outcome.MEMORY
    if supervision.exit_code != 0:
        return Outcome.CRASHED
    return Outcome.GRADED


def memory_error_shown(autograded: Path, log: str) -> bool:
    """A MemoryError in the autograded notebooks or the log."""
    for path in autograded.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") == "MemoryError":
                    return True
    return "MemoryError" in log


def read_faults(path: Path) -> list[str]:
    """The grader faults nbgrader's preprocessors reported (autograder.engine.trusted.GraderFault), first first."""
    if not path.is_file():
        return []
    reasons = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            reasons.append(str(json.loads(line)["reason"]))
        except (ValueError, KeyError, TypeError):
            continue
    return reasons


def read_flags(autograded: Path) -> list[str]:
    """The reasons the grader flagged the autograded notebooks, notebook by notebook."""
    flags = []
    for path in sorted(autograded.glob("*.ipynb")):
        flags += notebook_flags(nbformat.read(path, as_version=4), path.stem)
    return flags


def notebook_flags(notebook, name: str) -> list[str]:
    """The reasons the grader flagged one autograded notebook, each prefixed with its ``name``."""
    return [f"{name}: {flag}" for flag in notebook.metadata.get(FLAGS_KEY, {}).get("flags", [])]
