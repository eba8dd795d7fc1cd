"""What a student hands in: links, special files, other users' files, names and broken notebooks.

The fast tests read folders built here with :mod:`autograder.engine.intake` alone. The slow ones
(``slow`` marks each) hand submissions in for real:

- the course's assignment, released to a temporary exchange; honest and hostile students
  hand in through its inbound folder (links to the solution, to another student's notebook
  and inbound folder, to secrets, a hard link, a named pipe, another user's file), plus
  links placed straight into ``submitted/``; ``nbgrader collect`` (as ``make collect``),
  then ``make autograde``'s and ``make grade``'s commands, each in its own copy of the
  course, then ``make feedback`` and ``nbgrader release_feedback``;
- a small assignment that needs no TensorFlow, for broken notebooks (a repeated
  ``grade_id``, invalid JSON, nbformat 3, an empty file) and an id the glob reads as a
  pattern among honest students.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from lab_support import NBGRADER, isolated_environment, run

from autograder.engine.intake import (
    Intake,
    Refusal,
    class_folders,
    flag_submission,
    id_problem,
    name_problem,
    notebook_problem,
    read_record,
    read_submission,
    score_nothing_submitted,
    shown,
    write_record,
)
from autograder.testkit import sample_class
from autograder.testkit.sample_class import ASSIGNMENT
from rnn_forecast.paths import REPOSITORY_ROOT

RELEASED = REPOSITORY_ROOT / "exercises" / "gated_rnn"


# ---------------------------------------------------------------- ids and names


@pytest.mark.parametrize(
    "student", ["ana", "Ana_Lopez-2", "ana.lopez@uni.example", "jovyan+1", "jürgen", "7student"]
)
def test_ordinary_student_ids_are_accepted(student):
    assert id_problem(student) is None


@pytest.mark.parametrize(
    ("student", "said"),
    [
        ("m7_glob[1]", "[ ], which nbgrader's file patterns read as a pattern"),
        ("any*", "*, which nbgrader's file patterns read as a pattern"),
        ("who?", "?, which nbgrader's file patterns read as a pattern"),
        ("<b>ana</b>", "< >, which a page reads as markup"),
        ("ana&co", "&, which a page reads as markup"),
        ('an"a', '", which a page reads as markup'),
        ("ana\\bob", "a path separator"),
        (".ana", "starts with '.'"),
        ("-ana", "starts with '-'"),
        ("ana lopez", "' ', not allowed"),
        ("ana\x1b[31m", "[, which nbgrader's file patterns"),
        ("ana\u202egnp", "'\\u202e', not allowed"),
        ("", "is empty"),
        ("a" * 65, "65 characters long"),
    ],
)
def test_student_ids_nbgrader_or_a_page_would_misread_are_refused_with_the_reason(student, said):
    problem = id_problem(student)
    assert problem is not None
    assert said in problem


@pytest.mark.parametrize("name", ["2_gru8.ipynb", "notes (copy).txt", "data-1.csv", "résumé.md"])
def test_ordinary_file_names_are_accepted(name):
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (".pgpass", "starts with a dot"),
        ("<img src=x onerror=alert(1)>.html", "markup"),
        ("notes[1].txt", "pattern"),
        ("a\\b.txt", "path separator"),
        ("x" * 129, "129 characters long"),
        ("tab\there.txt", "'\\t', not allowed"),
    ],
)
def test_file_names_a_page_or_a_pattern_would_misread_are_refused(name, said):
    assert said in name_problem(name)


# ---------------------------------------------------------------- reading without following links


@pytest.fixture
def submission(tmp_path):
    """An inbound folder holding one submission folder, ``ana+gated_rnn``, with two honest files."""
    inbound = tmp_path / "inbound"
    folder = inbound / "ana+gated_rnn"
    (folder / "data").mkdir(parents=True)
    (folder / "1_gates.ipynb").write_bytes(b"my notebook")
    (folder / "data" / "notes.txt").write_bytes(b"my notes")
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's secret")
    return inbound, folder, secret


def refusals(intake: Intake) -> dict[str, tuple[str, bool]]:
    return {refusal.path: (refusal.reason, refusal.suspicious) for refusal in intake.refused}


def test_regular_files_of_the_submissions_owner_are_read_with_their_paths(submission):
    inbound, _, _ = submission
    intake = read_submission(inbound, "ana+gated_rnn")
    assert intake.files == {"1_gates.ipynb": b"my notebook", "data/notes.txt": b"my notes"}
    assert intake.refused == []
    assert not intake.flagged
    assert intake.notebooks() == ["1_gates.ipynb"]


def test_links_hard_links_pipes_and_sockets_are_refused_unread_and_flag_the_student(submission):
    inbound, folder, secret = submission
    (folder / "2_gru8.ipynb").symlink_to(secret)
    (folder / "elsewhere").symlink_to(secret.parent)
    (folder / "data" / "dangling").symlink_to(folder / "missing")
    os.link(secret, folder / "3_stacked_lstm.ipynb")
    os.mkfifo(folder / "pipe.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "socket"))
    try:
        intake = read_submission(inbound, "ana+gated_rnn")
    finally:
        server.close()
    assert intake.files == {"1_gates.ipynb": b"my notebook", "data/notes.txt": b"my notes"}
    found = refusals(intake)
    assert sorted(found) == [
        "2_gru8.ipynb",
        "3_stacked_lstm.ipynb",
        "data/dangling",
        "elsewhere",
        "pipe.txt",
        "socket",
    ]
    assert found["2_gru8.ipynb"] == (
        f"a symbolic link (to {secret}); links are never followed",
        True,
    )
    assert "a hard link (one file with 2 names" in found["3_stacked_lstm.ipynb"][0]
    assert "a named pipe (FIFO)" in found["pipe.txt"][0]
    assert "a socket" in found["socket"][0]
    assert all(suspicious for _, suspicious in found.values())
    assert intake.flagged
    assert not any(b"secret" in content for content in intake.files.values())


def test_a_device_is_refused_unread(submission):
    inbound, folder, _ = submission
    try:
        os.mknod(folder / "zero.txt", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # as /dev/zero
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD")
    found = refusals(read_submission(inbound, "ana+gated_rnn"))
    assert found == {"zero.txt": ("a character device, not a regular file; never read", True)}


def test_a_submission_folder_that_is_a_link_is_refused_whole(submission, tmp_path):
    inbound, folder, _ = submission
    (inbound / "eve+gated_rnn").symlink_to(folder)
    intake = read_submission(inbound, "eve+gated_rnn")
    assert intake.files == {}
    [refusal] = intake.refused
    assert refusal.path == "."
    assert refusal.reason.startswith("the submission folder is a symbolic link (to ")
    assert refusal.suspicious


def test_a_link_above_the_submission_folder_is_refused_too(tmp_path, submission):
    _, folder, _ = submission
    submitted = tmp_path / "submitted"
    (submitted / "ana").mkdir(parents=True)
    (submitted / "gil").symlink_to(submitted / "ana")
    (submitted / "ana" / "gated_rnn").symlink_to(folder)
    for student in ("ana", "gil"):
        intake = read_submission(submitted, student, "gated_rnn")
        assert intake.files == {}, student
        assert intake.flagged, student
        assert "a symbolic link" in intake.refused[0].reason


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_owned_by_another_user_is_refused(submission):
    inbound, folder, _ = submission
    os.chown(folder / "data" / "notes.txt", 65534, 65534)
    intake = read_submission(inbound, "ana+gated_rnn")
    assert intake.files == {"1_gates.ipynb": b"my notebook"}
    assert refusals(intake) == {
        "data/notes.txt": (
            f"owned by another user (uid 65534; the submission's owner is uid {os.getuid()})",
            True,
        )
    }


def test_hidden_and_misnamed_files_are_refused_and_nbgraders_ignored_names_skipped(submission):
    inbound, folder, _ = submission
    (folder / ".pgpass").write_text("x")
    (folder / "<script>.html").write_text("x")
    (folder / "notes[1].txt").write_text("x")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "1_gates-checkpoint.ipynb").write_text("x")
    found = refusals(read_submission(inbound, "ana+gated_rnn"))
    assert sorted(found) == [".pgpass", "<script>.html", "notes[1].txt"]
    assert found["<script>.html"][1], "markup in a name has no honest reason"
    assert not found[".pgpass"][1]
    assert not found["notes[1].txt"][1]


def test_nothing_is_read_through_a_link_even_one_that_points_inside_the_submission(submission):
    inbound, folder, _ = submission
    (folder / "copy.ipynb").symlink_to("1_gates.ipynb")
    intake = read_submission(inbound, "ana+gated_rnn")
    assert "copy.ipynb" not in intake.files
    assert intake.flagged


# ---------------------------------------------------------------- notebooks nbgrader cannot grade


def released(name: str = "1_gates") -> nbformat.NotebookNode:
    return nbformat.read(RELEASED / f"{name}.ipynb", as_version=4)


def test_the_released_notebooks_are_gradable():
    for path in RELEASED.glob("*.ipynb"):
        assert notebook_problem(path.read_bytes()) is None, path.name


def test_a_repeated_grade_id_is_named(tmp_path):
    notebook = released()
    graded = next(cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade"))
    notebook.cells.append(nbformat.from_dict(json.loads(json.dumps(graded))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat notices the repeated cell id too
        content = nbformat.writes(notebook).encode()
    problem = notebook_problem(content)
    assert f"Duplicate grade id: {graded.metadata.nbgrader.grade_id}" in problem


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "an empty file, not a notebook"),
        (b"\n  \n", "an empty file, not a notebook"),
        (b"{not json", "not a notebook: invalid JSON"),
        (b"\xff\xfe", "not a notebook: not UTF-8 text"),
        (b"[1, 2]", "not a notebook: JSON without"),
        (b'{"nbformat": 4, "cells": "none"}', "not a notebook: JSON without"),
        (b'{"nbformat": 5, "nbformat_minor": 0, "cells": []}', "nbformat 5, a newer notebook format"),
    ],
)
def test_what_is_not_a_gradable_notebook_says_what_it_is(content, said):
    assert said in notebook_problem(content)


def test_an_nbformat_3_notebook_is_named_as_such():
    content = nbformat.writes(released(), version=3).encode()
    assert notebook_problem(content).startswith("nbformat 3, an older notebook format")


def test_newer_nbgrader_metadata_is_named():
    notebook = released()
    next(cell for cell in notebook.cells if "nbgrader" in cell.metadata).metadata.nbgrader.schema_version = 9
    assert "nbgrader cell metadata is broken" in notebook_problem(nbformat.writes(notebook).encode())


# ---------------------------------------------------------------- records, class folders, the gradebook


def test_collects_record_round_trips_and_an_empty_one_is_removed(tmp_path):
    refused = [Refusal("2_gru8.ipynb", "a symbolic link", True), Refusal(".x", "hidden", False)]
    write_record(tmp_path, "gated_rnn", "ana", refused)
    assert read_record(tmp_path, "gated_rnn", "ana") == [
        Refusal("2_gru8.ipynb", "a symbolic link (at collect)", True),
        Refusal(".x", "hidden (at collect)", False),
    ]
    write_record(tmp_path, "gated_rnn", "ana", [])
    assert read_record(tmp_path, "gated_rnn", "ana") == []
    assert not (tmp_path / ".intake" / "gated_rnn" / "ana.json").exists()


def test_class_folders_lists_students_and_says_why_others_cannot_be_graded(tmp_path):
    for name in ("ana", "m7_glob[1]", "<b>x", "ben"):
        (tmp_path / "submitted" / name / "gated_rnn").mkdir(parents=True)
    (tmp_path / "submitted" / "cai" / "other_assignment").mkdir(parents=True)
    students, unusable = class_folders(tmp_path / "submitted", "gated_rnn")
    assert students == ["ana", "ben"]
    assert sorted(unusable) == ["<b>x", "m7_glob[1]"]
    assert "rename submitted/m7_glob[1] to the student's valid id" in unusable["m7_glob[1]"]
    assert "'<b>x'" in unusable["<b>x"], "markup in a name is shown quoted"


def test_flags_and_zero_scores_reach_nbgraders_gradebook(tmp_path):
    import nbgrader
    from alembic.script import ScriptDirectory
    from nbgrader.api import Gradebook

    # nbgrader asks alembic, a subprocess, for the schema version of a new gradebook; say it here.
    head = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()
    with sqlite3.connect(tmp_path / "gradebook.db") as database:
        database.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        database.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (head,))
    database.close()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("gated_rnn")
        for notebook in ("1_gates", "2_gru8"):
            gradebook.add_notebook(notebook, "gated_rnn")
            gradebook.add_grade_cell(f"{notebook}_test", notebook, "gated_rnn", max_score=2, cell_type="code")
        flag_submission(gradebook, "gated_rnn", "ana")
        score_nothing_submitted(gradebook, "gated_rnn", "ben")
        ana, ben = (gradebook.find_submission("gated_rnn", s) for s in ("ana", "ben"))
        assert [n.flagged for n in ana.notebooks] == [True, True]
        assert [n.flagged for n in ben.notebooks] == [False, False]
        assert [(g.auto_score, g.needs_manual_grade) for n in ben.notebooks for g in n.grades] == [
            (0, False)
        ] * 2
        assert ben.score == 0


# ---------------------------------------------------------------- slow: real nbgrader, real exchange


def command(course: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A course command as the Makefile runs it (``python -m ...`` or ``nbgrader ...``), in ``course``."""
    program = [sys.executable, "-m", *args] if args[0].startswith("autograder.") else [NBGRADER, *args]
    return subprocess.run(
        program,
        cwd=course,
        env=env or sample_class.nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )


