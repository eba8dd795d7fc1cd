"""The three recurrent cells drawn as data-flow diagrams, in Keras's conventions.

Lessons 1 and 2 show these figures beside the equations, so the symbols are the lessons'
own: the LSTM's gates i, f, o and candidate c~ (Keras's block order i, f, c, o), the GRU's
update gate z (z = 1 keeps the old state, as in Keras) and reset gate r applied after the
recurrent product (``reset_after=True``). Each box is a layer reading x_t and h_{t-1}
(``W x_t + U h_{t-1} + b``, then its activation); each circle is an element-wise operation.
The state line of each cell is drawn thick in the cell's course colour (``style.COLORS``):
for the LSTM and the GRU it is the additive path along which the old state is only
multiplied by a gate.

Every text and box carries a ``gid`` (``"gate:f"``, ``"label:c_t"``, ...), so tests can
find them without reading pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnn_forecast.style import COLORS

WIRE = "#333333"
GATE_FILL = "#FFF1C1"  # sigmoid layers: the gates
LAYER_FILL = "#DDEBF7"  # tanh and linear layers: what is computed, not how much passes
OP_FILL = "white"
OP_RADIUS = 0.3
SCALE = 0.72  # inches per diagram unit


@dataclass(frozen=True)
class Box:
    """A layer: centre, width and height in diagram units."""

    x: float
    y: float
    width: float = 1.1
    height: float = 0.95

    @property
    def top(self):
        return self.x, self.y + self.height / 2

    @property
    def bottom(self):
        return self.x, self.y - self.height / 2

    def left(self, y=None):
        return self.x - self.width / 2, self.y if y is None else y

    def right(self, y=None):
        return self.x + self.width / 2, self.y if y is None else y


@dataclass(frozen=True)
class Op:
    """An element-wise operation (a circle)."""

    x: float
    y: float

    def side(self, towards):
        """The point of the circle's rim facing ``towards`` (an axis-aligned neighbour)."""
        dx, dy = towards[0] - self.x, towards[1] - self.y
        if abs(dx) >= abs(dy):
            return self.x + OP_RADIUS * (1 if dx > 0 else -1), self.y
        return self.x, self.y + OP_RADIUS * (1 if dy > 0 else -1)


