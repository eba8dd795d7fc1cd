"""The packages' import rules (CONTRIBUTING.md, "Architecture"), read from every module's source.

Imports are read with ``ast``, function-level ones included, so a rule is broken as soon as
an import is written, whether or not a test runs through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rnn_forecast.paths import REPOSITORY_ROOT

AUTOGRADER = REPOSITORY_ROOT / "autograder"
#: The course's exercises package: the modules of autograder/ itself.
EXERCISES = {f"autograder.{path.stem}" for path in AUTOGRADER.glob("*.py") if path.stem != "__init__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, as dotted names (``from a import b`` counts a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def breaks(path: Path, forbidden: set[str] | tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in imported(path) for rule in forbidden if name == rule or name.startswith(f"{rule}.")
    )


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("path", modules(AUTOGRADER / "engine"), ids=module_name)
def test_the_engine_imports_neither_the_course_nor_the_tools_nor_the_test_kit(path):
    assert breaks(path, (*EXERCISES, "autograder.tools", "autograder.testkit")) == [], module_name(path)


PRODUCT = [
    path
    for path in modules(AUTOGRADER) + modules(REPOSITORY_ROOT / "rnn_forecast")
    if (AUTOGRADER / "testkit") not in path.parents
]


@pytest.mark.parametrize("path", PRODUCT, ids=module_name)
def test_the_product_never_imports_the_test_kit(path):
    assert breaks(path, ("autograder.testkit",)) == [], module_name(path)


def test_the_rules_see_a_forbidden_import(tmp_path):
    """The reader itself: an engine module that imports the checks, even inside a function."""
    module = tmp_path / "bad.py"
    module.write_text(
        "def f():\n    from autograder import checks\n    import autograder.testkit.sample_class\n"
    )
    assert breaks(module, (*EXERCISES, "autograder.testkit")) == [
        "autograder.checks",
        "autograder.testkit.sample_class",
    ]


def test_the_course_reaches_the_engine_only_by_the_names_in_course_py():
    from autograder.engine import course

    assert f"{course.EXERCISES_PACKAGE}.checks" in EXERCISES
    assert course.CHECKS_MODULE in EXERCISES
    assert course.STEPS_MODULE in EXERCISES
