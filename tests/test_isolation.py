"""A developer's own Jupyter configuration changes no test result (the root ``conftest.py``).

A hostile home: an ``nbgrader_config.py`` that moves the course folder and cuts the cell
timeout to a second, and an IPython startup file that writes to stderr in every kernel
(nbgrader scores a test cell with stderr 0). A real grading test run under it passes; the
same run without the test suite's isolation fails, which shows the home is hostile indeed.
"""

import os
import subprocess
import sys

import pytest

from rnn_forecast.paths import REPOSITORY_ROOT

pytestmark = pytest.mark.slow

GRADING_TEST = "tests/test_grade_class.py::test_command_line_prints_a_summary_and_fails_on_an_unknown_student"

HOSTILE_NBGRADER_CONFIG = """\
c = get_config()
c.CourseDirectory.root = "/nonexistent/hostile-course"
c.Execute.timeout = 1
"""
HOSTILE_STARTUP = "import sys\nprint('hostile startup file', file=sys.stderr)\n"


@pytest.fixture
def hostile_home(tmp_path):
    home = tmp_path / "home"
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(HOSTILE_NBGRADER_CONFIG)
    startup = home / ".ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-hostile.py").write_text(HOSTILE_STARTUP)
    return home


def run_grading_test(home, *options):
    environment = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "IPYTHONDIR": str(home / ".ipython"),
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *options, GRADING_TEST],
        cwd=REPOSITORY_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_hostile_jupyter_configuration_changes_no_result(hostile_home):
    isolated = run_grading_test(hostile_home)
    assert isolated.returncode == 0, isolated.stdout[-3000:]

    exposed = run_grading_test(hostile_home, "--noconftest")
    assert exposed.returncode != 0, "the hostile home changed nothing: the test proves nothing"
    assert "hostile-course" in exposed.stdout + exposed.stderr
