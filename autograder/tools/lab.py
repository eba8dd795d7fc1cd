"""JupyterLab for each role: the student's working folder and view, and the instructor's view.

``make lab`` (``python -m autograder.tools.lab student``) gives a student a working folder of their
own, outside what git tracks: copies of the lessons, a "start here" page, and
``exercises/``, where nbgrader's *Assignments* tab fetches the released assignment. JupyterLab
runs with that folder as its root and a Jupyter configuration generated inside it
(``.jupyter/``, never the user's ``~/.jupyter``), which turns off nbgrader's instructor parts
(Formgrader, Create Assignment, the course list) and points nbgrader at the course's
exchange. It opens on the start page.

``make lab-instructor`` (``python -m autograder.tools.lab instructor``) serves the repository root,
which is the nbgrader course directory, with Formgrader and Create Assignment and without
the student's assignment list, and opens on Formgrader. Its Formgrader is nbgrader's
behind a Content-Security-Policy (:mod:`autograder.tools.safe_formgrader`), so that nothing a
student's code displayed runs in the instructor's browser.

The course id, the exchange folder and the cell timeout are read from the course's
``nbgrader_config.py``, so both views and nbgrader's own commands agree on them. Set
``COURSE_EXCHANGE`` to use another exchange (for example a shared one on a JupyterHub).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from autograder.engine.course_config import read_course_config
from rnn_forecast.paths import REPOSITORY_ROOT

CONFIG_FILE = "nbgrader_config.py"
ASSIGNMENT = "gated_rnn"

#: Where, inside a student's working folder, each thing lives.
LESSONS = "lessons"
EXERCISES = "exercises"  # nbgrader fetches into exercises/<assignment>/ (the lessons link there)
START_PAGE = "START_HERE.md"
JUPYTER_CONFIG = ".jupyter"
NBGRADER_CACHE = ".nbgrader_cache"  # nbgrader's record of the student's submissions, for feedback
WORKSPACES = "lab/workspaces"  # JupyterLab's saved layouts, inside JUPYTER_CONFIG
MANIFEST = ".course_copies.json"  # hash of the course version each copy was made from

#: Folders of the repository that git tracks: a working folder never goes inside one.
TRACKED_FOLDERS = {
    ".git",
    ".ci",
    "autograder",
    "benchmarks",
    "data",
    "docs",
    "exercises",
    "hub",
    "lessons",
    "results",
    "rnn_forecast",
    "solutions",
    "tests",
}

#: Course files a student gets a copy of besides the lessons (lesson 3 links data/README.md).
EXTRA_COPIES = ("data/README.md",)

#: nbgrader's JupyterLab plugins and server extensions, and which of them each view keeps.
NBGRADER_LAB_PLUGINS = (
    "menu",
    "assignment-list",
    "course-list",
    "create-assignment",
    "formgrader",
    "validate-assignment",
)
NBGRADER_SERVER_EXTENSIONS = ("assignment_list", "course_list", "formgrader", "validate_assignment")
#: The instructor's Formgrader is nbgrader's behind a Content-Security-Policy, with submissions
#: cleaned before they are rendered: a student's output never runs as the instructor. It
#: replaces nbgrader's own formgrader server extension (README, "What grading protects against").
SAFE_FORMGRADER = "autograder.tools.safe_formgrader"
#: The course's own lab extension and its server part, for the student's view: Submit lists the
#: open steps and asks, submission times in words, Validate only on assignments
#: (:mod:`autograder.tools.open_steps`). It is loaded prebuilt from the repository
#: (:mod:`autograder.tools.build_labextension`): nothing is installed, no npm needed.
COURSE_LAB_SERVER = "autograder.tools.open_steps"
COURSE_LAB_EXTENSIONS = Path(__file__).resolve().parent / "labextension" / "prebuilt"
VIEWS = {
    "student": {
        "lab": {"menu", "assignment-list", "validate-assignment"},
        "server": {"assignment_list", "validate_assignment", COURSE_LAB_SERVER},
    },
    "instructor": {
        "lab": {"menu", "formgrader", "create-assignment", "validate-assignment"},
        "server": {"validate_assignment", SAFE_FORMGRADER},
    },
}

#: JupyterLab settings both views start with: no calls to the Jupyter news feed (and no
#: pop-up asking about it), and Markdown files such as the start page shown rendered.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "defaultViewers": {"markdown": "Markdown Preview"},
    },
}


# ---------------------------------------------------------------- the course


@dataclass(frozen=True)
class Course:
    """What both views need to know of the nbgrader course."""

    directory: Path
    course_id: str
    exchange: Path
    cell_timeout: int


def read_course(directory: Path = REPOSITORY_ROOT) -> Course:
    """The course id, exchange and cell timeout as the course's ``nbgrader_config.py`` sets them."""
    directory = Path(directory).resolve()
    if not (directory / CONFIG_FILE).is_file():
        raise SystemExit(f"{directory} has no {CONFIG_FILE}: run this from the course's repository")
    config = read_course_config(directory)[0]
    course_id = config.CourseDirectory.get("course_id")
    exchange = config.Exchange.get("root")
    if not course_id or not exchange:
        raise SystemExit(
            f"{directory / CONFIG_FILE} must set c.CourseDirectory.course_id and c.Exchange.root"
        )
    return Course(directory, course_id, Path(exchange).resolve(), int(config.Execute.get("timeout", 30)))


