"""Grading on a real Dask cluster, into a real PostgreSQL gradebook, with workers that die.

Each test starts what an instructor would run: ``dask scheduler`` and two ``dask worker``
processes (``autograder/testkit/local_cluster.py``), each in a scratch folder of its own and with
the course folder hidden from it, and a PostgreSQL server in a temporary folder
(``tests/cluster_support.py``).
The class's grades must equal those sequential ``nbgrader autograde`` gives each kind of
submission (``grading_support.expected_scores``, which ``tests/test_autograder.py`` holds
nbgrader's own grading of the class to), and a student whose worker dies mid-job is graded exactly
once more, elsewhere; a submission that fails on its own is never graded twice.
"""

import csv
import threading
import time
from dataclasses import replace

import grading_support as support
import nbformat
import psutil
import pytest
from cluster_support import PostgresServer, autograde_processes, kernel_started, postgres_problem
from nbgrader.api import Gradebook, MissingEntry
from toy_course import ANSWER, LIMITS
from toy_course import make_course as make_toy_course
from toy_course import submit as submit_toy

from autograder.engine.fingerprint import course_environment, environment_problem
from autograder.engine.job_types import Limits, Outcome
from autograder.engine.orchestrate import grade_students
from autograder.engine.sandbox import sandbox_problem
from autograder.testkit import sample_class
from autograder.testkit.local_cluster import LocalDaskCluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox_problem() is not None,
        reason=f"needs the sandbox (Debian package bubblewrap): {sandbox_problem()}",
    ),
]

needs_postgres = pytest.mark.skipif(postgres_problem() is not None, reason=str(postgres_problem()))

#: The synthetic class's students graded here: every point, none, the checks an untrained
#: model fails, and a test cell the student emptied (restored from the gradebook, hidden
#: tests included). A subset keeps the test to a few minutes on 2 cores.
ON_THE_CLUSTER = ("ana", "ben", "eli", "hal")

#: A student who looks for the gradebook's address and password from inside the sandbox.
SNOOPER = "zoe"
#: The code such a student runs: it searches its environment, every process it can see,
#: and every file it can read.
SNOOP = """\
import os, re
# A password in an environment (PGPASSWORD=..., or its repr) or in a connection URL; the
# variable's name alone (the course's README, in its package metadata, names it) is no secret.
pattern = re.compile(r"PGPASSWORD['\\"]?(?:=|, ')[^\\s'\\"`]+|postgresql://[^\\s'\\"]*127\\.0\\.0\\.1\\S*")
found, searched = set(), 0
def search(text):
    # Each source is searched as it is read and dropped: the files the sandbox shows (a course
    # environment under /tmp among them) would not fit in the kernel's memory all at once.
    global searched
    searched += 1
    found.update(pattern.findall(text))
search(repr(sorted(os.environ.items())))
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for name in ("environ", "cmdline"):
        try:
            search(open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace"))
        except OSError:
            pass
for top in ("/home", "/tmp", "/run", "/etc", "/var", "/root", "/srv", "/opt", "/mnt"):
    for folder, _, names in os.walk(top):
        for name in names:
            try:
                search(open(os.path.join(folder, name), errors="replace").read(2**16))
            except OSError:
                pass
print(f"searched {searched} sources; found: {sorted(found) or 'nothing'}")
"""


def snooped(notebook) -> str:
    """What the snooping code printed in an autograded notebook."""
    return "\n".join(
        output.get("text", "")
        for cell in nbformat.read(notebook, as_version=4).cells
        for output in cell.get("outputs", [])
    )


#: A toy submission whose grading lasts long enough to kill its worker in the middle.
SLOW_LAST_CELL = "import time\ntime.sleep(15)\nresult = double(21)"


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def use_postgresql(course, url, assignment):
    """Point the course's nbgrader_config.py at ``url`` and register the assignment there."""
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    released = sample_class.run_nbgrader(course, "generate_assignment", assignment, "--force")
    assert released.returncode == 0, released.stderr[-3000:]
    (course / "gradebook.db").unlink(missing_ok=True)


# ---------------------------------------------------------------- the class, on Dask and PostgreSQL