class Diagram:
    """A matplotlib figure in diagram units (x to the right, y up), with drawing helpers."""

    def __init__(self, width: float, height: float, title: str, color: str):
        self.figure = Figure(figsize=(width * SCALE, height * SCALE), layout=None)
        FigureCanvasAgg(self.figure)  # measures text for the legend
        self.ax = self.figure.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_aspect("equal")
        self.ax.axis("off")
        self.color = color
        self.text(width / 2, height - 0.45, title, "title", size=14, weight="bold")

    def text(self, x, y, text, gid, size=13, ha="center", va="center", **options):
        return self.ax.text(x, y, text, ha=ha, va=va, fontsize=size, gid=gid, zorder=6, **options)

    def path_note(self, x, y, text):
        """The grey sentence over the cell that names the path the gradient travels."""
        return self.text(x, y, text, "note:path", size=11, color="#333333")

    def cell_frame(self, x0, y0, x1, y1):
        self.ax.add_patch(
            FancyBboxPatch(
                (x0, y0),
                x1 - x0,
                y1 - y0,
                boxstyle="round,pad=0,rounding_size=0.35",
                facecolor="#F7F7F7",
                edgecolor=self.color,
                linewidth=2,
                zorder=0,
                gid="frame",
            )
        )

    def box(self, box: Box, gid: str, gate: bool):
        self.ax.add_patch(
            FancyBboxPatch(
                (box.x - box.width / 2, box.y - box.height / 2),
                box.width,
                box.height,
                boxstyle="round,pad=0,rounding_size=0.12",
                facecolor=GATE_FILL if gate else LAYER_FILL,
                edgecolor=WIRE,
                linewidth=1.3,
                zorder=4,
                gid=gid,
            )
        )

    def layer(self, box: Box, activation: str, name: str, gid: str, gate: bool):
        self.box(box, gid, gate)
        self.text(box.x, box.y + 0.13, activation, f"{gid}:activation", size=14)
        self.text(box.x, box.y - 0.25, name, f"{gid}:name", size=9, color="#333333")

    def op(self, op: Op, symbol: str, gid: str):
        self.ax.add_patch(
            Circle(
                (op.x, op.y), OP_RADIUS, facecolor=OP_FILL, edgecolor=WIRE, linewidth=1.3, zorder=4, gid=gid
            )
        )
        size = {"×": 17, "+": 17}.get(symbol, 10)
        self.text(op.x, op.y - (0.02 if symbol in "×+" else 0), symbol, f"{gid}:symbol", size=size)

    def wire(self, *points, arrow=True, state=False, gid=None):
        """A polyline through ``points``, with an arrowhead at the last point.

        ``gid`` (``"feed:<box>:<what it carries>"``) names a wire into a box, for the tests.
        """
        color, width = (self.color, 3.2) if state else (WIRE, 1.4)
        xs, ys = zip(*points, strict=True)
        if len(points) > 2:
            self.ax.plot(
                xs[:-1],
                ys[:-1],
                color=color,
                linewidth=width,
                solid_capstyle="butt",
                solid_joinstyle="miter",
                zorder=2,
                gid=gid,
            )
        self.ax.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>" if arrow else "-",
                mutation_scale=14 if state else 11,
                color=color,
                linewidth=width,
                shrinkA=0,
                shrinkB=0,
                zorder=3,
                capstyle="butt",
                gid=gid,
            )
        )

    def state_line(self, y, first: Op, second: Op, symbols, gids):
        """The thick state line across the cell, through two operations on it."""
        self.wire((0.3, y), first.side((0, y)), state=True)
        self.wire(first.side((99, y)), second.side((0, y)), state=True)
        self.wire(second.side((99, y)), (self.ax.get_xlim()[1], y), state=True)
        for op, symbol, gid in zip((first, second), symbols, gids, strict=True):
            self.op(op, symbol, gid)

    def junction(self, x, y, state=False):
        self.ax.add_patch(Circle((x, y), 0.075, color=self.color if state else WIRE, zorder=5))

    def legend(self, rows):
        """Rows of (kind, glyph, words) under the cell, explaining the symbols; the first row lowest."""
        renderer = self.figure.canvas.get_renderer()
        to_data = self.ax.transData.inverted()
        for row, items in enumerate(rows):
            y, x = 0.4 + 0.75 * row, 0.5
            for kind, glyph, words in items:
                if kind == "op":
                    self.op(Op(x + OP_RADIUS, y), glyph, f"legend:{glyph}")
                    x += 2 * OP_RADIUS + 0.15
                else:
                    box = Box(x + 0.4, y, 0.8, 0.5)
                    self.box(box, f"legend:{glyph}", gate=kind == "gate")
                    self.text(box.x, box.y, glyph, f"legend:{glyph}:symbol", size=11)
                    x += box.width + 0.15
                label = self.text(x, y, words, f"legend:{glyph}:words", size=10, ha="left")
                extent = label.get_window_extent(renderer)
                x = to_data.transform((extent.x1, 0))[0] + 0.5


LEGEND_GATED = [
    [("op", "×", "element-wise product ⊙"), ("op", "+", "element-wise sum")],
    [
        ("gate", "σ", "gate: a layer with a sigmoid, so each value is in (0, 1)"),
        ("layer", "tanh", "a layer with a tanh"),
    ],
]


def draw_simple_rnn() -> Figure:
    """Keras's ``SimpleRNN``: h_t = tanh(W x_t + U h_{t-1} + b), nothing else."""
    d = Diagram(10.0, 7.0, "SimpleRNN", COLORS["SimpleRNN"])
    d.cell_frame(1.3, 1.9, 8.7, 5.95)
    bus_y = 2.7
    layer = Box(5.0, 3.75, 2.6, 0.95)
    d.layer(layer, "tanh", "$W x_t + U h_{t-1} + b$", "layer:h", gate=False)
    d.wire((0.3, bus_y), (layer.x, bus_y), layer.bottom, state=True)
    d.wire((2.8, 1.45), (2.8, bus_y), arrow=False)
    d.junction(2.8, bus_y)
    d.wire(layer.top, (layer.x, 4.85), (10.0, 4.85), state=True)
    d.text(0.75, bus_y + 0.35, "$h_{t-1}$", "label:h_prev")
    d.text(2.8, 1.2, "$x_t$", "label:x_t")
    d.text(9.5, 5.2, "$h_t$", "label:h_t")
    d.path_note(5.0, 5.55, "the only path from $h_{t-1}$ to $h_t$ goes through $U$ and tanh")
    d.legend([[("layer", "tanh", "a layer with a tanh")]])
    return d.figure


