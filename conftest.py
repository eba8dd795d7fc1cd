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

#: Session fixtures too big to make once per worker, and the modules that use them. Under
#: ``make test``'s workers each group runs on one worker, so the fixture is made once a run: a
#: README clone holds a 2 GB virtual environment, and one per worker filled a CI machine's disk.
ONE_WORKER_FIXTURES = {
    "readme_clone": ("tests/test_hostile_submissions.py", "tests/test_where_grading_runs.py"),
}

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
    _check_one_worker_fixtures(config, items)


def _check_one_worker_fixtures(config, items):
    for item in items:
        module = item.path.relative_to(config.rootpath).as_posix()
        for fixture, modules in ONE_WORKER_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()) and module not in modules:
                raise pytest.UsageError(
                    f"{item.nodeid} uses the session fixture {fixture!r}: add {module} to "
                    f"ONE_WORKER_FIXTURES[{fixture!r}] in conftest.py, so that make test's workers "
                    "make it once, not once each."
                )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the modules of each ``ONE_WORKER_FIXTURES`` entry as one unit."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    unit_of = {module: fixture for fixture, modules in ONE_WORKER_FIXTURES.items() for module in modules}

    class SharedFixtureScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return unit_of.get(module, module)

    return SharedFixtureScheduling(config, log)
