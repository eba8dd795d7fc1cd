"""One look for every figure of the course: a fixed colour, line style and marker per model.

Every lesson plots SimpleRNN, GRU and LSTM with the same colour, so a student who has
learnt "blue is the GRU" in lesson 1 reads lesson 4 at a glance. The colours are the
Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), and each
model also has its own line style and marker, so no line hides under another and the
figures still read in grey print.
"""

from __future__ import annotations

#: Model or baseline name -> matplotlib keyword arguments for its line.
STYLES = {
    "SimpleRNN": {"color": "#E69F00", "linestyle": "-", "marker": "o"},
    "GRU": {"color": "#0072B2", "linestyle": "--", "marker": "s"},
    "LSTM": {"color": "#009E73", "linestyle": "-.", "marker": "^"},
    "naive": {"color": "#555555", "linestyle": ":", "marker": "x"},
    "drift": {"color": "#CC79A7", "linestyle": (0, (5, 2, 1, 2)), "marker": "+"},
    "truth": {"color": "black", "linestyle": "-", "marker": None},
    # Answers that need no model: the mean of the targets, and (adding problem, lesson 4)
    # remembering only the recent marked value; the highest training target (lesson 3).
    "mean": {"color": "black", "linestyle": "--", "marker": None},
    "recent marker": {"color": "#D55E00", "linestyle": (0, (3, 1, 1, 1, 1, 1)), "marker": None},
    "training maximum": {"color": "#999999", "linestyle": ":", "marker": None},
}

#: Model or baseline name -> its colour alone (bars, shaded spreads).
COLORS = {name: style["color"] for name, style in STYLES.items()}


def style(name: str, *, markevery: int | None = None) -> dict:
    """Keyword arguments for ``plt.plot`` of the model or baseline ``name``.

    ``markevery`` thins the markers on long lines (``None`` draws one per point).

    >>> style("GRU")["color"]
    '#0072B2'
    """
    try:
        keywords = dict(STYLES[name])
    except KeyError:
        raise ValueError(f"no style for {name!r}; choose one of {', '.join(STYLES)}") from None
    if markevery is not None:
        keywords["markevery"] = markevery
    return keywords
