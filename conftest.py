"""Every test run, whatever paths it is given: nothing of the developer's own Jupyter setup.

Jupyter and nbgrader read configuration from the user's home (``~/.jupyter``, for
example an ``nbgrader_config.py`` that changes the course folder or the cell timeout) and
write runtime files there. As nbgrader's own tests do, the whole run gets its own HOME and
Jupyter folders, which every kernel, nbgrader command and JupyterLab the tests start
inherits. ``tests/test_isolation.py`` proves it with a hostile ``~/.jupyter``.
"""

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest

#: Where Jupyter looks beyond its installation; the run's own folders replace them.
JUPYTER_LOCATIONS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")
#: Extra search paths a developer may have set; the run must not see them.
JUPYTER_SEARCH_PATHS = ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH")

#: Lessons whose nbval run trains models for half a minute or more (make test-fast skips them).
TRAINING_LESSONS = ("03_sp500_comparison.ipynb",)

_isolated_home: Path | None = None


def pytest_configure(config):
    global _isolated_home
    _isolated_home = Path(tempfile.mkdtemp(prefix="gated-rnn-tests-home-"))
    os.environ["HOME"] = str(_isolated_home)
    for variable in JUPYTER_LOCATIONS:
        folder = _isolated_home / variable.lower()
        folder.mkdir()
        os.environ[variable] = str(folder)
    for variable in JUPYTER_SEARCH_PATHS:
        os.environ.pop(variable, None)


def pytest_unconfigure(config):
    if _isolated_home is not None:
        shutil.rmtree(_isolated_home, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Lesson 3 marked slow; then the modules with the most slow tests first (a stable sort, so
    each module's own order stays): ``make test``'s two workers take whole modules in this
    order, and the long ones started first leave no worker idle at the end."""
    for item in items:
        if item.path.name in TRAINING_LESSONS:
            item.add_marker(pytest.mark.slow)
    slow_tests = Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow_tests[item.path])
