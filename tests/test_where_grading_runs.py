"""Grading where instructors run it, in the layout the README gives them, and where it cannot run.

Every test here grades in a fresh clone of this checkout under /tmp, set up by the README's
own commands, so ``.venv`` is inside the course folder (the ``readme_clone`` fixture). The
layouts that broke grading (issue 16) are each graded with ``make autograde`` and ``make
grade``, honest reference 16 and blank notebook 0, neither flagged:

- the clone under /tmp, as an unprivileged user (made with ``useradd`` when the tests run
  as root, as on CI), with ``TMPDIR`` a job folder of that user's, as a batch system sets it: here;
- the clone under /tmp, with ``TMPDIR`` pointing at another folder as Slurm sets it, as
  root: ``tests/test_hostile_submissions.py``, whose class holds the honest reference and
  a blank notebook beside the attackers, graded in the same clone.

Then what an instructor meets where grading cannot run: a bubblewrap that cannot start
(simulated, and refused by the kernel for an unprivileged grader where user namespaces are
switched off), a verifier that cannot start, another clone's environment. The preflight stops both commands
before the first student, with the cause and what to do; no student gets a score or a
gradebook row. ``make doctor`` prints every check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import grading_support as support
import pytest
from clone_support import SYSTEM_PATH, unprivileged_user
from nbgrader.api import Gradebook

from autograder.engine.sandbox import sandbox_problem
from autograder.testkit.sample_class import make_submission
from rnn_forecast.paths import REPOSITORY_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_problem() is not None, reason=f"needs the sandbox: {sandbox_problem()}"),
]

ASSIGNMENT = "gated_rnn"
CLASS = {"ana": "solution", "ben": "release"}
HONEST = {"ana": 16.0, "ben": 0.0}
COMMANDS = {
    "make autograde": ("autograde",),
    "make grade": ("grade", "GRADE_FLAGS=--workers 2 --cell-timeout 60"),
}


def said(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def grading_user(readme_clone):
    if readme_clone.python_for_everyone is None:
        pytest.skip("no Python that an unprivileged user can run: install patchelf (Debian package)")
    with unprivileged_user(readme_clone.parent) as user:
        yield user


def job_tmpdir(user, command: str) -> Path:
    """A job's own temporary folder, owned by ``user``, as Slurm's job_container/tmpfs or a
    scheduler's TMPDIR gives one: away from /tmp, and only that user may write in it."""
    folder = user.home / "job" / command.replace(" ", "-")
    for made in (folder.parent, folder):
        made.mkdir(exist_ok=True)
        os.chown(made, user.uid, user.gid)
        made.chmod(0o700)
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_as_an_unprivileged_user_honest_16_blank_0_neither_flagged(readme_clone, grading_user, command):
    readme_clone.start_class(CLASS, user=grading_user)
    tmpdir = job_tmpdir(grading_user, command)
    result = readme_clone.make(*COMMANDS[command], user=grading_user, tmpdir=tmpdir)
    assert result.returncode == 0, said(result)[-5000:]
    assert readme_clone.scores() == HONEST, said(result)[-5000:]
    assert support.flagged_notebooks(readme_clone.course) == set()
    graded = readme_clone.course / "autograded" / "ana" / ASSIGNMENT / "2_gru8.ipynb"
    assert graded.stat().st_uid == grading_user.uid, "graded by that user"
    assert sorted(tmpdir.rglob("*")) == [], "grading leaves nothing behind in TMPDIR"


# ---------------------------------------------------------------- where grading cannot run


def fake_bwrap(folder: Path, refuse_when: str | None) -> str:
    """A PATH on which ``bwrap`` prints a message and exits 1: always, or when its command
    line holds ``refuse_when`` (otherwise it runs the real bubblewrap)."""
    real = shutil.which("bwrap")
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "bwrap"
    message = "echo 'bwrap: No permissions to create a new namespace (simulated)' >&2; exit 1"
    if refuse_when is None:
        script.write_text(f"#!/bin/sh\n{message}\n")
    else:
        script.write_text(f'#!/bin/sh\ncase "$*" in *{refuse_when}*) {message};; esac\nexec {real} "$@"\n')
    script.chmod(0o755)
    return f"{folder}:{SYSTEM_PATH}"


