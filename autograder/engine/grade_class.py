"""Autograde a whole class in parallel, on this machine or on a Dask cluster, with nbgrader's own autograde.

    python -m autograder.engine.grade_class ASSIGNMENT [--workers N | --scheduler tcp://HOST:8786]
                                                [--timeout S] [--memory-limit MiB] [--student ID ...]
                                                [--course-dir DIR]

``make grade`` runs it for the course's assignment. Every student is one self-contained
job (:mod:`autograder.engine.grade_job`): nbgrader's ``autograde ASSIGNMENT --student ID --force``
in a scratch folder of its own, under per-submission limits (wall time, memory, disk), with
the student's kernel sandboxed and every point decided outside it. The jobs run N at a time
on this machine, or on an existing Dask cluster (:mod:`autograder.engine.executors`); the results
come back into the course folder and its gradebook (:mod:`autograder.engine.orchestrate`), and a
progress line and a summary table show what happened (:mod:`autograder.engine.grading_report`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from autograder.engine.grading_report import summary_table
from autograder.engine.job_types import DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT, Limits, Outcome
from autograder.engine.orchestrate import grade_students
from autograder.engine.sandbox import SandboxedKernelManager

#: The exit status when the grader failed for some students: they have no score until graded again.
EXIT_NOT_GRADED = 2
#: The sandbox's own default, which applies when --disk-limit is not given.
DEFAULT_DISK_MIB = SandboxedKernelManager.class_traits()["disk_mib"].default_value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", help="the assignment's name, e.g. gated_rnn")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"submissions graded at once on this machine (default: the number of cores, {os.cpu_count()})",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler listens here, e.g. tcp://HOST:8786; "
        "it grades as many at once as its workers have threads",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="wall-time limit per submission in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=DEFAULT_MEMORY_MIB,
        metavar="MIB",
        help="memory limit of a submission's kernel in MiB (default %(default)s)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=int,
        metavar="S",
        help="nbgrader's per-cell timeout (default: nbgrader_config.py's)",
    )
    parser.add_argument(
        "--student",
        action="append",
        metavar="ID",
        help="grade only this student (repeatable); default: every submission",
    )
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=Path.cwd(),
        help="the nbgrader course directory (default: the current one)",
    )
    parser.add_argument(
        "--disk-limit",
        type=int,
        metavar="MIB",
        help="size limit of everything a kernel writes (working folder, /tmp, /dev/shm) in MiB "
        f"(default {DEFAULT_DISK_MIB})",
    )
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without the sandbox: student code can then read the solutions and "
        "change course files. Only for machines where bubblewrap cannot run.",
    )
    args = parser.parse_args(argv)
    if args.scheduler and args.workers:
        parser.error(
            "--workers sets the pool on this machine; with --scheduler the Dask cluster grades "
            "one submission per worker thread (dask worker --nthreads)"
        )
    workers = args.workers or os.cpu_count() or 1

    started = time.perf_counter()
    jobs = grade_students(
        args.course_dir,
        args.assignment,
        workers,
        Limits(
            args.timeout,
            args.memory_limit,
            cell_timeout=args.cell_timeout,
            disk_mib=args.disk_limit,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
        ),
        args.student,
        scheduler=args.scheduler,
    )
    if not jobs:
        print(f"No submissions of {args.assignment} under {args.course_dir.resolve() / 'submitted'}.")
        return 1
    print(summary_table(jobs))
    failed = [j for j in jobs if j.outcome not in (Outcome.GRADED, Outcome.NOT_GRADED)]
    not_graded = [j.student for j in jobs if j.outcome == Outcome.NOT_GRADED]
    where = f"on the Dask cluster at {args.scheduler}" if args.scheduler else f"with {workers} workers"
    logs = args.course_dir.resolve() / ".grade_class" / args.assignment
    faults = (
        f"; {len(not_graded)} not graded because of the grader ({', '.join(not_graded)})"
        if not_graded
        else ""
    )
    print(
        f"{len(jobs)} submissions in {time.perf_counter() - started:.0f} s {where}; "
        f"median {statistics.median(j.seconds for j in jobs):.0f} s each, "
        f"peak {max(j.peak_mib for j in jobs):.0f} MiB; {len(failed)} stopped by a limit or a crash{faults}"
        + (f" (logs: {logs})" if failed or not_graded else "")
        + f"; {sum(bool(j.flags) for j in jobs)} flagged"
    )
    if not_graded:
        return EXIT_NOT_GRADED
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
