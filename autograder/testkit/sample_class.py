"""A sample class: a temporary nbgrader course built from the repository, a synthetic class
of submissions of known kinds, graded by real nbgrader, and the scores read back.

The autograder's tests (through ``tests/grading_support.py``) and the grading benchmarks
(``benchmarks/grading.py``, ``benchmarks/class_grading.py``) build the same class:

    course = make_course(tmp_path)                     # config, solutions/, exercises/, gradebook
    for student, kind in CLASS.items():
        make_submission(course, student, kind)         # submitted/<student>/gated_rnn/...
    grading = autograde(course)                        # `nbgrader autograde gated_rnn`
    grading.scores                                     # {student: {grade_id: auto_score}}

A submission's kind (:data:`SUBMISSION_KINDS`) is the reference solutions, the blank
release, or a faulty variant of the solutions that must lose known cells. The course is
copied from the repository's ``solutions/`` and ``exercises/``, so this needs the checkout
(``make setup`` installs the package editable from it). Everything runs the real
``nbgrader`` command in a subprocess, with the virtual environment's ``bin`` on PATH
(nbgrader runs ``alembic`` through it) and TensorFlow quiet (a test cell that writes to
stderr scores 0).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from rnn_forecast.paths import REPOSITORY_ROOT

ASSIGNMENT = "gated_rnn"
NOTEBOOKS = ("1_gates", "2_gru8", "3_stacked_lstm")

#: The cell timeout the tests and benchmarks grade with (the course's config says 120 s).
#: Long enough for the slowest cell (the stacked LSTM's 40 epochs: 7 s idle, 18 s on 2 busy
#: cores), short enough that the endless loop in the "infinite_loop" submission costs only
#: a minute.
TEST_TIMEOUT = 60

#: The synthetic class: student id -> kind of submission (see ``SUBMISSION_KINDS``).
CLASS = {
    "ana": "solution",
    "ben": "release",
    "cai": "wrong_class",
    "dee": "wrong_units",
    "eli": "untrained",
    "fay": "raw_prices",
    "gus": "infinite_loop",
    "hal": "tampered_test",
}

#: Every autograded test cell: grade_id -> points. The checks of a reported test RMSE earn
#: none: they are there to name step 3 while it is not done (the hidden test scores it).
AUTOGRADED = {
    "ex1_lstm_test": 1,
    "ex1_gru_test": 1,
    "ex1_parameters_test": 1,
    "ex2_layers_test": 1,
    "ex2_units_test": 1,
    "ex2_shape_test": 1,
    "ex2_trained_test": 1,
    "ex2_reported_rmse_test": 0,
    "ex2_rmse_test": 2,
    "ex3_layers_test": 1,
    "ex3_units_test": 1,
    "ex3_sequences_test": 1,
    "ex3_shape_test": 1,
    "ex3_trained_test": 1,
    "ex3_reported_rmse_test": 0,
    "ex3_rmse_test": 2,
}
EX2 = {name for name in AUTOGRADED if name.startswith("ex2_")}

#: Submission kind -> what it is, and the autograded cells it must lose (all others
#: must score full points).
SUBMISSION_KINDS = {
    "solution": ("the instructor's solutions, submitted as a student's work", set()),
    "release": ("the release, untouched", set(AUTOGRADED)),
    "wrong_class": (
        "LSTM(8) instead of GRU(8); GRU(32) + GRU(16) instead of the two LSTMs",
        {"ex2_layers_test", "ex2_shape_test", "ex3_layers_test", "ex3_shape_test"},
    ),
    "wrong_units": (
        "GRU(32) instead of GRU(8); LSTM(32) + LSTM(8) instead of LSTM(32) + LSTM(16)",
        {"ex2_units_test", "ex2_shape_test", "ex3_units_test", "ex3_shape_test"},
    ),
    "untrained": (
        "right models, never fitted",
        {"ex2_trained_test", "ex2_rmse_test", "ex3_trained_test", "ex3_rmse_test"},
    ),
    "raw_prices": (
        "right models, trained on raw index levels instead of scale-free windows",
        {"ex2_rmse_test", "ex3_rmse_test"},
    ),
    "infinite_loop": ("an endless loop in exercise 2's build cell", EX2),
    "tampered_test": (
        "a wrong LSTM gate set, and the test cell below it edited to `pass`",
        {"ex1_lstm_test"},
    ),
    "functional_api": (
        "the solutions with each model built by Keras's functional API, `keras.Model(inputs, outputs)`",
        set(),
    ),
}

#: Solution-cell edits per faulty kind: grade_id -> [(old, new), ...] applied to the
#: solution's source (every ``old`` must occur, so a changed notebook cannot silently
#: turn a faulty submission into a correct one).
_EDITS = {
    "wrong_class": {
        "ex2_build_answer": [("keras.layers.GRU(8)", "keras.layers.LSTM(8)")],
        "ex3_build_answer": [
            ("keras.layers.LSTM(32, return_sequences=True)", "keras.layers.GRU(32, return_sequences=True)"),
            ("keras.layers.LSTM(16)", "keras.layers.GRU(16)"),
        ],
    },
    "wrong_units": {
        "ex2_build_answer": [("keras.layers.GRU(8)", "keras.layers.GRU(32)")],
        "ex3_build_answer": [("keras.layers.LSTM(16)", "keras.layers.LSTM(8)")],
    },
    "untrained": {
        "ex2_train_answer": [("trained = fit(model, train.x, train.y)", "pass  # never calls fit")],
        "ex3_train_answer": [("trained = fit(model, train.x, train.y)", "pass  # never calls fit")],
    },
    "raw_prices": {
        "ex2_train_answer": [("fit(model, train.x, train.y)", "fit(model, split.x_train, split.y_train)")],
        "ex3_train_answer": [("fit(model, train.x, train.y)", "fit(model, split.x_train, split.y_train)")],
    },
    "infinite_loop": {
        "ex2_build_answer": [
            ("set_seed(0)", "set_seed(0)\nwhile True:  # a training loop that never ends\n    pass")
        ],
    },
    "functional_api": {
        "ex2_build_answer": [
            (
                "model = build_model(keras.layers.GRU(8))",
                "inputs = keras.Input((12, 1))\n"
                "hidden = keras.layers.Dense(16, activation='relu')(keras.layers.GRU(8)(inputs))\n"
                "model = keras.Model(inputs, keras.layers.Dense(1)(hidden))\n"
                "model.compile(optimizer='adam', loss='mse')",
            )
        ],
        "ex3_build_answer": [
            (
                "model = build_model(\n"
                "    keras.layers.LSTM(32, return_sequences=True),\n"
                "    keras.layers.LSTM(16),\n)",
                "inputs = keras.Input((12, 1))\n"
                "sequence = keras.layers.LSTM(32, return_sequences=True)(inputs)\n"
                "hidden = keras.layers.Dense(16, activation='relu')(keras.layers.LSTM(16)(sequence))\n"
                "model = keras.Model(inputs, keras.layers.Dense(1)(hidden))\n"
                "model.compile(optimizer='adam', loss='mse')",
            )
        ],
    },
    "tampered_test": {
        "ex1_lstm_answer": [('{"forget", "input", "output"}', '{"forget", "input"}')],
        "ex1_lstm_test": [
            ('from autograder.checks import check_gates\n\ncheck_gates(lstm_gates, "LSTM")', "pass"),
        ],
    },
}


# ---------------------------------------------------------------- running nbgrader


def nbgrader_environment() -> dict[str, str]:
    """The environment nbgrader needs: the venv's bin on PATH, TensorFlow quiet."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_nbgrader(course: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` with ``course`` as working directory (and so as course directory)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args],
        cwd=course,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _check(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed with exit status {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


# ---------------------------------------------------------------- the course


def make_course(tmp_path: Path, *, register: bool = True) -> Path:
    """A course directory under ``tmp_path`` built from the repository.

    It holds copies of ``nbgrader_config.py``, ``solutions/`` and ``exercises/``. With
    ``register`` (the default) it also runs ``nbgrader generate_assignment`` with the
    gradebook, as ``make release`` does, so that ``autograde`` knows the assignment, its
    hidden tests and its checksums.
    """
    course = Path(tmp_path) / "course"
    course.mkdir(parents=True)
    shutil.copy2(REPOSITORY_ROOT / "nbgrader_config.py", course)
    for folder in ("solutions", "exercises"):
        shutil.copytree(
            REPOSITORY_ROOT / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    if register:
        _check(
            run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force"), "nbgrader generate_assignment"
        )
    return course


def grade_in_the_kernel(course: Path) -> None:
    """Switch ``course`` to nbgrader's own autograde pipeline: the student's kernel scores itself.

    For showing what the course's protections prevent (the tests of hostile submissions)
    and what they cost (the grading benchmark); never for grading students.
    """
    with (Path(course) / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(
            "\nc.Autograde.autograde_preprocessors = [  # nbgrader's defaults\n"
            "    'nbgrader.preprocessors.Execute', 'nbgrader.preprocessors.IgnorePattern',\n"
            "    'nbconvert.preprocessors.ClearMetadataPreprocessor', 'nbgrader.preprocessors.LimitOutput',\n"
            "    'nbgrader.preprocessors.SaveAutoGrades', 'nbgrader.preprocessors.AssignLatePenalties',\n"
            "    'nbgrader.preprocessors.CheckCellMetadata',\n"
            "]\n"
        )


def _without_solution_markers(source: str) -> str:
    return "\n".join(
        line for line in source.split("\n") if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def cells_by_grade_id(notebook) -> dict:
    """grade_id -> cell of every nbgrader cell of ``notebook``."""
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells if "nbgrader" in cell.metadata
    }


def submission_notebooks(
    kind: str, course: Path | None = None, attacks: dict[str, dict[str, str]] | None = None
) -> dict[str, nbformat.NotebookNode]:
    """The notebooks a student of ``kind`` hands in: notebook name -> notebook.

    A student works in the release (from ``exercises/``), so a submission is the release
    notebook with the student's answers in its solution cells; the "solution" student's
    answers are the instructor's solutions without the BEGIN/END SOLUTION lines.
    ``attacks`` (notebook -> {answer cell id: code}) puts code at the start of answer cells.
    """
    if kind not in SUBMISSION_KINDS:
        raise ValueError(f"unknown submission kind {kind!r}; choose one of {', '.join(SUBMISSION_KINDS)}")
    attacks = attacks or {}
    root = Path(course) if course is not None else REPOSITORY_ROOT
    edits = _EDITS.get(kind, {})
    pending = {(cell_id, old) for cell_id, changes in edits.items() for old, _ in changes}
    notebooks = {}
    for name in NOTEBOOKS:
        release = nbformat.read(root / "exercises" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        if kind != "release":
            solution = cells_by_grade_id(
                nbformat.read(root / "solutions" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            )
            for cell_id, cell in cells_by_grade_id(release).items():
                meta = cell.metadata["nbgrader"]
                if meta.get("solution"):
                    cell.source = _without_solution_markers(solution[cell_id].source)
                for old, new in edits.get(cell_id, []):
                    if old not in cell.source:
                        raise AssertionError(f"{kind}: cannot find {old!r} in cell {cell_id} of {name}")
                    cell.source = cell.source.replace(old, new)
                    pending.discard((cell_id, old))
        for cell_id, code in attacks.get(name, {}).items():
            cell = cells_by_grade_id(release)[cell_id]
            cell.source = f"{code}\n{cell.source}"
        notebooks[name] = release
    if pending:
        raise AssertionError(f"{kind}: edits for cells not found: {sorted(pending)}")
    return notebooks


def make_submission(course: Path, student: str, kind: str, attacks: dict | None = None) -> Path:
    """Write ``submitted/<student>/gated_rnn/`` of the given ``kind``; returns that folder."""
    folder = Path(course) / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, notebook in submission_notebooks(kind, course, attacks).items():
        nbformat.write(notebook, folder / f"{name}.ipynb", version=4)
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n", encoding="utf-8")
    return folder


def make_class(course: Path, students: dict[str, str] | None = None) -> None:
    """Every student of ``students`` (default :data:`CLASS`) hands in their kind."""
    for student, kind in (students or CLASS).items():
        make_submission(course, student, kind)


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``, to prove nothing changed."""
    folder = Path(folder)
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@dataclass
class Grading:
    """One ``nbgrader autograde`` run and what it left behind."""

    course: Path
    result: subprocess.CompletedProcess
    seconds: float
    submitted_before: dict[str, str]
    submitted_after: dict[str, str]
    scores: dict[str, dict[str, float | None]]


def autograde(
    course: Path, student: str | None = None, *, timeout: int = TEST_TIMEOUT, extra: tuple[str, ...] = ()
) -> Grading:
    """Run ``nbgrader autograde gated_rnn`` (for one ``student``, or everyone under
    ``submitted/``) and read the scores from the gradebook.

    ``timeout`` is the per-cell timeout, passed as ``--Execute.timeout``. The command's
    exit status is not checked here: look at ``Grading.result``.
    """
    course = Path(course)
    before = tree_digest(course / "submitted")
    args = ["autograde", ASSIGNMENT, f"--Execute.timeout={timeout}", *extra]
    if student is not None:
        args.append(f"--student={student}")
    started = time.perf_counter()
    result = run_nbgrader(course, *args)
    seconds = time.perf_counter() - started
    return Grading(course, result, seconds, before, tree_digest(course / "submitted"), read_scores(course))


def read_scores(course: Path, db_url: str | None = None) -> dict[str, dict[str, float | None]]:
    """student -> {grade_id: auto_score} of every autograded code cell, from the gradebook
    (``gradebook.db`` in the course, or the database at ``db_url``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's deprecation notices are not ours
        from nbgrader.api import Gradebook

        scores: dict[str, dict[str, float | None]] = {}
        with Gradebook(db_url or f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
            for student in gradebook.students:
                try:
                    submission = gradebook.find_submission(ASSIGNMENT, student.id)
                except Exception:  # noqa: BLE001  (MissingEntry: this student was not graded)
                    continue
                scores[student.id] = {
                    grade.name: grade.auto_score
                    for notebook in submission.notebooks
                    for grade in notebook.grades
                    if grade.cell.cell_type == "code"
                }
    return scores


def summary(grading: Grading) -> str:
    """The scores per student as indented JSON, for failure messages and the benchmark."""
    return json.dumps(grading.scores, indent=1, sort_keys=True)
