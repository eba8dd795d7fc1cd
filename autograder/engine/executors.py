"""Where grading jobs run: a pool of threads on this machine, or an existing Dask cluster.

Both run the same job, :func:`autograder.engine.grade_job.run_job`, and yield each
:class:`~autograder.engine.job_types.JobResult` as it finishes.

On a Dask cluster (``dask.distributed``), a student whose worker dies mid-job is graded
again on another worker, once. Dask by itself reschedules a task whose worker died up to
the scheduler's ``distributed.scheduler.allowed-failures`` times (3 by default) and then
fails it with ``KilledWorker``; on an existing cluster that number is not the client's to
choose. So each job counts its own starts on the scheduler (``Client.set_metadata``): a
third start grades nothing and reports the worker lost, and a ``KilledWorker`` is
resubmitted only while the job has started fewer than twice. Whatever the cluster's
setting, a student is graded at most twice, the second time only because a worker died.
A submission's own failure (its time or memory limit, a crashed kernel) is an outcome
the job returns, not an exception, so Dask never retries it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import traceback
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Protocol

from autograder.engine.course_config import job_config
from autograder.engine.fingerprint import environment_problem
from autograder.engine.grade_job import run_job
from autograder.engine.job_types import JobContext, JobResult, JobSpec, Outcome


class Executor(Protocol):
    """Where a class's jobs run; a context manager that releases what it holds on exit."""

    def check(self, context: JobContext) -> None:
        """Stop (SystemExit, saying what to do) before the first job if jobs cannot grade there."""

    def run(self, specs: Iterable[JobSpec], context: JobContext) -> Iterator[JobResult]:
        """Each job's result, as it finishes."""

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exception) -> None: ...


#: A job starts at most this often: once, and once more after its worker died.
MAX_STARTS = 2
#: A job that never even starts while workers keep dying is given up after this many submissions.
MAX_SUBMISSIONS = 4
ATTEMPTS = "autograder-starts"


class LocalPool:
    """Up to ``workers`` jobs at once on this machine, each in a thread that waits for its autograde."""

    def __init__(self, workers: int):
        self.workers = workers

    def check(self, context: JobContext) -> None:
        """Stop before the first job unless a sandboxed kernel and a verifier work here (autograder.engine.doctor)."""
        from autograder.engine.doctor import STOPPED, preflight_problem

        problem = preflight_problem(job_config(context), Path(context.course_folder))
        if problem:
            raise SystemExit(f"{STOPPED}: {problem}")

    def run(self, specs: Iterable[JobSpec], context: JobContext) -> Iterator[JobResult]:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(run_job, spec, context, None, threads) for spec in specs]
            for future in as_completed(futures):
                yield future.result()

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exception) -> None:
        return None


