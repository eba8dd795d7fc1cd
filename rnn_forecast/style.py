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
    # The linear autoregression on last month's return (lesson 3): like lesson 4's "recent
    # marker", a baseline that remembers only the most recent thing, hence the same colour.
    "autoregression": {"color": "#D55E00", "linestyle": (0, (3, 1, 1, 1)), "marker": "d"},
    "truth": {"color": "black", "linestyle": "-", "marker": None},
    # Answers that need no model: the mean of the targets, and (adding problem, lesson 4)
    # remembering only the recent marked value; the highest training target (lesson 3). The
    # recent-value line is a dark wine, not the palette's vermillion, which beside the
    # SimpleRNN's orange reads as a second orange.
    "mean": {"color": "black", "linestyle": "--", "marker": None},
    "recent marker": {"color": "#882255", "linestyle": (0, (3, 1, 1, 1, 1, 1)), "marker": None},
    "training maximum": {"color": "#999999", "linestyle": ":", "marker": None},
}

#: Model or baseline name -> its colour alone (bars, shaded spreads).
COLORS = {name: style["color"] for name, style in STYLES.items()}


def style(name: str, *, markevery=None, shade: float = 0.0) -> dict:
    """Keyword arguments for ``plt.plot`` of the model or baseline ``name``.

    ``markevery`` thins the markers on long lines (``None`` draws one per point; matplotlib
    also takes ``(start, every)``, which lets two lines put their markers at different places).
    ``shade`` draws one setting of a sweep over the same model (for example three sizes of
    its recurrent matrix) in a lighter (negative, -1 is white) or darker (positive, 1 is
    black) tone of the model's colour, so the sweep still reads as that model.

    >>> style("GRU")["color"]
    '#0072B2'
    >>> style("GRU", shade=0.5)["color"], style("GRU", shade=-0.5)["color"]
    ('#003959', '#80b8d8')
    """
    try:
        keywords = dict(STYLES[name])
    except KeyError:
        raise ValueError(f"no style for {name!r}; choose one of {', '.join(STYLES)}") from None
    if not -1 <= shade <= 1:
        raise ValueError(f"shade must lie between -1 (white) and 1 (black), not {shade}")
    if shade:
        keywords["color"] = _mix(keywords["color"], "#000000" if shade > 0 else "#ffffff", abs(shade))
    if markevery is not None:
        keywords["markevery"] = markevery
    return keywords


def reference_style(name: str) -> dict:
    """A thin dotted line in the colour of ``name``, without markers.

    For a prediction drawn beside a model's measured line (for example the gate value
    raised to the power k beside a measured gradient profile).

    >>> reference_style("LSTM")["color"], reference_style("LSTM")["marker"]
    ('#009E73', None)
    """
    return {"color": style(name)["color"], "linestyle": (0, (1, 1.5)), "linewidth": 1.8, "marker": None}


def _mix(color: str, other: str, weight: float) -> str:
    """``color`` moved a fraction ``weight`` of the way towards ``other`` (both '#rrggbb')."""
    mixed = [
        round(int(color[i : i + 2], 16) * (1 - weight) + int(other[i : i + 2], 16) * weight)
        for i in (1, 3, 5)
    ]
    return "#" + "".join(f"{channel:02x}" for channel in mixed)
