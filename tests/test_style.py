"""The course's figure styles: every line that can stand beside a cell's is told apart from it."""

import itertools

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from rnn_forecast.style import STYLES, style

CELLS = ("SimpleRNN", "GRU", "LSTM")
#: Smallest colour difference (CIE 1976 Delta E, in CIELAB) the lessons' figures allow between a cell
#: and any other line. The Okabe-Ito orange and vermillion, which a reader of lesson 3 took for one
#: colour, are 33 apart; the three cells' colours are at least 70 apart.
APART = 40


def cielab(color: str) -> np.ndarray:
    """L*, a*, b* of a matplotlib colour (sRGB, D65 white)."""
    rgb = np.array(to_rgb(color))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def distance(first: str, second: str) -> float:
    return float(np.linalg.norm(cielab(STYLES[first]["color"]) - cielab(STYLES[second]["color"])))


def test_the_colour_difference_separates_the_orange_from_the_vermillion():
    assert np.allclose(cielab("#ffffff"), [100, 0, 0], atol=0.05)  # white: L* 100, no hue
    assert float(np.linalg.norm(cielab("#E69F00") - cielab("#D55E00"))) < APART


@pytest.mark.parametrize("cell", CELLS)
def test_no_other_line_has_a_colour_close_to_a_cells(cell):
    # "recent marker" and "autoregression" share one colour on purpose; a cell shares with no one.
    for other in STYLES:
        if other != cell:
            assert distance(cell, other) > APART, (cell, other)


def test_each_cell_has_its_own_marker_and_line_style():
    for first, second in itertools.combinations(CELLS, 2):
        assert STYLES[first]["marker"] != STYLES[second]["marker"]
        assert STYLES[first]["linestyle"] != STYLES[second]["linestyle"]


def test_an_unknown_name_and_a_shade_out_of_range_say_what_to_choose():
    with pytest.raises(ValueError, match="choose one of SimpleRNN, GRU"):
        style("RNN")
    with pytest.raises(ValueError, match="between -1"):
        style("GRU", shade=2)
