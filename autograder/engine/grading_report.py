"""What the instructor sees of a class's grading: a progress line while it runs, a table at the end.

A student whose grading failed because of the grader (outcome ``not graded``) is counted
apart from the submissions that failed on their own, shown with what broke and what to do,
and listed again under the table.
"""

from __future__ import annotations

import sys
import time

from autograder.engine.intake import LEFT_OUT_HEADING
from autograder.engine.job_types import JobResult, Outcome


def describe(job: JobResult) -> str:
    """A job's outcome in words: "graded", or "not graded: <what broke>; <what to do>"."""
    return f"{Outcome.NOT_GRADED}: {job.reason}" if job.outcome == Outcome.NOT_GRADED else job.outcome


class Progress:
    """One self-rewriting line on a terminal; one line per student elsewhere (CI logs)."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.done = self.failed = self.not_graded = 0
        self.started = time.perf_counter()
        self.interactive = self.stream.isatty()
        self.update(None)

    def update(self, job: JobResult | None) -> None:
        if job is not None:
            self.done += 1
            self.not_graded += job.outcome == Outcome.NOT_GRADED
            self.failed += job.outcome not in (Outcome.GRADED, Outcome.NOT_GRADED)
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} done, {self.failed} failed, {self.not_graded} not graded, "
            f"{_clock(elapsed)} elapsed, {_clock(left)} left"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif job is not None:
            score = "" if job.outcome == Outcome.NOT_GRADED else f", {job.score:g}/{job.max_score:g}"
            self.stream.write(f"{line}  ({job.student}: {describe(job)}{score})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN: nothing finished yet
        return "?"
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
