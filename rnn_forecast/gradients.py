"""How strongly a recurrent network's last output depends on each input step, in NumPy.

Lesson 1 measures this "gradient profile" with ``tf.GradientTape`` on Keras layers. This
module computes the same numbers by backpropagation through time written out in NumPy, for
the same weights (``tests/test_gradients.py`` checks it against Keras), in a few
milliseconds: fast enough to redraw a figure while the student drags a slider.

Weights are in Keras's layout (``layer.get_weights()``): ``kernel`` ``(d, blocks * n)``,
``recurrent_kernel`` ``(n, blocks * n)`` and ``bias``, with the blocks in Keras's order
(LSTM: i, f, c, o; GRU with ``reset_after=True``: z, r, h and a bias of shape ``(2, 3n)``).
The network is ``recurrent layer -> Dense(1)``; only the dense kernel (the read-out
vector) matters for the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

CELLS = ("SimpleRNN", "GRU", "LSTM")

#: The gate whose value multiplies the old state at each step, and where its bias sits.
KEEP_GATES = {"GRU": "update gate z", "LSTM": "forget gate f"}

#: The bias Keras starts that gate at: zeros for the GRU, 1 for the LSTM (unit_forget_bias).
INITIAL_KEEP_BIAS = {"GRU": 0.0, "LSTM": 1.0}


def sigmoid(a):
    """The logistic function 1 / (1 + e^-a).

    >>> float(sigmoid(0.0)), round(float(sigmoid(1.0)), 3)
    (0.5, 0.731)
    """
    return 1 / (1 + np.exp(-a))


@dataclass(frozen=True)
class CellWeights:
    """One recurrent layer followed by ``Dense(1)``, as NumPy arrays in Keras's layout."""

    cell: str
    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray
    readout: np.ndarray  # the Dense(1) kernel as a vector of n numbers

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        blocks = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}[self.cell]
        units = self.recurrent_kernel.shape[0]
        if self.recurrent_kernel.shape != (units, blocks * units) or self.kernel.shape[1] != blocks * units:
            raise ValueError(
                f"{self.cell} weights of shapes {self.kernel.shape} and {self.recurrent_kernel.shape} are not "
                f"Keras's layout (d, {blocks}n) and (n, {blocks}n): pass layer.get_weights() of a {self.cell} layer"
            )

    @classmethod
    def from_keras(cls, model) -> CellWeights:
        """Read the weights of ``keras.Sequential([Input, <cell layer>, Dense(1)])``."""
        layer, dense = model.layers
        kernel, recurrent_kernel, bias = (w.astype("float64") for w in layer.get_weights())
        return cls(
            type(layer).__name__,
            kernel,
            recurrent_kernel,
            bias,
            dense.get_weights()[0][:, 0].astype("float64"),
        )

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]


def with_recurrent_scale(weights: CellWeights, scale: float) -> CellWeights:
    """The same cell with its recurrent matrix multiplied by ``scale``.

    Keras starts ``recurrent_kernel`` as a random orthogonal matrix (every singular value 1),
    so scaling it by ``g`` gives exactly what ``Orthogonal(gain=g)`` would have drawn with
    the same random numbers.
    """
    return replace(weights, recurrent_kernel=weights.recurrent_kernel * scale)


def with_keep_gate_bias(weights: CellWeights, bias: float) -> CellWeights:
    """The same gated cell with the bias of its keep gate (GRU: z, LSTM: f) set to ``bias``.

    For the GRU, whose bias has an input row and a recurrent row that Keras adds, the input
    row is set and the recurrent row zeroed, so the gate's total bias is ``bias``.
    """
    n = weights.units
    new_bias = weights.bias.copy()
    if weights.cell == "LSTM":
        new_bias[n : 2 * n] = bias  # blocks i, f, c, o
    elif weights.cell == "GRU":
        new_bias[0, :n] = bias  # blocks z, r, h; row 0 input bias, row 1 recurrent bias
        new_bias[1, :n] = 0.0
    else:
        raise ValueError(f"a {weights.cell} has no gate; choose a GRU or an LSTM")
    return replace(weights, bias=new_bias)