@needs_postgres
def test_the_class_graded_on_dask_into_postgresql_gets_the_grades_of_sequential_nbgrader(
    postgres, tmp_path, monkeypatch
):
    """The password stays out of nbgrader_config.py: PostgreSQL's client reads PGPASSWORD, here and
    on the workers (README, "Grading beyond one machine"); the student's kernel sees neither."""
    course = sample_class.make_course(tmp_path, register=False)
    postgres.create_database("class_on_dask")
    url = postgres.url("class_on_dask").replace(f":{postgres.password}@", "@")
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    use_postgresql(course, url, sample_class.ASSIGNMENT)
    sample_class.make_class(course, {student: sample_class.CLASS[student] for student in ON_THE_CLUSTER})
    snooper = sample_class.make_submission(
        course, SNOOPER, "release", {"1_gates": {"ex1_lstm_answer": SNOOP}}
    )
    for name in sample_class.NOTEBOOKS[1:]:
        (snooper / f"{name}.ipynb").unlink()  # an untouched notebook scores 0 without running
    submitted = sample_class.tree_digest(course / "submitted")

    with LocalDaskCluster(workers=2, hidden=(course,)) as cluster:
        jobs = grade_students(
            course,
            sample_class.ASSIGNMENT,
            # The snooper reads every file the sandbox shows, tens of thousands in the course's
            # environment: on a busy machine that takes longer than the tests' usual 60 s.
            limits=Limits(cell_timeout=3 * sample_class.TEST_TIMEOUT),
            scheduler=cluster.address,
        )
        workers = set(cluster.worker_pids().values())

    by_student = {job.student: job for job in jobs}
    assert {s: (j.outcome, j.attempts) for s, j in by_student.items()} == {
        s: (Outcome.GRADED, 1) for s in (*ON_THE_CLUSTER, SNOOPER)
    }, [j.log[-2000:] for j in jobs if j.outcome != Outcome.GRADED]
    assert {job.worker for job in jobs} == workers, "both workers grade"
    scores = sample_class.read_scores(course, db_url=url)
    assert {s: scores[s] for s in ON_THE_CLUSTER} == {
        s: support.expected_scores(sample_class.CLASS[s]) for s in ON_THE_CLUSTER
    }
    # The rows went to PostgreSQL only: no SQLite gradebook, no copies of one.
    assert not list(course.rglob("*.db"))
    assert sample_class.tree_digest(course / "submitted") == submitted

    export = sample_class.run_nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert export.returncode == 0, export.stderr[-3000:]
    with (course / "grades.csv").open() as table:
        exported = {
            row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(table)
        }
    assert exported == {
        student: (
            sum(score or 0 for score in scores[student].values()),
            sum(sample_class.AUTOGRADED.values()) + 3.0,
        )
        for student in (*ON_THE_CLUSTER, SNOOPER)
    }

    feedback = sample_class.run_nbgrader(
        course, "generate_feedback", sample_class.ASSIGNMENT, "--student", "ana"
    )
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    assert (course / "feedback" / "ana" / sample_class.ASSIGNMENT / "2_gru8.html").is_file()

    seen = snooped(course / "autograded" / SNOOPER / sample_class.ASSIGNMENT / "1_gates.ipynb")
    assert "searched" in seen, seen[-2000:]
    assert "found: nothing" in seen, seen[-2000:]
    assert postgres.password not in seen


# ---------------------------------------------------------------- workers that die


class WorkerKiller(threading.Thread):
    """Kills the Dask worker grading ``student`` once that student's kernel runs, ``times`` times."""

    def __init__(self, cluster: LocalDaskCluster, student: str, times: int):
        super().__init__(daemon=True)
        self.cluster, self.student, self.times = cluster, student, times
        self.killed: list[tuple[str, psutil.Process]] = []  # (worker address, its autograde)
        self.stop = threading.Event()

    def run(self):
        seen = set()
        while len(self.killed) < self.times and not self.stop.is_set():
            for autograde in autograde_processes(self.student):
                if autograde.pid in seen or not kernel_started(autograde):
                    continue
                worker, address = self.worker_of(autograde)
                if address is None:
                    continue  # not yet a worker, or no more: asked again at the next look
                seen.add(autograde.pid)
                worker.kill()
                self.killed.append((address, autograde))
            time.sleep(0.2)

    def worker_of(self, autograde: psutil.Process) -> tuple[psutil.Process | None, str | None]:
        """The cluster worker running ``autograde`` and its address; ``None`` for one that is gone.

        Both killers may look at once, while the other's worker dies: that must not end the look.
        """
        try:
            worker = autograde.parent()
        except psutil.Error:
            return None, None
        if worker is None:
            return None, None
        return worker, self.cluster.worker_pids().get(worker.pid)


def gradebook_scores(url, student):
    with Gradebook(url) as gradebook:
        try:
            submission = gradebook.find_submission("toy", student)
        except MissingEntry:
            return None
        return {
            grade.name: grade.auto_score for notebook in submission.notebooks for grade in notebook.grades
        }


