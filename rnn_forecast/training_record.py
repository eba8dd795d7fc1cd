"""A model's training, recorded so that anyone can check it afterwards by replaying it.

The course's :func:`rnn_forecast.models.fit` trains epoch by epoch in orders of the windows
drawn in advance (:func:`epoch_orders`) and keeps, on the model, a :class:`TrainingRecord`:
which data it trained on (a digest), the batch size, each epoch's order, and the model's
state (weights and the optimizer's variables: Adam's step count, learning rate and moment
estimates) before the first epoch and after every epoch.

Why: at grading time the student's kernel is not trusted, so the grader cannot take its
word that a model was trained; and on this near-random walk a model made by hand (the last
layer set to "next month = this month") scores as well as a trained one. But one epoch of
training is a pure function of the state before it, the data and the order: replaying it
from the recorded state gives the recorded state after it, to the last bit on the same
machine. :func:`training_problem` checks that the record starts from a model as Keras
builds it (every bias at its initial constant, no optimizer step), ends at the model's
weights, trained on the course's training windows, and replays the first, the last and a
few randomly chosen epochs. A record made up without the training fails at the first
replayed epoch that was not really trained; one that skips half of the 40 epochs is caught
with probability above 0.95 (four random epochs besides the first and the last).

The record is plain arrays (:meth:`TrainingRecord.to_bytes` writes an ``.npz`` without
pickles), so it can be handed from the student's kernel to the grader as data
(:mod:`autograder.engine.handover`).
"""

from __future__ import annotations

import hashlib
import io
import random
import warnings
from dataclasses import dataclass, field

import numpy as np

import keras
import tensorflow as tf

#: The attribute of a Keras model that holds its record.
ATTRIBUTE = "course_training_record"
#: Epochs replayed at random besides the first and the last.
RANDOM_EPOCHS = 4
#: Largest record accepted from elsewhere (the stacked LSTM's 40 epochs take about 4 MiB).
MAX_RECORD_BYTES = 64 * 2**20


def epoch_orders(seed: int, n: int, epochs: int) -> np.ndarray:
    """The order in which a model sees its ``n`` training windows in each epoch.

    Row ``e`` is the permutation of epoch ``e``: ``np.random.default_rng(seed)`` drawn once
    per epoch, so the orders depend on the seed alone.

    >>> epoch_orders(0, 5, 2).tolist()
    [[2, 4, 3, 0, 1], [4, 1, 2, 0, 3]]
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)])


def data_digest(x, y) -> str:
    """What a model was trained on, as the float32 arrays Keras trains with: a SHA-256."""
    digest = hashlib.sha256()
    for array in (x, y):
        # One row per window, whatever the trailing shape: (n, 12, 1) and (n, 12) train alike.
        array = np.ascontiguousarray(array, dtype="float32")
        array = array.reshape(len(array), -1)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelState:
    """A model's weights (``model.get_weights()``) and its optimizer's variables, as arrays."""

    weights: tuple[np.ndarray, ...]
    optimizer: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, model: keras.Model) -> ModelState:
        return cls(
            tuple(np.array(w) for w in model.get_weights()),
            tuple(np.array(v.numpy()) for v in model.optimizer.variables),
        )

    def restore(self, model: keras.Model) -> None:
        model.set_weights(list(self.weights))
        for variable, value in zip(model.optimizer.variables, self.optimizer, strict=True):
            variable.assign(value)


@dataclass
class TrainingRecord:
    """Everything needed to replay a model's training, epoch by epoch."""

    batch_size: int
    data: str  # data_digest() of the training windows and targets
    orders: list[np.ndarray] = field(default_factory=list)  # one permutation per epoch
    states: list[ModelState] = field(default_factory=list)  # len(orders) + 1
    #: training_problem's verdicts on this record, by (epochs, replayed): a check asked twice
    #: (the training check, then the test-error check) replays once.
    verdicts: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def epochs(self) -> int:
        return len(self.orders)

    def to_bytes(self) -> bytes:
        arrays = {"batch_size": np.array(self.batch_size), "data": np.array(self.data)}
        arrays["orders"] = np.stack(self.orders).astype("int32") if self.orders else np.zeros((0, 0), "int32")
        for index, state in enumerate(self.states):
            arrays |= {f"s{index}_w{i}": w for i, w in enumerate(state.weights)}
            arrays |= {f"s{index}_o{i}": o for i, o in enumerate(state.optimizer)}
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingRecord:
        """The record :meth:`to_bytes` wrote; ``ValueError`` for anything else (never unpickles)."""
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError("the training record is larger than 64 MiB")
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            orders = [np.asarray(order) for order in arrays.pop("orders")]
            record = cls(int(arrays.pop("batch_size")), str(arrays.pop("data")), orders)
        except (OSError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"the training record cannot be read ({type(error).__name__})") from None
        for index in range(len(orders) + 1):
            weights = _numbered(arrays, f"s{index}_w")
            optimizer = _numbered(arrays, f"s{index}_o")
            record.states.append(ModelState(weights, optimizer))
        if arrays:
            raise ValueError("the training record holds unexpected parts")
        return record


