"""The exercises' steps, and the one sentence a student reads when a step is not done yet.

Every step of an exercise notebook stores its answer in a variable: the test cells below
it read that variable, and so does the grader. When the variable is missing, Python's own
message is ``NameError: name 'model' is not defined`` after a traceback; a beginner
needs instead the step it belongs to and what to put there, for example

    Step 1 is not done yet: build a model with one `keras.layers.GRU` layer of 8 units
    using `build_model`, and store it in `model`.

:data:`STEPS` holds those sentences as data, per notebook. Two users read it:

- each exercise notebook's locked setup cell calls :func:`explain_unanswered_steps`, which
  makes the student's kernel (IPython) show that sentence instead of a traceback, in the
  notebook and in ``nbgrader validate``; an answer cell that still holds nbgrader's
  placeholder names its step too, so that *Run All* (which goes on past these cells: they
  carry JupyterLab's ``raises-exception`` tag) shows every open step at once;
- a grader outside the kernel calls :func:`missing_answer` and :func:`failure_message` to
  word its own verdict.

This module imports neither TensorFlow nor IPython (the kernel hands itself in), so a
grader can import it anywhere. A graded check's failure shows its own message as a
sentence (a step not done at all: that step's sentence); only its traceback is left out.
"""

from __future__ import annotations

import linecache
import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One step of an exercise: its number in the notebook's headings, and what to do."""

    number: int
    task: str  # ends by naming the variable the answer goes into


#: notebook name -> answer variable -> the step that stores it. The numbers are the
#: notebooks' "## N." headings (a test checks them, and that every variable a graded test
#: cell reads is here).
STEPS: dict[str, dict[str, Step]] = {
    "1_gates": {
        "lstm_gates": Step(
            1, "write the names of the LSTM's three gates as a set of strings, and store it in `lstm_gates`"
        ),
        "gru_gates": Step(
            2, "write the names of the GRU's two gates as a set of strings, and store it in `gru_gates`"
        ),
        "gru32_parameters": Step(
            3,
            "count the parameters of `GRU(32)` on one input feature, and store the number in `gru32_parameters`",
        ),
    },
    "2_gru8": {
        "model": Step(
            1,
            "build a model with one `keras.layers.GRU` layer of 8 units using `build_model`, and store it in `model`",
        ),
        "trained": Step(
            2,
            "train `model` on the training windows with `fit(model, train.x, train.y)`, and store what it "
            "returns in `trained`",
        ),
        "gru8_rmse": Step(3, "compute the model's test RMSE in index points, and store it in `gru8_rmse`"),
    },
    "3_stacked_lstm": {
        "model": Step(
            1,
            "build a model with `keras.layers.LSTM(32, return_sequences=True)` then `keras.layers.LSTM(16)` "
            "using `build_model`, and store it in `model`",
        ),
        "trained": Step(
            2,
            "train `model` on the training windows with `fit(model, train.x, train.y)`, and store what it "
            "returns in `trained`",
        ),
        "stacked_rmse": Step(
            3, "compute the stack's test RMSE in index points, and store it in `stacked_rmse`"
        ),
    },
}

#: What a student reads when a cell still holds nbgrader's placeholder for an answer and
#: names no answer of its notebook (so that its step is unknown).
STUB_LINE = "raise NotImplementedError()"
STUB_NOT_REPLACED = (
    "This step is not done yet: replace `raise NotImplementedError()` in this cell with your answer."
)
STUB_HINT = "replace `raise NotImplementedError()` in this cell with your answer"

#: The module whose failures are the graded checks' one-sentence verdicts.
CHECKS_MODULE = "autograder.checks"

#: Lines are wrapped to this width: ``nbgrader validate`` indents them by 4 and cuts every
#: line longer than 87 characters with "...".
WIDTH = 80


def missing_answer(notebook: str, name: str) -> str | None:
    """The sentence for a missing answer variable ``name`` of ``notebook``, or None.

    None means ``name`` is not an answer of that notebook (a typo, or a variable of the
    student's own), which deserves Python's own message.

    >>> print(missing_answer("2_gru8", "model"))  # doctest: +NORMALIZE_WHITESPACE
    Step 1 is not done yet: build a model with one `keras.layers.GRU` layer of 8 units
    using `build_model`, and store it in `model`.
    >>> missing_answer("2_gru8", "modle") is None
    True
    """
    if notebook not in STEPS:
        raise ValueError(f"unknown exercise notebook {notebook!r}; choose one of {', '.join(STEPS)}")
    step = STEPS[notebook].get(name)
    if step is None:
        return None
    return f"Step {step.number} is not done yet: {step.task}."


def missing_answer_again(notebook: str, name: str) -> str | None:
    """The short sentence for a missing answer whose step was already explained in another cell.

    Several checks read the same answer (four read exercise 2's `model`); the step's full
    sentence is shown once (by the answer cell's placeholder, or else at the first check) and
    this one at the rest. It stands on its own, for ``nbgrader validate`` shows no answer cell.

    >>> missing_answer_again("2_gru8", "model")
    'Step 1 is not done yet: `model` is still missing.'
    """
    if missing_answer(notebook, name) is None:
        return None
    return f"Step {STEPS[notebook][name].number} is not done yet: `{name}` is still missing."


