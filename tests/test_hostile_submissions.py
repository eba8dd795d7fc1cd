"""Submissions that try to get points without the work, graded by real nbgrader.

A class of one honest student, one untouched release and one student per kind of attack
(``hostile_submissions.HOSTILE_KINDS``) is graded twice, by ``make autograde`` (plain
nbgrader) and by ``make grade``, in the layout an instructor has: a fresh clone of this
checkout under /tmp set up by the README's own commands, ``.venv`` inside the course
folder (the ``readme_clone`` fixture, shared with ``tests/test_where_grading_runs.py``).
It grades with ``TMPDIR`` pointing at another folder, as Slurm sets it for every job. So the
honest reference scores 16 and the blank release 0, neither flagged, in a course cloned
under /tmp with TMPDIR elsewhere, by both commands. Then:

- each submission scores exactly what its honest work earns (0 where it did none), and
  the honest students keep their scores;
- every read or write outside a kernel's own folder failed, no connection reached the
  grader's loopback, and no process a submission started outlived its notebook;
- the course's files, the grader's checks and ``submitted/`` are byte-identical;
- every notebook that attacked is flagged in the gradebook, and no honest one is.

To show the attacks are real, the forging kinds are also graded by nbgrader's own in-kernel
pipeline, where they score points they did not earn.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from pathlib import Path

import grading_support as support
import nbformat
import psutil
import pytest
from grading_support import ASSIGNMENT, NOTEBOOKS
from hostile_submissions import FORGING, HOSTILE_KINDS, attack_cells
from nbgrader.api import Gradebook

pytestmark = pytest.mark.slow

#: student -> kind. The honest students sort before and after the attackers, so that an
#: attack on the gradebook would reach grades recorded before it.
HONEST = {"aaron": "solution", "zora": "release"}
HOSTILE = {f"h_{kind}": kind for kind in HOSTILE_KINDS}
OTHER_STUDENT = "aaron"

MARKER = f"gated-rnn-leftover-{uuid.uuid4().hex[:12]}"


class Listener:
    """A TCP server on the grader's loopback that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self):
        self.server.close()


def expected_scores(student: str) -> dict[str, float]:
    if student in HONEST:
        return support.expected_scores(HONEST[student])
    base = HOSTILE_KINDS[HOSTILE[student]][1]
    return support.expected_scores(base)


def attacked_notebooks(student: str) -> set[str]:
    return set(HOSTILE_KINDS[HOSTILE[student]][2]) if student in HOSTILE else set()


def hand_in(course: Path, port: int, students: dict[str, str]) -> None:
    """``students`` hand in to ``course``; an attacker on the release hands in only what it attacks."""
    for student, kind in students.items():
        if kind in HOSTILE_KINDS:
            _, base, _ = HOSTILE_KINDS[kind]
            attacks = attack_cells(kind, course, MARKER, port, OTHER_STUDENT)
            folder = support.make_submission(course, student, base, attacks)
            if base == "release":  # an untouched notebook scores 0 without running; skip its cost
                for name in set(NOTEBOOKS) - set(HOSTILE_KINDS[kind][2]):
                    (folder / f"{name}.ipynb").unlink()
        else:
            support.make_submission(course, student, kind)


def course_files_digest(course: Path) -> dict[str, str]:
    """Every file of the course but what grading writes (autograded/, the gradebook, logs); the
    files of its environment, .venv, by size and time of change (hashing gigabytes takes long)."""
    digest = {}
    for path in sorted(course.rglob("*")):
        relative = str(path.relative_to(course))
        if path.is_symlink() or not path.is_file() or relative.startswith(("autograded/", ".grade_class/")):
            continue
        if relative in ("gradebook.db", ".nbgrader.log"):
            continue
        if relative.startswith(".venv/"):
            status = path.stat()
            digest[relative] = f"{status.st_size}:{status.st_mtime_ns}"
        else:
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def flagged_notebooks(course: Path) -> set[tuple[str, str]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            (submission.student.id, notebook.name)
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
            for notebook in submission.notebooks
            if notebook.flagged
        }


