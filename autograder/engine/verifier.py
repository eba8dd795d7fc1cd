"""The trusted verifier: runs the graded checks in a process no student code ever ran in.

    python -m autograder.engine.verifier      (started by :class:`Verifier`, never by hand)

At grading time a test cell's score is decided here, not in the student's kernel. The
kernel hands over the checked values as plain data (:mod:`autograder.engine.handover`); this
process rebuilds them, loads a handed-over Keras model from its ``.keras`` file with
``safe_mode`` after refusing any file that names a class outside Keras, and calls the same
check (:mod:`autograder.engine.registry`) that the test cell calls, with the same arguments.
So the student sees the same sentence in the verdict as in their own run of the cell.

The protocol is one JSON object per line on standard input and output. A request:
``{"notebook": "2_gru8", "calls": [{"function": "check_units", "args": [{"answer": "model"}, {"value": 8}],
"kwargs": {}}], "answers": {"model": <hand-over>}}``; the reply: ``{"passed": bool,
"message": str, "notes": [str]}``, where notes are reasons for the instructor to look
(a test error far better than every honest calibrated run).

:class:`Verifier` is the grader's side: it starts this module in its own sandbox (read-only,
no network) and talks to it, with a time limit per request.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine import course, handover, registry

#: Members of a ``.keras`` file; anything else is refused.
KERAS_MEMBERS = {"metadata.json", "config.json", "model.weights.h5", "assets/"}
MAX_CONFIG_BYTES = 2**20

#: Seconds one request may take (loading and scoring a model takes about a second).
REQUEST_TIMEOUT = 120.0
#: Seconds the verifier may take to start and load Keras (about 6 s on a quiet 2-core machine).
START_TIMEOUT = 240.0
#: Size limit of the verifier's /tmp, where it unpacks a handed-over model.
VERIFIER_DISK = 512 * 2**20


@dataclass
class Verdict:
    """The trusted result of one graded test cell."""

    passed: bool
    message: str = ""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- inside the verifier process


class UntrustedModel(ValueError):
    """A handed-over model file the verifier refuses to load; the message says why."""


#: Markers in a model's configuration that name no class: a functional model's references
#: from one layer's call to another layer's output (``keras.Model(inputs, outputs)``).
KERAS_REFERENCES = {"__keras_tensor__"}


def _refuse_foreign_classes(config, where: str = "model") -> None:
    """Every object the file's configuration names must be one of Keras's own."""
    if isinstance(config, dict):
        if config.get("class_name") in KERAS_REFERENCES and "module" not in config:
            pass
        elif "class_name" in config:
            module = str(config.get("module") or "")
            registered = config.get("registered_name")
            if not (module == "keras" or module.startswith("keras.")) or registered not in (
                None,
                config["class_name"],
            ):
                raise UntrustedModel(
                    f"the model uses {config['class_name']} from {module or 'an unknown module'}, "
                    "which is not a Keras class; build it from keras.layers only"
                )
            if config["class_name"] in ("Lambda", "TFSMLayer"):
                raise UntrustedModel(
                    f"the model contains a {config['class_name']} layer, which runs arbitrary code"
                )
        for value in config.values():
            _refuse_foreign_classes(value, where)
    elif isinstance(config, list):
        for value in config:
            _refuse_foreign_classes(value, where)


def load_keras_file(data: bytes):
    """A Keras model from the bytes of a ``.keras`` file, loaded with ``safe_mode``."""
    import keras

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except zipfile.BadZipFile:
        raise UntrustedModel("the handed-over model is not a .keras file") from None
    total = sum(member.file_size for member in members)
    if total > handover.MAX_MODEL_BYTES or any(
        m.filename not in KERAS_MEMBERS and not m.filename.startswith("assets/") for m in members
    ):
        raise UntrustedModel("the handed-over .keras file holds unexpected or oversized parts")
    if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
        raise UntrustedModel("the model's configuration is larger than 1 MiB")
    _refuse_foreign_classes(json.loads(archive.read("config.json")))
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. an untrained model's empty optimizer state
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, safe_mode=True, compile=True)
        except Exception:  # noqa: BLE001  (a compile setting the verifier cannot rebuild)
            return keras.saving.load_model(path, safe_mode=True, compile=False)


def missing_answer_sentence(notebook: str, name: str) -> str:
    """What the student reads for an answer that was never stored (the exercises' own steps)."""
    steps = course.steps()
    sentence = steps.missing_answer(notebook, name) if notebook in steps.STEPS else None
    return sentence or f"`{name}` is not defined: answer that step and store the result in `{name}`."


def model_fingerprint(data: bytes, training: bytes | None = None) -> str:
    """The same for two saves of one model: its configuration, weights and training record,
    not the save date."""
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in ("config.json", "model.weights.h5"):
                digest.update(archive.read(name))
    except (zipfile.BadZipFile, KeyError):
        digest.update(data)
    digest.update(hashlib.sha256(training or b"").digest())
    return digest.hexdigest()


def load_handed_over_model(file: handover.KerasFile):
    """The model of a hand-over, with its training record attached; a refused or damaged file
    becomes a stand-in that every check fails with the reason."""
    from rnn_forecast.training_record import TrainingRecord, attach

    try:
        model = load_keras_file(file.data)
    except UntrustedModel as error:
        return handover.foreign(file.class_name, f"<a model the grader refused: {error}>")
    except Exception as error:  # noqa: BLE001  (a damaged file: a wrong answer, not a crash)
        return handover.foreign(
            file.class_name, f"<a model the grader could not load: {type(error).__name__}>"
        )
    if file.training is not None:
        # An unreadable record is no record: the training check says so.
        with contextlib.suppress(ValueError):
            attach(model, TrainingRecord.from_bytes(file.training))
    return model


class AnswerBook:
    """The handed-over answers of one request, decoded once; models loaded once per file."""

    def __init__(self, notebook: str, answers: dict, models: dict):
        self.notebook = notebook
        self.answers = answers
        self.models = models  # model_fingerprint -> loaded model, kept across requests

    def value(self, name: str):
        tagged = self.answers.get(name, handover.MISSING)
        if tagged == handover.MISSING:
            raise AssertionError(missing_answer_sentence(self.notebook, name))
        value = handover.decode(tagged)
        if isinstance(value, handover.KerasFile):
            key = model_fingerprint(value.data, value.training)
            if key not in self.models:
                self.models[key] = load_handed_over_model(value)
            return self.models[key]
        return value


def _argument(spec: dict, book: AnswerBook):
    if "answer" in spec:
        return book.value(str(spec["answer"]))
    return spec["value"]


def judge(request: dict, models: dict) -> Verdict:
    """Run every check call of ``request`` on its handed-over answers."""
    checks = registry.registered()
    book = AnswerBook(str(request.get("notebook", "")), request.get("answers") or {}, models)
    notes: list[str] = []
    for call in request.get("calls", []):
        function = call.get("function")
        check = checks.get(function) if isinstance(function, str) else None
        if check is None:
            return Verdict(False, f"the grader has no check called {str(function)[:40]}")
        try:
            args = [_argument(spec, book) for spec in call.get("args", [])]
            kwargs = {str(k): _argument(spec, book) for k, spec in (call.get("kwargs") or {}).items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check.function(*args, **kwargs)
                if check.notes is not None:
                    notes += check.notes(*args, **kwargs)
        except AssertionError as failure:  # a step not done at all reads as that step's sentence
            return Verdict(False, course.steps().failure_message(book.notebook, failure), notes)
        except handover.HandoverError as error:
            return Verdict(False, f"the answer could not be read: {error}", notes)
        except Exception as error:  # noqa: BLE001  (whatever the answer does, it fails, not the grader)
            return Verdict(
                False, f"checking the answer raised {type(error).__name__}: {str(error)[:200]}", notes
            )
    return Verdict(True, "", notes)


def serve(requests, replies) -> None:
    """Answer each request line with a verdict line until the input ends."""
    models: dict = {}
    for line in requests:
        try:
            verdict = judge(json.loads(line), models)
        except (ValueError, TypeError, AttributeError) as error:
            verdict = Verdict(False, f"the grader received a malformed request ({type(error).__name__})")
        replies.write(json.dumps(verdict.__dict__) + "\n")
        replies.flush()


def main() -> None:
    # Replies get a descriptor of their own; anything a library prints goes to stderr.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    import rnn_forecast  # noqa: F401  (quiets TensorFlow before Keras loads)

    checks = course.checks()  # load Keras now, while the first notebook runs

    # The verifier is where a model's recorded training is replayed at grading time.
    checks.REPLAY_IN_THIS_PROCESS = True

    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    serve(sys.stdin, replies)


# ---------------------------------------------------------------- the grader's side


class Verifier:
    """A verifier process, started at once so that Keras loads while the kernel works."""

    def __init__(
        self, sandboxed: bool = True, course_root: Path | None = None, environment: dict | None = None
    ):
        from autograder.engine import sandbox

        command = [sys.executable, "-m", "autograder.engine.verifier"]
        environment = dict(environment or os.environ)
        if sandboxed:
            view = sandbox.SandboxView.for_verifier(course_root)
            inside = sandbox.sandbox_environment(environment, home="/tmp")
            space = sandbox.Space(VERIFIER_DISK, ("/tmp",))
            command = [*sandbox.bwrap_prefix(view, space, environment=inside, workdir="/tmp"), *command]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (the process writes to it until close())
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
            start_new_session=True,
        )
        self._ready = False
        self._buffer = b""

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Return once the verifier has loaded the checks; :class:`VerifierFailed`, with what it
        printed (bubblewrap's message, a traceback), if it ends or takes longer."""
        if not self._ready:
            self._ready = self._read_line(time.monotonic() + timeout) == {"ready": True}
        if not self._ready:
            said = self.errors().strip() or "it printed nothing"
            ended = self.process.poll()
            self.close()
            when = (
                f"ended (exit status {ended})" if ended is not None else f"did not start within {timeout:g} s"
            )
            raise VerifierFailed(f"the verifier {when}: {said}")

    def _read_line(self, deadline: float) -> dict | None:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or (self.process.poll() is not None and not self._buffer):
                return None
            readable, _, _ = select.select([self.process.stdout], [], [], min(left, 1.0))
            if readable:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def errors(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode(errors="replace")

    def judge(
        self, calls: list[dict], answers: dict, notebook: str = "", timeout: float = REQUEST_TIMEOUT
    ) -> Verdict:
        """The verdict on ``calls`` with the handed-over ``answers`` of ``notebook``."""
        self.wait_until_ready()
        deadline = time.monotonic() + timeout
        try:
            request = {"notebook": notebook, "calls": calls, "answers": answers}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            reply = self._read_line(deadline)
        except (OSError, ValueError) as error:
            self.close()
            raise VerifierFailed(str(error)) from None
        if reply is None:
            self.close()
            return Verdict(False, f"the grader could not check this answer within {timeout:.0f} s")
        return Verdict(bool(reply.get("passed")), str(reply.get("message", "")), list(reply.get("notes", [])))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()
        self._stderr.close()


class VerifierFailed(RuntimeError):
    """The verifier process itself failed (not the answer); grading cannot go on."""


if __name__ == "__main__":
    main()