def assert_stopped_before_the_first_student(readme_clone, result, cause: str) -> None:
    message = said(result)
    assert result.returncode != 0, message[-3000:]
    assert "Grading stopped before the first student" in message, message[-3000:]
    assert cause in message, message[-3000:]
    assert "[AutogradeApp" not in message, "nbgrader's autograde never started"
    assert not (readme_clone.course / "autograded").exists()
    assert not (readme_clone.course / ".grade_class" / ASSIGNMENT / "ana.log").exists()
    with Gradebook(f"sqlite:///{readme_clone.course / 'gradebook.db'}") as gradebook:
        assert gradebook.assignment_submissions(ASSIGNMENT) == []
        assert gradebook.students == []


def test_a_sandbox_that_cannot_start_stops_grading_before_the_first_student(readme_clone, tmp_path):
    readme_clone.start_class(CLASS)
    for command in COMMANDS.values():
        result = readme_clone.make(*command, path=fake_bwrap(tmp_path, None))
        assert_stopped_before_the_first_student(
            readme_clone, result, "No permissions to create a new namespace"
        )


def test_where_user_namespaces_are_switched_off_grading_stops_and_names_the_setting(
    readme_clone, grading_user
):
    """An unprivileged grader on a machine with ``user.max_user_namespaces=0`` (a hardened kernel or
    container): the kernel itself refuses bubblewrap, and each command says which setting to change."""
    readme_clone.start_class(CLASS, user=grading_user)
    doctor = readme_clone.make("doctor", user=grading_user, without_user_namespaces=True)
    assert doctor.returncode != 0, said(doctor)[-3000:]
    assert "FAIL bubblewrap" in doctor.stdout, said(doctor)[-3000:]
    setting = "sudo sysctl user.max_user_namespaces=15000"
    assert setting in doctor.stdout, said(doctor)[-3000:]
    for command in COMMANDS.values():
        result = readme_clone.make(*command, user=grading_user, without_user_namespaces=True)
        assert_stopped_before_the_first_student(readme_clone, result, "max_*_namespaces exceeded")
        assert setting in said(result), said(result)[-3000:]


def test_a_verifier_that_cannot_start_stops_grading_before_the_first_student(readme_clone, tmp_path):
    readme_clone.start_class(CLASS)
    for command in COMMANDS.values():
        result = readme_clone.make(*command, path=fake_bwrap(tmp_path, "autograder.engine.verifier"))
        assert_stopped_before_the_first_student(readme_clone, result, "verifier")
        assert "No permissions to create a new namespace" in said(result)


def test_make_doctor_prints_what_it_checked(readme_clone, tmp_path):
    fine = readme_clone.make("doctor")
    assert fine.returncode == 0, said(fine)[-3000:]
    for check in ("bubblewrap", "course package", "sandbox view", "student kernel", "verifier"):
        assert f"ok   {check}:" in fine.stdout
    assert "Grading can run here" in fine.stdout
    broken = readme_clone.make("doctor", path=fake_bwrap(tmp_path, None))
    assert broken.returncode != 0
    assert "FAIL bubblewrap" in broken.stdout
    assert "No permissions to create a new namespace" in broken.stdout


def test_a_second_clone_graded_with_the_first_clones_environment_is_refused_in_one_sentence(readme_clone):
    """One .venv (an editable install of the first clone), grading in another clone: the kernel would
    import the first clone's package, so grading refuses up front and names it."""
    second = readme_clone.parent / "second"
    subprocess.run(["git", "clone", "--quiet", "--shared", str(REPOSITORY_ROOT), str(second)], check=True)
    nbgrader = readme_clone.course / ".venv" / "bin" / "nbgrader"
    environment = readme_clone.environment(readme_clone.runner())
    environment["PATH"] = f"{nbgrader.parent}:{SYSTEM_PATH}"
    released = subprocess.run(
        [str(nbgrader), "generate_assignment", ASSIGNMENT, "--force"],
        cwd=second,
        env=environment,
        capture_output=True,
        check=False,
    )
    assert released.returncode == 0, released.stderr[-3000:]
    make_submission(second, "ana", "release")
    for command in (
        [str(nbgrader.parent / "python"), "-m", "autograder.engine.doctor", "--preflight"],
        [str(nbgrader), "autograde", ASSIGNMENT],
    ):
        result = subprocess.run(
            command, cwd=second, env=environment, capture_output=True, text=True, check=False
        )
        assert result.returncode != 0, said(result)[-3000:]
        assert (
            f"would import the course package `autograder` from {readme_clone.course / 'autograder'}"
            in said(result)
        ), said(result)[-3000:]
    assert not (second / "autograded" / "ana" / ASSIGNMENT).exists()
    with Gradebook(f"sqlite:///{second / 'gradebook.db'}") as gradebook:
        assert gradebook.assignment_submissions(ASSIGNMENT) == []
