"""What the instructor sees of a class's grading: a progress bar while it runs, a table at the end.

A student whose grading failed because of the grader (outcome ``not graded``) is counted
apart from the submissions that failed on their own, shown with what broke and what to do,
and listed again under the table.
"""

from __future__ import annotations

import sys
import time

import rich.console
import rich.progress

from autograder.engine.intake import LEFT_OUT_HEADING
from autograder.engine.job_types import JobResult, Outcome


def describe(job: JobResult) -> str:
    """A job's outcome in words: "graded", or "not graded: <what broke>; <what to do>"."""
    return f"{Outcome.NOT_GRADED}: {job.reason}" if job.outcome == Outcome.NOT_GRADED else job.outcome


class Progress:
    """A progress bar (rich's) on a terminal; one line per student elsewhere (CI logs, a redirected ``make grade``)."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.done = self.failed = self.not_graded = 0
        self.started = time.perf_counter()
        self.bar: rich.progress.Progress | None = None
        if self.stream.isatty():
            self.bar = rich.progress.Progress(
                rich.progress.TextColumn("grading"),
                rich.progress.BarColumn(),
                rich.progress.MofNCompleteColumn(),
                rich.progress.TextColumn("{task.fields[counts]}"),
                rich.progress.TimeElapsedColumn(),
                rich.progress.TextColumn("elapsed,"),
                rich.progress.TimeRemainingColumn(),
                rich.progress.TextColumn("left"),
                console=rich.console.Console(file=self.stream),
            )
            self.task = self.bar.add_task("grading", total=total, counts=self._counts())
            self.bar.start()

    def _counts(self) -> str:
        return f"{self.failed} failed, {self.not_graded} not graded"

    def update(self, job: JobResult) -> None:
        self.done += 1
        self.not_graded += job.outcome == Outcome.NOT_GRADED
        self.failed += job.outcome not in (Outcome.GRADED, Outcome.NOT_GRADED)
        if self.bar is not None:
            self.bar.update(self.task, advance=1, counts=self._counts())
            return
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done)
        score = "" if job.outcome == Outcome.NOT_GRADED else f", {job.score:g}/{job.max_score:g}"
        self.stream.write(
            f"{self.done}/{self.total} done, {self._counts()}, {_clock(elapsed)} elapsed, {_clock(left)} left"
            f"  ({job.student}: {describe(job)}{score})\n"
        )
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _clock(seconds: float) -> str:
    """``_clock(75.4)`` is ``'1:15'``.

    >>> _clock(75.4)
    '1:15'
    """
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def summary_table(jobs: list[JobResult]) -> str:
    """One row per student; the flags column counts the reasons listed under the table, and
    the students not graded are listed there with what broke and what to do."""
    header = f"{'student':<20} {'score':>11} {'wall s':>7} {'peak MiB':>9} {'flags':>5}  outcome"
    rows = []
    for j in jobs:
        score = "-" if j.outcome == Outcome.NOT_GRADED else f"{j.score:g}/{j.max_score:g}"
        again = (
            " (its first worker died; graded on another)"
            if j.attempts > 1 and j.outcome == Outcome.GRADED
            else ""
        )
        rows.append(
            f"{j.student:<20} {score:>11} {j.seconds:>7.1f} {j.peak_mib:>9.0f} "
            f"{len(j.flags) or '-':>5}  {j.outcome}{again}"
        )
    flagged = [f"  {j.student}, {flag}" for j in jobs for flag in j.flags]
    if flagged:
        rows += ["", "Flagged for the instructor (look at the autograded notebooks):", *flagged]
    not_graded = [f"  {j.student}: {j.reason}" for j in jobs if j.outcome == Outcome.NOT_GRADED]
    if not_graded:
        rows += [
            "",
            "Not graded, because the grader failed (no score was written; fix it, then grade them again):",
        ]
        rows += not_graded
    left_out = [f"  {j.student}, {line}" for j in jobs for line in j.refused]
    if left_out:
        rows += ["", LEFT_OUT_HEADING, *left_out]
    return "\n".join([header, *rows])
