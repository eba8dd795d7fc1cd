"""What a graded test cell asks the verifier to check, read from its source without running it.

A test cell of this course's form imports checks from the course's checks module (those
marked ``@check``, :mod:`autograder.engine.registry`) and calls them with a student's
variable names or literals: ``check_units(model, 8)``. :func:`parse_test_cell` turns that
source into :class:`CheckCall` values; :mod:`autograder.engine.trusted` hands them to the
kernel (which values to hand over) and to the verifier (which checks to run). Anything else
in a test cell raises :class:`UnverifiableTestCell`, and the cell scores 0 with the reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from autograder.engine import registry


class UnverifiableTestCell(ValueError):
    """A graded test cell whose checks the verifier cannot run; the message says why."""


@dataclass(frozen=True)
class CheckCall:
    """One call of a check in a test cell: ``check_units(model, 8)``."""

    function: str
    #: Each argument is ``("answer", name)`` for a student's variable or ``("value", literal)``.
    args: tuple[tuple[str, object], ...]
    kwargs: tuple[tuple[str, tuple[str, object]], ...]

    def answer_names(self) -> set[str]:
        specs = [*self.args, *(spec for _, spec in self.kwargs)]
        return {value for kind, value in specs if kind == "answer"}

    def request(self) -> dict:
        def spec(kind_value):
            kind, value = kind_value
            return {kind: value}

        return {
            "function": self.function,
            "args": [spec(a) for a in self.args],
            "kwargs": {key: spec(s) for key, s in self.kwargs},
        }


def _argument(node: ast.expr, line: int) -> tuple[str, object]:
    if isinstance(node, ast.Name):
        return ("answer", node.id)
    try:
        return ("value", ast.literal_eval(node))
    except ValueError:
        raise UnverifiableTestCell(
            f"line {line}: a check's argument must be a variable name or a literal, found {ast.unparse(node)}"
        ) from None


def parse_test_cell(source: str) -> list[CheckCall]:
    """The check calls of a test cell; :class:`UnverifiableTestCell` if it does anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise UnverifiableTestCell(f"the test cell is not valid Python ({error.msg})") from None
    imported: dict[str, str] = {}
    calls = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == registry.CHECKS_MODULE and node.level == 0:
            for alias in node.names:
                if alias.name not in registry.declared_names():
                    raise UnverifiableTestCell(
                        f"line {node.lineno}: {alias.name} is not a check of {registry.CHECKS_MODULE}; "
                        "a test cell may only import functions marked @check there"
                    )
                imported[alias.asname or alias.name] = alias.name
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in imported
        ):
            call = node.value
            if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords
            ):
                raise UnverifiableTestCell(f"line {node.lineno}: *args and **kwargs are not supported")
            calls.append(
                CheckCall(
                    imported[call.func.id],
                    tuple(_argument(a, node.lineno) for a in call.args),
                    tuple((k.arg, _argument(k.value, node.lineno)) for k in call.keywords),
                )
            )
        else:
            raise UnverifiableTestCell(
                f"line {node.lineno}: a test cell may only import checks from {registry.CHECKS_MODULE} "
                f"and call them, found `{ast.unparse(node)[:60]}`"
            )
    if not calls:
        raise UnverifiableTestCell(f"the test cell calls no check from {registry.CHECKS_MODULE}")
    return calls
