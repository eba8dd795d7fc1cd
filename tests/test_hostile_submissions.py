"""Submissions that try to get points without the work, graded by real nbgrader.

A class of honest students, one untouched release and one student per kind of attack
(``hostile_submissions.HOSTILE_KINDS``) is graded by ``make grade``, and again by ``make
autograde`` (plain nbgrader, in the course folder itself) but for the attacks on what the
verifier decides (``VERIFIER_ONLY``), in the layout an instructor has: a fresh clone of this
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
- every notebook that attacked is flagged in the gradebook, unless its attack leaves nothing
  to see (``hostile_submissions.UNSEEN``), and no honest one is;
- nothing the kernel must not know reaches it: a hook that records every cell the grader
  runs sees no hidden test, and the grader's package holds no answer key to read.

To show the attacks are real, the forging kinds are also graded by nbgrader's own in-kernel
pipeline, where they score points they did not earn.
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import uuid
from pathlib import Path

import grading_support as support
import nbformat
import psutil
import pytest
from hostile_submissions import FORGING, HOSTILE_KINDS, OUTPUT_KINDS, UNSEEN, attack_cells
from test_outputs import runnable

from autograder.engine import outputs
from autograder.testkit import sample_class
from autograder.testkit.sample_class import ASSIGNMENT, NOTEBOOKS

pytestmark = pytest.mark.slow

#: student -> kind. The honest students sort before and after the attackers, so that an
#: attack on the gradebook would reach grades recorded before it.
HONEST = {"aaron": "solution", "fiona": "functional_api", "zora": "release"}
HOSTILE = {f"h_{kind}": kind for kind in HOSTILE_KINDS}
OTHER_STUDENT = "aaron"

#: Kinds that act only on the values and models the kernel hands over: forged checks and
#: libraries, hidden failures, made-up models and training records. What they get is decided
#: by the verifier, which both commands run the same way (nbgrader autograde with the course's
#: preprocessors, one student at a time), so make grade alone grades them. make autograde also
#: grades everything that acts around the notebook (the course folder it grades in, its
#: gradebook, the network, processes, hidden tests, the answer key, outputs), and the honest
#: reference and blank release.
VERIFIER_ONLY = (
    "forge_checks",
    "forge_libraries",
    "silent_failures",
    "lookalike_model",
    "naive_by_hand",
    "forged_record",
    "other_model_handed_over",
    "functional_api",
)
#: Who hands in, for each way of grading.
CLASS_OF = {
    "make grade": {**HONEST, **HOSTILE},
    "make autograde": {s: kind for s, kind in {**HONEST, **HOSTILE}.items() if kind not in VERIFIER_ONLY},
}

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
            folder = sample_class.make_submission(course, student, base, attacks)
            if base == "release":  # an untouched notebook scores 0 without running; skip its cost
                for name in set(NOTEBOOKS) - set(HOSTILE_KINDS[kind][2]):
                    (folder / f"{name}.ipynb").unlink()
        else:
            sample_class.make_submission(course, student, kind)


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


def outputs_text(course: Path, student: str) -> str:
    texts = []
    for path in (course / "autograded" / student / ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                shown = "".join(str(value) for value in output.get("data", {}).values())
                texts.append(output.get("text", "") + output.get("evalue", "") + shown)
    return "\n".join(texts)


class Graded:
    """A hostile class graded one way in the README's layout, and what the grading left behind."""

    def __init__(self, clone, how: str):
        self.how = how
        self.listener = Listener()
        self.course = clone.course
        clone.start_class({})
        self.students = CLASS_OF[how]
        hand_in(self.course, self.listener.port, self.students)
        self.course_before = course_files_digest(self.course)
        self.checks_before = sample_class.tree_digest(self.course / "autograder")
        tmpdir = clone.parent / "job" / "tmp"  # TMPDIR elsewhere, as a batch system sets it
        tmpdir.mkdir(parents=True, exist_ok=True)
        if how == "make autograde":
            self.result = clone.make("autograde", tmpdir=tmpdir)
        else:
            flags = f"GRADE_FLAGS=--workers 2 --cell-timeout {sample_class.TEST_TIMEOUT}"
            self.result = clone.make("grade", flags, tmpdir=tmpdir)
        self.listener.close()
        self.scores = sample_class.read_scores(self.course)
        self.flagged = support.flagged_notebooks(self.course)


