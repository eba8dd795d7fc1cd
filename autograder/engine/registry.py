"""The one registry of graded checks: which functions a test cell may call, and their notes.

A check is a function of the course's checks module (:mod:`autograder.engine.course`) marked
with :func:`check`; nothing else there (helpers such as ``rmse_bound``) can be called by a
test cell. The mark is read twice from the same source: the verifier
(:mod:`autograder.engine.verifier`) imports the checks module and calls :func:`registered`,
and the test-cell parser (:mod:`autograder.engine.trusted`), which runs in nbgrader's own
process where loading Keras is not wanted, reads the names from the module's source with
:func:`declared_names` without importing it. Adding a check is decorating one function with
``@check``; instructor notes (reasons for the instructor to look, never a verdict) go in
``@check(notes=function)``, a function taking the check's arguments and returning a list of
sentences.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from autograder.engine import course

#: The module whose ``@check`` functions the test cells call (named in autograder.engine.course).
CHECKS_MODULE = course.CHECKS_MODULE


@dataclass(frozen=True)
class Check:
    """One registered check: the function a test cell calls, and its instructor notes."""

    function: Callable[..., None]
    notes: Callable[..., list[str]] | None = None


_REGISTRY: dict[str, Check] = {}


def check(function=None, *, notes: Callable[..., list[str]] | None = None):
    """Register ``function`` as a check (``@check`` or ``@check(notes=...)``); returns it unchanged."""

    def register(function):
        _REGISTRY[function.__name__] = Check(function, notes)
        return function

    return register(function) if function is not None else register


def registered() -> dict[str, Check]:
    """Every check of :data:`CHECKS_MODULE` by name; imports the module (and so Keras)."""
    importlib.import_module(CHECKS_MODULE)
    return dict(_REGISTRY)


def _is_check_mark(decorator: ast.expr) -> bool:
    """``@check`` or ``@check(...)``.

    >>> _is_check_mark(ast.parse("@check\\ndef f(): pass").body[0].decorator_list[0])
    True
    >>> _is_check_mark(ast.parse("@lru_cache(1)\\ndef f(): pass").body[0].decorator_list[0])
    False
    """
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == check.__name__


@lru_cache(maxsize=1)
def declared_names() -> frozenset[str]:
    """The names of the checks of :data:`CHECKS_MODULE`, read from its source, not imported."""
    spec = importlib.util.find_spec(CHECKS_MODULE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"the checks module {CHECKS_MODULE} is not installed: run `make setup`")
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(_is_check_mark(d) for d in node.decorator_list)
    )