def gradebook_state(course: Path, assignment: str) -> dict[str, tuple[float, bool]]:
    """student -> (score, any notebook flagged), from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's notices are not ours
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            return {
                submission.student.id: (
                    float(submission.score),
                    any(notebook.flagged for notebook in submission.notebooks),
                )
                for submission in gradebook.assignment_submissions(assignment)
            }


def tree_state(folder: Path) -> dict[str, str]:
    """Relative path -> what is there, never following a link: a file's SHA-256, a link's target."""
    found = {}
    for directory, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(directory, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                found[str(path.relative_to(folder))] = f"link to {os.readlink(path)}"
            elif stat.S_ISREG(mode):
                found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def regular_files(*folders: Path) -> dict[Path, bytes]:
    """Every regular file under ``folders``, links and special files left alone."""
    found = {}
    for folder in folders:
        for directory, _, files in os.walk(folder):
            for name in files:
                path = Path(directory, name)
                if stat.S_ISREG(path.lstat().st_mode):
                    found[path] = path.read_bytes()
    return found


STAMP = "2026-12-01 10:00:00.000000 UTC"
PGPASS = f"db.example:5432:*:grader:pgpass-{uuid.uuid4().hex}"
MARKUP_NAME = "<img src=x onerror=alert(1)>.html"
#: What must never leave the instructor's side, as it would show in a file.
SECRETS = {
    "the grader's ~/.pgpass": PGPASS.encode(),
    "nbgrader_config.py": b"get_config()",
    "gradebook.db": b"SQLite format 3",
    "a solution": b"### BEGIN SOLUTION",
}
GRADERS = ("make autograde", "make grade")
#: student -> (autograded score, flagged). ben and fay answered exercise 1 themselves.
EXPECTED = {
    "ana": (16.0, False),
    "ben": (3.0, True),
    "cai": (0.0, True),
    "dee": (0.0, True),
    "eve": (0.0, True),
    "fay": (3.0, True),
    "gil": (0.0, True),
}
#: student -> the refusals both graders report: (path, or None for the folder itself; what it is).
REFUSED = {
    "ben": [
        ("2_gru8.ipynb", "a symbolic link (to "),
        ("3_stacked_lstm.ipynb", "a hard link (one file with 2 names"),
    ],
    "cai": [("1_gates.ipynb", "a symbolic link (to ")],
    "dee": [(None, "the submission folder is a symbolic link (to ")],
    "eve": [
        ("2_gru8.ipynb", "a named pipe (FIFO)"),
        ("config.html", "a symbolic link (to "),
        ("gradebook.html", "a symbolic link (to "),
        ("pgpass.html", "a symbolic link (to "),
        (MARKUP_NAME, "its name contains < >, which a page reads as markup"),
        *([("notes.txt", "owned by another user (uid 65534")] if os.geteuid() == 0 else []),
    ],
    "fay": [("2_gru8.ipynb", "a symbolic link (to "), ("secret.html", "a symbolic link (to ")],
    "gil": [(None, "the folder gil is a symbolic link (to ")],
}
#: The notebooks each student's autograded folder may hold: what they handed in themselves.
AUTOGRADED_NOTEBOOKS = {
    "ana": ["1_gates.ipynb", "2_gru8.ipynb", "3_stacked_lstm.ipynb"],
    "ben": ["1_gates.ipynb"],
    "fay": ["1_gates.ipynb"],
}


def refusal_line(student: str, path: str | None, what: str) -> str:
    return f"{student}, refused: {what}" if path is None else f"{student}, refused {shown(path)}: {what}"


@dataclass
class HostileClass:
    root: Path
    #: grader -> its own copy of the course, collected once
    courses: dict[str, Path]
    #: grader -> the exchange its feedback was released to
    exchanges: dict[str, Path]
    collected: subprocess.CompletedProcess
    graded: dict[str, subprocess.CompletedProcess]
    submitted_before: dict[str, dict[str, str]]
    submitted_after: dict[str, dict[str, str]]


def hand_in(root: Path, exchange: Path, student: str, notebooks: dict) -> Path:
    """``student`` fetches the release, puts ``notebooks`` in place and submits, with nbgrader's
    own commands; returns the submission's folder in the exchange's inbound folder."""
    work, environment = root / student / "work", isolated_environment(root / student, exchange)
    work.mkdir(parents=True)
    course_options = [
        f"--student={student}",
        "--CourseDirectory.course_id=gated_rnn",
        f"--Exchange.root={exchange}",
    ]
    run([NBGRADER, "fetch_assignment", ASSIGNMENT, *course_options], work, environment, f"{student}: fetch")
    for name, notebook in notebooks.items():
        nbformat.write(notebook, work / ASSIGNMENT / f"{name}.ipynb")
    run([NBGRADER, "submit", ASSIGNMENT, *course_options], work, environment, f"{student}: submit")
    [folder] = (exchange / "gated_rnn" / "inbound").glob(f"{student}+*")
    return folder


def inbound_folder(exchange: Path, student: str) -> Path:
    """A submission folder made by hand in the inbound folder, as nbgrader submit names them."""
    folder = exchange / "gated_rnn" / "inbound" / f"{student}+{ASSIGNMENT}+{STAMP}+byhand"
    folder.mkdir()
    (folder / "timestamp.txt").write_text(STAMP)
    (folder / "submission_secret.txt").write_text(uuid.uuid4().hex)
    return folder


def place_in_submitted(course: Path, pgpass: Path) -> None:
    """What reaches submitted/ another way than collect (by hand, zip_collect): fay's folder with
    her own exercise 1 beside links, and gil's folder, a link to ana's."""
    fay = course / "submitted" / "fay" / ASSIGNMENT
    fay.mkdir(parents=True)
    nbformat.write(sample_class.submission_notebooks("solution", course)["1_gates"], fay / "1_gates.ipynb")
    (fay / "2_gru8.ipynb").symlink_to(course / "solutions" / ASSIGNMENT / "2_gru8.ipynb")
    (fay / "secret.html").symlink_to(pgpass)
    (fay / "timestamp.txt").write_text(STAMP)
    (fay / "submission_secret.txt").write_text(uuid.uuid4().hex)
    (course / "submitted" / "gil").symlink_to(course / "submitted" / "ana")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory) -> HostileClass:
    root = tmp_path_factory.mktemp("intake")
    course = sample_class.make_course(root)
    exchange = root / "exchange"
    exchange.mkdir()
    instructor = isolated_environment(root / "instructor", exchange)
    pgpass = root / "instructor" / ".pgpass"
    pgpass.write_text(PGPASS)
    run([NBGRADER, "release_assignment", ASSIGNMENT, "--force"], course, instructor, "release")

    solution = sample_class.submission_notebooks("solution", course)
    ana = hand_in(root, exchange, "ana", solution)
    ben = hand_in(root, exchange, "ben", {"1_gates": solution["1_gates"]})
    solutions = course / "solutions" / ASSIGNMENT
    # After submitting, ben swaps two of his notebooks for the solutions: a link and a hard link.
    (ben / "2_gru8.ipynb").unlink()
    (ben / "2_gru8.ipynb").symlink_to(solutions / "2_gru8.ipynb")
    (ben / "3_stacked_lstm.ipynb").unlink()
    os.link(solutions / "3_stacked_lstm.ipynb", ben / "3_stacked_lstm.ipynb")
    (inbound_folder(exchange, "cai") / "1_gates.ipynb").symlink_to(ana / "1_gates.ipynb")
    (exchange / "gated_rnn" / "inbound" / f"dee+{ASSIGNMENT}+{STAMP}+link").symlink_to(ana)
    eve = inbound_folder(exchange, "eve")
    (eve / "pgpass.html").symlink_to(pgpass)
    (eve / "config.html").symlink_to(course / "nbgrader_config.py")
    (eve / "gradebook.html").symlink_to(course / "gradebook.db")
    os.mkfifo(eve / "2_gru8.ipynb")
    (eve / MARKUP_NAME).write_text("<script>fetch('/api/contents')</script>")
    if os.geteuid() == 0:
        (eve / "notes.txt").write_text("someone else's notes")
        os.chown(eve / "notes.txt", 65534, 65534)
    for student in ("m7_glob[1]", "ada<script>"):
        nbformat.write(solution["1_gates"], inbound_folder(exchange, student) / "1_gates.ipynb")
    collected = command(course, "collect", ASSIGNMENT, env=instructor)
    assert collected.returncode == 0, collected.stderr[-3000:]

    courses = {"make autograde": course, "make grade": root / "course-make-grade"}
    shutil.copytree(course, courses["make grade"], symlinks=True)
    exchanges = {"make autograde": exchange, "make grade": root / "exchange-make-grade"}
    exchanges["make grade"].mkdir()
    commands = {
        "make autograde": ["autograder.engine.checked", "autograde", ASSIGNMENT],
        "make grade": ["autograder.engine.grade_class", ASSIGNMENT, "--workers", "2"],
    }
    graded, before, after = {}, {}, {}
    for grader, its_course in courses.items():
        place_in_submitted(its_course, pgpass)
        environment = isolated_environment(root / "instructor", exchanges[grader])
        before[grader] = tree_state(its_course / "submitted")
        graded[grader] = command(its_course, *commands[grader], env=environment)
        after[grader] = tree_state(its_course / "submitted")
        for step in (["autograder.engine.checked", "feedback", ASSIGNMENT], ["release_feedback", ASSIGNMENT]):
            result = command(its_course, *step, env=environment)
            assert result.returncode == 0, (
                f"{grader}: {step}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
    return HostileClass(root, courses, exchanges, collected, graded, before, after)


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_the_class_is_graded_to_its_end(hostile_class, grader):
    result = hostile_class.graded[grader]
    assert result.returncode == 0, f"{result.stdout[-5000:]}\n{result.stderr[-5000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_no_link_or_special_file_gains_a_point_each_attacker_is_flagged_the_honest_student_is_not(
    hostile_class, grader
):
    state = gradebook_state(hostile_class.courses[grader], ASSIGNMENT)
    assert state == EXPECTED, hostile_class.graded[grader].stdout[-5000:]


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_every_refused_file_is_reported_by_student_and_what_it_is(hostile_class, grader):
    output = hostile_class.graded[grader].stdout
    for student, refused in REFUSED.items():
        for path, what in refused:
            assert refusal_line(student, path, what) in output, (student, path, output[-5000:])
    assert "ana, refused" not in output


@pytest.mark.slow
def test_collect_copies_only_regular_files_reports_refusals_and_refuses_invalid_ids(hostile_class):
    log = hostile_class.collected.stderr
    for student in ("ben", "cai", "dee", "eve"):
        for path, what in REFUSED[student]:
            said = what if path is None else f"{shown(path)}: {what}"
            assert f"Refused from {student}'s submission: {said}" in log, (student, path, log[-5000:])
        assert f"{student} is flagged for the instructor in the gradebook" in log
    for student in ("m7_glob[1]", "'ada<script>"):
        line = next(
            line
            for line in log.splitlines()
            if line.startswith(f"[CollectApp | ERROR] Not collected: {student}")
        )
        assert "give the student a valid user name" in line
    submitted = hostile_class.courses["make autograde"] / "submitted"
    assert sorted(os.listdir(submitted)) == ["ana", "ben", "cai", "dee", "eve", "fay", "gil"]
    collected = hostile_class.submitted_before["make autograde"]
    links = sorted(path for path, what in collected.items() if what.startswith("link to"))
    assert links == ["fay/gated_rnn/2_gru8.ipynb", "fay/gated_rnn/secret.html", "gil"], (
        "only those placed by hand"
    )
    assert sorted(os.listdir(submitted / "ben" / ASSIGNMENT)) == [
        "1_gates.ipynb",
        "submission_secret.txt",
        "timestamp.txt",
    ]
    assert os.listdir(submitted / "dee" / ASSIGNMENT) == []


@pytest.mark.slow
def test_nothing_of_solutions_secrets_or_other_students_reaches_autograded_feedback_or_the_exchange(
    hostile_class,
):
    for grader, course in hostile_class.courses.items():
        released = hostile_class.exchanges[grader] / "gated_rnn" / "feedback"
        files = regular_files(course / "autograded", course / "feedback", released)
        for path, content in files.items():
            for secret, mark in SECRETS.items():
                assert mark not in content, f"{grader}: {secret} in {path}"
            if "autograded" not in path.parts:
                assert b"BEGIN HIDDEN TESTS" not in content, f"{grader}: hidden tests in {path}"
        autograded = {
            student.name: sorted(p.name for p in (student / ASSIGNMENT).glob("*.ipynb"))
            for student in (course / "autograded").iterdir()
        }
        assert {s: n for s, n in autograded.items() if n} == AUTOGRADED_NOTEBOOKS, grader
        feedback = {s.name: sorted(os.listdir(s / ASSIGNMENT)) for s in (course / "feedback").iterdir()}
        for student, notebooks in AUTOGRADED_NOTEBOOKS.items():
            pages = [name.replace(".ipynb", ".html") for name in notebooks]
            assert feedback[student] == sorted([*pages, "submission_secret.txt", "timestamp.txt"]), grader
        assert len(os.listdir(released)) == sum(map(len, AUTOGRADED_NOTEBOOKS.values())), grader


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_grading_leaves_submitted_as_it_was(hostile_class, grader):
    assert hostile_class.submitted_after[grader] == hostile_class.submitted_before[grader]


# ---------------------------------------------------------------- slow: broken notebooks, ids the glob misreads

TOY = "toy"
#: student -> what their toy.ipynb is, and what both graders must say of it. The first sorts
#: before every honest student: plain nbgrader stops there.
BROKEN = {
    "abe": "its nbgrader cell metadata is broken (Duplicate grade id: test_double)",
    "bea": "not a notebook: invalid JSON",
    "cid": "nbformat 3, an older notebook format",
    "dot": "an empty file, not a notebook",
}
GLOB_ID = "m7_glob[1]"


def broken_notebooks(course: Path) -> dict[str, bytes]:
    """student -> the content of their broken toy.ipynb."""
    release = nbformat.read(course / "exercises" / TOY / "toy.ipynb", as_version=4)
    repeated = nbformat.from_dict(json.loads(json.dumps(release)))
    repeated.cells.append(repeated.cells[2])  # a graded test cell, copied in the notebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat notices the repeated cell id too
        return {
            "abe": nbformat.writes(repeated).encode(),
            "bea": nbformat.writes(release).encode()[:100],
            "cid": nbformat.writes(release, version=3).encode(),
            "dot": b"",
        }


@dataclass
class BrokenClass:
    courses: dict[str, Path]
    graded: dict[str, subprocess.CompletedProcess]
    submitted_before: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory) -> BrokenClass:
    from toy_course import ANSWER, make_course, submit

    root = tmp_path_factory.mktemp("broken")
    course = make_course(root / "plain-nbgrader", ["alice"])
    for student in ("zoe", GLOB_ID):
        submit(course, student, ANSWER, "result = double(21)")
    for student, content in broken_notebooks(course).items():
        folder = course / "submitted" / student / TOY
        folder.mkdir(parents=True)
        (folder / "toy.ipynb").write_bytes(content)
    courses = {"plain nbgrader": course, "make autograde": root / "autograde", "make grade": root / "grade"}
    commands = {
        "plain nbgrader": ["autograde", TOY],
        "make autograde": ["autograder.engine.checked", "autograde", TOY],
        "make grade": ["autograder.engine.grade_class", TOY, "--workers", "2"],
    }
    graded, before = {}, {}
    for grader, its_course in courses.items():
        if its_course != course:
            shutil.copytree(course, its_course)
        before[grader] = tree_state(its_course / "submitted")
        graded[grader] = command(its_course, *commands[grader])
    return BrokenClass(courses, graded, before)


@pytest.mark.slow
def test_plain_nbgrader_stops_the_class_at_the_first_broken_notebook(broken_class):
    """The fault both graders work around (nbgrader #1941): no student after it is graded."""
    course = broken_class.courses["plain nbgrader"]
    assert broken_class.graded["plain nbgrader"].returncode != 0
    assert not (course / "autograded" / "zoe").exists()


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_a_broken_notebook_scores_0_and_every_other_student_is_graded(broken_class, grader):
    state = gradebook_state(broken_class.courses[grader], TOY)
    expected = {"alice": (3.0, False), "zoe": (3.0, False), **dict.fromkeys(BROKEN, (0.0, False))}
    assert state == expected, broken_class.graded[grader].stdout[-5000:]


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_each_broken_notebook_is_reported_by_student_and_what_it_is(broken_class, grader):
    output = broken_class.graded[grader].stdout
    for student, what in BROKEN.items():
        assert f"{student}, toy.ipynb: {what}" in output, (student, output[-5000:])


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_an_id_the_glob_reads_as_a_pattern_is_reported_by_name_never_skipped(broken_class, grader):
    result = broken_class.graded[grader]
    said = (
        f"{GLOB_ID}, the folder name {GLOB_ID} contains [ ], which nbgrader's file patterns read as a pattern"
    )
    assert said in result.stdout, result.stdout[-5000:]
    assert f"rename submitted/{GLOB_ID} to the student's valid id and grade again" in result.stdout
    assert result.returncode == 1, "a student left ungraded fails the command"
    assert GLOB_ID not in gradebook_state(broken_class.courses[grader], TOY)


@pytest.mark.slow
@pytest.mark.parametrize("grader", GRADERS)
def test_broken_submissions_are_left_as_they_were(broken_class, grader):
    assert tree_state(broken_class.courses[grader] / "submitted") == broken_class.submitted_before[grader]