def outputs_text(course: Path, student: str) -> str:
    texts = []
    for path in (course / "autograded" / student / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                texts.append(output.get("text", "") + output.get("evalue", ""))
    return "\n".join(texts)


class Graded:
    """A hostile class graded one way in the README's layout, and what the grading left behind."""

    def __init__(self, clone, how: str):
        self.how = how
        self.listener = Listener()
        self.course = clone.course
        clone.start_class({})
        hand_in(self.course, self.listener.port, {**HONEST, **HOSTILE})
        self.course_before = course_files_digest(self.course)
        self.checks_before = support.tree_digest(self.course / "autograder")
        tmpdir = clone.parent / "job" / "tmp"  # TMPDIR elsewhere, as a batch system sets it
        tmpdir.mkdir(parents=True, exist_ok=True)
        if how == "make autograde":
            self.result = clone.make("autograde", tmpdir=tmpdir)
        else:
            flags = f"GRADE_FLAGS=--workers 2 --cell-timeout {support.TEST_TIMEOUT}"
            self.result = clone.make("grade", flags, tmpdir=tmpdir)
        self.listener.close()
        self.scores = support.read_scores(self.course)
        self.flagged = flagged_notebooks(self.course)


@pytest.fixture(scope="module", params=["make autograde", "make grade"])
def graded(request, readme_clone):
    return Graded(readme_clone, request.param)


def test_grading_finishes(graded):
    assert graded.result.returncode == 0, graded.result.stdout[-3000:] + graded.result.stderr[-5000:]


@pytest.mark.parametrize("student", [*HONEST, *HOSTILE])
def test_each_submission_scores_exactly_its_honest_work(graded, student):
    assert graded.scores[student] == expected_scores(student), (HOSTILE.get(student), graded.scores[student])


def test_every_attacking_notebook_is_flagged_and_no_honest_one(graded):
    attacked = {(student, name) for student in HOSTILE for name in attacked_notebooks(student)}
    assert graded.flagged == attacked


def test_flags_name_what_was_tried(graded):
    def flags(student):
        return "\n".join(
            flag
            for name in attacked_notebooks(student)
            for flag in nbformat.read(
                graded.course / "autograded" / student / ASSIGNMENT / f"{name}.ipynb", as_version=4
            ).metadata["autograder"]["flags"]
        )

    assert "solutions/gated_rnn/2_gru8.ipynb" in flags("h_read_secrets")
    assert "list" in flags("h_read_secrets")
    assert "submitted" in flags("h_read_secrets")
    assert "open database" in flags("h_write_gradebook")
    assert "write" in flags("h_write_course")
    assert "nbgrader_config.py" in flags("h_write_course")
    assert "network" in flags("h_network")
    assert "still running" in flags("h_background_process")
    assert "in the student's kernel" in flags("h_forge_checks")
    # Read, then erased what it could of the audit trail: the read is on record all the same.
    assert "read" in flags("h_erase_audit_trail")
    assert "solutions/gated_rnn/2_gru8.ipynb" in flags("h_erase_audit_trail")


def test_course_files_and_the_graders_checks_are_byte_identical(graded):
    assert course_files_digest(graded.course) == graded.course_before
    assert support.tree_digest(graded.course / "autograder") == graded.checks_before
    printed = outputs_text(graded.course, "h_write_course")
    assert "wrote" not in printed.replace("could not write", "")
    assert "could open" not in printed


def test_reads_outside_the_sandbox_fail(graded):
    printed = outputs_text(graded.course, "h_read_secrets")
    assert printed.count("could not read") == 3, printed
    assert "BEGIN SOLUTION" not in printed
    assert "check_test_rmse" not in printed


def test_the_gradebook_attack_failed(graded):
    printed = outputs_text(graded.course, "h_write_gradebook")
    assert "could not rewrite the gradebook" in printed
    assert "rewrote the gradebook" not in printed.replace("could not rewrite the gradebook", "")


def test_no_connection_reached_the_graders_loopback(graded):
    assert graded.listener.connections == 0
    assert "no network" in outputs_text(graded.course, "h_network")


@pytest.mark.usefixtures("graded")  # looks for leftovers once the class is graded
def test_no_process_outlives_its_notebook():
    left = []
    for process in psutil.process_iter(["cmdline"]):
        if MARKER in (process.info["cmdline"] or []):
            left.append(process.pid)
    assert left == []


def test_submissions_are_unchanged(graded):
    before = {p: d for p, d in graded.course_before.items() if p.startswith("submitted/")}
    after = {p: d for p, d in course_files_digest(graded.course).items() if p.startswith("submitted/")}
    assert before == after
    assert before


def test_make_grade_lists_the_flags(graded):
    if graded.how != "make grade":
        pytest.skip("plain nbgrader prints no summary")
    assert "Flagged for the instructor" in graded.result.stdout
    for student in HOSTILE:
        assert f"  {student}, " in graded.result.stdout, student


# ---------------------------------------------------------------- the attacks are real


@pytest.fixture(scope="module")
def in_kernel_grading(tmp_path_factory):
    """The forging kinds graded by nbgrader's own pipeline, which trusts the student's kernel."""
    course = support.make_course(tmp_path_factory.mktemp("in_kernel"))
    hand_in(course, 0, {f"h_{k}": k for k in FORGING})
    support.grade_in_the_kernel(course)
    support.autograde(course)
    return support.read_scores(course)


@pytest.mark.parametrize("kind", FORGING)
def test_without_the_protections_each_forging_kind_scores_points_it_did_not_earn(in_kernel_grading, kind):
    forged = sum(score or 0 for score in in_kernel_grading[f"h_{kind}"].values())
    assert forged > 0, in_kernel_grading[f"h_{kind}"]
