"""A step not done yet is named in one plain sentence (autograder/steps.py).

The data is checked against the notebooks (every variable a graded test cell reads has a
sentence, with the number of the step that stores it); the sentences are checked in a real
IPython shell; and the real ``nbgrader validate`` is run on an untouched and a half-done
exercise, which is what the *Validate* button runs too.
"""

import ast
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest

from autograder import steps
from autograder.testkit.sample_class import ASSIGNMENT, NOTEBOOKS, nbgrader_environment
from rnn_forecast.paths import REPOSITORY_ROOT


def solution(name):
    return nbformat.read(REPOSITORY_ROOT / "solutions" / ASSIGNMENT / f"{name}.ipynb", as_version=4)


def graded_code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and c.metadata["nbgrader"].get("grade")]


def step_of_each_cell(notebook):
    """grade_id -> the number N of the "## N." heading the cell sits under (None before any)."""
    number, found = None, {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = re.match(r"## (\d+)\.", cell.source)
            if heading:
                number = int(heading.group(1))
            elif cell.source.startswith("## "):
                number = None
        found[cell.metadata["nbgrader"]["grade_id"]] = number
    return found


def read_variable(source):
    """The plain variable name a graded test cell hands to its check (the cell's one call)."""
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    assert len(calls) == 1, source
    assert isinstance(calls[0].args[0], ast.Name), source
    return calls[0].args[0].id


# ---------------------------------------------------------------- the data matches the notebooks


def test_every_notebook_has_its_steps():
    assert set(steps.STEPS) == set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_variable_a_visible_test_reads_has_the_sentence_of_the_step_that_stores_it(name):
    notebook = solution(name)
    step_of = step_of_each_cell(notebook)
    answer_cells = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in notebook.cells
        if c.cell_type == "code" and c.metadata["nbgrader"].get("solution")
    }
    for cell in graded_code_cells(notebook):
        if "BEGIN HIDDEN TESTS" in cell.source:
            continue
        variable = read_variable(cell.source)
        assert variable in steps.STEPS[name], (name, cell.metadata["nbgrader"]["grade_id"], variable)
    for variable, step in steps.STEPS[name].items():
        storing = [
            cell_id
            for cell_id, source in answer_cells.items()
            if re.search(rf"^{variable}\s*=", source, re.M)
        ]
        assert len(storing) == 1, (name, variable, storing)
        assert step_of[storing[0]] == step.number, (name, variable, step_of[storing[0]], step.number)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_coded_step_has_a_visible_check_so_that_validate_names_it(name):
    """A step checked only by hidden tests passes Validate while it is still open."""
    notebook = solution(name)
    step_of = step_of_each_cell(notebook)
    visible = {
        step_of[cell.metadata["nbgrader"]["grade_id"]]
        for cell in graded_code_cells(notebook)
        if "BEGIN HIDDEN TESTS" not in cell.source
    }
    for variable, step in steps.STEPS[name].items():
        assert step.number in visible, (name, step.number, variable)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_sentence_names_its_step_and_where_the_answer_goes(name):
    for variable, step in steps.STEPS[name].items():
        sentence = steps.missing_answer(name, variable)
        assert sentence.startswith(f"Step {step.number} is not done yet: ")
        assert sentence.endswith(f" in `{variable}`.")
        assert re.sub(r"`[^`]*`", "code", sentence).count(".") == 1, sentence  # one sentence


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_setup_cell_installs_the_sentences_for_its_own_notebook(name):
    setup = next(c for c in solution(name).cells if c.metadata["nbgrader"]["grade_id"].endswith("_setup"))
    assert setup.metadata["nbgrader"]["locked"]
    assert f'explain_unanswered_steps("{name}")' in setup.source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_answer_cell_names_the_answer_of_its_own_step(name):
    """So that its placeholder, still there, says which step is not done yet."""
    release = nbformat.read(REPOSITORY_ROOT / "exercises" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    step_of = step_of_each_cell(release)
    for cell in release.cells:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "code" and meta.get("solution"):
            assert steps.STUB_LINE in cell.source, meta["grade_id"]
            answer = steps.answer_named_in(name, cell.source)
            assert answer is not None, meta["grade_id"]
            assert steps.STEPS[name][answer].number == step_of[meta["grade_id"]], meta["grade_id"]
            assert steps.stub_message(name, cell.source).startswith(
                f"Step {step_of[meta['grade_id']]} is not"
            )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_run_all_goes_on_past_every_cell_that_can_stop_it(name):
    """JupyterLab's Run All stops at the first error, except after a cell tagged raises-exception."""
    release = nbformat.read(REPOSITORY_ROOT / "exercises" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    for cell in release.cells:
        meta = cell.metadata["nbgrader"]
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            assert "raises-exception" in cell.metadata.get("tags", []), meta["grade_id"]
        elif cell.cell_type == "code":  # the setup cell: if it fails, nothing after it can work
            assert "raises-exception" not in cell.metadata.get("tags", []), meta["grade_id"]


def test_a_name_that_is_not_an_answer_keeps_pythons_message():
    assert steps.missing_answer("2_gru8", "modle") is None
    assert steps.missing_answer_again("2_gru8", "modle") is None
    with pytest.raises(ValueError, match="unknown exercise notebook 'gru8'"):
        steps.missing_answer("gru8", "model")


# ---------------------------------------------------------------- in a real IPython shell


def run_in_ipython(cells):
    """Run ``cells`` in a fresh IPython shell in a subprocess; returns what it printed."""
    program = textwrap.dedent(
        """
        import sys
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        for cell in sys.argv[1:]:
            shell.run_cell(cell, store_history=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program, *cells],
        capture_output=True,
        text=True,
        timeout=120,
        env=nbgrader_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def flat(text):
    """``text`` with every run of whitespace as one space (the sentences are wrapped)."""
    return " ".join(text.split())


def test_ipython_shows_one_sentence_for_a_missing_answer_and_keeps_other_tracebacks():
    printed = run_in_ipython(
        [
            'from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("2_gru8")',
            "print(model)",
            "# YOUR CODE HERE\nraise NotImplementedError()",
            "print(modle)",
            "1 / 0",
        ]
    )
    assert steps.missing_answer("2_gru8", "model") in flat(printed)
    assert steps.STUB_NOT_REPLACED in flat(printed)
    assert "Traceback" in printed
    assert "NameError: name 'modle' is not defined" in printed
    assert "ZeroDivisionError" in printed
    assert printed.count("Traceback") == 2, printed  # only the typo and the division


def test_a_placeholder_names_its_step_and_the_checks_below_it_say_so_in_short():
    printed = flat(
        run_in_ipython(
            [
                'from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("2_gru8")',
                "# YOUR CODE HERE\nraise NotImplementedError()\nprint(f'trained in {trained.seconds:.1f} s')",
                "print(trained)",
            ]
        )
    )
    assert printed.count(steps.stub_message("2_gru8", "print(trained)")) == 1, printed
    assert steps.stub_message("2_gru8", "trained").startswith("Step 2 is not done yet: train `model`")
    assert printed.count(steps.missing_answer_again("2_gru8", "trained")) == 1, printed
    assert steps.missing_answer("2_gru8", "trained") not in printed
    assert "Traceback" not in printed


def test_a_step_is_explained_in_full_once_and_in_short_at_the_other_cells_that_miss_it():
    printed = flat(
        run_in_ipython(
            [
                'from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("2_gru8")',
                "print(model)",
                "model.summary()",
                "print(trained)",
                "print(model.layers)",
            ]
        )
    )
    assert printed.count(steps.missing_answer("2_gru8", "model")) == 1, printed
    assert printed.count(steps.missing_answer_again("2_gru8", "model")) == 2, printed
    assert printed.count(steps.missing_answer("2_gru8", "trained")) == 1, printed
    assert printed.index(steps.missing_answer("2_gru8", "model")) < printed.index(
        steps.missing_answer_again("2_gru8", "model")
    )


def test_in_a_real_kernel_running_the_first_cell_again_shows_the_full_sentence_again():
    """JupyterLab's kernel names a cell's file after its code: the same cell is the same file."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=nbgrader_environment())
    try:

        def displayed(code):
            errors = []
            client.execute_interactive(
                code,
                timeout=60,
                output_hook=lambda message: errors.extend(
                    message["content"]["traceback"] if message["msg_type"] == "error" else []
                ),
            )
            return flat(" ".join(errors))

        displayed('from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("2_gru8")')
        full, again = steps.missing_answer("2_gru8", "model"), steps.missing_answer_again("2_gru8", "model")
        shown = [displayed(code) for code in ("print(model)", "model.summary()", "print(model)")]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert shown == [full, again, full]


@pytest.mark.slow  # an IPython process that loads Keras
def test_a_failed_check_shows_its_exact_message_without_the_traceback():
    printed = run_in_ipython(
        [
            'from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("1_gates")',
            'from autograder.checks import check_gates\ncheck_gates({"forget", "input"}, "LSTM")',
        ]
    )
    assert "Expected the LSTM's 3 gates (any case and order), found forget and input." in flat(printed)
    assert "Traceback" not in printed
    assert "AssertionError" not in printed
    assert "checks.py" not in printed


@pytest.mark.slow  # an IPython process that loads Keras
def test_a_model_never_trained_reads_as_the_training_step_not_done():
    printed = flat(
        run_in_ipython(
            [
                'from autograder.steps import explain_unanswered_steps\nexplain_unanswered_steps("2_gru8")',
                "import rnn_forecast, keras\nfrom rnn_forecast.models import build_model\n"
                "model = build_model(keras.layers.GRU(8))",
                "from autograder.checks import check_trained\ncheck_trained(model)",
            ]
        )
    )
    assert steps.missing_answer("2_gru8", "trained") in printed, printed
    assert "Traceback" not in printed


# ---------------------------------------------------------------- nbgrader validate, as a student runs it


def validate(notebook_path):
    result = subprocess.run(
        [str(REPOSITORY_ROOT / ".venv" / "bin" / "nbgrader"), "validate", notebook_path.name],
        cwd=notebook_path.parent,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def the_errors(report):
    """What nbgrader validate printed under each "The error was:"."""
    return [block.split("\n\n")[0] for block in report.split("The error was:\n\n")[1:]]


def wrapped(sentence):
    """``sentence`` as nbgrader validate prints an error: wrapped, each line indented by 4."""
    return "\n".join("    " + line for line in textwrap.wrap(sentence, steps.WIDTH))


@pytest.mark.slow
def test_validate_names_each_unanswered_step_in_plain_sentences(tmp_path):
    untouched = tmp_path / "2_gru8.ipynb"
    untouched.write_bytes((REPOSITORY_ROOT / "exercises" / ASSIGNMENT / "2_gru8.ipynb").read_bytes())
    report = validate(untouched)
    errors = the_errors(report)
    # Four checks read `model`, one reads `gru8_rmse`; the answer cells above them (which
    # validate does not list) said what to put there, so each check says it in short.
    model_again, rmse_again = (
        wrapped(steps.missing_answer_again("2_gru8", name)) for name in ("model", "gru8_rmse")
    )
    assert errors == [model_again] * 4 + [rmse_again, "    You did not provide a response."], report
    assert "Traceback" not in report
    assert "NameError" not in report


@pytest.mark.slow
def test_validate_on_a_half_done_notebook_names_the_steps_still_open(tmp_path):
    notebook = nbformat.read(REPOSITORY_ROOT / "exercises" / ASSIGNMENT / "2_gru8.ipynb", as_version=4)
    build = next(c for c in notebook.cells if c.metadata["nbgrader"]["grade_id"] == "ex2_build_answer")
    build.source = build.source.replace(
        "# YOUR CODE HERE\nraise NotImplementedError()", "model = build_model(keras.layers.GRU(8))"
    )
    half_done = tmp_path / "2_gru8.ipynb"
    nbformat.write(notebook, half_done)
    report = validate(half_done)
    assert "VALIDATION FAILED ON 3 CELL(S)!" in report, report
    assert the_errors(report) == [
        wrapped(steps.missing_answer("2_gru8", "trained")),
        wrapped(steps.missing_answer_again("2_gru8", "gru8_rmse")),
        "    You did not provide a response.",
    ], report
    assert "Traceback" not in report
    assert "Step 1" not in report
