"""The code the lessons show inline behaves like the course package (and like Keras).

A lesson writes some code out for teaching: windows by hand, the autoregression and the Keras
training of the comparison, the LSTM and GRU steps in NumPy, the adding problem. These tests
take that code from the committed notebook itself (the code cell whose first line is a
``# lesson code:`` marker) and run it, so a lesson cannot drift away from the package it teaches.
Also checked here: the lessons' structure that the course promises (goals, reproducibility,
summary, links to the exercises, executed and free of errors and stderr).
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

import rnn_forecast
from rnn_forecast.notebooks import LESSONS_DIR, lesson_notebooks


def lesson(name: str) -> nbformat.NotebookNode:
    return nbformat.read(LESSONS_DIR / name, as_version=4)


def inline_code(notebook: str, marker: str, namespace: dict | None = None) -> dict:
    """Execute the one code cell that starts with ``# lesson code: <marker>``; return its names."""
    cells = [
        cell.source
        for cell in lesson(notebook).cells
        if cell.cell_type == "code" and cell.source.startswith(f"# lesson code: {marker}\n")
    ]
    assert len(cells) == 1, f"{notebook}: expected one cell marked '# lesson code: {marker}'"
    namespace = dict(namespace or {})
    exec(compile(cells[0], f"{notebook}:{marker}", "exec"), namespace)
    return namespace


# ---------------------------------------------------------------- lesson 3: windows


@pytest.mark.parametrize("window", [1, 3, 12])
def test_windows_by_hand_equal_make_windows(window):
    windows_by_hand = inline_code("03_sp500_comparison.ipynb", "windows_by_hand", {"np": np})[
        "windows_by_hand"
    ]
    values = np.random.default_rng(window).uniform(10, 20, size=40)
    x, y = rnn_forecast.make_windows(values, window)
    x_hand, y_hand = windows_by_hand(values, window)
    assert x_hand.shape == x.shape
    assert y_hand.shape == y.shape
    assert np.array_equal(x_hand, x)
    assert np.array_equal(y_hand, y)


def test_windows_by_hand_on_the_course_data(series):
    windows_by_hand = inline_code("03_sp500_comparison.ipynb", "windows_by_hand", {"np": np})[
        "windows_by_hand"
    ]
    close = series["close"].to_numpy()
    x_hand, y_hand = windows_by_hand(close)
    x, y = rnn_forecast.make_windows(close)
    assert np.array_equal(x_hand, x)
    assert np.array_equal(y_hand, y)


# ---------------------------------------------------------------- lesson 3: the autoregression


def test_autoregression_by_hand_equals_the_package(split):
    from rnn_forecast.autoregression import fit_autoregression

    code = inline_code("03_sp500_comparison.ipynb", "autoregression_by_hand", {"np": np})
    a, b = code["fit_autoregression_by_hand"](split.x_train, split.y_train)
    package = fit_autoregression(split.x_train, split.y_train)
    assert (a, b) == pytest.approx((package.intercept, package.coefficients[0]), abs=1e-12)
    np.testing.assert_allclose(
        code["autoregression_by_hand"](split.x_test, a, b), package.forecast(split.x_test), rtol=1e-12
    )


# ---------------------------------------------------------------- lesson 3: the model in Keras


def keras_forecaster():
    import math

    from rnn_forecast.training_record import epoch_orders

    import keras

    return inline_code(
        "03_sp500_comparison.ipynb",
        "keras_forecaster",
        {"keras": keras, "math": math, "epoch_orders": epoch_orders},
    )


def unnamed(config: dict) -> dict:
    return {key: value for key, value in config.items() if key != "name"}


@pytest.mark.parametrize("cell", ["SimpleRNN", "GRU", "LSTM"])
def test_keras_forecaster_builds_the_package_model(cell):
    from rnn_forecast.models import CELLS, build_model

    import keras

    ours = keras_forecaster()["build_forecaster"](CELLS[cell](32))
    theirs = build_model(CELLS[cell](32))
    assert [type(layer) for layer in ours.layers] == [type(layer) for layer in theirs.layers]
    assert [unnamed(layer.get_config()) for layer in ours.layers] == [
        unnamed(layer.get_config()) for layer in theirs.layers
    ]
    assert ours.input_shape == theirs.input_shape == (None, 12, 1)
    assert type(ours.optimizer) is type(theirs.optimizer) is keras.optimizers.Adam
    assert unnamed(ours.optimizer.get_config()) == unnamed(theirs.optimizer.get_config())
    assert ours.loss == theirs.loss == "mse"


