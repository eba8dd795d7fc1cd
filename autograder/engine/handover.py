"""The hand-over of a student's answers from the kernel to the trusted verifier, as plain data.

At grading time the student's kernel is not trusted to judge anything: it only hands over
the values a test cell checks. :func:`hand_over` runs in the kernel and publishes them as
one Jupyter display message of type :data:`MIME`:

- a Keras model as its native ``.keras`` file (configuration and weights; the verifier
  loads it with ``safe_mode``), base64-encoded, with the record of its training by the
  course's ``fit`` if it has one (:mod:`rnn_forecast.training_record`, plain arrays);
- numbers, strings, booleans, ``None`` and lists, tuples, sets and dicts of them, as
  tagged JSON (so a set stays a set and a NumPy integer an integer);
- anything else as its type name and a short ``repr``, which is all a check needs to say
  what it found;
- a name that is not defined as ``missing``.

:func:`decode` rebuilds the values in the verifier. Nothing is ever unpickled, and a kernel
that publishes something else only hands over a wrong answer.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import tempfile
import warnings

MIME = "application/vnd.gated-rnn.handover+json"

#: Limits on what a kernel may hand over; beyond them the value counts as not handed over.
MAX_MODEL_BYTES = 64 * 2**20
MAX_ITEMS = 10_000
MAX_DEPTH = 8
MAX_TEXT = 100_000
REPR_LENGTH = 60

MISSING = {"type": "missing"}


class HandoverError(ValueError):
    """What a kernel handed over cannot be read as an answer; the message says why."""


# ---------------------------------------------------------------- in the student's kernel


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (a student's __repr__ may raise anything)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= REPR_LENGTH else text[: REPR_LENGTH - 3] + "..."


def _encode_model(model) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # h5py's deprecation notices are not the student's
                model.save(path)
            with open(path, "rb") as file:
                data = file.read(MAX_MODEL_BYTES + 1)
        except Exception as error:  # noqa: BLE001  (any failure: the model cannot be handed over)
            return {
                "type": "unsaved_model",
                "class": type(model).__name__,
                "error": f"{type(error).__name__}: {error}"[:300],
            }
    if len(data) > MAX_MODEL_BYTES:
        return {"type": "unsaved_model", "class": type(model).__name__, "error": "larger than 64 MiB"}
    encoded = {"type": "keras", "class": type(model).__name__, "data": base64.b64encode(data).decode("ascii")}
    # Only a kernel that has a Keras model gets here, so TensorFlow is loaded already.
    from rnn_forecast.training_record import record_of

    record = record_of(model)
    if record is not None:
        # A record that cannot be written is a model without one: the training check says so.
        with contextlib.suppress(Exception):
            encoded["training"] = base64.b64encode(record.to_bytes()).decode("ascii")
    return encoded


def encode(value, depth: int = 0) -> dict:
    """Tagged JSON for ``value``; see the module's docstring."""
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        return _encode_model(value)
    numpy = sys.modules.get("numpy")
    if value is None:
        return {"type": "none"}
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int) and type(value) is int:
        return {"type": "int", "value": str(value)}
    if numpy is not None and isinstance(value, numpy.integer):
        return {"type": "numpy_int", "dtype": str(value.dtype), "value": str(int(value))}
    if (isinstance(value, float) and type(value) is float) or (
        numpy is not None and isinstance(value, numpy.floating)
    ):
        return {"type": "float", "value": repr(float(value))}
    if type(value) is str and len(value) <= MAX_TEXT:
        return {"type": "str", "value": value}
    containers = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}
    if type(value) in containers and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        return {"type": containers[type(value)], "items": [encode(item, depth + 1) for item in value]}
    if type(value) is dict and depth < MAX_DEPTH and len(value) <= MAX_ITEMS:
        return {
            "type": "dict",
            "items": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()],
        }
    return {"type": "object", "class": type(value).__name__, "repr": _short_repr(value)}


def hand_over(namespace: dict, names: list[str]) -> None:
    """Publish the values of ``names`` in ``namespace`` for the grader (runs in the kernel)."""
    from IPython.display import publish_display_data

    payload = {name: encode(namespace[name]) if name in namespace else MISSING for name in names}
    publish_display_data({MIME: payload})


def kernel_code(names: list[str]) -> str:
    """The one line the grader runs in the kernel to have ``names`` handed over."""
    return f"__import__('autograder.engine.handover', fromlist=['hand_over']).hand_over(globals(), {sorted(names)!r})"


# ---------------------------------------------------------------- in the verifier


class Foreign:
    """Stands for a value that could not be handed over as data: only its type name and repr."""

    def __init__(self, description: str):
        self._description = description

    def __repr__(self) -> str:
        return self._description


def foreign(class_name: str, description: str) -> Foreign:
    """An object whose ``type(...).__name__`` and ``repr`` are the student's value's."""
    name = class_name if class_name.isidentifier() else "object"
    return type(name, (Foreign,), {})(description[:REPR_LENGTH])


def decode(tagged, depth: int = 0):
    """The value that :func:`encode` tagged; Keras models come back as ``KerasFile``."""
    if not isinstance(tagged, dict) or depth > MAX_DEPTH + 1:
        raise HandoverError("the hand-over is not in the grader's format")
    kind = tagged.get("type")
    try:
        if kind == "none":
            return None
        if kind == "bool":
            return bool(tagged["value"])
        if kind == "int":
            return int(tagged["value"])
        if kind == "numpy_int":
            import numpy

            return numpy.dtype(str(tagged["dtype"])).type(int(tagged["value"]))
        if kind == "float":
            return float(tagged["value"])
        if kind == "str":
            return str(tagged["value"])
        if kind in ("list", "tuple", "set", "frozenset"):
            items = [decode(item, depth + 1) for item in tagged["items"][:MAX_ITEMS]]
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[kind](items)
        if kind == "dict":
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in tagged["items"][:MAX_ITEMS]}
        if kind == "keras":
            data = base64.b64decode(tagged["data"], validate=True)
            if len(data) > MAX_MODEL_BYTES:
                raise HandoverError("the model file is larger than 64 MiB")
            training = tagged.get("training")
            record = base64.b64decode(training, validate=True) if isinstance(training, str) else None
            return KerasFile(data, str(tagged.get("class", "Model")), record)
        if kind == "unsaved_model":
            return foreign(
                str(tagged.get("class", "Model")),
                f"<a model the kernel could not save: {tagged.get('error', '')}>",
            )
        if kind == "object":
            return foreign(str(tagged.get("class", "object")), str(tagged.get("repr", "")))
    except (KeyError, TypeError, ValueError) as error:
        raise HandoverError(f"the hand-over is not in the grader's format ({error})") from None
    raise HandoverError(f"the hand-over has an unknown type {str(kind)[:40]!r}")


class KerasFile:
    """A handed-over ``.keras`` file, not yet loaded (the verifier loads it with care), and the
    bytes of its training record, if it came with one."""

    def __init__(self, data: bytes, class_name: str, training: bytes | None = None):
        self.data = data
        self.class_name = class_name
        self.training = training
