"""The claims the lessons' prose makes in words hold on what the lessons compute.

A lesson says "the GRU's gradient falls faster than the LSTM's" or "every GRU seed ends below a
tenth of the recent-value baseline". Such claims used to be printed as True/False lines in the
notebooks; they are maintainers' checks, not teaching, so they live here. Each test reads what
the lesson itself shows: the printed tables of its stored outputs (which nbval keeps equal to a
fresh run), or the results files it loads (``results/*.json``), or, for lesson 4's trained
models, the same package functions on the same saved models and test sequences. When a rerun or
a new results file changes the numbers, the test names the sentence that needs rewriting.
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

from rnn_forecast import adding
from rnn_forecast.horizon_probes import PROBES_PATH, find_runs, load_probes
from rnn_forecast.memory_horizon import RESULTS_PATH, load_results, load_saved_model, sequences
from rnn_forecast.notebooks import LESSONS_DIR


def printed(notebook: str, first_line: str) -> str:
    """The text printed by the code cell of ``notebook`` whose source starts with ``first_line``."""
    nb = nbformat.read(LESSONS_DIR / notebook, as_version=4)
    (cell,) = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.startswith(first_line)]
    return "".join(output.get("text", "") for output in cell.outputs)


def table(text: str, header: str) -> dict[str, list[str]]:
    """The rows after the line containing ``header``: first column -> the other columns."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if header in line) + 1
    rows = {}
    for line in lines[start:]:
        if not line.strip():
            break
        name, *values = re.split(r"\s{2,}", line.strip())
        rows[name] = values
    return rows


# ---------------------------------------------------------------- lesson 1

LESSON_1 = "01_why_rnns_forget.ipynb"


@pytest.fixture(scope="module")
def rates():
    rows = table(printed(LESSON_1, "GATE_VALUE = {"), "gate value")
    return {
        name: [None if value in ("no gate", "none") else float(value) for value in row]
        for name, row in rows.items()
    }


def test_lesson_1_the_gate_value_predicts_the_additive_path_and_all_paths_fall_more_slowly(rates):
    for cell in ("GRU", "LSTM"):
        gate, additive, measured = rates[cell]
        assert abs(additive - gate) <= 0.02, cell
        assert measured > additive + 0.05, cell
    assert rates["GRU"][2] < rates["LSTM"][2]  # the GRU's falls faster, as the gate values say
    assert rates["SimpleRNN"][2] > max(rates["GRU"][2], rates["LSTM"][2])  # the SimpleRNN's slowest


def test_lesson_1_the_gap_to_the_gate_value_line_is_many_orders_of_magnitude_at_k_99():
    text = printed(LESSON_1, "for name in GATE_VALUE:\n    line = ")
    gaps = dict(re.findall(r"(GRU|LSTM): .*: ([0-9.]+) orders of magnitude apart", text))
    assert float(gaps["GRU"]) > 5
    assert float(gaps["LSTM"]) > 3


def profile_ratios(text: str) -> dict[str, float]:
    return {name: float(row[-1]) for name, row in table(text, "distance k").items()}


def test_lesson_1_untrained_no_cell_passes_a_gradient_back_100_steps():
    ratios = profile_ratios(printed(LESSON_1, 'CELLS = {"SimpleRNN"'))
    assert set(ratios) == {"SimpleRNN", "GRU", "LSTM"}
    assert all(ratio < 1e-4 for ratio in ratios.values())


def test_lesson_1_open_gates_keep_the_gradient_and_the_gain_moves_it_between_vanishing_and_exploding():
    ratios = profile_ratios(printed(LESSON_1, "OPEN = 3.0"))
    default = profile_ratios(printed(LESSON_1, 'CELLS = {"SimpleRNN"'))["SimpleRNN"]
    assert 1e-2 < ratios["GRU, update gate open"] < 1e2
    assert 1e-2 < ratios["LSTM, forget gate open"] < 1e2
    assert ratios["LSTM, forget gate open"] > 1  # grows towards the start
    assert ratios["SimpleRNN, gain 1"] == default
    assert ratios["SimpleRNN, gain 0.5"] < default
    assert ratios["SimpleRNN, gain 2"] > 1e3