@pytest.fixture(scope="module", params=["make autograde", "make grade"])
def graded(request, readme_clone):
    return Graded(readme_clone, request.param)


def test_grading_finishes(graded):
    assert graded.result.returncode == 0, graded.result.stdout[-3000:] + graded.result.stderr[-5000:]


def test_each_submission_scores_exactly_its_honest_work(graded):
    wrong = {
        student: (kind, scores, expected_scores(student))
        for student, kind in graded.students.items()
        if (scores := graded.scores.get(student)) != expected_scores(student)
    }
    assert wrong == {}, "student: (kind, their scores, what their honest work earns)"


def test_every_attacking_notebook_is_flagged_and_no_honest_one(graded):
    attacked = {
        (student, name)
        for student in HOSTILE
        if student in graded.students and HOSTILE[student] not in UNSEEN
        for name in attacked_notebooks(student)
    }
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

    named = {
        "h_read_secrets": ["solutions/gated_rnn/2_gru8.ipynb", "list", "submitted"],
        "h_write_gradebook": ["open database"],
        "h_write_course": ["write", "nbgrader_config.py"],
        "h_network": ["network"],
        "h_background_process": ["still running"],
        "h_forge_checks": ["in the student's kernel"],
        # Read, then erased what it could of the audit trail: the read is on record all the same.
        "h_erase_audit_trail": ["read", "solutions/gated_rnn/2_gru8.ipynb"],
        "h_forged_record": ["ex2_trained_test: the check passed in the student's kernel"],
    }
    missing = {
        student: absent
        for student, expected in named.items()
        if student in graded.students
        and (absent := [words for words in expected if words not in flags(student)])
    }
    assert missing == {}, "student: what their flags do not name"


def test_course_files_and_the_graders_checks_are_byte_identical(graded):
    assert course_files_digest(graded.course) == graded.course_before
    assert sample_class.tree_digest(graded.course / "autograder") == graded.checks_before
    printed = outputs_text(graded.course, "h_write_course")
    assert "wrote" not in printed.replace("could not write", "")
    assert "could open" not in printed


def test_reads_outside_the_sandbox_fail(graded):
    printed = outputs_text(graded.course, "h_read_secrets")
    assert printed.count("could not read") == 3, printed
    assert "BEGIN SOLUTION" not in printed
    assert "check_test_rmse" not in printed


def test_hidden_tests_and_the_answer_key_never_reach_the_kernel(graded):
    spied = outputs_text(graded.course, "h_hidden_test_spy")
    assert "hand_over" in spied  # the hook saw what the grader ran...
    assert "check_test_rmse" not in spied  # ...but never a hidden test
    assert "HIDDEN TESTS" not in spied
    key = [line for line in outputs_text(graded.course, "h_read_the_key").splitlines() if "the key:" in line]
    assert key  # the attack read what the package has...
    for gate in ("forget", "input", "output", "reset", "update"):
        assert gate not in key[0], key  # ...which names no gate


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
        if student in graded.students and HOSTILE[student] not in UNSEEN:
            assert f"  {student}, " in graded.result.stdout, student


# ---------------------------------------------------------------- the attacks are real


@pytest.fixture(scope="module")
def in_kernel_grading(tmp_path_factory):
    """The forging kinds graded by nbgrader's own pipeline, which trusts the student's kernel."""
    course = sample_class.make_course(tmp_path_factory.mktemp("in_kernel"))
    hand_in(course, 0, {f"h_{k}": k for k in FORGING})
    for kind in FORGING:  # one attacked notebook each shows the forged points
        for name in sorted(attacked_notebooks(f"h_{kind}"))[1:]:
            (course / "submitted" / f"h_{kind}" / ASSIGNMENT / f"{name}.ipynb").unlink()
    sample_class.grade_in_the_kernel(course)
    sample_class.autograde(course)
    return sample_class.read_scores(course)


@pytest.mark.parametrize("kind", FORGING)
def test_without_the_protections_each_forging_kind_scores_points_it_did_not_earn(in_kernel_grading, kind):
    forged = sum(score or 0 for score in in_kernel_grading[f"h_{kind}"].values())
    assert forged > 0, in_kernel_grading[f"h_{kind}"]


