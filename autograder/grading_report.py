"""What the instructor sees of a class's grading: a progress line while it runs, a table at the end."""

from __future__ import annotations

import sys
import time

from autograder.grade_job import GRADED, WORKER_LOST, JobResult
from autograder.intake import LEFT_OUT_HEADING


class Progress:
    """One self-rewriting line on a terminal; one line per student elsewhere (CI logs)."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.done = self.failed = 0
        self.started = time.perf_counter()
        self.interactive = self.stream.isatty()
        self.update(None)

    def update(self, job: JobResult | None) -> None:
        if job is not None:
            self.done += 1
            self.failed += job.outcome != GRADED
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        width = 24
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} done, {self.failed} failed, "
            f"{_clock(elapsed)} elapsed, {_clock(left)} left"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif job is not None:
            self.stream.write(f"{line}  ({job.student}: {job.outcome}, {job.score:g}/{job.max_score:g})\n")
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
    """One row per student; the flags column counts the reasons listed under the table."""
    header = f"{'student':<20} {'score':>11} {'wall s':>7} {'peak MiB':>9} {'flags':>5}  outcome"
    rows = [
        f"{j.student:<20} {f'{j.score:g}/{j.max_score:g}':>11} {j.seconds:>7.1f} {j.peak_mib:>9.0f} "
        f"{len(j.flags) or '-':>5}  {j.outcome}"
        + (
            " (its first worker died; graded on another)"
            if j.attempts > 1 and j.outcome != WORKER_LOST
            else ""
        )
        for j in jobs
    ]
    flagged = [f"  {j.student}, {flag}" for j in jobs for flag in j.flags]
    if flagged:
        rows += ["", "Flagged for the instructor (look at the autograded notebooks):", *flagged]
    left_out = [f"  {j.student}, {line}" for j in jobs for line in j.refused]
    if left_out:
        rows += ["", LEFT_OUT_HEADING, *left_out]
    return "\n".join([header, *rows])