@pytest.mark.slow  # trains each cell twice, up to eight epochs
@pytest.mark.parametrize("cell", ["SimpleRNN", "GRU", "LSTM"])
def test_the_lessons_plain_keras_fit_and_fit_together_train_the_same_model(cell, split):
    """Lesson 3 trains seed 0 with model.fit and EarlyStopping; the other seeds come from fit_together.

    Same seed, same windows, same validation windows: the same epochs run, the same epoch kept,
    the same weights.
    """
    from rnn_forecast.branches import fit_together
    from rnn_forecast.models import CELLS, build_model, set_seed

    lesson = keras_forecaster()
    lesson["MAX_EPOCHS"], lesson["PATIENCE"] = 8, 2
    train = rnn_forecast.to_scale_free(split.x_train[:601], split.y_train[:601])
    validation = rnn_forecast.to_scale_free(split.x_train[601:], split.y_train[601:])
    set_seed(4)
    plain, history = lesson["train_forecaster"](
        CELLS[cell](32), train.x, train.y, seed=4, validation=(validation.x, validation.y)
    )
    set_seed(4)
    member = build_model(CELLS[cell](32))
    together = fit_together(
        [member], train.x, train.y, seeds=[4], epochs=8, validation=(validation.x, validation.y), patience=2
    )
    assert together.epochs_run[0] == len(history.history["loss"])
    assert together.best_epochs[0] == int(np.argmin(history.history["val_loss"])) + 1
    for mine, package in zip(plain.get_weights(), member.get_weights(), strict=True):
        np.testing.assert_allclose(mine, package, atol=1e-6)


@pytest.mark.slow  # trains a SimpleRNN twice on raw prices
def test_the_lessons_raw_price_fit_is_the_one_fit_together_trains(split):
    """Without validation data the lesson's fit runs every epoch, as fit_together does (the raw-price controls)."""
    from rnn_forecast.branches import fit_together
    from rnn_forecast.models import build_model, set_seed

    import keras

    lesson = keras_forecaster()
    lesson["MAX_EPOCHS"] = 3
    set_seed(0)
    plain, history = lesson["train_forecaster"](
        keras.layers.SimpleRNN(32), split.x_train, split.y_train, seed=0
    )
    set_seed(0)
    member = build_model(keras.layers.SimpleRNN(32))
    fit_together([member], split.x_train, split.y_train, seeds=[0], epochs=3)
    assert len(history.history["loss"]) == 3
    for mine, package in zip(plain.get_weights(), member.get_weights(), strict=True):
        np.testing.assert_allclose(mine, package, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- lesson 2: NumPy cells


def randomised_layer(layer, steps, features, seed):
    import keras

    model = keras.Sequential([keras.Input((steps, features)), layer])
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    return model, layer.get_weights()


@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 3), (5, 2, 7)])
def test_numpy_lstm_step_reproduces_keras(units, features, steps):
    import keras

    code = inline_code("02_gated_cells.ipynb", "lstm_step")
    model, weights = randomised_layer(keras.layers.LSTM(units, return_sequences=True), steps, features, units)
    x = np.random.default_rng(1).normal(size=(4, steps, features)).astype("float32")
    ours = code["lstm_sequence"](x.astype("float64"), *weights)
    assert np.abs(ours - model(x).numpy()).max() < 1e-5


@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 3), (5, 2, 7)])
def test_numpy_gru_step_reproduces_keras_and_the_swapped_blend_does_not(units, features, steps):
    import keras

    code = inline_code("02_gated_cells.ipynb", "gru_step")
    model, weights = randomised_layer(keras.layers.GRU(units, return_sequences=True), steps, features, units)
    x = np.random.default_rng(1).normal(size=(4, steps, features)).astype("float32")
    keras_output = model(x).numpy()
    assert np.abs(code["gru_sequence"](x.astype("float64"), *weights) - keras_output).max() < 1e-5
    swapped = code["gru_sequence"](x.astype("float64"), *weights, keras_blend=False)
    assert np.abs(swapped - keras_output).max() > 1e-3


# ---------------------------------------------------------------- lesson 1: BPTT by hand


@pytest.mark.parametrize(("units", "features", "steps"), [(1, 1, 3), (6, 2, 20)])
def test_simple_rnn_bptt_by_hand_equals_the_package_gradients(units, features, steps):
    """Lesson 1's two-loop BPTT gives rnn_forecast.gradients' numbers.

    tests/test_gradients.py checks those against Keras."""
    from rnn_forecast.gradients import CellWeights, input_gradients

    by_hand = inline_code("01_why_rnns_forget.ipynb", "simple_rnn_bptt")["simple_rnn_input_gradients"]
    rng = np.random.default_rng(units)
    weights = CellWeights(
        "SimpleRNN",
        rng.normal(size=(features, units)),
        rng.normal(scale=0.4, size=(units, units)),
        rng.normal(size=units),
        rng.normal(size=units),
    )
    x = rng.normal(size=(4, steps, features))
    ours = by_hand(x, weights.kernel, weights.recurrent_kernel, weights.bias, weights.readout)
    assert ours.shape == x.shape
    assert np.allclose(ours, input_gradients(weights, x), rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- lesson 4: adding problem


def test_adding_problem_has_two_markers_one_per_half_and_sums_them():
    adding_problem = inline_code("04_where_gates_win.ipynb", "adding_problem", {"np": np})["adding_problem"]
    x, y = adding_problem(300, 50, np.random.default_rng(0))
    assert x.shape == (300, 50, 2)
    assert y.shape == (300,)
    assert x.dtype == np.float32
    values, markers = x[..., 0], x[..., 1]
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:, :25].sum(axis=1) == 1).all()
    assert (markers[:, 25:].sum(axis=1) == 1).all()
    assert ((values >= 0) & (values < 1)).all()
    assert np.allclose(y, (values * markers).sum(axis=1))


