"""Settings stated in one place: what the command lines say are their defaults is what the code uses."""

import pytest

from autograder.engine.grade_class import main
from autograder.engine.job_types import Limits
from autograder.engine.sandbox import SandboxedKernelManager


def test_grade_class_help_states_the_defaults_the_code_uses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"per submission in seconds (default {Limits().timeout})" in shown
    assert f"kernel in MiB (default {Limits().memory_mib})" in shown
    assert f"/dev/shm) in MiB (default {SandboxedKernelManager().disk_mib})" in shown
