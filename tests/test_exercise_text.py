"""What the exercise notebooks tell the student is what the grader and Keras do.

The figures a student is told to expect (the reference solution's test RMSE over the
calibration seeds, the naive forecast, the grader's bound) must be those in
``autograder/calibration.json``: after ``make calibrate`` this test names every sentence to
update. The parameter counts the text quotes are counted by Keras.
"""

import json
import math
import re

import nbformat
import pytest

from autograder.testkit.sample_class import ASSIGNMENT
from rnn_forecast.paths import REPOSITORY_ROOT

CALIBRATION = json.loads((REPOSITORY_ROOT / "autograder" / "calibration.json").read_text())
NUMBER_WORDS = {10: "ten"}

#: calibration exercise -> (notebook, the grade_ids of the cells that state its figures)
STATED_IN = {
    "gru8": ("2_gru8", "ex2_rmse_question", "ex2_hidden_intro"),
    "stacked_lstm": ("3_stacked_lstm", "ex3_rmse_question", "ex3_hidden_intro"),
}


def cell_text(folder, notebook, grade_id):
    cells = nbformat.read(REPOSITORY_ROOT / folder / ASSIGNMENT / f"{notebook}.ipynb", as_version=4).cells
    return " ".join(next(c.source for c in cells if c.metadata["nbgrader"]["grade_id"] == grade_id).split())


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
@pytest.mark.parametrize("exercise", sorted(STATED_IN))
def test_the_figures_a_student_is_told_to_expect_are_the_calibrations(folder, exercise):
    notebook, expectation_cell, bound_cell = STATED_IN[exercise]
    entry = CALIBRATION["exercises"][exercise]
    seeds = NUMBER_WORDS[len(CALIBRATION["seeds"])]
    expectation = cell_text(folder, notebook, expectation_cell)
    bound = cell_text(folder, notebook, bound_cell)
    required = {
        expectation_cell: [
            f"between {entry['min']:.1f} and {entry['max']:.1f} index points over {seeds} seeds "
            f"(median {entry['median']:.1f})",
            f"{entry['rmse_by_seed'][CALIBRATION['seeds'].index(0)]:.1f} with seed 0",
            f"scores {CALIBRATION['naive_rmse']:.1f}",
        ],
        bound_cell: [
            f"at most **{entry['max_rmse']:g} index points**",
            f"worst of the {seeds} reference runs ({entry['max']:.1f})",
        ],
    }
    for cell_id, fragments in required.items():
        text = expectation if cell_id == expectation_cell else bound
        for fragment in fragments:
            assert fragment in text, f"{folder}/{notebook} cell {cell_id} should say {fragment!r}: {text}"
    stated = set(re.findall(r"\d+\.\d", expectation + " " + bound)) - {"1.2"}  # 1.25, the rule's factor
    figures = {f"{entry[key]:.1f}" for key in ("min", "max", "median")}
    figures |= {f"{CALIBRATION['naive_rmse']:.1f}", f"{entry['rmse_by_seed'][0]:.1f}"}
    assert stated <= figures, (
        f"{folder}/{notebook} states figures not in calibration.json: {stated - figures}"
    )


@pytest.mark.parametrize("exercise", sorted(STATED_IN))
def test_the_bound_follows_the_rule_the_notebook_states(exercise):
    entry = CALIBRATION["exercises"][exercise]
    assert entry["max_rmse"] == math.ceil(1.25 * entry["max"] / 5) * 5
    # "one trained on raw prices, or not trained, scores more than a thousand index points"
    assert min(entry["controls"].values()) >= 1000


def test_the_parameter_counts_the_text_quotes_are_keras_counts():
    from rnn_forecast.models import build_model

    import keras

    layer = keras.layers.GRU(32)
    layer.build((None, 12, 1))
    counts = {
        "3,360": layer.count_params(),
        "425": build_model(keras.layers.GRU(8)).count_params(),
        "3,905": build_model(keras.layers.GRU(32)).count_params(),
        "7,777": build_model(
            keras.layers.LSTM(32, return_sequences=True), keras.layers.LSTM(16)
        ).count_params(),
        "4,897": build_model(keras.layers.LSTM(32)).count_params(),
    }
    for stated, counted in counts.items():
        assert int(stated.replace(",", "")) == counted, (stated, counted)
    quoted = {
        ("2_gru8", "ex2_intro"): "3,360 weights in its recurrent layer",
        ("2_gru8", "ex2_compare_answer"): "GRU(8) (425 parameters)",
        ("3_stacked_lstm", "ex3_compare_answer"): "The stack (7,777 parameters)",
    }
    for (notebook, cell_id), fragment in quoted.items():
        assert fragment in cell_text("solutions", notebook, cell_id), (notebook, cell_id, fragment)
    assert "GRU(32) (3,905 parameters)" in cell_text("solutions", "2_gru8", "ex2_compare_answer")
    assert "LSTM(32) (4,897 parameters)" in cell_text("solutions", "3_stacked_lstm", "ex3_compare_answer")