@pytest.mark.parametrize("steps", [7, 50])
def test_adding_problem_in_the_lesson_is_the_packages(steps):
    """Lesson 4 trains on its own copy; the memory-horizon experiment on the package's: the same data."""
    from rnn_forecast import adding

    adding_problem = inline_code("04_where_gates_win.ipynb", "adding_problem", {"np": np})["adding_problem"]
    ours = adding_problem(200, steps, np.random.default_rng(steps))
    theirs = adding.adding_problem(200, steps, np.random.default_rng(steps))
    for mine, package in zip(ours, theirs, strict=True):
        assert mine.dtype == package.dtype
        np.testing.assert_array_equal(mine, package)


@pytest.mark.parametrize("cell", ["SimpleRNN", "GRU", "LSTM"])
def test_adding_model_in_the_lesson_is_the_packages(cell):
    from rnn_forecast import adding
    from rnn_forecast.models import CELLS, set_seed

    import keras

    adding_model = inline_code("04_where_gates_win.ipynb", "adding_model", {"keras": keras})["adding_model"]
    set_seed(1)
    ours = adding_model(CELLS[cell](32), 20)
    set_seed(1)
    theirs = adding.build_adding_model(cell, 20)
    assert [unnamed(layer.get_config()) for layer in ours.layers] == [
        unnamed(layer.get_config()) for layer in theirs.layers
    ]
    for mine, package in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, package)
    assert unnamed(ours.optimizer.get_config()) == unnamed(theirs.optimizer.get_config())
    assert ours.loss == theirs.loss == "mse"


# ---------------------------------------------------------------- every lesson


@pytest.fixture(params=[path.name for path in lesson_notebooks(LESSONS_DIR)])
def notebook(request):
    return request.param, lesson(request.param)


def test_there_are_four_lessons():
    assert [path.name[:3] for path in lesson_notebooks(LESSONS_DIR)] == ["01_", "02_", "03_", "04_"]


def test_lesson_structure(notebook):
    name, nb = notebook
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "**Learning goals.**" in nb.cells[0].source, f"{name}: learning goals first"
    assert "## Summary" in markdown, f"{name}: no summary"
    assert "](../exercises/)" in markdown, f"{name}: no link to the exercises"
    setup = next(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert setup.startswith("import rnn_forecast"), f"{name}: rnn_forecast must be imported first"
    assert "set_seed(" in setup
    assert "__version__" in setup


def test_lessons_are_stored_executed_without_errors_or_stderr(notebook):
    name, nb = notebook
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{name}, cell {index}: not executed"
        for output in cell.outputs:
            assert output.output_type != "error", f"{name}, cell {index}: stored error"
            assert output.get("name") != "stderr", f"{name}, cell {index}: stored stderr"
            assert "WARNING" not in output.get("text", ""), f"{name}, cell {index}: stored warning"


def test_lessons_start_models_with_keras_input_never_input_shape(notebook):
    name, nb = notebook
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "input_shape" not in code, name
    assert all(
        re.search(r"keras\.Input\(", block) for block in re.findall(r"keras\.Sequential\(\[[^\]]*", code)
    )


def test_lesson_links_point_to_existing_lessons(notebook):
    name, nb = notebook
    markdown = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for target in re.findall(r"\]\(([0-9][0-9]_[a-z0-9_]+\.ipynb)\)", markdown):
        assert (LESSONS_DIR / target).is_file(), f"{name} links to missing {target}"


@pytest.mark.slow  # trains a GRU twice, three epochs at 50 steps
def test_the_training_in_plain_view_is_the_experiments_training():
    """Lesson 4's plain model.fit loop trains exactly as adding.train_alone (and so the scripts) does."""
    from rnn_forecast import adding
    from rnn_forecast.models import set_seed
    from rnn_forecast.training_record import epoch_orders

    import keras

    adding_model = inline_code("04_where_gates_win.ipynb", "adding_model", {"keras": keras})["adding_model"]
    x_train, y_train = adding.adding_problem(80, 50, np.random.default_rng(0))
    x_test, y_test = adding.adding_problem(40, 50, np.random.default_rng(1))
    lesson = inline_code(
        "04_where_gates_win.ipynb",
        "train_in_plain_view",
        {
            "np": np,
            "keras": keras,
            "set_seed": set_seed,
            "epoch_orders": epoch_orders,
            "adding_model": adding_model,
            "x_train": x_train,
            "y_train": y_train,
            "x_test": x_test,
            "y_test": y_test,
            "print": lambda *args: None,
        },
    )
    model, curve = adding.train_alone("GRU", 0, x_train, y_train, x_test, y_test, epochs=3)
    for mine, package in zip(lesson["gru"].get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, package)
    np.testing.assert_allclose(lesson["plain_view_curve"], curve, rtol=1e-5)