def ensure_exchange(course: Course) -> None:
    """Create the exchange folder if it is missing, writable by everyone as nbgrader requires.

    nbgrader's student commands report an error while it is missing; `nbgrader
    release_assignment` would create it, but a student may open the lab first.
    """
    if not course.exchange.is_dir():
        course.exchange.mkdir(parents=True)
        course.exchange.chmod(stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO)


# ---------------------------------------------------------------- the student's working folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _copy_keeping_edits(
    content: bytes, target: Path, relative: str, manifest: dict, notes: list[str]
) -> None:
    """Write ``content`` to ``target`` unless the student changed the copy made last time.

    A copy the student never changed follows the course's new version; a changed one is
    moved aside to ``<name>.before-<time><suffix>`` (nothing is lost) and the new version
    takes its place.
    """
    new_hash = _sha256(content)
    if target.exists():
        current = _sha256(target.read_bytes())
        if current == new_hash:
            manifest[relative] = new_hash
            return
        if manifest.get(relative) == new_hash:
            return  # the course has not changed since the copy; the student's edits stay
        if current != manifest.get(relative):
            kept = target.with_name(f"{target.stem}.before-{datetime.now():%Y%m%d-%H%M%S}{target.suffix}")
            target.rename(kept)
            notes.append(f"{relative}: the course has a new version; your copy is kept as {kept.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    manifest[relative] = new_hash


def lesson_title(notebook: Path) -> str:
    """The text of the lesson's first Markdown heading, without its ``#``."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return notebook.stem


def start_page(course: Course, studying_alone_possible: bool = True) -> str:
    """The student's first screen: the module's map and the assignment loop, in order.

    On a shared server (``make hub``) a student cannot release the assignment, so the page
    does not suggest it.
    """
    not_released = "Nothing under *Released assignments*? Your instructor has not released it yet."
    if studying_alone_possible:
        not_released += " Studying\nalone? Run `make release` once in the course folder, then reload the tab."
    lessons = sorted((course.directory / LESSONS).glob("*.ipynb"))
    lesson_lines = "\n".join(
        f"{number}. [{lesson_title(path)}]({LESSONS}/{path.name})" for number, path in enumerate(lessons, 1)
    )
    return f"""# Start here: gated recurrent networks, GRU and LSTM

This is your working folder. Everything in it is yours to run and change: copies of the
lessons, and the exercises once you fetch them. The course's own files are not touched.

## 1. The lessons

{lesson_lines}

Open a lesson and run it from the top (*Run* > *Run All Cells*), or cell by cell with
Shift+Enter. Each one takes a few minutes at most.

## 2. The exercises

1. **Fetch.** Open the *Assignments* tab (menu *Nbgrader* > *Assignment List*). Under
   *Released assignments*, press *Fetch* next to `{ASSIGNMENT}`: its three notebooks arrive
   in `{EXERCISES}/{ASSIGNMENT}/`.
2. **Work.** Do each step; run the test cell below it. A step not done yet is named in one
   sentence.
3. **Validate.** The *Validate* button in a notebook's toolbar runs the whole notebook and
   lists what is still missing.
4. **Submit.** In the *Assignments* tab, press *Submit*: it first lists the steps still
   open and asks. You may submit again; your instructor grades the last submission they
   collect.
5. **Feedback.** Once your instructor releases it, press *Fetch Feedback* in the same tab:
   it arrives in `{EXERCISES}/{ASSIGNMENT}/feedback/`.

{not_released}
"""


def prepare_workspace(workspace: Path, course: Course, studying_alone_possible: bool = True) -> list[str]:
    """Create or update the student's working folder; returns notes to show the student."""
    workspace = Path(workspace).resolve()
    inside = workspace.relative_to(course.directory).parts if course.directory in workspace.parents else ()
    if workspace == course.directory or (inside and inside[0] in TRACKED_FOLDERS):
        raise SystemExit(f"{workspace} is inside the course's own files: pick a working folder of its own")
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / EXERCISES).mkdir(exist_ok=True)
    manifest_path = workspace / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    notes: list[str] = []
    sources = {
        path.relative_to(course.directory).as_posix(): path.read_bytes()
        for path in sorted((course.directory / LESSONS).rglob("*"))
        if path.is_file() and ".ipynb_checkpoints" not in path.parts
    }
    for relative in EXTRA_COPIES:
        sources[relative] = (course.directory / relative).read_bytes()
    sources[START_PAGE] = start_page(course, studying_alone_possible).encode("utf-8")
    for relative, content in sources.items():
        _copy_keeping_edits(content, workspace / relative, relative, manifest, notes)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return notes