def _numbered(arrays: dict, prefix: str) -> tuple[np.ndarray, ...]:
    found = []
    while f"{prefix}{len(found)}" in arrays:
        found.append(arrays.pop(f"{prefix}{len(found)}"))
    return tuple(found)


def record_of(model) -> TrainingRecord | None:
    return getattr(model, ATTRIBUTE, None)


def attach(model: keras.Model, record: TrainingRecord) -> None:
    setattr(model, ATTRIBUTE, record)


def _same_state(a: ModelState, b: ModelState) -> bool:
    return len(a.weights) == len(b.weights) and all(
        np.array_equal(x, y) for x, y in zip(a.weights + a.optimizer, b.weights + b.optimizer, strict=False)
    )


def record_for_training(model: keras.Model, x, y, batch_size: int) -> TrainingRecord:
    """The record a new training of ``model`` on ``x``, ``y`` extends.

    Training the same model again on the same data goes on with its record; a model whose
    weights changed since (or new data) starts a new one, whose first state is then no
    longer a freshly built model's.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    now = ModelState.of(model)
    digest = data_digest(x, y)
    record = record_of(model)
    if (
        record is None
        or record.data != digest
        or record.batch_size != batch_size
        or not _same_state(record.states[-1], now)
    ):
        record = TrainingRecord(batch_size, digest, states=[now])
        attach(model, record)
    return record


class RecordEpochs(keras.callbacks.Callback):
    """Appends each epoch's order and the state after it to a record."""

    def __init__(self, record: TrainingRecord, orders: np.ndarray):
        super().__init__()
        self.record = record
        self.orders = orders

    def on_epoch_end(self, epoch, logs=None):
        self.record.orders.append(self.orders[epoch].astype("int32"))
        self.record.states.append(ModelState.of(self.model))