@pytest.fixture(scope="module")
def clipping():
    text = printed(LESSON_1, "rng = np.random.default_rng(SEED)\nx_toy")
    rows = {}
    for line in text.splitlines():
        match = re.match(r"\s*(\d+)\s+(none|clipnorm=1|global_clipnorm=1)\s+(.*)$", line)
        if match:
            rows[float(match.group(1)), match.group(2)] = [float(value) for value in match.group(3).split()]
    assert len(rows) == 6
    return rows  # |weights|, |gradient|, |step|, cosine, loss before, loss after


def test_lesson_1_clipping_tames_the_explosion_and_keeps_or_changes_the_direction(clipping):
    assert clipping[2.0, "none"][1] > 1e5 * clipping[1.0, "none"][1]
    assert clipping[2.0, "none"][2] > 1e3 * clipping[2.0, "none"][0]
    assert clipping[2.0, "none"][5] > clipping[2.0, "none"][4]  # the loss gets worse
    for kind in ("clipnorm=1", "global_clipnorm=1"):
        *_, before, after = clipping[2.0, kind]
        assert abs(after / before - 1) < 0.1
    assert clipping[2.0, "clipnorm=1"][5] < clipping[2.0, "clipnorm=1"][4]  # a little better
    assert clipping[2.0, "global_clipnorm=1"][5] > clipping[2.0, "global_clipnorm=1"][4]  # a little worse
    for gain in (1.0, 2.0):
        assert clipping[gain, "global_clipnorm=1"][3] >= 0.9995
        assert clipping[gain, "clipnorm=1"][3] < 0.99
        assert clipping[gain, "global_clipnorm=1"][2] <= 0.01 * (1 + 1e-5)
        assert clipping[gain, "clipnorm=1"][2] <= 0.01 * np.sqrt(5)


def test_lesson_1_clipping_at_1_throws_away_most_of_a_healthy_steps_progress(clipping):
    _, norm, full_step, _, before, after = clipping[1.0, "none"]
    assert norm > 10  # the threshold 1 is far below the gradient's ordinary size
    for kind in ("clipnorm=1", "global_clipnorm=1"):
        _, _, step, _, _, clipped_after = clipping[1.0, kind]
        assert step < 0.15 * full_step  # a small part of the step
        assert before - clipped_after < 0.2 * (before - after)  # most of the progress lost
    text = printed(LESSON_1, "rng = np.random.default_rng(SEED)\nx_toy")
    fractions = dict(re.findall(r"(clipnorm=1|global_clipnorm=1) ([0-9.]+)", text.splitlines()[-1]))
    assert set(fractions) == {"clipnorm=1", "global_clipnorm=1"}
    for kind, fraction in fractions.items():
        assert float(fraction) == pytest.approx(clipping[1.0, kind][2] / full_step, abs=0.01), kind
    assert float(fractions["clipnorm=1"]) > 1.5 * float(fractions["global_clipnorm=1"])  # 0.11 against 0.06


# ---------------------------------------------------------------- lesson 2


def test_lesson_2_the_lstm_keeps_and_writes_independently_though_rarely_and_the_gru_never():
    text = printed("02_gated_cells.ipynb", "def previous_states(hidden):")
    rows = {
        cell: [float(value) for value in values]
        for cell, *values in re.findall(
            r"(LSTM|GRU): .*keep > 0.7 and write > 0.7 in (\d+)%, both < 0.3 in (\d+)%; "
            r"max \|keep \+ write - 1\| = ([0-9.]+)",
            text,
        )
    }
    both_open, both_shut, off_line = rows["LSTM"]
    assert 0 < both_open < 20  # the corners occur, but sparsely: "spread over the square", not "fill" it
    assert 0 < both_shut < 20
    assert off_line > 0.5
    assert rows["GRU"] == [0, 0, 0]