def draw_lstm() -> Figure:
    """Keras's ``LSTM``: gates i, f, o and candidate c~; c_t = f c_{t-1} + i c~, h_t = o tanh(c_t)."""
    d = Diagram(13.6, 9.2, "LSTM", COLORS["LSTM"])
    d.cell_frame(1.3, 2.6, 12.3, 8.1)
    state_y, bus_y, box_y = 7.2, 3.4, 4.55
    forget, add = Op(3.6, state_y), Op(7.0, state_y)
    f_box, i_box, c_box, o_box = Box(3.6, box_y), Box(5.2, box_y), Box(7.0, box_y), Box(8.8, box_y)
    write = Op(7.0, 6.0)
    squash, show = Op(10.6, 6.25), Op(10.6, 5.15)

    d.state_line(state_y, forget, add, "×+", ["op:forget", "op:add"])  # the cell state: the additive path
    # [h_{t-1}, x_t] to the four layers
    d.wire((0.3, bus_y), (o_box.x, bus_y), arrow=False)
    d.wire((2.3, 2.1), (2.3, bus_y), arrow=False)
    d.junction(2.3, bus_y)
    for box in (f_box, i_box, c_box, o_box):
        d.wire((box.x, bus_y), box.bottom)
        if box is not o_box:
            d.junction(box.x, bus_y)
    d.layer(f_box, "σ", "forget", "gate:f", gate=True)
    d.layer(i_box, "σ", "input", "gate:i", gate=True)
    d.layer(c_box, "tanh", "candidate", "layer:c", gate=False)
    d.layer(o_box, "σ", "output", "gate:o", gate=True)
    # what the gates multiply
    d.wire(f_box.top, forget.side(f_box.top))
    d.wire(i_box.top, (i_box.x, write.y), write.side((0, write.y)))
    d.wire(c_box.top, write.side(c_box.top))
    d.op(write, "×", "op:write")
    d.wire(write.side((write.x, 99)), add.side((write.x, 0)))
    # h_t = o_t * tanh(c_t)
    d.junction(squash.x, state_y, state=True)
    d.wire((squash.x, state_y), squash.side((squash.x, 99)))
    d.op(squash, "tanh", "op:tanh")
    d.wire(squash.side((squash.x, 0)), show.side((squash.x, 99)))
    d.wire(o_box.top, (o_box.x, show.y), show.side((0, show.y)))
    d.op(show, "×", "op:show")
    d.wire(show.side((show.x, 0)), (show.x, bus_y), (13.6, bus_y))

    d.text(0.75, state_y + 0.35, "$c_{t-1}$", "label:c_prev")
    d.text(13.1, state_y + 0.35, "$c_t$", "label:c_t")
    d.text(0.75, bus_y + 0.35, "$h_{t-1}$", "label:h_prev")
    d.text(13.1, bus_y + 0.35, "$h_t$", "label:h_t")
    d.text(2.3, 1.85, "$x_t$", "label:x_t")
    d.text(f_box.x + 0.25, 5.85, "$f_t$", "label:f_t", ha="left")
    d.text(i_box.x + 0.25, 5.45, "$i_t$", "label:i_t", ha="left")
    d.text(c_box.x + 0.25, 5.45, r"$\tilde c_t$", "label:c_tilde", ha="left")
    d.text(o_box.x + 0.25, 5.45, "$o_t$", "label:o_t", ha="left")
    d.path_note(6.8, 7.75, r"cell state $c_t = f_t \odot c_{t-1} + i_t \odot \tilde c_t$: the additive path")
    d.legend(LEGEND_GATED)
    return d.figure


