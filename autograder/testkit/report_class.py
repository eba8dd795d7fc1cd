"""A graded class built without grading: a real nbgrader gradebook and autograded notebooks, written directly.

For the class report's and the LMS export's tests and benchmark (``tests/test_class_report.py``,
``tests/test_lms_export.py``, ``benchmarks/report.py``): grading 12 students for real takes
many minutes, and what the report reads is only what grading leaves behind. So:

    course = make_course(tmp_path)               # sample_class: solutions/, exercises/, the gradebook
    build_class(course, CLASS)                   # rows through nbgrader's Gradebook API,
                                                 # autograded/STUDENT/gated_rnn/*.ipynb with nbformat

Each :class:`Student` says which tests fail and with what sentence, what the answer cells
hold (edits of the reference solutions), flags, lateness, the RMSE printed and what ``make
grade`` recorded of the job. The notebooks are the release's, with the solutions' answers,
so every grade id is the real one. :data:`CLASS` covers each section of the report: a
misconception several students share, a test everyone passes, a pair copied with renamed
variables and reordered lines, an independent solution, a pair whose written answers are
copied (a few words changed, sentences reordered) and a pair who answered the same written
questions in their own words, a flagged and a crashed submission, a late one, one without
an LMS id.
"""

from __future__ import annotations

import datetime
import json
import random
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from autograder.testkit.sample_class import ASSIGNMENT, cells_by_grade_id, submission_notebooks

#: Markup in a written answer (olga's and pia's): the report must show it as text.
HOSTILE_WRITING = "<img src=y onerror=alert(2)>"
#: A reason quoting what the student's code displayed: the report must show it as text.
HOSTILE_FLAG = "ex2_build_answer: output removed: <img src=x onerror=alert(1)>"
DUE = datetime.datetime(2026, 11, 20, 12, 0, 0)
PASSED = "Trusted verdict (computed outside the student's kernel): passed.\n"

UNITS_32 = {
    ("2_gru8", "ex2_units_test"): "expected 8 units in the recurrent layer, found 32",
    ("2_gru8", "ex2_shape_test"): "expected 425 parameters in the model, found 3,905",
}
NOT_DONE_2 = {
    ("2_gru8", test): "Step 1 is not done yet: `model` is still missing."
    for test in (
        "ex2_layers_test",
        "ex2_units_test",
        "ex2_shape_test",
        "ex2_trained_test",
        "ex2_reported_rmse_test",
        "ex2_rmse_test",
    )
}
CRASHED_3 = {
    ("3_stacked_lstm", test): "DeadKernelError: Kernel died"
    for test in (
        "ex3_layers_test",
        "ex3_units_test",
        "ex3_sequences_test",
        "ex3_shape_test",
        "ex3_trained_test",
        "ex3_reported_rmse_test",
        "ex3_rmse_test",
    )
}