class DaskCluster:
    """The jobs go to the Dask cluster whose scheduler listens at ``address``."""

    def __init__(self, address: str):
        from distributed import Client

        self.address = address
        try:
            self.client = Client(address, timeout="30s", set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise SystemExit(
                f"Cannot reach the Dask scheduler at {address} ({error}). Start a cluster "
                '(README, "Grading beyond one machine") or check the address.'
            ) from None

    def check(self, context: JobContext) -> None:
        """Stop before the first job when a worker could not grade: no sandbox, another environment."""
        if not self.client.scheduler_info()["workers"]:
            raise SystemExit(
                f"The Dask cluster at {self.address} has no workers: start some (`dask worker {self.address}`)."
            )
        try:
            problems = self.client.run(worker_problem, context)
        except Exception as error:  # noqa: BLE001  (a worker without the course's package cannot even answer)
            raise SystemExit(
                f"A worker of the Dask cluster at {self.address} cannot run the course's grading ({error!r}): "
                'install the course\'s environment on every worker (README, "Grading beyond one machine").'
            ) from None
        found = [f"{worker}: {problem}" for worker, problem in sorted(problems.items()) if problem]
        if found:
            raise SystemExit("Grading stopped before the first student:\n" + "\n".join(found))

    def run(self, specs: Iterable[JobSpec], context: JobContext) -> Iterator[JobResult]:
        from distributed import as_completed as as_finished

        run = uuid.uuid4().hex[:12]
        # Sent once, and kept as a task rather than scattered data, so that the scheduler
        # can rebuild it if every worker holding it dies.
        shared = self.client.submit(_as_task_result, context, key=f"autograder-context-{run}")
        submissions: dict[str, int] = {}

        def submit(spec: JobSpec):
            submissions[spec.student] = submissions.get(spec.student, 0) + 1
            key = f"autograde-{context.assignment}-{spec.student}-{run}-{submissions[spec.student]}"
            return self.client.submit(grade_on_worker, spec, shared, run, key=key, retries=0)

        pending = {submit(spec): spec for spec in specs}
        finished = as_finished(list(pending), loop=self.client.loop)
        try:
            for future in finished:
                spec = pending.pop(future)
                result = self._result(future, spec, run, submissions[spec.student])
                if result is None:
                    again = submit(spec)
                    pending[again] = spec
                    finished.add(again)
                else:
                    yield result
        finally:
            for future in pending:
                future.cancel()
            shared.release()
            self.client.set_metadata([ATTEMPTS, run], None)

    def _result(self, future, spec: JobSpec, run: str, submissions: int) -> JobResult | None:
        """The job's result; None when it must be submitted again (its worker died)."""
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            started = self.client.get_metadata([ATTEMPTS, run, spec.student], 0)
            if started < MAX_STARTS and submissions < MAX_SUBMISSIONS:
                return None
            return worker_lost(spec, started)
        except Exception as error:  # noqa: BLE001  (reported as the student's outcome; the other jobs go on)
            return JobResult(
                spec.student,
                Outcome.NOT_GRADED,
                reason=f"the Dask cluster failed the job ({type(error).__name__}: {error}); grade "
                f"{spec.student} again with --student once the cluster is healthy",
                log=traceback.format_exc(),
            )
        finally:
            future.release()

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exception) -> None:
        self.client.close()


async def worker_problem(context: JobContext) -> str | None:
    """Why a worker cannot grade: another course environment (:func:`environment_problem`), or
    a sandboxed kernel or verifier that does not start there (the preflight of
    :mod:`autograder.engine.doctor`). Run in a thread: the worker's event loop keeps answering."""
    return await asyncio.to_thread(_worker_problem, context)


def _worker_problem(context: JobContext) -> str | None:
    from autograder.engine.doctor import preflight_problem

    problem = environment_problem(context.environment, not context.limits.unsafe_no_sandbox)
    return problem or preflight_problem(job_config(context), None)


def _as_task_result(value):
    """``value`` itself, computed by a task so that the scheduler can compute it again."""
    return value


def worker_lost(spec: JobSpec, started: int) -> JobResult:
    reason = (
        f"the worker grading {spec.student} died {started} time(s) in the middle of the job; grade "
        f"{spec.student} again with --student once the cluster is healthy"
    )
    return JobResult(
        spec.student, Outcome.NOT_GRADED, attempts=started, reason=reason, log=f"Not graded: {reason}."
    )


def grade_on_worker(spec: JobSpec, context: JobContext, run: str) -> JobResult:
    """The task a Dask worker runs: count this start, then grade in the worker's own scratch folder."""
    from distributed import get_client, get_worker

    worker, client = get_worker(), get_client()
    counter = [ATTEMPTS, run, spec.student]
    started = client.get_metadata(counter, 0) + 1
    client.set_metadata(counter, started)
    if started > MAX_STARTS:
        return worker_lost(spec, started - 1)
    result = run_job(
        spec, context, scratch_root=worker.local_directory, threads=threads_per_job(worker, client, run)
    )
    return dataclasses.replace(result, attempts=started, worker=worker.address)


_THREADS: dict[str, int] = {}


def threads_per_job(worker, client, run: str) -> int:
    """This host's cores shared among every Dask worker thread on it (jobs run one per thread)."""
    if run not in _THREADS:
        from dask.system import CPU_COUNT  # cores this process may use: affinity and cgroup quota
        from distributed.comm import get_address_host

        host = get_address_host(worker.address)
        workers = client.scheduler_info()["workers"].values()
        here = sum(w["nthreads"] for w in workers if w["host"] == host) or worker.state.nthreads
        _THREADS[run] = max(1, CPU_COUNT // here)
    return _THREADS[run]