# ---------------------------------------------------------------- lesson 4: the memory-horizon file


@pytest.fixture(scope="module")
def horizon():
    results = load_results(RESULTS_PATH)
    finals = {
        (cell, entry["steps"]): np.array(
            [entry["test_mse"][cell][str(seed)][-1] for seed in results["settings"]["seeds"]]
        )
        for entry in results["results"]
        for cell in results["settings"]["cells"]
    }
    baselines = {entry["steps"]: entry["baselines"] for entry in results["results"]}
    return results, finals, baselines


def first_epoch_below(curve, level):
    below = np.flatnonzero(np.asarray(curve, dtype=float) < level)
    return int(below[0]) + 1 if below.size else None


def test_lesson_4_the_gru_learns_every_length_and_the_lstm_up_to_100_steps(horizon):
    _, finals, baselines = horizon
    for steps, baseline in baselines.items():
        assert (finals["GRU", steps] < baseline["recent marker"] / 10).all(), steps
        if steps <= 100:
            assert np.median(finals["LSTM", steps]) < baseline["recent marker"] / 10, steps
    assert (finals["LSTM", 200] > baselines[200]["recent marker"]).all()


def test_lesson_4_the_baseline_of_always_answering_1_is_a_low_draw_on_the_test_sequences():
    x_train, y_train, _, y_test = sequences(adding.STEPS)
    squared = (y_test - 1.0) ** 2
    standard_error = squared.std() / np.sqrt(len(squared))
    assert 2 < (1 / 6 - squared.mean()) / standard_error < 3.5  # "2.6 standard errors below"
    assert abs(adding.baselines(x_train, y_train)["mean"] - 1 / 6) < 0.001  # the 2,500 training sequences


def test_lesson_4_at_10_steps_every_simple_rnn_seed_learns_and_at_200_every_lstm_seed_sits_at_the_mean(
    horizon,
):
    _, finals, baselines = horizon
    assert finals["SimpleRNN", 10].max() < baselines[10]["recent marker"] / 4  # the highest, 0.017
    assert (np.abs(finals["LSTM", 200] / baselines[200]["mean"] - 1) < 0.03).all()


def test_lesson_4_with_the_experiments_training_the_simple_rnn_learns_10_steps_and_not_25_or_more(horizon):
    _, finals, baselines = horizon
    assert (finals["SimpleRNN", 10] < baselines[10]["recent marker"]).all()
    for steps in (25, 50, 100, 200):
        assert abs(np.median(finals["SimpleRNN", steps]) / baselines[steps]["mean"] - 1) < 0.1, steps
    # ... but one seed at 25 steps got below the recent-value baseline: not a wall of memory
    assert (finals["SimpleRNN", 25] < baselines[25]["recent marker"]).sum() == 1


def test_lesson_4_the_plateau_sits_at_the_mean_and_the_lstms_is_the_longer_at_every_length(horizon):
    results = horizon[0]
    for entry in results["results"]:
        steps, recent = entry["steps"], entry["baselines"]["recent marker"]
        gru = [
            first_epoch_below(entry["test_mse"]["GRU"][str(seed)], recent / 10)
            for seed in results["settings"]["seeds"]
        ]
        lstm = [
            first_epoch_below(entry["test_mse"]["LSTM"][str(seed)], recent / 10)
            for seed in results["settings"]["seeds"]
        ]
        assert None not in gru, steps
        lstm_escaped = [epoch for epoch in lstm if epoch is not None]
        assert not lstm_escaped or min(lstm_escaped) > np.median(gru), steps
        for seed in map(str, results["settings"]["seeds"]) if steps >= 25 else []:  # at 10: one epoch
            curve = np.array(entry["test_mse"]["LSTM"][seed], dtype=float)
            plateau = curve[: (first_epoch_below(curve, recent) or len(curve) + 1) - 1]
            assert abs(np.median(plateau) / entry["baselines"]["mean"] - 1) < 0.1, (steps, seed)


