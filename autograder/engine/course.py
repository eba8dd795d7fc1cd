"""The course the engine grades, named in this one place; the engine loads it by name.

No other module of :mod:`autograder.engine` names a course module: the verifier and the
test-cell parser reach the course's exercises only through the names here. A course's
exercises package provides two modules:

- ``checks``: the functions a test cell may call, each marked ``@check``
  (:mod:`autograder.engine.registry`), run in the kernel for the student's sentence and in
  the verifier for the points;
- ``steps``: the sentence for a step not done yet, ``failure_message(notebook, error)``,
  ``missing_answer(notebook, name)`` and ``STEPS`` (the notebooks it knows).

This course's exercises package is ``autograder`` itself (``checks``, ``steps``,
``reference``, ``calibrate``, ``calibration.json``), because its notebooks import
``autograder.checks`` and ``autograder.steps`` by those names and handed-in notebooks must
keep working.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXERCISES_PACKAGE = "autograder"
CHECKS_MODULE = f"{EXERCISES_PACKAGE}.checks"
STEPS_MODULE = f"{EXERCISES_PACKAGE}.steps"


def checks() -> ModuleType:
    """The course's checks module (imports Keras)."""
    return importlib.import_module(CHECKS_MODULE)


def steps() -> ModuleType:
    """The course's steps module (light: no TensorFlow, no IPython)."""
    return importlib.import_module(STEPS_MODULE)