#: A distinctive solution (finn), the same copied with renamed variables and reordered lines
#: (gia), and one written independently (hugo): notebook -> answer cell -> source.
DISTINCTIVE = {
    "1_gates": {
        "ex1_parameters_answer": (
            "hidden = 32\ninputs = 1\nper_block = hidden * (inputs + hidden) + 2 * hidden\n"
            "gru32_parameters = 3 * per_block"
        ),
    },
    "2_gru8": {
        "ex2_rmse_answer": (
            "ratios = predict(model, test.x)\npoints = from_scale_free(ratios, test.last)\n"
            "errors = (split.y_test - points) ** 2\ngru8_rmse = float(errors.mean() ** 0.5)\n"
            'print(f"GRU(8) test RMSE {gru8_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
    "3_stacked_lstm": {
        "ex3_rmse_answer": (
            "scaled_back = from_scale_free(predict(model, test.x), test.last)\n"
            "squared = [(truth - guess) ** 2 for truth, guess in zip(split.y_test, scaled_back)]\n"
            "stacked_rmse = (sum(squared) / len(squared)) ** 0.5\n"
            'print(f"LSTM(32) + LSTM(16) test RMSE {stacked_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
}
COPIED = {
    "1_gates": {
        "ex1_parameters_answer": (
            "n_in = 1\nn_units = 32\nblock_weights = n_units * (n_in + n_units) + 2 * n_units\n"
            "gru32_parameters = 3 * block_weights"
        ),
    },
    "2_gru8": {
        "ex2_rmse_answer": (
            "r = predict(model, test.x)\npred_points = from_scale_free(r, test.last)\n"
            "sq = (split.y_test - pred_points) ** 2\ngru8_rmse = float(sq.mean() ** 0.5)\n"
            'print(f"GRU(8) test RMSE {gru8_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
    "3_stacked_lstm": {
        "ex3_rmse_answer": (
            "back = from_scale_free(predict(model, test.x), test.last)\n"
            "diffs = [(t - g) ** 2 for t, g in zip(split.y_test, back)]\n"
            "stacked_rmse = (sum(diffs) / len(diffs)) ** 0.5\n"
            'print(f"LSTM(32) + LSTM(16) test RMSE {stacked_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
}
INDEPENDENT = {
    "1_gates": {"ex1_parameters_answer": "gru32_parameters = 3 * 32 * (1 + 32 + 2)"},
    "2_gru8": {
        "ex2_rmse_answer": (
            "import numpy as np\n\nforecast = from_scale_free(predict(model, test.x), test.last)\n"
            "gru8_rmse = float(np.sqrt(np.mean(np.square(np.asarray(split.y_test) - forecast))))\n"
            'print(f"GRU(8) test RMSE {gru8_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
    "3_stacked_lstm": {
        "ex3_rmse_answer": (
            "from sklearn.metrics import mean_squared_error\n\n"
            "stacked_rmse = mean_squared_error(split.y_test, from_scale_free(predict(model, test.x), "
            "test.last)) ** 0.5\n"
            'print(f"LSTM(32) + LSTM(16) test RMSE {stacked_rmse:.1f} index points (naive forecast {naive_rmse:.1f})")'
        ),
    },
}


#: Written answers (markdown answer cells): distinctive ones (olga), the same with a few words
#: changed and the sentences reordered (pia), and two students' own words on the same
#: questions (hugo, ned), sharing only the phrases many share ("close to a random walk").
WRITTEN_DISTINCTIVE = {
    "1_gates": {
        "ex1_cell_state_answer": (
            "Unlike the GRU, the LSTM keeps its long-term memory in the cell state, a conveyor belt "
            "that the forget gate trims and the input gate adds to. The output gate then decides how "
            "much of that belt reaches the hidden state, so the network can remember things it does "
            "not show yet. <img src=y onerror=alert(2)>"
        ),
    },
    "2_gru8": {
        "ex2_compare_answer": (
            "With only 425 weights my GRU(8) got a test RMSE of 121.6, practically the same as the "
            "3,905-weight GRU(32) of the lesson and a bit better than the naive forecast at 125.1. "
            "Four times fewer units cost nothing, which tells me the monthly index is too close to a "
            "random walk for extra capacity to find any pattern."
        ),
    },
    "3_stacked_lstm": {
        "ex3_compare_answer": (
            "Stacking LSTM(32) and LSTM(16) gave 7,777 parameters and a test RMSE of 119.6, while the "
            "single LSTM(32) with 4,897 parameters reached about 121 and trained in half the time. "
            "The extra layer bought roughly one index point, well inside the spread between seeds, "
            "so depth was not worth its cost here."
        ),
    },
}
WRITTEN_COPIED = {
    "1_gates": {
        "ex1_cell_state_answer": (
            "The output gate then chooses how much of that belt reaches the hidden state, so the "
            "network can remember things it does not reveal yet.\n\nUnlike the GRU, the LSTM stores "
            "its long-term memory in the Cell State, a conveyor belt that the forget gate trims and "
            "the input gate adds to. <img src=y onerror=alert(2)>"
        ),
    },
    "2_gru8": {
        "ex2_compare_answer": (
            "Four times fewer units cost nothing, which shows me the monthly index is too close to a "
            "random walk for extra capacity to find any pattern. With only 425 weights my GRU(8) "
            "reached a test RMSE of 121.6, practically the same as the 3,905-weight GRU(32) of the "
            "lesson and slightly better than the naive forecast at 125.1."
        ),
    },
    "3_stacked_lstm": {
        "ex3_compare_answer": (
            "The extra layer bought roughly one index point, well inside the spread between seeds, so "
            "depth was not worth the cost here.  Stacking LSTM(32) and LSTM(16) gave 7,777 parameters "
            "and a test RMSE of 119.6, while the single LSTM(32) with 4,897 parameters got about 121 "
            "and trained in half the time."
        ),
    },
}
WRITTEN_OWN_WORDS = {
    "1_gates": {
        "ex1_cell_state_answer": (
            "It is a second memory line, separate from the output: the LSTM can hold something there "
            "across many months without exposing it, while the GRU must use one state for both."
        ),
    },
    "2_gru8": {
        "ex2_compare_answer": (
            "GRU(8): RMSE 123.0 with 425 parameters; the lesson's GRU(32): RMSE 122.5 with 3,905; "
            "naive: 125.1. Cutting the units by four barely moved the error, so this series, close to "
            "a random walk, gives the model almost nothing to learn beyond the last value."
        ),
    },
    "3_stacked_lstm": {
        "ex3_compare_answer": (
            "My stack reached 121.5 (7,777 parameters, about 40 s of training) against 122.1 for one "
            "LSTM(32) (4,897 parameters, about 20 s) and 125.1 for the naive forecast. Twice the "
            "training time for half a point is not worth it on a series this close to a random walk."
        ),
    },
}
WRITTEN_OTHER_WORDS = {
    "1_gates": {
        "ex1_cell_state_answer": (
            "The cell state is a long-term memory kept apart from the hidden state, so the LSTM can "
            "carry information for many steps without it appearing in the output; the GRU merges the two."
        ),
    },
    "2_gru8": {
        "ex2_compare_answer": (
            "Shrinking to 8 units changed little: 122.0 against 122.3 for GRU(32), both just under the "
            "naive 125.1, with 425 instead of 3,905 parameters. The series is close to a random walk, "
            "so the extra capacity has nothing to model."
        ),
    },
    "3_stacked_lstm": {
        "ex3_compare_answer": (
            "Depth did not help: the stack scored 121.5 with 7,777 parameters and slower training, the "
            "single LSTM(32) 122.1 with 4,897, the naive forecast 125.1."
        ),
    },
}


def _merged(*answers: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Several notebook -> cell -> source maps as one."""
    merged: dict[str, dict[str, str]] = {}
    for each in answers:
        for notebook, cells in each.items():
            merged.setdefault(notebook, {}).update(cells)
    return merged


@dataclass
class Student:
    """What one synthetic student handed in and what grading made of it."""

    #: (notebook, test grade id) -> the sentence its failure showed
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    #: notebook -> answer cell (code or written) -> its source (default: the reference solution)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)
    #: notebook -> the grader's reasons for flagging it
    flags: dict[str, list[str]] = field(default_factory=dict)
    late: datetime.timedelta = datetime.timedelta(0)
    lms_user_id: str | None = "auto"
    #: notebook -> the test RMSE its answer cell printed
    rmse: dict[str, float] = field(default_factory=lambda: {"2_gru8": 122.0, "3_stacked_lstm": 121.5})
    outcome: str = "graded"
    seconds: float = 60.0
    peak_mib: float = 900.0
    name: tuple[str, str] = ("", "")


CLASS: dict[str, Student] = {
    "ana": Student(name=("Ana", "Alves"), rmse={"2_gru8": 121.6, "3_stacked_lstm": 119.6}),
    "ben": Student(name=("Ben", "Brown"), seconds=55.0),
    "chloe": Student(
        failures=dict(UNITS_32), name=("Chloé", "Chen"), rmse={"2_gru8": 124.9, "3_stacked_lstm": 122.4}
    ),
    "dan": Student(failures=dict(UNITS_32), name=("Dan", "Diaz")),
    "eve": Student(
        failures=dict(UNITS_32), name=("Eve", "Evans"), rmse={"2_gru8": 126.5, "3_stacked_lstm": 129.6}
    ),
    "finn": Student(answers=DISTINCTIVE, name=("Finn", "Fox")),
    "gia": Student(answers=COPIED, name=("Gia", "Greco")),
    "hugo": Student(answers=_merged(INDEPENDENT, WRITTEN_OWN_WORDS), name=("Hugo", "Hart")),
    "ivy": Student(
        flags={
            "2_gru8": [
                "ex2_rmse_test: test RMSE 60.2 is far below every honest calibrated run (best 120.1)",
                HOSTILE_FLAG,
            ]
        },
        rmse={"2_gru8": 60.2, "3_stacked_lstm": 120.0},
        name=("Ivy", "Ito"),
    ),
    "jon": Student(
        failures=dict(CRASHED_3), outcome="crashed", seconds=240.0, peak_mib=3950.0, name=("Jon", "Jones")
    ),
    "kim": Student(late=datetime.timedelta(hours=26, minutes=5), name=("Kim", "Kang")),
    "leo": Student(failures=dict(NOT_DONE_2), lms_user_id=None, name=("Leo", "Lund")),
    "mia": Student(
        failures={
            ("2_gru8", "ex2_rmse_test"): (
                "expected a test RMSE of at most 165.0 index points on the 184 test windows, found 1,789.8"
            )
        },
        rmse={"2_gru8": 1789.8, "3_stacked_lstm": 123.1},
        name=("Mia", "<script>alert('mia')</script>"),
    ),
    "ned": Student(answers=WRITTEN_OTHER_WORDS, name=("Ned", "Nash"), seconds=70.0),
    "olga": Student(answers=WRITTEN_DISTINCTIVE, name=("Olga", "Orlov")),
    "pia": Student(answers=WRITTEN_COPIED, name=("Pia", "Park")),
}


def lms_id(student: str, spec: Student) -> str | None:
    return f"canvas-{sum(map(ord, student)) * 7919}" if spec.lms_user_id == "auto" else spec.lms_user_id


def build_class(course: Path, students: dict[str, Student], db_url: str | None = None) -> None:
    """Write each student's gradebook rows and autograded notebooks into ``course``."""
    course = Path(course)
    db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
        defined = gradebook.find_assignment(ASSIGNMENT)
        points = {
            (notebook.name, cell.name): (float(cell.max_score), cell.cell_type)
            for notebook in defined.notebooks
            for cell in notebook.grade_cells
        }
        for student, spec in students.items():
            first, last = spec.name
            gradebook.update_or_create_student(
                student,
                first_name=first or None,
                last_name=last or None,
                email=f"{student}@example.edu",
                lms_user_id=lms_id(student, spec),
            )
            with warnings.catch_warnings():
                # nbgrader's add_submission builds rows before adding them to the session,
                # which SQLAlchemy 2 reports during autoflush (as gradebook_rows.write_rows says).
                warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session")
                submission = gradebook.add_submission(
                    ASSIGNMENT, student, timestamp=DUE - datetime.timedelta(hours=1) + spec.late
                )
            for notebook in submission.notebooks:
                notebook.flagged = bool(spec.flags.get(notebook.name))
            for (notebook, cell), (maximum, kind) in points.items():
                grade = gradebook.find_grade(cell, notebook, ASSIGNMENT, student)
                scored = 0.0 if (notebook, cell) in spec.failures else maximum
                if kind == "markdown":
                    grade.manual_score, grade.needs_manual_grade = scored, False
                else:
                    grade.auto_score = scored
            gradebook.db.commit()
            _write_notebooks(course, student, spec)
            _write_job_record(course, student, spec)


def _write_notebooks(course: Path, student: str, spec: Student) -> None:
    folder = course / "autograded" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, notebook in submission_notebooks("solution", course).items():
        cells = cells_by_grade_id(notebook)
        for cell_id, source in spec.answers.get(name, {}).items():
            cells[cell_id].source = source
        for cell_id, cell in cells.items():
            meta = cell.metadata["nbgrader"]
            if cell.cell_type != "code":
                continue
            if meta.get("grade"):
                sentence = spec.failures.get((name, cell_id))
                cell.outputs = (
                    [new_output("stream", name="stdout", text=PASSED)]
                    if sentence is None
                    else [_error(sentence)]
                )
            elif cell_id.endswith("_rmse_answer") and name in spec.rmse:
                cell.outputs = [
                    new_output(
                        "stream",
                        name="stdout",
                        text=f"test RMSE {spec.rmse[name]:.1f} index points (naive forecast 125.1)\n",
                    )
                ]
        if spec.flags.get(name):
            notebook.metadata["autograder"] = {"flags": spec.flags[name], "sandboxed": True}
        nbformat.write(notebook, folder / f"{name}.ipynb", version=4)


def _error(sentence: str):
    name, _, value = (
        sentence.partition(": ")
        if sentence.startswith("DeadKernelError")
        else ("AssertionError", "", sentence)
    )
    return new_output("error", ename=name, evalue=value, traceback=[f"{name}: {value}"])


def _write_job_record(course: Path, student: str, spec: Student) -> None:
    logs = course / ".grade_class" / ASSIGNMENT
    logs.mkdir(parents=True, exist_ok=True)
    record = {
        "outcome": spec.outcome,
        "exit_code": 0 if spec.outcome == "graded" else 1,
        "seconds": spec.seconds,
        "peak_mib": spec.peak_mib,
        "reason": "",
        "attempts": 1,
        "worker": "local",
    }
    (logs / f"{student}.json").write_text(json.dumps(record), encoding="utf-8")


def synthetic_class(size: int, seed: int = 0) -> dict[str, Student]:
    """``size`` students drawn from :data:`CLASS`'s kinds, with their own RMSEs and costs (benchmark)."""
    chooser = random.Random(seed)
    kinds = list(CLASS.values())
    students = {}
    for index in range(size):
        kind = chooser.choice(kinds)
        students[f"s{index:04d}"] = Student(
            failures=kind.failures,
            answers=kind.answers,
            flags=kind.flags,
            late=kind.late,
            lms_user_id=kind.lms_user_id,
            rmse={name: value + chooser.uniform(-2, 2) for name, value in kind.rmse.items()},
            outcome=kind.outcome,
            seconds=chooser.uniform(40, 120),
            peak_mib=chooser.uniform(700, 1500),
            name=kind.name,
        )
    return students