# ---------------------------------------------------------------- lesson 4: the trained models' gates


@pytest.fixture(scope="module")
def gates_at_50():
    from rnn_forecast.gates import gru_gates, lstm_gates

    _, _, x_test, y_test = sequences(adding.STEPS)
    marked = x_test[..., 1] == 1
    first, second = np.argmax(marked, axis=1), adding.STEPS - 1 - np.argmax(marked[:, ::-1], axis=1)
    t = np.arange(adding.STEPS)
    between = (t > first[:, None]) & (t < second[:, None])
    models = {cell: load_saved_model(cell) for cell in ("GRU", "LSTM")}

    def mse(cell, clamp=None):
        run = lstm_gates if cell == "LSTM" else gru_gates
        states = run(models[cell].layers[0], x_test, clamp=clamp, where=between)
        kernel, bias = models[cell].layers[1].get_weights()
        answer = states["hidden"][:, -1] @ kernel[:, 0] + bias[0]
        return float(np.mean((answer - y_test) ** 2))

    return {
        "mse": mse,
        "between": between,
        "marked": marked,
        "gap": second - first - 1,
        "baselines": adding.baselines(x_test, y_test),
        "lstm": lstm_gates(models["LSTM"].layers[0], x_test),
        "gru": gru_gates(models["GRU"].layers[0], x_test),
        "y": y_test,
    }


def answer_unit(final_states, y):
    return int(
        np.argmax([abs(np.corrcoef(final_states[:, unit], y)[0, 1]) for unit in range(final_states.shape[1])])
    )


def test_lesson_4_the_lstm_writes_at_the_marks_and_holds_with_its_forget_gate(gates_at_50):
    lstm, between = gates_at_50["lstm"], gates_at_50["between"]
    unit = answer_unit(lstm["cell"][:, -1], gates_at_50["y"])
    marked = gates_at_50["marked"]
    assert lstm["input"][..., unit][marked].mean() - lstm["input"][..., unit][between].mean() > 0.5
    assert lstm["forget"][..., unit][between].mean() > 0.99
    assert abs(np.corrcoef(lstm["cell"][:, -1, unit], gates_at_50["y"])[0, 1]) > 0.99


def test_lesson_4_the_grus_update_gate_alone_would_lose_most_of_the_value(gates_at_50):
    gru, between = gates_at_50["gru"], gates_at_50["between"]
    unit = answer_unit(gru["hidden"][:, -1], gates_at_50["y"])
    z = gru["update"][..., unit][between].mean()
    assert z < 0.97
    assert z ** np.median(gates_at_50["gap"]) < 0.5


def test_lesson_4_clamping_shows_what_holds_the_value(gates_at_50):
    mse, baselines = gates_at_50["mse"], gates_at_50["baselines"]
    for cell, replace in (("GRU", {"update": 0.0}), ("LSTM", {"forget": 0.0})):
        trained = mse(cell)
        assert trained < baselines["recent marker"] / 100, cell
        assert mse(cell, replace) > baselines["recent marker"], cell  # the value is lost
    hold = {"GRU": {"update": 1.0}, "LSTM": {"forget": 1.0, "input": 0.0}}
    for cell, clamp in hold.items():
        held = mse(cell, clamp)
        assert mse(cell) < held < baselines["recent marker"] / 5, cell  # a perfect hold works, less well
    blind = mse("GRU", {"reset": 0.0})
    assert blind > 100 * mse("GRU")  # the candidate must see the old state


# ---------------------------------------------------------------- lesson 4: the horizon probes


@pytest.fixture(scope="module")
def probes():
    return load_probes(PROBES_PATH)


def finals_of(run) -> np.ndarray:
    return np.array([curve[-1] for curve in run["test_mse"].values()], dtype=float)