# ---------------------------------------------------------------- outputs for the instructor's browser

OUTPUT_STUDENTS = [f"h_{kind}" for kind in OUTPUT_KINDS]
#: What a stored display may hold once the grader cleaned it.
CLEAN_TYPES = {"text/plain", "text/html", "image/png", "image/jpeg"}


def autograded_1_gates(graded, student):
    return graded.course / "autograded" / student / ASSIGNMENT / "1_gates.ipynb"


@pytest.fixture(scope="module")
def feedback(graded):
    """``nbgrader generate_feedback`` for the output attackers and the honest student: student -> page."""
    pages = {}
    for student in [*OUTPUT_STUDENTS, "aaron"]:
        result = sample_class.run_nbgrader(
            graded.course, "generate_feedback", ASSIGNMENT, f"--student={student}"
        )
        assert result.returncode == 0, result.stderr[-3000:]
        pages[student] = graded.course / "feedback" / student / ASSIGNMENT / "1_gates.html"
    return pages


@pytest.mark.parametrize("student", OUTPUT_STUDENTS)
def test_the_autograded_notebook_holds_nothing_a_browser_runs(graded, student):
    notebook = nbformat.read(autograded_1_gates(graded, student), as_version=4)
    displays = [o for cell in notebook.cells for o in cell.get("outputs", []) if "data" in o]
    for output in displays:
        assert set(output["data"]) <= CLEAN_TYPES, output["data"].keys()
        assert runnable(output["data"].get("text/html", "")) == [], output["data"]["text/html"]
    if student == "h_script_outputs":
        html = [o["data"]["text/html"] for o in displays if "text/html" in o["data"]]
        assert "<td>a table</td>" in "".join(html)  # what was HTML and safe is still shown
        assert html[-1] == "<img>"  # the display updated after later cells, cleaned too


def test_printed_output_stays_under_the_byte_limits(graded, feedback):
    notebook = nbformat.read(autograded_1_gates(graded, "h_output_flood"), as_version=4)
    sizes = [
        sum(outputs.output_bytes(o) for o in cell.outputs)
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    assert max(sizes) <= outputs.CELL_LIMIT
    assert sum(sizes) <= outputs.NOTEBOOK_LIMIT
    notes = [
        re.fullmatch(r"\n\[output truncated by the grader: ([\d,]+) bytes of ([\d,]+) shown\]\n", o.text)
        for cell in notebook.cells
        for o in cell.get("outputs", [])
        if "[output truncated" in o.get("text", "")
    ]
    # The first answer cell, and each later answer cell where the post-run hook printed 1.5 MiB.
    assert len(notes) == 3, notes
    for shown, total in (note.groups() for note in notes):
        assert int(shown.replace(",", "")) <= outputs.CELL_LIMIT < int(total.replace(",", ""))
    for path in (autograded_1_gates(graded, "h_output_flood"), feedback["h_output_flood"]):
        assert path.stat().st_size < outputs.NOTEBOOK_LIMIT + 2**20, path


@pytest.mark.parametrize("student", OUTPUT_STUDENTS)
def test_the_feedback_page_runs_nothing_but_its_templates_scripts(feedback, student):
    """The same scripts, handlers and frames as the honest student's page: those of nbgrader's template."""
    page, honest = feedback[student].read_text(), feedback["aaron"].read_text()
    assert runnable(page) == runnable(honest)


def test_feedback_cleans_a_notebook_graded_before_outputs_were_cleaned(graded, feedback):
    """A notebook autograded without the sanitiser (an earlier version of the course) renders clean."""
    path = autograded_1_gates(graded, "h_script_outputs")
    notebook = nbformat.read(path, as_version=4)
    sample_class.cells_by_grade_id(notebook)["ex1_lstm_answer"].outputs += [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>alert('earlier')</script>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('earlier js')"}),
    ]
    path.chmod(0o644)
    nbformat.write(notebook, path)
    result = sample_class.run_nbgrader(
        graded.course, "generate_feedback", ASSIGNMENT, "--student=h_script_outputs", "--force"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = feedback["h_script_outputs"].read_text()
    assert "[removed by the grader: application/javascript]" in page  # the notebook was rendered again
    assert runnable(page) == runnable(feedback["aaron"].read_text())