# ---------------------------------------------------------------- Jupyter configuration per view


def _write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def write_view_config(config_dir: Path, view: str) -> None:
    """Jupyter configuration for one view: which nbgrader parts are on, and the lab settings.

    The server extensions are switched in ``jupyter_server_config.json`` and the lab
    plugins in ``labconfig/page_config.json``: the files ``jupyter server extension
    disable --user`` and ``jupyter labextension disable --level=user`` write, here in a
    folder of the view's own. User settings the student may have changed are kept.
    """
    keep = VIEWS[view]
    extensions = {
        f"nbgrader.server_extensions.{name}": name in keep["server"] for name in NBGRADER_SERVER_EXTENSIONS
    }
    extensions[SAFE_FORMGRADER] = SAFE_FORMGRADER in keep["server"]
    extensions[COURSE_LAB_SERVER] = COURSE_LAB_SERVER in keep["server"]
    _write_json(config_dir / "jupyter_server_config.json", {"ServerApp": {"jpserver_extensions": extensions}})
    _write_json(
        config_dir / "labconfig" / "page_config.json",
        {
            "disabledExtensions": {
                f"@jupyter/nbgrader:{name}": True for name in NBGRADER_LAB_PLUGINS if name not in keep["lab"]
            }
        },
    )
    for relative, settings in LAB_SETTINGS.items():
        path = config_dir / "lab" / "user-settings" / relative
        if not path.exists():
            _write_json(path, settings)


def write_student_nbgrader_config(config_dir: Path, workspace: Path, course: Course) -> None:
    """The student's nbgrader settings: the course, the exchange, and where assignments go."""
    settings = {
        "CourseDirectory.course_id": course.course_id,
        "Exchange.root": str(course.exchange),
        "Exchange.assignment_dir": str(Path(workspace).resolve() / EXERCISES),
        "Exchange.cache": str(Path(workspace).resolve() / NBGRADER_CACHE),
        "Execute.timeout": course.cell_timeout,
    }
    lines = [
        '"""Written by `make lab` (autograder/tools/lab.py) from the course\'s nbgrader_config.py; '
        'rewritten each time."""',
        "",
        "c = get_config()  # noqa: F821  (nbgrader defines get_config when it reads this file)",
    ]
    lines += [f"c.{name} = {value!r}" for name, value in settings.items()]
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / CONFIG_FILE).write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- the two views