def ordered_batches(x: np.ndarray, y: np.ndarray, orders: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Every epoch's windows in its order, cut into batches (the last one of an epoch shorter)."""
    x, y = tf.constant(x), tf.constant(y)
    per_epoch = tf.data.Dataset.from_tensor_slices(orders.astype("int64"))
    batches = per_epoch.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    return batches.map(lambda indices: (tf.gather(x, indices), tf.gather(y, indices))).prefetch(2)


def train_epochs(model: keras.Model, x, y, orders: np.ndarray, batch_size: int, callbacks=()):
    """Train ``model`` one epoch per row of ``orders``; Keras's history of it."""
    return model.fit(
        ordered_batches(x, y, orders, batch_size),
        epochs=len(orders),
        steps_per_epoch=-(-len(x) // batch_size),
        shuffle=False,
        callbacks=list(callbacks),
        verbose=0,
    )


# ---------------------------------------------------------------- checking a record


def initial_bias(layer):
    """``layer``'s bias now, and what it was right after the layer was built, when that is known.

    Keras starts every bias of the course's layers at a constant: zeros, and for an LSTM with
    ``unit_forget_bias`` ones on the forget gate's quarter. Returns ``(None, None)`` for a
    layer without such a bias.
    """
    cell = getattr(layer, "cell", layer)
    bias = getattr(cell, "bias", None)
    if bias is None or not getattr(cell, "use_bias", False):
        return None, None
    value = np.array(bias.numpy())
    initializer = type(getattr(cell, "bias_initializer", None)).__name__
    if initializer not in ("Zeros", "Ones"):
        return None, None
    initial = np.zeros_like(value) if initializer == "Zeros" else np.ones_like(value)
    if isinstance(cell, keras.layers.LSTMCell) and cell.unit_forget_bias:
        initial = np.zeros_like(value)
        initial[cell.units : 2 * cell.units] = 1.0
    return value, initial


def all_layers(model):
    """Every layer, looking inside nested models and bidirectional wrappers."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
        else:
            yield layer
            if hasattr(layer, "forward_layer"):
                yield layer.forward_layer
                yield layer.backward_layer


def biases_at_initial_values(model) -> bool:
    """Whether every bias whose initial value is known still has it (a model never trained)."""
    compared = [
        (value, initial) for value, initial in map(initial_bias, all_layers(model)) if value is not None
    ]
    return bool(compared) and all(np.array_equal(value, initial) for value, initial in compared)


def _replica(model: keras.Model) -> keras.Model:
    """A copy of ``model``'s architecture compiled as ``model`` is, to replay its epochs on."""
    replica = keras.models.clone_model(model)
    replica.compile_from_config(model.get_compile_config())
    replica.optimizer.build(replica.trainable_variables)
    return replica


def _close(found: tuple, expected: tuple, moved: float) -> bool:
    """Equal, up to float noise far below what one epoch of training moves a weight."""
    if len(found) != len(expected):
        return False
    tolerance = 1e-6 + 1e-4 * moved
    return all(
        a.shape == b.shape and np.all(np.abs(a.astype("float64") - b.astype("float64")) <= tolerance)
        for a, b in zip(found, expected, strict=True)
    )


def _largest_change(before: ModelState, after: ModelState) -> float:
    return max(
        (
            float(np.max(np.abs(a.astype("float64") - b.astype("float64")), initial=0.0))
            for a, b in zip(before.weights, after.weights, strict=True)
        ),
        default=0.0,
    )


def training_problem(model: keras.Model, data: dict[str, tuple], replay: bool = True) -> str | None:
    """Why ``model``'s training cannot be confirmed, in one sentence; None once it is.

    ``data`` maps a description ("the scale-free training windows") to ``(x, y)``: the data
    sets a course training may use. The record must start from a freshly built model, use
    one of them, end at ``model``'s weights, and (with ``replay``) its first, last and a few
    random epochs must replay exactly.
    """
    record = record_of(model)
    if record is None or not record.orders:
        return (
            "found no record of its training: train it with the course's `fit(model, train.x, train.y)` "
            "from `rnn_forecast.models` (Keras's own `model.fit` keeps none)"
        )
    digests = {data_digest(x, y): name for name, (x, y) in data.items()}
    if record.data not in digests:
        return (
            f"found that it was trained on data other than the course's training windows ({', '.join(data)})"
        )
    x, y = (np.asarray(array, "float32") for array in data[digests[record.data]])
    if len(record.states) != record.epochs + 1 or not 1 <= record.batch_size <= len(x):
        return "found a training record that is incomplete"
    identity = np.arange(len(x))
    if any(
        order.shape != identity.shape or not np.array_equal(np.sort(order), identity)
        for order in record.orders
    ):
        return "found a training record whose epochs do not each visit every training window once"
    if not _close(tuple(np.asarray(w) for w in model.get_weights()), record.states[-1].weights, 0.0):
        return "found that its weights are not where its recorded training ended (were they changed after `fit`?)"
    # The replay is the costly part, and depends on the record alone: once per record state.
    key = (record.epochs, replay)
    if key not in record.verdicts:
        record.verdicts[key] = _replay_problem(model, record, x, y, replay)
    return record.verdicts[key]


def _replay_problem(model, record: TrainingRecord, x, y, replay: bool) -> str | None:
    try:
        replica = _replica(model)
        record.states[0].restore(replica)
    except Exception as error:  # noqa: BLE001  (a model the grader cannot rebuild cannot be replayed)
        return f"found that its training cannot be replayed ({type(error).__name__}: {str(error)[:120]})"
    if int(replica.optimizer.iterations.numpy()) != 0 or not biases_at_initial_values(replica):
        return (
            "found that its recorded training did not start from a freshly built model: build the model again "
            "(run step 1) and train it once with `fit`"
        )
    if not replay:
        return None
    chosen = {0, record.epochs - 1} | set(
        random.SystemRandom().sample(range(record.epochs), min(RANDOM_EPOCHS, record.epochs))
    )
    for epoch in sorted(chosen):
        before, after = record.states[epoch], record.states[epoch + 1]
        try:
            before.restore(replica)
        except (ValueError, TypeError):
            return "found a training record that does not fit the model's layers"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train_epochs(replica, x, y, record.orders[epoch][None, :], record.batch_size)
        replayed = ModelState.of(replica)
        moved = _largest_change(before, after)
        if not (
            _close(replayed.weights, after.weights, moved)
            and _close(replayed.optimizer, after.optimizer, moved)
        ):
            return (
                f"found that epoch {epoch + 1} of its recorded training does not replay: the record was not "
                "made by training this model"
            )
    return None