def failure_message(notebook: str, error: BaseException) -> str:
    """What a failed check says: for a step not done at all (a check's ``StepNotDone``, which
    names the answer that step stores), that step's sentence; otherwise the check's own.

    The verifier words its verdicts with it, and the kernel shows it (:func:`plain_message`).
    """
    answer = getattr(error, "answer", None)
    sentence = missing_answer(notebook, answer) if isinstance(answer, str) and notebook in STEPS else None
    return sentence or str(error)


def as_sentence(message: str) -> str:
    """``message`` as a sentence of its own: capital first letter, full stop at the end.

    >>> as_sentence("expected a GRU layer, found LSTM with 8 units")
    'Expected a GRU layer, found LSTM with 8 units.'
    """
    message = message.strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message.endswith((".", "?", "!")) else ".")


def answer_named_in(notebook: str, source: str) -> str | None:
    """The answer of the latest step whose variable ``source`` names, or None.

    An answer cell names its own step's variable (it prints or shows it after the answer),
    and perhaps earlier steps' (step 3 predicts with step 1's `model`), never a later one.
    """
    words = set(re.findall(r"[A-Za-z_]\w*", source))
    named = [(step.number, name) for name, step in STEPS.get(notebook, {}).items() if name in words]
    return max(named)[1] if named else None


def stub_message(notebook: str, source: str) -> str:
    """What an answer cell still holding nbgrader's placeholder says: its step's sentence."""
    answer = answer_named_in(notebook, source)
    if answer is None:
        return STUB_NOT_REPLACED
    step = STEPS[notebook][answer]
    return f"Step {step.number} is not done yet: {step.task} ({STUB_HINT})."


def plain_message(notebook: str, error: BaseException) -> str | None:
    """The one line to show instead of ``error``'s traceback, or None to keep the traceback.

    - a missing answer variable: the step's sentence (:func:`missing_answer`);
    - nbgrader's placeholder ``raise NotImplementedError()`` raised by the cell itself:
      the sentence of the step whose answer the cell names (:func:`stub_message`);
    - a graded check's ``AssertionError``: its message as a sentence (for a step not done
      at all, the step's sentence: :func:`failure_message`).
    """
    if isinstance(error, NameError) and getattr(error, "name", None):
        return missing_answer(notebook, error.name)
    innermost = _innermost(error.__traceback__)
    if innermost is None:
        return None
    frame, line = innermost
    if isinstance(error, NotImplementedError) and _raised_by_placeholder(frame, line):
        return stub_message(notebook, "".join(linecache.getlines(frame.f_code.co_filename)))
    if isinstance(error, AssertionError) and frame.f_globals.get("__name__") == CHECKS_MODULE:
        return as_sentence(failure_message(notebook, error))
    return None


def _innermost(traceback):
    """The frame that raised, and the line it raised at (its own f_lineno may have moved on)."""
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame, traceback.tb_lineno


def _raised_by_placeholder(frame, line: int) -> bool:
    """True when a cell's own top-level code raised at a line holding only the placeholder."""
    if frame.f_code.co_name != "<module>":
        return False
    return linecache.getline(frame.f_code.co_filename, line).strip() == STUB_LINE


def explain_unanswered_steps(notebook: str, shell=None) -> None:
    """Make this IPython kernel show :func:`plain_message` in place of those tracebacks.

    Called by the locked setup cell of each exercise notebook. The exception itself is
    unchanged (same type and message, the cell still fails and scores nothing); only what
    is displayed is one sentence. A step's full sentence is shown once, at the first cell
    that misses its answer; other cells missing the same answer show
    :func:`missing_answer_again`. Outside IPython (plain Python) it does nothing.
    """
    if notebook not in STEPS:
        raise ValueError(f"unknown exercise notebook {notebook!r}; choose one of {', '.join(STEPS)}")
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return

    #: answer variable -> the cell (its code's file) that showed that step's full sentence.
    #: A kernel names a cell's file after a hash of its code, so running that cell again shows
    #: the full sentence again; any other cell shows the short one.
    explained_in: dict[str, str] = {}

    def show_plainly(shell, etype, value, tb, tb_offset=None):
        message = plain_message(notebook, value)
        innermost = _innermost(value.__traceback__)
        cell = innermost[0].f_code.co_filename if innermost else ""
        if message is not None and isinstance(value, NameError):
            if explained_in.setdefault(value.name, cell) != cell:
                message = missing_answer_again(notebook, value.name)
        elif message is not None and isinstance(value, NotImplementedError):
            answer = answer_named_in(notebook, "".join(linecache.getlines(cell)))
            if answer is not None:
                explained_in.setdefault(answer, cell)
        if message is not None:
            # IPython displays an exception's _render_traceback_() in place of its traceback.
            lines = textwrap.wrap(message, WIDTH, break_long_words=False, break_on_hyphens=False)
            value._render_traceback_ = lambda: lines
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((NameError, NotImplementedError, AssertionError), show_plainly)