def test_lesson_4_clipping_does_not_rescue_the_simple_rnn_and_a_smaller_learning_rate_does(probes):
    for steps in (25, 50):
        for clip in (None, 1.0):
            (fast,) = find_runs(probes, probe="simple_rnn", steps=steps, learning_rate=1e-2, clipnorm=clip)
            (slow,) = find_runs(probes, probe="simple_rnn", steps=steps, learning_rate=1e-3, clipnorm=clip)
            recent = fast["baselines"]["recent marker"]
            assert (finals_of(fast) > recent).all(), (steps, clip)  # 0.01: none learns, clipped or not
            assert (finals_of(slow) < recent).sum() >= (5 if steps == 25 else 4), (steps, clip)
            assert (finals_of(slow) > recent / 10).all(), (steps, clip)  # ... but none gets near the GRU


def test_lesson_4_at_rate_0_001_the_simple_rnn_is_still_improving_when_training_stops(probes):
    for run in find_runs(probes, probe="simple_rnn", learning_rate=1e-3):
        median_curve = np.nanmedian(np.array(list(run["test_mse"].values()), dtype=float), axis=0)
        assert np.argmin(median_curve) == len(median_curve) - 1, (run["steps"], run["clipnorm"])
        assert median_curve[-1] < 0.8 * median_curve[-11], (run["steps"], run["clipnorm"])  # still falling


def test_lesson_2_on_lesson_4s_task_both_cells_learn_every_length_and_the_gru_in_fewer_epochs(
    probes, horizon
):
    """Lesson 2, section 6: "both cells learnt every length tried, and the GRU learnt each in fewer epochs"."""
    results = horizon[0]
    (longer,) = find_runs(probes, probe="lstm_epochs")
    for entry in results["results"]:
        recent = entry["baselines"]["recent marker"]
        gru = [first_epoch_below(curve, recent / 10) for curve in entry["test_mse"]["GRU"].values()]
        lstm_curves = longer["test_mse"] if entry["steps"] == longer["steps"] else entry["test_mse"]["LSTM"]
        lstm = [first_epoch_below(curve, recent / 10) for curve in lstm_curves.values()]
        assert None not in gru, entry["steps"]
        assert None not in lstm, entry["steps"]
        assert np.median(gru) < np.median(lstm), entry["steps"]  # fewer epochs, by the medians


def test_lesson_4_with_more_epochs_every_lstm_seed_learns_200_steps(probes):
    (longer,) = find_runs(probes, probe="lstm_epochs")
    recent = longer["baselines"]["recent marker"]
    escapes = [first_epoch_below(curve, recent / 10) for curve in longer["test_mse"].values()]
    assert None not in escapes
    assert min(escapes) > 20  # none within the experiment's 20 epochs
    assert (finals_of(longer) < recent / 10).all()


def test_lesson_4_untrained_the_lstms_gradient_reaches_further_back_than_the_grus():
    text = printed("04_where_gates_win.ipynb", "x_long, _ = adding_problem(")
    factor = {
        cell: float(value)
        for cell, value in re.findall(r"(GRU|LSTM), untrained: .*factor per step ([0-9.]+)", text)
    }
    assert factor["LSTM"] > factor["GRU"] + 0.1


def test_lesson_4_a_smaller_learning_rate_slows_both_cells_learning_and_the_gru_stays_ahead(probes, horizon):
    results = horizon[0]
    at_100 = next(entry for entry in results["results"] if entry["steps"] == 100)
    recent = at_100["baselines"]["recent marker"]
    median_escape = {}
    for cell in ("GRU", "LSTM"):
        median_escape[cell, 1e-2] = np.median(
            [first_epoch_below(curve, recent / 10) for curve in at_100["test_mse"][cell].values()]
        )
        for rate in (3e-3, 1e-3):
            (run,) = find_runs(probes, probe="learning_rate", cell=cell, learning_rate=rate)
            escapes = [first_epoch_below(curve, recent / 10) for curve in run["test_mse"].values()]
            median_escape[cell, rate] = np.inf if None in escapes else np.median(escapes)
    for rate in (1e-2, 3e-3, 1e-3):
        assert median_escape["GRU", rate] < median_escape["LSTM", rate], rate
    for cell in ("GRU", "LSTM"):
        assert median_escape[cell, 1e-2] < median_escape[cell, 3e-3] < median_escape[cell, 1e-3], cell


