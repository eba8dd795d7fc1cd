"""The student's working folder and both views' configuration (autograder/tools/lab.py), without a server.

The servers themselves, in a browser, are ``test_browser.py``.
"""

import json
import shutil
import subprocess

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from autograder.tools import lab
from rnn_forecast.paths import REPOSITORY_ROOT


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder with the real nbgrader_config.py, two small lessons and data/README.md."""
    directory = tmp_path / "course"
    (directory / "lessons").mkdir(parents=True)
    (directory / "data").mkdir()
    shutil.copy2(REPOSITORY_ROOT / "nbgrader_config.py", directory)
    (directory / "data" / "README.md").write_text("the data\n")
    for number, title in [(1, "Lesson 1 — First"), (2, "Lesson 2 — Second")]:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\n\nText.")])
        nbformat.write(notebook, directory / "lessons" / f"0{number}_lesson.ipynb")
    monkeypatch.setenv("COURSE_EXCHANGE", str(tmp_path / "shared-exchange"))
    return lab.read_course(directory)


def test_the_course_settings_come_from_nbgrader_config_and_the_exchange_from_the_environment(
    course, tmp_path, monkeypatch
):
    assert course.course_id == "gated_rnn" == lab.ASSIGNMENT
    assert course.exchange == tmp_path / "shared-exchange"
    assert course.cell_timeout == 120
    monkeypatch.delenv("COURSE_EXCHANGE")
    assert lab.read_course(course.directory).exchange == course.directory / "exchange"


def test_a_working_folder_holds_copies_of_the_lessons_a_start_page_and_the_exercises_folder(course, tmp_path):
    workspace = tmp_path / "work"
    assert lab.prepare_workspace(workspace, course) == []
    for name in ("01_lesson.ipynb", "02_lesson.ipynb"):
        assert (workspace / "lessons" / name).read_bytes() == (
            course.directory / "lessons" / name
        ).read_bytes()
    assert (workspace / "data" / "README.md").read_text() == "the data\n"
    assert (workspace / lab.EXERCISES).is_dir()
    start = (workspace / lab.START_PAGE).read_text()
    assert "1. [Lesson 1 — First](lessons/01_lesson.ipynb)" in start
    assert "2. [Lesson 2 — Second](lessons/02_lesson.ipynb)" in start


def test_only_a_student_working_alone_is_told_to_release_the_assignment(course, tmp_path):
    alone, on_a_hub = tmp_path / "alone", tmp_path / "hub"
    lab.prepare_workspace(alone, course)
    lab.prepare_workspace(on_a_hub, course, studying_alone_possible=False)
    assert "Run `make release`" in (alone / lab.START_PAGE).read_text()
    hub_page = (on_a_hub / lab.START_PAGE).read_text()
    assert "make release" not in hub_page
    assert "Your instructor has not released it yet." in hub_page


def test_preparing_again_keeps_the_students_edits_and_updates_untouched_copies(course, tmp_path):
    workspace = tmp_path / "work"
    lab.prepare_workspace(workspace, course)
    edited = workspace / "lessons" / "01_lesson.ipynb"
    edited.write_text(edited.read_text().replace("Text.", "Text, with my notes."))
    assert lab.prepare_workspace(workspace, course) == []
    assert "my notes" in edited.read_text()

    for name in ("01_lesson.ipynb", "02_lesson.ipynb"):  # the course publishes new versions
        path = course.directory / "lessons" / name
        path.write_text(path.read_text().replace("Text.", "New text."))
    notes = lab.prepare_workspace(workspace, course)
    assert "New text." in (workspace / "lessons" / "02_lesson.ipynb").read_text()  # untouched: updated
    assert "New text." in edited.read_text()
    kept = list((workspace / "lessons").glob("01_lesson.before-*.ipynb"))
    assert len(kept) == 1
    assert "my notes" in kept[0].read_text()
    assert notes == [
        f"lessons/01_lesson.ipynb: the course has a new version; your copy is kept as {kept[0].name}"
    ]


def test_a_working_folder_never_goes_inside_the_courses_own_files(course):
    for place in (course.directory, course.directory / "lessons", course.directory / "solutions" / "mine"):
        with pytest.raises(SystemExit, match="inside the course's own files"):
            lab.prepare_workspace(place, course)


def test_the_students_nbgrader_config_points_at_the_course_exchange_and_working_folder(course, tmp_path):
    student_lab, _ = lab.student_lab(tmp_path / "work", course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(student_lab.config_dir)).load_config()
    assert config.CourseDirectory.course_id == course.course_id
    assert config.Exchange.root == str(course.exchange)
    assert config.Exchange.assignment_dir == str(tmp_path / "work" / lab.EXERCISES)
    assert config.Execute.timeout == course.cell_timeout
    assert course.exchange.is_dir()  # created, so that the Assignments tab shows no error
    assert student_lab.environment({})["JUPYTER_CONFIG_DIR"] == str(tmp_path / "work" / ".jupyter")
    assert f"--ServerApp.root_dir={tmp_path / 'work'}" in student_lab.arguments
    assert f"--LabApp.default_url=/lab/tree/{lab.START_PAGE}" in student_lab.arguments


@pytest.mark.parametrize("view", sorted(lab.VIEWS))
def test_each_view_switches_off_the_other_roles_nbgrader_parts(view, tmp_path):
    lab.write_view_config(tmp_path, view)
    server = json.loads((tmp_path / "jupyter_server_config.json").read_text())["ServerApp"][
        "jpserver_extensions"
    ]
    disabled = json.loads((tmp_path / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    formgrader_on = view == "instructor"
    # The instructor's Formgrader is nbgrader's behind a Content-Security-Policy, never nbgrader's own.
    assert server["nbgrader.server_extensions.formgrader"] is False
    assert server[lab.SAFE_FORMGRADER] is formgrader_on
    assert ("@jupyter/nbgrader:formgrader" in disabled) is not formgrader_on
    assert ("@jupyter/nbgrader:create-assignment" in disabled) is not formgrader_on
    assert server["nbgrader.server_extensions.assignment_list"] is not formgrader_on
    assert server["nbgrader.server_extensions.validate_assignment"] is True
    assert "@jupyter/nbgrader:validate-assignment" not in disabled


def test_the_students_own_lab_settings_survive_a_new_make_lab(tmp_path):
    lab.write_view_config(tmp_path, "student")
    settings = (
        tmp_path
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    settings.write_text('{"fetchNews": "true"}\n')
    lab.write_view_config(tmp_path, "student")
    assert settings.read_text() == '{"fetchNews": "true"}\n'


def test_every_folder_git_tracks_is_off_limits_as_a_working_folder():
    if not (REPOSITORY_ROOT / ".git").exists():
        pytest.skip("not a git checkout: git cannot list the tracked folders")
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/", 1)[0] for path in tracked if "/" in path}
    assert folders <= lab.TRACKED_FOLDERS