def input_gradients(weights: CellWeights, x: np.ndarray, additive_path_only: bool = False) -> np.ndarray:
    """d y_hat / d x_t for every sequence and step: an array shaped like ``x``.

    ``y_hat`` is the ``Dense(1)`` read-out of the last hidden state. One forward pass stores
    the states; one backward pass carries d y_hat / d h_t from the last step to the first,
    multiplying by one step's Jacobian at a time (backpropagation through time).

    ``additive_path_only`` (GRU and LSTM) keeps, between steps, only the gradient that runs
    along the additive path, where each step multiplies it by the keep gate (GRU: z_t on
    h_{t-1}; LSTM: f_t on c_{t-1}), and drops what flows back through the recurrent matrix.
    """
    x = np.asarray(x, dtype="float64")
    if x.ndim != 3 or x.shape[2] != weights.kernel.shape[0]:
        raise ValueError(f"x must have shape (batch, steps, {weights.kernel.shape[0]}), not {x.shape}")
    if weights.cell == "SimpleRNN":
        if additive_path_only:
            raise ValueError("a SimpleRNN has no additive path: every step goes through its recurrent matrix")
        return _simple_rnn(weights, x)
    return {"GRU": _gru, "LSTM": _lstm}[weights.cell](weights, x, additive_path_only)


def gradient_profile(weights: CellWeights, x: np.ndarray, additive_path_only: bool = False) -> np.ndarray:
    """RMS over the batch of |d y_hat / d x_{T-k}|, indexed by the distance k from the end."""
    gradient = input_gradients(weights, x, additive_path_only)
    return np.sqrt(np.mean(np.sum(gradient**2, axis=2), axis=0))[::-1]


def per_step_factor(profile: np.ndarray, start: int = 10) -> float:
    """The factor a for which profile[k] ~ C a^k fits best beyond ``start`` (least squares on logs)."""
    distance = np.arange(start, len(profile))
    slope = np.polyfit(distance, np.log(profile[start:]), 1)[0]
    return float(np.exp(slope))


# ------------------------------------------------------------------ one cell each, forward then back


def _simple_rnn(w: CellWeights, x):
    batch, steps, _ = x.shape
    h = np.zeros((batch, w.units))
    states = []
    for t in range(steps):
        h = np.tanh(x[:, t] @ w.kernel + h @ w.recurrent_kernel + w.bias)
        states.append(h)
    gradient = np.zeros_like(x)
    d_h = np.broadcast_to(w.readout, (batch, w.units))
    for t in reversed(range(steps)):
        d_pre = d_h * (1 - states[t] ** 2)  # through tanh
        gradient[:, t] = d_pre @ w.kernel.T
        d_h = d_pre @ w.recurrent_kernel.T  # one Jacobian diag(1 - h_t^2) U, transposed
    return gradient


def _gru(w: CellWeights, x, additive_path_only):
    batch, steps, _ = x.shape
    n = w.units
    h = np.zeros((batch, n))
    saved = []
    for t in range(steps):
        from_input = x[:, t] @ w.kernel + w.bias[0]
        from_state = h @ w.recurrent_kernel + w.bias[1]
        z = sigmoid(from_input[:, :n] + from_state[:, :n])
        r = sigmoid(from_input[:, n : 2 * n] + from_state[:, n : 2 * n])
        candidate = np.tanh(from_input[:, 2 * n :] + r * from_state[:, 2 * n :])
        saved.append((h, z, r, candidate, from_state[:, 2 * n :]))
        h = z * h + (1 - z) * candidate
    gradient = np.zeros_like(x)
    d_h = np.broadcast_to(w.readout, (batch, n))
    for t in reversed(range(steps)):
        h_prev, z, r, candidate, recurrent_part = saved[t]
        d_candidate_pre = d_h * (1 - z) * (1 - candidate**2)
        d_z_pre = d_h * (h_prev - candidate) * z * (1 - z)
        d_r_pre = d_candidate_pre * recurrent_part * r * (1 - r)
        gradient[:, t] = np.concatenate([d_z_pre, d_r_pre, d_candidate_pre], axis=1) @ w.kernel.T
        through_recurrent = (
            np.concatenate([d_z_pre, d_r_pre, d_candidate_pre * r], axis=1) @ w.recurrent_kernel.T
        )
        d_h = d_h * z if additive_path_only else d_h * z + through_recurrent
    return gradient


