"""The pip route and the conda route install the same versions, on every Python 3.11."""

import json
import re
import subprocess
import sys

import pytest
import yaml

from rnn_forecast.paths import REPOSITORY_ROOT as ROOT

# The pip route installs TensorFlow's CPU-only wheel on Linux x86-64, and psycopg's binary
# wheel beside psycopg; conda has one package for each.
SAME_PACKAGE = {"tensorflow-cpu": "tensorflow", "psycopg-binary": "psycopg"}


REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")


def pip_pins():
    """The direct pins of the pip route: what the course runs on and what its tests use."""
    pins = {}
    lines = [line for name in REQUIREMENTS for line in (ROOT / name).read_text().splitlines()]
    for line in lines:
        requirement = line.split("#", 1)[0].split(";", 1)[0].strip()
        if requirement:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", requirement).groups()
            name = SAME_PACKAGE.get(name.lower(), name.lower())
            assert pins.setdefault(name, version) == version, f"{name} pinned twice"
    return pins


def conda_pins():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str) and "=" in entry:
            name, version = entry.split("=", 1)
            pins[name.lower()] = version
    return environment, pins


def test_every_pip_requirement_is_pinned_exactly_and_has_a_platform_marker_for_tensorflow():
    text = (ROOT / "requirements.txt").read_text()
    assert 'tensorflow-cpu==2.21.0 ; sys_platform == "linux" and platform_machine == "x86_64"' in text
    assert 'tensorflow==2.21.0 ; sys_platform != "linux" or platform_machine != "x86_64"' in text
    assert pip_pins()


def test_conda_environment_pins_the_same_versions_as_pip():
    environment, pins = conda_pins()
    assert environment["channels"][0] == "conda-forge"
    assert pins.pop("python") == "3.11"
    assert pins == pip_pins()


def test_constraints_agree_with_the_direct_pins():
    locked = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower().replace("_", "-")] = version
    for name, version in pip_pins().items():
        if name != "tensorflow":
            assert locked[name] == version, (
                f"constraints.txt has {name} {locked[name]}, requirements.txt {version}"
            )
    assert locked["tensorflow-cpu"] == pip_pins()["tensorflow"]


def test_the_course_runs_without_the_test_and_tooling_packages():
    runtime = (ROOT / "requirements.txt").read_text()
    for tool in ("pytest", "nbval", "playwright", "ruff"):
        assert not re.search(rf"^{tool}==", runtime, re.MULTILINE), f"{tool} belongs in requirements-dev.txt"


@pytest.mark.slow
def test_the_pinned_packages_install_on_the_first_python_3_11(tmp_path):
    """pyproject.toml admits every 3.11, and Debian 12's python3.11 is 3.11.2: a pin that needs a
    later 3.11 stops make setup there with pip's ResolutionImpossible (soupsieve 3.0 and later do).
    pip resolves the pins as for Python 3.11.0 (wheels only, nothing installed); none is yanked."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    command += ["--target", str(tmp_path / "target"), "--python-version", "3.11.0", "--only-binary=:all:"]
    command += ["-r", "requirements.txt", "-r", "requirements-dev.txt", "-c", "constraints.txt"]
    result = subprocess.run([*command, "--report", str(report)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(json.loads(report.read_text())["install"]) > 100
    # pip 23's report does not say which were yanked; its warning does.
    assert [line for line in result.stderr.splitlines() if "yanked" in line] == []
