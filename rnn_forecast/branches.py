"""Train several small recurrent models at once, each exactly as it would train alone.

The lessons compare cells over seeds: nine or twelve models of a few thousand parameters.
Trained one after another, Keras spends most of each of their steps on overhead rather than
arithmetic. :func:`fit_together` trains them as one Keras model instead, without changing
what any of them computes:

* Members of the same architecture (same recurrent class and settings, same dense head)
  become one wider model of that architecture whose weight matrices are **block-diagonal**:
  member ``b``'s weights fill block ``b`` of every matrix (gate by gate), and every block off
  the diagonal is zero, so no member's input, state or output ever reaches another member.
* The off-diagonal blocks have gradients, but a constraint sets them back to zero after
  every step, so the forward pass only ever multiplies them by nothing.
* The loss is the **sum** of the members' mean squared errors, so the gradient of each
  member's weights is the gradient of its own loss. Adam updates every parameter from that
  parameter's own gradients only (its own moment estimates; the step count is the same for
  all), so each member takes exactly the steps it would take alone.
* Each member sees its own training windows in its own order: in epoch ``e`` the
  permutation ``epoch_orders(seed, n, epochs)[e]``, cut into batches of ``batch_size``, the
  last one shorter, exactly what ``model.fit(x[order], y[order], batch_size=batch_size,
  shuffle=False)`` would feed it.
* With validation data and a ``patience``, each member stops as Keras's
  ``EarlyStopping(patience=patience, restore_best_weights=True)`` would stop it alone: it
  ends with its weights of the epoch of lowest validation error, among the epochs it would
  have run. The others train on; training ends when every member has stopped.

``tests/test_branches.py`` trains members together and alone, from the same initial weights
and in the same orders, and checks that they end with the same weights and predictions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rnn_forecast.models import BATCH_SIZE, EPOCHS
from rnn_forecast.training_record import epoch_orders

import keras
import tensorflow as tf

#: Recurrent layer class -> number of gate blocks side by side in its weight matrices
#: (Keras's order: GRU z, r, candidate; LSTM i, f, candidate, o).
_GATE_BLOCKS = {keras.layers.SimpleRNN: 1, keras.layers.GRU: 3, keras.layers.LSTM: 4}

# Settings that differ from member to member without changing the architecture: the
# initial weights are copied from each member, so how they were drawn does not matter.
_PER_MEMBER_SETTINGS = {
    "name",
    "seed",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
}
# Settings under which training together would no longer equal training alone.
_MUST_BE_OFF = {
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "return_sequences": False,
    "return_state": False,
    "stateful": False,
    "kernel_constraint": None,
    "recurrent_constraint": None,
    "bias_constraint": None,
}


@dataclass(frozen=True)
class TogetherFit:
    """The outcome of :func:`fit_together`.

    ``validation_mse[e, m]`` is member ``m``'s mean squared error on the validation data
    after epoch ``e + 1`` (``None`` without validation data; ``nan`` after the member's
    early stop, where Keras's history of it would end). With a patience, ``best_epochs[m]``
    is the epoch (from 1) whose weights member ``m`` kept and ``epochs_run[m]`` how many
    epochs it ran before it stopped. ``predict`` runs every member at once.
    """

    models: list
    seconds: float
    validation_mse: np.ndarray | None
    _combined: keras.Model
    _groups: list
    best_epochs: np.ndarray | None = None
    epochs_run: np.ndarray | None = None

    def predict(self, x) -> np.ndarray:
        """Every member's predictions for ``x`` (one array, or one per member): shape (n, members)."""
        return _predict(self._combined, self._groups, _per_member(x, len(self.models), "x"))


class _BlockDiagonal(keras.constraints.Constraint):
    """Keeps the weights outside the members' blocks at zero."""

    def __init__(self, mask: np.ndarray):
        self.mask = tf.constant(mask)

    def __call__(self, weights):
        return weights * tf.cast(self.mask, weights.dtype)


def fit_together(
    models,
    x,
    y,
    *,
    seeds,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    learning_rate: float = 1e-3,
    validation=None,
    patience: int | None = None,
) -> TogetherFit:
    """Train ``models`` with Adam on mean squared error, each as if alone; time it.

    Parameters
    ----------
    models:
        Keras models of the form ``Input -> SimpleRNN | GRU | LSTM -> Dense ... -> Dense(1)``
        (for example from :func:`rnn_forecast.models.build_model`), their weights as
        initialised. They are trained in place: afterwards each holds its trained weights.
    x, y:
        The training windows and targets: one array for every member, or a list with one
        per member (all with the same number of windows).
    seeds:
        One seed per member for the order of its windows in each epoch (:func:`epoch_orders`).
    epochs, batch_size, learning_rate:
        As in ``model.fit`` with ``keras.optimizers.Adam(learning_rate)``; Adam's default
        rate, 1e-3, is what ``build_model``'s ``optimizer="adam"`` uses.
    validation:
        Optional ``(x, y)`` (arrays, or lists with one per member) scored after each epoch.
    patience:
        With ``validation``: stop each member early as
        ``keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)`` on its
        validation loss would, and keep its best epoch's weights.
    """
    models = list(models)
    if not models:
        raise ValueError("pass at least one model to train")
    seeds = [int(seed) for seed in seeds]
    if len(seeds) != len(models):
        raise ValueError(f"{len(models)} models but {len(seeds)} seeds; give one seed per model")
    xs, ys = _per_member(x, len(models), "x"), _per_member(y, len(models), "y")
    sizes = {len(member_x) for member_x in xs} | {len(member_y) for member_y in ys}
    if len(sizes) != 1:
        raise ValueError(
            f"every member needs the same number of training windows and targets; got {sorted(sizes)}"
        )
    (n,) = sizes
    if patience is not None and (validation is None or patience < 1):
        raise ValueError("early stopping needs validation data and a patience of at least 1 epoch")
    groups = _group(models)
    combined = _combine(models, groups)
    combined.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_sum_of_member_mse)

    orders = np.stack([epoch_orders(seed, n, epochs) for seed in seeds], axis=-1)  # (epochs, n, members)
    dataset = _batches(orders, xs, ys, groups, batch_size)
    callbacks = []
    if validation is not None:
        recorder = _ValidationRecorder(groups, validation, len(models), patience)
        callbacks.append(recorder)
    started = time.perf_counter()
    combined.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=-(-n // batch_size),
        shuffle=False,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    _write_back(models, groups)
    if validation is None:
        return TogetherFit(models, seconds, None, combined, groups)
    history = np.array(recorder.history)
    if patience is None:
        return TogetherFit(models, seconds, history, combined, groups)
    for model, weights in zip(models, recorder.best_weights, strict=True):
        for layer, layer_weights in zip(_layers(model), weights, strict=True):
            layer.set_weights(layer_weights)
    _write_in(models, groups)
    for member, ran in enumerate(recorder.epochs_run):
        history[ran:, member] = np.nan
    return TogetherFit(
        models, seconds, history, combined, groups, recorder.best_epoch + 1, np.array(recorder.epochs_run)
    )


@dataclass
class _Group:
    """Members sharing one architecture, and the wide layers that hold them."""

    members: list  # indices into the list of models
    features: int
    wide_layers: list


def _per_member(data, members: int, name: str) -> list:
    if isinstance(data, (list, tuple)):
        if len(data) != members:
            raise ValueError(
                f"{name} is a list of {len(data)} arrays for {members} models; give one per model"
            )
        return [np.asarray(item, dtype="float32") for item in data]
    return [np.asarray(data, dtype="float32")] * members


def _layers(model) -> list:
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _architecture(model) -> tuple:
    layers = _layers(model)
    recurrent = layers[0] if layers else None
    if (
        type(recurrent) not in _GATE_BLOCKS
        or not layers[1:]
        or any(type(layer) is not keras.layers.Dense for layer in layers[1:])
        or layers[-1].units != 1
    ):
        kinds = " -> ".join(type(layer).__name__ for layer in layers) or "no layers"
        raise ValueError(
            "fit_together trains models of the form Input -> SimpleRNN | GRU | LSTM -> Dense ... "
            f"-> Dense(1); got {model.name}: {kinds}"
        )
    config = recurrent.get_config()
    for key, off in _MUST_BE_OFF.items():
        if config.get(key, off) != off:
            raise ValueError(
                f"{model.name}: {type(recurrent).__name__}({key}={config[key]!r}) would not train the "
                f"same inside fit_together; use {key}={off!r} or train the model on its own"
            )

    def shared(layer):
        return tuple(
            sorted(
                (key, repr(value))
                for key, value in layer.get_config().items()
                if key not in _PER_MEMBER_SETTINGS
            )
        )

    return (tuple(model.input_shape), type(recurrent).__name__, *(shared(layer) for layer in layers))


def _group(models) -> list[_Group]:
    by_architecture: dict[tuple, list[int]] = {}
    for index, model in enumerate(models):
        by_architecture.setdefault(_architecture(model), []).append(index)
    return [_Group(members, models[members[0]].input_shape[-1], []) for members in by_architecture.values()]


def _blocks(matrices: list[np.ndarray], gate_blocks: int) -> np.ndarray:
    """Members' ``(rows, gates * columns)`` matrices -> the wide block-diagonal one."""
    members = len(matrices)
    rows, width = matrices[0].shape
    columns = width // gate_blocks
    wide = np.zeros((members * rows, gate_blocks * members * columns), dtype=matrices[0].dtype)
    for member, matrix in enumerate(matrices):
        for gate in range(gate_blocks):
            target = np.s_[
                member * rows : (member + 1) * rows,
                (gate * members + member) * columns : (gate * members + member + 1) * columns,
            ]
            wide[target] = matrix[:, gate * columns : (gate + 1) * columns]
    return wide


def _block_mask(members: int, rows: int, columns: int, gate_blocks: int) -> np.ndarray:
    mask = np.zeros((members * rows, gate_blocks * members * columns), dtype=bool)
    for member in range(members):
        for gate in range(gate_blocks):
            mask[
                member * rows : (member + 1) * rows,
                (gate * members + member) * columns : (gate * members + member + 1) * columns,
            ] = True
    return mask


def _side_by_side(vectors: list[np.ndarray], gate_blocks: int) -> np.ndarray:
    """Members' biases ``(..., gates * columns)`` -> gate by gate, members side by side."""
    columns = vectors[0].shape[-1] // gate_blocks
    return np.concatenate(
        [
            vector[..., gate * columns : (gate + 1) * columns]
            for gate in range(gate_blocks)
            for vector in vectors
        ],
        axis=-1,
    )


def _unpack_blocks(wide: np.ndarray, members: int, member: int, gate_blocks: int) -> np.ndarray:
    rows, columns = wide.shape[0] // members, wide.shape[1] // (gate_blocks * members)
    return np.concatenate(
        [
            wide[
                member * rows : (member + 1) * rows,
                (gate * members + member) * columns : (gate * members + member + 1) * columns,
            ]
            for gate in range(gate_blocks)
        ],
        axis=1,
    )


def _unpack_side_by_side(wide: np.ndarray, members: int, member: int, gate_blocks: int) -> np.ndarray:
    columns = wide.shape[-1] // (gate_blocks * members)
    return np.concatenate(
        [
            wide[..., (gate * members + member) * columns : (gate * members + member + 1) * columns]
            for gate in range(gate_blocks)
        ],
        axis=-1,
    )


class _SideBySideCells(keras.layers.Layer):
    """Recurrent cells that step together, each reading its own slice of the input.

    One recurrent loop for every group, instead of one loop per group.
    """

    def __init__(self, cells, widths, **kwargs):
        super().__init__(**kwargs)
        self.cells, self.widths = cells, widths
        self.state_size = [size for cell in cells for size in _state_sizes(cell)]
        self.output_size = sum(cell.units for cell in cells)

    def build(self, input_shape):
        for cell, width in zip(self.cells, self.widths, strict=True):
            cell.build((input_shape[0], width))

    def call(self, inputs, states, training=False):
        outputs, new_states, column, state = [], [], 0, 0
        for cell, width in zip(self.cells, self.widths, strict=True):
            count = len(_state_sizes(cell))
            output, cell_states = cell(
                inputs[:, column : column + width], list(states[state : state + count]), training=training
            )
            outputs.append(output)
            new_states.extend(cell_states)
            column, state = column + width, state + count
        return keras.ops.concatenate(outputs, axis=-1), new_states


def _state_sizes(cell) -> list[int]:
    return list(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]


def _wide_layer(layer, members: list, gate_blocks: int, recurrent: bool):
    """A layer (or, for the recurrent layer, its cell) as wide as ``members``, block-diagonal."""
    template = layer.cell if recurrent else layer
    config = template.get_config()
    config.update(name=None, units=layer.units * len(members))
    weights = [member.get_weights() for member in members]
    matrices = weights[0][:2] if recurrent else weights[0][:1]
    # A Dense layer has a kernel only: zip stops after it.
    for key, matrix in zip(["kernel_constraint", "recurrent_constraint"], matrices, strict=False):
        rows, width = matrix.shape
        config[key] = _BlockDiagonal(_block_mask(len(members), rows, width // gate_blocks, gate_blocks))
    wide = type(template).from_config(config)
    return wide, _wide_weights(members, gate_blocks)


def _wide_weights(members: list, gate_blocks: int) -> list[np.ndarray]:
    """The members' weights of one layer, as the block-diagonal wide layer holds them."""
    weights = [member.get_weights() for member in members]
    matrices = len(weights[0]) - (1 if members[0].use_bias else 0)
    wide = [_blocks([w[i] for w in weights], gate_blocks) for i in range(matrices)]
    if members[0].use_bias:
        wide.append(_side_by_side([w[-1] for w in weights], gate_blocks))
    return wide


def _combine(models, groups: list[_Group]) -> keras.Model:
    steps = {model.input_shape[1] for model in models}
    if len(steps) != 1:
        raise ValueError(
            f"fit_together trains models that read sequences of one length; got lengths {sorted(steps)}"
        )
    cells, widths, pending = [], [], []
    for group in groups:
        members = [_layers(models[index]) for index in group.members]
        for position, layer in enumerate(members[0]):
            recurrent = position == 0
            wide, weights = _wide_layer(
                layer, [member[position] for member in members], _GATE_BLOCKS.get(type(layer), 1), recurrent
            )
            group.wide_layers.append(wide)
            pending.append((wide, weights))
        cells.append(group.wide_layers[0])
        widths.append(group.features * len(group.members))
    first = _layers(models[0])[0]
    wide_input = keras.Input((steps.pop(), sum(widths)))
    hidden = keras.layers.RNN(_SideBySideCells(cells, widths), unroll=first.unroll)(wide_input)
    outputs, column = [], 0
    for group in groups:
        units = group.wide_layers[0].units
        output = hidden[:, column : column + units]
        for dense in group.wide_layers[1:]:
            output = dense(output)
        outputs.append(output)
        column += units
    for wide, weights in pending:
        wide.set_weights(weights)
    output = keras.layers.Concatenate()(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(wide_input, output)


def _member_order(groups: list[_Group]) -> list[int]:
    """Which member each column of the combined output belongs to."""
    return [index for group in groups for index in group.members]


def _sum_of_member_mse(y_true, y_pred):
    # Keras averages this over the batch: the sum over members of each member's batch MSE.
    return keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1)


def _batches(orders, xs, ys, groups, batch_size) -> tf.data.Dataset:
    unique = {id(array): tf.constant(array) for array in xs}
    x_of = [unique[id(array)] for array in xs]
    y_all = tf.constant(np.stack(ys, axis=-1))  # (n, members)
    column = _member_order(groups)

    def gather(indices):  # indices: (batch, members), member m's windows in column m
        wide_inputs = tf.concat([tf.gather(x_of[m], indices[:, m]) for m in _member_order(groups)], axis=-1)
        targets = tf.stack([tf.gather(y_all[:, m], indices[:, m]) for m in column], axis=-1)
        return wide_inputs, targets

    per_epoch = tf.data.Dataset.from_tensor_slices(orders.astype("int64"))
    batched = per_epoch.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    return batched.map(gather).prefetch(2)


def _wide_inputs(groups, xs) -> np.ndarray:
    return np.concatenate([xs[m] for m in _member_order(groups)], axis=-1)


def _predict(combined, groups, xs) -> np.ndarray:
    columns = combined(_wide_inputs(groups, xs), training=False).numpy()
    prediction = np.empty_like(columns)
    prediction[:, _member_order(groups)] = columns
    return prediction


class _ValidationRecorder(keras.callbacks.Callback):
    """Each member's validation error after every epoch; with a patience, its early stop.

    The stop follows ``keras.callbacks.EarlyStopping`` (``on_epoch_end``, with
    ``restore_best_weights=True``): an epoch improves on the best only if strictly lower; a
    member stops once ``patience`` epochs in a row have not, and keeps its best epoch's weights.
    """

    def __init__(self, groups, validation, members, patience=None):
        super().__init__()
        x_val, y_val = validation
        self.groups = groups
        self.x = _per_member(x_val, members, "validation x")
        self.y = np.stack(_per_member(y_val, members, "validation y"), axis=-1).astype("float64")
        self.history = []
        self.patience = patience
        self.best = np.full(members, np.inf)
        self.best_epoch = np.zeros(members, dtype=int)
        self.best_weights = [None] * members
        self.waited = np.zeros(members, dtype=int)
        self.epochs_run: list[int | None] = [None] * members

    def on_epoch_end(self, epoch, logs=None):
        prediction = _predict(self.model, self.groups, self.x).astype("float64")
        errors = np.mean((prediction - self.y) ** 2, axis=0)
        self.history.append(errors)
        if self.patience is None:
            return
        running = [member for member, ran in enumerate(self.epochs_run) if ran is None]
        self.waited[running] += 1
        improved = [member for member in running if errors[member] < self.best[member]]
        for member, weights in zip(improved, _member_weights(self.groups, improved), strict=True):
            self.best[member], self.best_epoch[member], self.waited[member] = errors[member], epoch, 0
            self.best_weights[member] = weights
        for member in running:
            if member not in improved and self.waited[member] >= self.patience and epoch > 0:
                self.epochs_run[member] = epoch + 1
        if all(ran is not None for ran in self.epochs_run):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.patience is not None:
            last = len(self.history)
            self.epochs_run = [last if ran is None else ran for ran in self.epochs_run]


def _member_weights(groups: list[_Group], members) -> list[list[list[np.ndarray]]]:
    """For each of ``members`` (indices), its layers' weights as the combined model holds them now."""
    wanted, found = set(members), {}
    for group in groups:
        if not wanted.intersection(group.members):
            continue
        count = len(group.members)
        wide_weights = [layer.get_weights() for layer in group.wide_layers]
        for slot, index in enumerate(group.members):
            if index not in wanted:
                continue
            found[index] = []
            for wide_layer, wide in zip(group.wide_layers, wide_weights, strict=True):
                gate_blocks = _GATE_BLOCKS.get(_member_class(wide_layer), 1)
                use_bias = wide_layer.use_bias
                matrices = wide[:-1] if use_bias else wide
                weights = [_unpack_blocks(matrix, count, slot, gate_blocks) for matrix in matrices]
                if use_bias:
                    weights.append(_unpack_side_by_side(wide[-1], count, slot, gate_blocks))
                found[index].append(weights)
    return [found[index] for index in members]


def _member_class(wide_layer):
    """The member layer class a wide layer (a recurrent cell or a Dense layer) stands for."""
    cells = {keras.layers.SimpleRNNCell: keras.layers.SimpleRNN, keras.layers.GRUCell: keras.layers.GRU}
    cells[keras.layers.LSTMCell] = keras.layers.LSTM
    return cells.get(type(wide_layer), type(wide_layer))


def _write_back(models, groups: list[_Group]) -> None:
    """Every member takes its weights from the combined model."""
    indices = list(range(len(models)))
    for model, weights in zip(models, _member_weights(groups, indices), strict=True):
        for layer, layer_weights in zip(_layers(model), weights, strict=True):
            layer.set_weights(layer_weights)


def _write_in(models, groups: list[_Group]) -> None:
    """The combined model takes every member's weights (after members kept an earlier epoch's)."""
    for group in groups:
        members = [_layers(models[index]) for index in group.members]
        for position, wide_layer in enumerate(group.wide_layers):
            layers = [member[position] for member in members]
            wide_layer.set_weights(_wide_weights(layers, _GATE_BLOCKS.get(type(layers[0]), 1)))