def _lstm(w: CellWeights, x, additive_path_only):
    batch, steps, _ = x.shape
    n = w.units
    h = np.zeros((batch, n))
    c = np.zeros((batch, n))
    saved = []
    for t in range(steps):
        a = x[:, t] @ w.kernel + h @ w.recurrent_kernel + w.bias
        i, f, o = sigmoid(a[:, :n]), sigmoid(a[:, n : 2 * n]), sigmoid(a[:, 3 * n :])
        candidate = np.tanh(a[:, 2 * n : 3 * n])
        c_prev, c = c, f * c + i * candidate
        saved.append((c_prev, c, i, f, o, candidate))
        h = o * np.tanh(c)
    gradient = np.zeros_like(x)
    d_h = np.broadcast_to(w.readout, (batch, n))
    d_c = np.zeros((batch, n))
    for t in reversed(range(steps)):
        c_prev, c, i, f, o, candidate = saved[t]
        tanh_c = np.tanh(c)
        d_c = d_c + d_h * o * (1 - tanh_c**2)
        d_pre = np.concatenate(
            [
                d_c * candidate * i * (1 - i),
                d_c * c_prev * f * (1 - f),
                d_c * i * (1 - candidate**2),
                d_h * tanh_c * o * (1 - o),
            ],
            axis=1,
        )
        gradient[:, t] = d_pre @ w.kernel.T
        d_h = np.zeros_like(d_h) if additive_path_only else d_pre @ w.recurrent_kernel.T
        d_c = d_c * f  # the additive path: the forget gate is the whole factor
    return gradient


# ------------------------------------------------------------------ figures and the interactive explorer

#: Where a reference line a^k is pinned to a measured profile: past the first steps, where
#: the last inputs reach the output by paths of their own.
ANCHOR = 10


def reference_line(profile: np.ndarray, factor: float, anchor: int = ANCHOR) -> np.ndarray:
    """C factor^k, with C chosen so that it meets ``profile`` at k = ``anchor``.

    >>> reference_line(np.array([4.0, 2.0, 1.0]), 0.5, anchor=1).tolist()
    [4.0, 2.0, 1.0]
    """
    distance = np.arange(len(profile))
    return profile[anchor] * factor ** (distance - anchor)


def plot_profile(
    ax, profile: np.ndarray, label: str, cell: str, *, shade: float = 0.0, marker_offset: int = 0
):
    """One gradient profile on a log axis, in the course style of ``cell``."""
    from rnn_forecast.style import style

    (line,) = ax.semilogy(
        np.arange(len(profile)),
        profile,
        label=label,
        **style(cell, markevery=(marker_offset, 10), shade=shade),
    )
    return line


