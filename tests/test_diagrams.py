"""rnn_forecast.diagrams: each cell is drawn with its gates labelled, and readably.

The lessons show these figures next to the equations; a diagram that lost a gate, used a
symbol the equations do not, or printed one label over another would teach the wrong
thing or be unreadable, so the tests check exactly that on the drawn figure.
"""

from __future__ import annotations

import itertools

import pytest
from matplotlib.figure import Figure

from rnn_forecast import diagrams
from rnn_forecast.style import COLORS

# gid -> the symbol the lessons' equations use (lesson 2, Keras's conventions)
EXPECTED = {
    "SimpleRNN": {
        "layers": {"layer:h"},
        "ops": set(),
        "labels": {"label:h_prev": "$h_{t-1}$", "label:h_t": "$h_t$", "label:x_t": "$x_t$"},
    },
    "LSTM": {
        "layers": {"gate:f", "gate:i", "gate:o", "layer:c"},
        "ops": {"op:forget", "op:add", "op:write", "op:tanh", "op:show"},
        "labels": {
            "label:f_t": "$f_t$",
            "label:i_t": "$i_t$",
            "label:o_t": "$o_t$",
            "label:c_tilde": r"$\tilde c_t$",
            "label:c_prev": "$c_{t-1}$",
            "label:c_t": "$c_t$",
            "label:h_prev": "$h_{t-1}$",
            "label:h_t": "$h_t$",
            "label:x_t": "$x_t$",
        },
    },
    "GRU": {
        "layers": {"gate:z", "gate:r", "layer:u", "layer:h"},
        "ops": {"op:keep", "op:add", "op:one_minus", "op:reset", "op:write"},
        "labels": {
            "label:z_t": "$z_t$",
            "label:r_t": "$r_t$",
            "label:one_minus_z": "$1 - z_t$",
            "label:h_tilde": r"$\tilde h_t$",
            "label:h_prev": "$h_{t-1}$",
            "label:h_t": "$h_t$",
            "label:x_t": "$x_t$",
        },
    },
}


def drawn(figure: Figure):
    figure.canvas.draw()
    ax = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    texts = {text.get_gid(): text for text in ax.texts}
    patches = {patch.get_gid(): patch for patch in ax.patches}
    return ax, renderer, texts, patches


@pytest.mark.parametrize("cell", list(EXPECTED))
def test_each_cell_is_drawn_with_its_gates_operations_and_symbols(cell):
    figure = diagrams.draw_cell(cell)
    assert isinstance(figure, Figure)
    _, _, texts, patches = drawn(figure)
    expected = EXPECTED[cell]
    boxes = {gid for gid in patches if gid and gid.split(":")[0] in ("gate", "layer")}
    operations = {gid for gid in patches if gid and gid.startswith("op:")}
    assert boxes == expected["layers"]
    assert operations == expected["ops"]
    for gid, symbol in expected["labels"].items():
        assert texts[gid].get_text() == symbol, gid
    assert texts["title"].get_text() == cell
    assert patches["frame"].get_edgecolor()[:3] == pytest.approx(
        tuple(int(COLORS[cell][i : i + 2], 16) / 255 for i in (1, 3, 5))
    )


def test_gates_are_sigmoid_layers_and_candidates_tanh():
    for cell, gates in {"LSTM": "fio", "GRU": "zr"}.items():
        _, _, texts, _ = drawn(diagrams.draw_cell(cell))
        for gate in gates:
            assert texts[f"gate:{gate}:activation"].get_text() == "σ"
        candidate = "layer:c" if cell == "LSTM" else "layer:h"
        assert texts[f"{candidate}:activation"].get_text() == "tanh"


@pytest.mark.parametrize("cell", list(EXPECTED))
def test_no_text_overlaps_another_or_a_box_and_all_stay_inside(cell):
    figure = diagrams.draw_cell(cell)
    _ax, renderer, texts, patches = drawn(figure)
    extents = {gid: text.get_window_extent(renderer) for gid, text in texts.items()}
    for (first, a), (second, b) in itertools.combinations(extents.items(), 2):
        if first.startswith(second + ":") or second.startswith(first + ":"):
            continue  # a box's own activation and name, or an operation's own symbol
        if first.split(":")[:2] == second.split(":")[:2] and first.startswith(
            ("gate:", "layer:", "op:", "legend:")
        ):
            continue  # two texts of the same box
        assert not a.overlaps(b), f"{cell}: '{first}' overlaps '{second}'"
    figure_box = figure.bbox
    for gid, extent in extents.items():
        assert figure_box.x0 <= extent.x0 <= extent.x1 <= figure_box.x1, f"{cell}: '{gid}' leaves the figure"
        assert figure_box.y0 <= extent.y0 <= extent.y1 <= figure_box.y1, f"{cell}: '{gid}' leaves the figure"
    shapes = {
        gid: patch.get_window_extent(renderer)
        for gid, patch in patches.items()
        if gid and gid.startswith(("gate:", "layer:", "op:"))
    }
    for gid, extent in extents.items():
        if gid.startswith(("label:", "note:", "title")):
            for shape, box in shapes.items():
                assert not extent.overlaps(box), f"{cell}: label '{gid}' lies on '{shape}'"


def test_unknown_cell_gets_a_clear_error():
    with pytest.raises(ValueError, match="choose one of SimpleRNN, LSTM, GRU"):
        diagrams.draw_cell("Transformer")


def test_gru_candidate_reads_x_directly_and_the_old_state_only_through_the_reset_gate():
    """Keras's reset_after=True: h~ = tanh(W_h x_t + b_h + r_t * (U_h h_{t-1} + b'_h)).

    The candidate's tanh is fed by x_t and by the reset product, never by the line that
    carries h_{t-1}; the linear layer reads h_{t-1} alone; the gates read both.
    """
    figure = diagrams.draw_cell("GRU")
    ax, _, texts, _ = drawn(figure)
    feeds = {}
    for artist in [*ax.lines, *ax.patches]:
        gid = artist.get_gid() or ""
        if gid.startswith("feed:"):
            _, kind, box, sources = gid.split(":")
            feeds.setdefault(f"{kind}:{box}", set()).update(sources.split(","))
    assert feeds == {
        "layer:h": {"x_t", "reset"},
        "layer:u": {"h_prev"},
        "gate:z": {"x_t", "h_prev"},
        "gate:r": {"x_t", "h_prev"},
    }
    lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    from_x = lines["feed:layer:h:x_t"].get_xydata()
    from_h = lines["feed:layer:u:h_prev"].get_xydata()
    boxes = [patch for patch in ax.patches if (patch.get_gid() or "").startswith(("gate:", "layer:"))]
    # The candidate's feed starts at x_t, under every box; the linear layer's at the state
    # line, above every box.
    assert from_x[0][0] == pytest.approx(texts["label:x_t"].get_position()[0])
    assert from_x[0][1] < min(box.get_y() for box in boxes)
    assert from_h[0][1] > max(box.get_y() + box.get_height() for box in boxes)
    # The two lines never share a height: h_{t-1} and x_t are not merged into one bus.
    assert not set(from_x[1:, 1].round(6)) & set(from_h[1:, 1].round(6))
