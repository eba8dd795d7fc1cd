"""The student's path around the exercises, without a browser (issue 21, items 4 and 7).

- the course's lab extension: the committed build is the build of the committed source, and
  ``make lab`` loads it (and its server part) from the repository, with no npm;
- Submit's list of open steps is Validate's: nbgrader's ``Validator`` runs a real exercise
  notebook and each failure is reduced to the step checks' own sentences, numbered;
- the student's lab does not restore last time's tabs (each would start a kernel);
- ``make release``, which a student studying alone runs, prints one line, not nbgrader's log.

The same path in a real browser is ``test_student_path_browser.py``.
"""

from __future__ import annotations

import json
import re
import subprocess

import nbformat
import pytest
from lab_support import copy_course, isolated_environment, make

from autograder.steps import missing_answer_again
from autograder.tools import build_labextension, lab, open_steps
from rnn_forecast.paths import REPOSITORY_ROOT

EXERCISE = REPOSITORY_ROOT / "exercises" / "gated_rnn" / "2_gru8.ipynb"


def with_step_1_done(notebook):
    """The released notebook with step 1's answer cell holding the solution's answer."""
    solution = nbformat.read(REPOSITORY_ROOT / "solutions" / "gated_rnn" / EXERCISE.name, as_version=4)
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in solution.cells}
    for cell in notebook.cells:
        if cell.metadata["nbgrader"]["grade_id"] == "ex2_build_answer":
            cell.source = (
                answers["ex2_build_answer"]
                .replace("### BEGIN SOLUTION\n", "")
                .replace("### END SOLUTION\n", "")
            )
    return notebook


def test_the_committed_lab_extension_is_built_from_the_committed_source():
    recorded = build_labextension.BUILT_FROM.read_text().strip()
    assert recorded == build_labextension.source_hash(), (
        "autograder/tools/labextension/ changed since its build: run "
        "`.venv/bin/python -m autograder.tools.build_labextension` and commit prebuilt/ with it"
    )
    built = build_labextension.PREBUILT / build_labextension.NAME
    package = json.loads((built / "package.json").read_text())
    assert package["name"] == build_labextension.NAME
    bundle = "".join(path.read_text() for path in (built / "static").glob("*.js"))
    assert (built / "static" / package["jupyterlab"]["_build"]["load"].split("/")[-1]).is_file()
    # What the source says the student reads is in what the browser loads.
    assert "Submit anyway?" in bundle
    assert open_steps.API + "/open-steps" in bundle


def test_the_student_lab_loads_the_extension_from_the_repository_and_forgets_last_times_tabs(tmp_path):
    course = lab.read_course(REPOSITORY_ROOT)
    workspace = tmp_path / "work"
    saved = workspace / lab.JUPYTER_CONFIG / lab.WORKSPACES / "default-37a8.jupyterlab-workspace"
    saved.parent.mkdir(parents=True)
    saved.write_text('{"data": {"layout-restorer:data": {}}, "metadata": {"id": "default"}}')
    student, _ = lab.student_lab(workspace, course)
    assert not saved.exists()
    arguments = dict(argument.split("=", 1) for argument in student.arguments)
    extensions = arguments["--LabApp.extra_labextensions_path"]
    assert (lab.COURSE_LAB_EXTENSIONS / build_labextension.NAME / "package.json").is_file()
    assert extensions == str(lab.COURSE_LAB_EXTENSIONS)
    assert arguments["--LabApp.workspaces_dir"] == str(saved.parent)
    server = json.loads((student.config_dir / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"][lab.COURSE_LAB_SERVER] is True
    instructor = lab.instructor_lab(tmp_path / "instructor", course)
    assert not any("labextensions_path" in argument for argument in instructor.arguments)
    server = json.loads((instructor.config_dir / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"][lab.COURSE_LAB_SERVER] is False


def test_each_cell_belongs_to_the_step_of_the_heading_above_it():
    cells = nbformat.read(EXERCISE, as_version=4).cells
    numbers = dict(
        (cell.metadata["nbgrader"]["grade_id"], number)
        for cell, number in zip(cells, open_steps.step_numbers(cells), strict=True)
    )
    assert numbers["ex2_setup"] is None
    assert numbers["ex2_build_answer"] == numbers["ex2_shape_test"] == 1
    assert numbers["ex2_trained_test"] == 2
    assert numbers["ex2_reported_rmse_test"] == 3
    assert numbers["ex2_compare_answer"] == 5


def test_a_failure_reads_as_the_sentences_validate_showed_numbered():
    wrapped = "\x1b[0;31mStep 1 is not done yet: `model` is still\nmissing.\x1b[0m"
    assert open_steps.sentences_of_failure(wrapped, 1) == [missing_answer_again("2_gru8", "model")]
    assert open_steps.sentences_of_failure("You did not provide a response.", 5) == [
        "Step 5: your written answer is still missing."
    ]
    own_error = "Traceback (most recent call last):\n  ...\nZeroDivisionError: division by zero"
    assert open_steps.sentences_of_failure(own_error, 2) == ["Step 2: ZeroDivisionError: division by zero"]
    verdict = "expected 425 parameters in the model, found 273: the `Dense(16, relu)`\nlayer is missing."
    assert open_steps.sentences_of_failure(verdict, 1) == [
        "Step 1: expected 425 parameters in the model, found 273: the `Dense(16, relu)` layer is missing."
    ]


@pytest.mark.slow
def test_submits_list_with_only_step_1_done_is_validates_naming_steps_2_3_and_5(tmp_path):
    """nbgrader's Validator runs the notebook in a kernel of its own, as Validate does."""
    notebook = tmp_path / EXERCISE.name
    nbformat.write(with_step_1_done(nbformat.read(EXERCISE, as_version=4)), notebook)
    result = subprocess.run(
        [
            str(REPOSITORY_ROOT / ".venv" / "bin" / "python"),
            "-c",
            "import json, sys; from pathlib import Path; from autograder.tools import open_steps; "
            "print(json.dumps(open_steps.open_steps(Path(sys.argv[1]), open_steps.nbgrader_config())))",
            str(notebook),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    numbers = [int(re.match(r"Step (\d+)", sentence).group(1)) for sentence in found]
    assert numbers == [2, 3, 5], found
    assert found[0].startswith("Step 2 is not done yet: ")
    assert found[1] == missing_answer_again("2_gru8", "gru8_rmse")
    assert found[2] == "Step 5: your written answer is still missing."
    assert "Error" not in " ".join(found)
    assert "Traceback" not in " ".join(found)


@pytest.mark.slow
def test_make_release_prints_one_line_of_what_it_did(tmp_path):
    course = copy_course(tmp_path)
    env = isolated_environment(tmp_path / "instructor", tmp_path / "exchange")
    result = make(course, "release", env)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    said = [line for line in lines if not line.startswith("make")]
    assert len(said) == 1, lines
    assert said[0].startswith("Released gated_rnn:"), said
    assert "WARNING" not in result.stdout + result.stderr
    assert (tmp_path / "exchange" / "gated_rnn" / "outbound" / "gated_rnn" / "2_gru8.ipynb").is_file()