def label_profile_axes(ax, *, ylabel=r"RMS of $\partial \hat y / \partial x_{T-k}$ (log scale)"):
    ax.set_xlabel("distance from the end of the sequence, k (steps)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


def signed(value: float) -> str:
    """A slider's value with its sign and two decimals; zero as 0.00, never -0.00.

    >>> signed(3.0), signed(-0.25), signed(-1e-17)
    ('+3.00', '-0.25', '0.00')
    """
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


class GradientExplorer:
    """The three cells' gradient profiles under settings a student changes with sliders.

    ``weights`` maps ``"SimpleRNN"``, ``"GRU"`` and ``"LSTM"`` to their :class:`CellWeights`
    (for example read from the untrained Keras models of lesson 1); ``x`` is the batch of
    input sequences. The SimpleRNN's setting is the scale of its recurrent matrix, the gated
    cells' the bias of their keep gate (GRU: update gate z, LSTM: forget gate f). Each
    change recomputes one profile in NumPy and redraws the figure: a few tens of milliseconds.
    """

    SETTINGS: ClassVar[dict[str, tuple[str, float, float, float]]] = {
        "SimpleRNN": ("scale of U", 0.25, 2.5, 0.05),
        "GRU": ("bias of z", -3.0, 6.0, 0.25),
        "LSTM": ("bias of f", -3.0, 6.0, 0.25),
    }
    YLIM = (1e-30, 1e10)

    def __init__(self, weights: dict, x: np.ndarray):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        missing = set(CELLS) - set(weights)
        if missing:
            raise ValueError(f"GradientExplorer needs the weights of {', '.join(sorted(missing))} too")
        self.weights, self.x = weights, np.asarray(x, dtype="float64")
        self.values = {"SimpleRNN": 1.0, **INITIAL_KEEP_BIAS}
        self.figure = Figure(figsize=(10, 4.6), layout="constrained")
        FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self.lines, self.references = {}, {}
        for offset, cell in enumerate(CELLS):
            self.lines[cell] = plot_profile(self.ax, self.profile(cell), cell, cell, marker_offset=3 * offset)
            if cell in KEEP_GATES:
                from rnn_forecast.style import reference_style

                (self.references[cell],) = self.ax.semilogy([], [], **reference_style(cell))
        self.ax.set_ylim(*self.YLIM)
        self.ax.set_xlim(0, self.x.shape[1] - 1)
        label_profile_axes(self.ax)
        self.ax.set_title("Gradient profiles at the sliders' settings (untrained cells, 32 units)")
        for cell in CELLS:
            self._redraw(cell)

    def profile(self, cell: str) -> np.ndarray:
        """The gradient profile of ``cell`` at its current setting."""
        value = self.values[cell]
        if cell == "SimpleRNN":
            return gradient_profile(with_recurrent_scale(self.weights[cell], value), self.x)
        return gradient_profile(with_keep_gate_bias(self.weights[cell], value), self.x)

    def set(self, cell: str, value: float) -> None:
        """Change the setting of ``cell`` and update its line."""
        if cell not in self.values:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
        self.values[cell] = float(value)
        self._redraw(cell)

    def _redraw(self, cell: str) -> None:
        profile = self.profile(cell)
        value = self.values[cell]
        self.lines[cell].set_ydata(profile)
        if cell == "SimpleRNN":
            self.lines[cell].set_label(f"SimpleRNN, U scaled by {value:.2f}")
        else:
            gate = float(sigmoid(value))
            self.lines[cell].set_label(f"{cell}, {self.SETTINGS[cell][0]} {signed(value)}")
            self.references[cell].set_data(np.arange(len(profile)), reference_line(profile, gate))
            self.references[cell].set_label(f"{gate:.2f}$^k$ (gate value $\\sigma$({signed(value)}))")
        self.ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)

    def sliders(self) -> dict:
        """One ipywidgets slider per cell, wired to :meth:`set` (nothing displayed yet)."""
        import ipywidgets

        sliders = {}
        for cell, (name, low, high, step) in self.SETTINGS.items():
            slider = ipywidgets.FloatSlider(
                value=self.values[cell],
                min=low,
                max=high,
                step=step,
                description=f"{cell}: {name}",
                style={"description_width": "150px"},
                layout=ipywidgets.Layout(width="480px"),
            )
            slider.observe(lambda change, cell=cell: self.set(cell, change["new"]), names="value")
            sliders[cell] = slider
        return sliders

    def controls(self, on_change=None):
        """The sliders in one box; ``on_change()`` is called after each redraw.

        Where no kernel runs (a notebook read on a web page, or opened without running it),
        Jupyter shows the box's text instead of the sliders: it says what to do.
        """
        import ipywidgets

        class Sliders(ipywidgets.VBox):
            def __repr__(self):
                return (
                    "[sliders for the figure above: run this cell to get them (they need a running kernel)]"
                )

        sliders = self.sliders()
        if on_change is not None:
            for slider in sliders.values():
                slider.observe(lambda change: on_change(), names="value")
        return Sliders(list(sliders.values()))

    def show(self) -> None:
        """Display the figure as a plain image, then the sliders that redraw it in place.

        The image is an ordinary output, so a notebook executed headless (or read on a page
        without a kernel) still shows it; the sliders need a running kernel.
        """
        from IPython.display import display

        handle = display(self.figure, display_id=True)
        display(self.controls(on_change=lambda: handle.update(self.figure)))