# ---------------------------------------------------------------- lessons 2 and 4: the second review


def test_lesson_2_the_lstm_learnt_the_longest_length_only_with_three_times_the_epochs(probes, horizon):
    """Lesson 2, section 6: "the LSTM only when trained for three times as many epochs at the longest length"."""
    results, _, baselines = horizon
    longest = max(results["settings"]["lengths"])
    (longer,) = find_runs(probes, probe="lstm_epochs")
    assert longer["steps"] == longest
    assert longer["epochs"] == 3 * results["settings"]["epochs"]
    at_longest = next(entry for entry in results["results"] if entry["steps"] == longest)
    recent = baselines[longest]["recent marker"]
    for cell, learnt in (("LSTM", False), ("GRU", True)):
        escapes = [first_epoch_below(curve, recent / 10) for curve in at_longest["test_mse"][cell].values()]
        assert all((escape is not None) == learnt for escape in escapes), cell


def simple_rnn_at_0_01(probes, horizon, steps):
    """The SimpleRNN's curves at learning rate 0.01 without clipping: per seed (file, probe rerun), and the run."""
    in_file = next(entry for entry in horizon[0]["results"] if entry["steps"] == steps)["test_mse"][
        "SimpleRNN"
    ]
    (rerun,) = find_runs(probes, probe="simple_rnn", steps=steps, learning_rate=1e-2, clipnorm=None)
    curves = {
        seed: (np.array(curve, dtype=float), np.array(rerun["test_mse"][seed], dtype=float))
        for seed, curve in in_file.items()
    }
    return curves, rerun


def test_lesson_4_at_rate_0_01_the_simple_rnns_rerun_follows_the_file_at_first_then_changes_two_outcomes(
    probes, horizon
):
    """Lesson 4, section 6: "first strays more than 0.001 from the file's at epoch 7 to 18"; "for two seeds the
    outcome changes (seed 3 at 25 steps, seed 0 at 50 steps); the other eight end within 0.02 of the file's"."""
    changed = set()
    for steps in (25, 50):
        curves, _ = simple_rnn_at_0_01(probes, horizon, steps)
        for seed, (in_file, rerun) in curves.items():
            gap = abs(rerun[len(in_file) - 1] - in_file[-1])  # after the file's 20 epochs
            if gap > 0.05:
                changed.add((steps, seed))
            else:
                assert gap < 0.02, (steps, seed)
    assert changed == {(25, "3"), (50, "0")}
    for steps in (25, 50):
        curves, _ = simple_rnn_at_0_01(probes, horizon, steps)
        for seed, (in_file, rerun) in curves.items():
            assert np.abs(rerun[:5] - in_file[:5]).max() < 1e-4, (
                steps,
                seed,
            )  # the same computation at first
            apart = np.flatnonzero(np.abs(rerun[: len(in_file)] - in_file) > 1e-3)
            assert apart.size, (steps, seed)  # ... then drifts apart
            assert 7 <= apart[0] + 1 <= 18, (steps, seed)