@dataclass(frozen=True)
class Lab:
    """How to start JupyterLab for one view: working directory, environment, arguments."""

    cwd: Path
    config_dir: Path
    arguments: list[str]

    def environment(self, base: dict | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["JUPYTER_CONFIG_DIR"] = str(self.config_dir)
        return env

    def command(self, *extra: str) -> list[str]:
        jupyter = Path(sys.executable).with_name("jupyter")
        return [str(jupyter), "lab", *self.arguments, *extra]


def forget_open_tabs(config_dir: Path) -> None:
    """Start the student's lab with only the start page open, not every tab of last time.

    JupyterLab restores the saved layout (its "workspace") and starts a kernel for every
    notebook tab in it: four lessons open last time are four kernels, and TensorFlow, at the
    next start. JupyterLab 4.6 has no setting to restore a tab without its kernel (the notebook
    tracker's ``autoStartDefaultKernel`` only decides whether a notebook *without* a kernel
    gets the default one without asking), so the saved layout is what goes: only the layout,
    never a file, and a browser reload of a running lab still keeps its tabs.
    """
    for saved in (config_dir / WORKSPACES).glob("*.jupyterlab-workspace"):
        saved.unlink()


def student_lab(workspace: Path, course: Course) -> tuple[Lab, list[str]]:
    """Prepare the working folder and its configuration; the lab opens on the start page."""
    notes = prepare_workspace(workspace, course)
    workspace = Path(workspace).resolve()
    config_dir = workspace / JUPYTER_CONFIG
    write_view_config(config_dir, "student")
    write_student_nbgrader_config(config_dir, workspace, course)
    ensure_exchange(course)
    forget_open_tabs(config_dir)
    arguments = [
        f"--ServerApp.root_dir={workspace}",
        f"--LabApp.default_url=/lab/tree/{START_PAGE}",
        f"--LabApp.workspaces_dir={config_dir / WORKSPACES}",
        f"--LabApp.extra_labextensions_path={COURSE_LAB_EXTENSIONS}",
    ]
    return Lab(workspace, config_dir, arguments), notes


def instructor_lab(config_dir: Path, course: Course) -> Lab:
    """The course directory as root, nbgrader's instructor parts on; opens on Formgrader."""
    write_view_config(Path(config_dir), "instructor")
    ensure_exchange(course)
    arguments = [f"--ServerApp.root_dir={course.directory}", "--LabApp.default_url=/lab?formgrader=true"]
    return Lab(course.directory, Path(config_dir).resolve(), arguments)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.tools.lab",
        description="Start JupyterLab as a student (own working folder) or as the instructor (Formgrader).",
        epilog="Arguments after the view are passed to `jupyter lab` (for example --allow-root, --port 8890).",
    )
    parser.add_argument("view", choices=sorted(VIEWS))
    parser.add_argument(
        "--workspace",
        type=Path,
        default=REPOSITORY_ROOT / "workspace",
        help="the student's working folder (default: workspace/ in the repository, ignored by git)",
    )
    parser.add_argument(
        "--instructor-config",
        type=Path,
        default=REPOSITORY_ROOT / "build" / "jupyter-instructor",
        help="where the instructor view's Jupyter configuration is written",
    )
    parser.add_argument(
        "--prepare-only", action="store_true", help="write the folders and configuration, start nothing"
    )
    arguments, jupyter_arguments = parser.parse_known_args(argv)
    course = read_course()
    if arguments.view == "student":
        lab, notes = student_lab(arguments.workspace, course)
        for note in notes:
            print(note)
        print(f"Your working folder: {lab.cwd}  (exchange: {course.exchange})")
    else:
        lab = instructor_lab(arguments.instructor_config, course)
        print(f"Course directory: {lab.cwd}  (exchange: {course.exchange})")
    if arguments.prepare_only:
        return
    sys.stdout.flush()
    os.chdir(lab.cwd)
    command = lab.command(*jupyter_arguments)
    os.execve(command[0], command, lab.environment())


if __name__ == "__main__":
    main()