@pytest.mark.parametrize(
    ("gradebook", "allowed_failures"),
    [
        pytest.param("postgresql", None, id="postgresql-dask-reschedules", marks=needs_postgres),
        pytest.param("sqlite", 0, id="sqlite-dask-gives-up-at-once"),
    ],
)
def test_a_student_whose_worker_dies_is_graded_once_more_elsewhere_and_only_once(
    gradebook, allowed_failures, request, tmp_path
):
    """kim's worker dies once: graded on another. lou's dies twice: reported lost, not tried a third
    time. gus (crashes), dave (memory limit), alice and zed (who looks for the gradebook's password)
    are graded once, whatever dies around them.

    The cluster's scheduler either reschedules a task whose worker died by itself (Dask's
    default, ``allowed-failures`` 3) or fails it at once (``allowed-failures`` 0); both must
    give the same result.
    """
    course = make_toy_course(tmp_path / "course", ["alice", "gus", "dave"])
    for sleeper in ("kim", "lou"):
        submit_toy(course, sleeper, ANSWER, SLOW_LAST_CELL)
    submit_toy(course, "zed", ANSWER, f"{SNOOP}\nresult = double(21)")
    url = f"sqlite:///{course / 'gradebook.db'}"
    if gradebook == "postgresql":
        url = request.getfixturevalue("postgres").create_database("workers_die")
        use_postgresql(course, url, "toy")

    with LocalDaskCluster(workers=2, hidden=(course,), allowed_failures=allowed_failures) as cluster:
        killers = [WorkerKiller(cluster, "kim", 1), WorkerKiller(cluster, "lou", 2)]
        for killer in killers:
            killer.start()
        try:
            jobs = grade_students(
                course, "toy", limits=replace(LIMITS, timeout=120), scheduler=cluster.address
            )
        finally:
            for killer in killers:
                killer.stop.set()
                killer.join()
        logs = cluster.logs()

    kim, lou = killers
    assert (len(kim.killed), len(lou.killed)) == (1, 2), logs
    by_student = {job.student: job for job in jobs}
    assert {s: (j.outcome, j.attempts) for s, j in by_student.items()} == {
        "alice": (Outcome.GRADED, 1),
        "dave": (Outcome.MEMORY, 1),  # the submission's own failures are never retried
        "gus": (Outcome.CRASHED, 1),
        "kim": (Outcome.GRADED, 2),
        "lou": (Outcome.NOT_GRADED, 2),  # its workers died twice: the grader's fault, not lou's
        "zed": (Outcome.GRADED, 1),
    }, [(j.student, j.log[-1500:]) for j in jobs]
    assert by_student["kim"].worker != kim.killed[0][0], "graded again on another worker"
    assert by_student["kim"].score == by_student["alice"].score == 3.0
    # The autograde of a dead worker dies with it: nothing writes for kim or lou after their job moved on.
    _, alive = psutil.wait_procs(
        [autograde for killer in killers for _, autograde in killer.killed], timeout=10
    )
    assert alive == []
    assert (
        gradebook_scores(url, "kim")
        == gradebook_scores(url, "alice")
        == {"test_double": 2.0, "test_zero": 1.0}
    )
    with Gradebook(url) as book:
        assert [s.student.id for s in book.assignment_submissions("toy")].count("kim") == 1
    assert (course / "autograded" / "kim" / "toy" / "toy.ipynb").is_file()
    # lou has neither rows nor a notebook: only a finished job writes into an SQLite gradebook, and
    # what lou's jobs wrote into PostgreSQL as they went is taken back.
    assert gradebook_scores(url, "lou") is None
    assert not (course / "autograded" / "lou").exists()
    assert "died 2 time(s)" in by_student["lou"].reason
    assert "died 2 time(s)" in (course / ".grade_class" / "toy" / "lou.log").read_text()
    # With the password in the gradebook's URL, it travels with every job; the kernel never sees it.
    seen = snooped(course / "autograded" / "zed" / "toy" / "toy.ipynb")
    assert "found: nothing" in seen, seen[-2000:]
    if gradebook == "postgresql":
        assert request.getfixturevalue("postgres").password not in seen


# ---------------------------------------------------------------- a worker with another environment


def test_a_worker_whose_course_environment_differs_refuses_to_grade():
    instructor = {**course_environment(), "autograder/checks.py": "0" * 16, "keras": "2.15.0"}
    problem = environment_problem(instructor)
    assert "autograder/checks.py" in problem
    assert "keras" in problem
    assert "2.15.0" in problem
    assert "Install the course's environment" in problem
    assert environment_problem(course_environment()) is None