def draw_gru() -> Figure:
    """Keras's ``GRU`` (reset_after=True): h_t = z h_{t-1} + (1 - z) h~, r acting after U_h.

    Unlike the LSTM's four layers, the GRU's do not all read both h_{t-1} and x_t: the gates
    do, the linear layer ``U_h h_{t-1} + b'_h`` reads h_{t-1} only, and the candidate's tanh
    reads x_t (``W_h x_t + b_h``) and h_{t-1} only through the reset gate's product. So
    h_{t-1} and x_t run on two lines, and each box is wired to the ones it reads.
    """
    d = Diagram(13.6, 9.35, "GRU", COLORS["GRU"])
    d.cell_frame(1.3, 2.6, 12.3, 8.25)
    state_y, h_line, x_line, box_y = 7.35, 3.6, 3.05, 4.45
    keep, add = Op(3.7, state_y), Op(9.7, state_y)
    z_box, r_box = Box(3.7, box_y, 1.1, 0.9), Box(5.3, box_y, 1.1, 0.9)
    u_box = Box(7.3, box_y, 2.0, 0.9)
    h_box = Box(9.7, 4.8, 1.2, 1.6)
    reset, flip, write = Op(7.3, 5.45), Op(6.0, 6.4), Op(9.7, 6.4)

    d.state_line(
        state_y, keep, add, "×+", ["op:keep", "op:add"]
    )  # the additive path: z_t keeps the old state
    # h_{t-1} goes down to its own line, read by the two gates and the linear layer
    d.junction(2.0, state_y, state=True)
    d.wire((2.0, state_y), (2.0, h_line), (u_box.x, h_line), u_box.bottom, gid="feed:layer:u:h_prev")
    # x_t has its own line, read by the two gates and the candidate
    d.wire((2.8, 2.1), (2.8, x_line), (h_box.x, x_line), h_box.bottom, gid="feed:layer:h:x_t")
    for box, gid in ((z_box, "gate:z"), (r_box, "gate:r")):
        d.wire((box.x, x_line), box.bottom, gid=f"feed:{gid}:x_t,h_prev")
        d.junction(box.x, x_line)
        d.junction(box.x, h_line)
    d.layer(z_box, "σ", "update", "gate:z", gate=True)
    d.layer(r_box, "σ", "reset", "gate:r", gate=True)
    d.layer(u_box, "linear", r"$U_h\,h_{t-1} + b'_h$", "layer:u", gate=False)
    d.layer(h_box, "tanh", "candidate", "layer:h", gate=False)
    # z_t keeps, 1 - z_t writes: one decision, tied
    d.wire(z_box.top, keep.side(z_box.top))
    d.junction(z_box.x, flip.y)
    d.wire((z_box.x, flip.y), flip.side((0, flip.y)))
    d.op(flip, "1−", "op:one_minus")
    d.wire(flip.side((99, flip.y)), write.side((0, flip.y)))
    # the reset gate scales the recurrent part of the candidate
    d.wire(r_box.top, (r_box.x, reset.y), reset.side((0, reset.y)))
    d.wire(u_box.top, reset.side(u_box.top))
    d.op(reset, "×", "op:reset")
    d.wire(reset.side((99, reset.y)), h_box.left(reset.y), gid="feed:layer:h:reset")
    d.wire(h_box.top, write.side(h_box.top))
    d.op(write, "×", "op:write")
    d.wire(write.side((write.x, 99)), add.side((write.x, 0)))

    d.text(0.75, state_y + 0.35, "$h_{t-1}$", "label:h_prev")
    d.text(13.1, state_y + 0.35, "$h_t$", "label:h_t")
    d.text(2.8, 1.85, "$x_t$", "label:x_t")
    d.text(z_box.x + 0.25, 5.45, "$z_t$", "label:z_t", ha="left")
    d.text(r_box.x + 0.25, 5.15, "$r_t$", "label:r_t", ha="left")
    d.text(7.85, 6.7, "$1 - z_t$", "label:one_minus_z", size=12)
    d.text(h_box.x + 0.35, 5.9, r"$\tilde h_t$", "label:h_tilde", ha="left")
    d.text(h_box.x + 0.15, x_line + 0.38, r"$W_h x_t + b_h$", "label:candidate_input", size=10, ha="left")
    d.path_note(6.8, 7.9, r"state $h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t$: the additive path")
    d.legend(
        [
            LEGEND_GATED[0] + [("op", "1−", "one minus, element-wise")],
            [LEGEND_GATED[1][0], ("layer", "tanh", "a layer with a tanh, or with none (linear)")],
        ]
    )
    return d.figure


DRAWINGS = {"SimpleRNN": draw_simple_rnn, "LSTM": draw_lstm, "GRU": draw_gru}


def draw_cell(cell: str) -> Figure:
    """The diagram of ``cell``: one of ``SimpleRNN``, ``GRU``, ``LSTM``."""
    try:
        return DRAWINGS[cell]()
    except KeyError:
        raise ValueError(f"no diagram for {cell!r}; choose one of {', '.join(DRAWINGS)}") from None