def test_lesson_4_the_simple_rnns_one_success_at_rate_0_01_is_fragile(probes, horizon):
    """Lesson 4, section 6: the seed at 0.029 "is at 0.161 after the same 20 epochs here, and its lowest in 40
    epochs is 0.120"; seed 0 at 50 steps "0.238 in the file ..., is at 0.155"."""
    curves, rerun = simple_rnn_at_0_01(probes, horizon, 25)
    recent, mean = rerun["baselines"]["recent marker"], rerun["baselines"]["mean"]
    (lucky,) = [seed for seed, (in_file, _) in curves.items() if in_file[-1] < recent]
    in_file, again = curves[lucky]
    assert in_file[-1] < recent / 2  # 0.029
    assert again[len(in_file) - 1] > (recent + mean) / 2  # 0.161, near always answering 1.0
    assert np.nanmin(again) > recent  # in 40 epochs, never below the recent-value baseline
    curves, _ = simple_rnn_at_0_01(probes, horizon, 50)
    in_file, again = curves["0"]
    assert in_file[-1] - again[len(in_file) - 1] > 0.05  # 0.238 against 0.155


def test_lesson_4_at_rate_0_001_clipping_gets_the_simple_rnn_below_the_recent_baseline_a_few_epochs_sooner(
    probes,
):
    """Lesson 4, section 6 and the summary: at 0.001 clipping "speeds learning up by a few epochs"."""
    gains = []
    for steps in (25, 50):
        firsts = {}
        for clip in (None, 1.0):
            (run,) = find_runs(probes, probe="simple_rnn", steps=steps, learning_rate=1e-3, clipnorm=clip)
            recent = run["baselines"]["recent marker"]
            firsts[clip] = [first_epoch_below(curve, recent) for curve in run["test_mse"].values()]
        both = [
            (plain, clipped)
            for plain, clipped in zip(firsts[None], firsts[1.0], strict=True)
            if plain and clipped
        ]
        earlier = sum(clipped < plain for plain, clipped in both)
        assert earlier >= len(both) - 1, steps  # "most seeds where both runs get there"
        gains += [plain - clipped for plain, clipped in both]
    assert 1 <= np.median(gains) <= 6  # a few epochs
    median_at_30 = {}
    for clip in (None, 1.0):
        (run,) = find_runs(probes, probe="simple_rnn", steps=50, learning_rate=1e-3, clipnorm=clip)
        median_at_30[clip] = np.nanmedian(np.array(list(run["test_mse"].values()), dtype=float), axis=0)[29]
    assert (
        median_at_30[1.0] < 0.75 * median_at_30[None]
    )  # 50 steps, epoch 30: 0.082 with clipping, 0.131 without


def test_lesson_4_at_10_steps_the_simple_rnn_learns_most_of_the_task_but_not_every_seed(horizon):
    """Lesson 4, section 5: "learns most of the task at 10 steps ... three of five below a tenth of it"."""
    _, finals, baselines = horizon
    learnt = (finals["SimpleRNN", 10] < baselines[10]["recent marker"] / 10).sum()
    assert len(finals["SimpleRNN", 10]) / 2 < learnt < len(finals["SimpleRNN", 10])


def test_lesson_4_at_50_steps_a_gated_cell_learns_the_length_soon_after_its_plateau_ends(horizon):
    """Lesson 4, section 6: the epoch a model learns the length "comes 0 to 3 epochs after the plateau ends"."""
    results = horizon[0]
    entry = next(entry for entry in results["results"] if entry["steps"] == adding.STEPS)
    recent = entry["baselines"]["recent marker"]
    for cell in ("GRU", "LSTM"):
        for seed, curve in entry["test_mse"][cell].items():
            plateau_end = first_epoch_below(curve, recent)
            learnt = first_epoch_below(curve, recent / 10)
            assert 0 <= learnt - plateau_end <= 3, (cell, seed)


def test_lesson_4_forgetting_takes_the_lstm_most_of_the_way_to_always_answering_1(gates_at_50):
    """Lesson 4, section 7: f = 0 gives 0.1231, "most of the way to always answering 1.0, 0.146"."""
    mse, mean = gates_at_50["mse"], gates_at_50["baselines"]["mean"]
    trained, forgotten = mse("LSTM"), mse("LSTM", {"forget": 0.0})
    assert 0.75 < (forgotten - trained) / (mean - trained) < 1
