"""A graded submission that tries to run script in the instructor's browser, opened the way
the instructor opens it: in Formgrader and as feedback, in a real JupyterLab and Chromium.

A copy of the course, ``make release``, and one student, mallory, whose exercise 1 displays
script in every form an output can take and updates an earlier display with more
(``hostile_submissions.SCRIPT_OUTPUTS``), whose written answer carries HTML with an event
handler and a ``<script>``, and whose name, as a class roster may hand it to the
gradebook, is markup. ``make autograde``; then, as a grader without the sanitiser would
have stored it, more script is put into the autograded notebook's outputs; ``make
feedback``. Each script, if it ran as the instructor, would write ``pwned-WHERE.txt``
through ``/api/contents``, open a terminal and show a dialog.

The instructor's JupyterLab is started as ``make lab-instructor`` starts it, and Debian's
Chromium (Playwright) opens the submission in Formgrader inside JupyterLab, the feedback
page from JupyterLab's file browser (trusted with its *Trust HTML* button, which lets a
page run script with the server's origin), and the feedback page as a file (``/files/``).
After each: no file written, no terminal open (``/api/terminals``, the server's child
processes, its log), no request from the student's content to ``/api/``, no dialog. And
Formgrader still grades: full credit for the written answer reaches the gradebook.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

import nbformat
import psutil
import pytest
from hostile_submissions import BROWSER_ATTACK_JS, attack_cells
from lab_support import JupyterLabServer, chromium, copy_course, isolated_environment, make
from nbgrader.api import Gradebook

from autograder.testkit import sample_class
from autograder.testkit.sample_class import ASSIGNMENT
from autograder.tools import lab

pytestmark = pytest.mark.slow

STUDENT = "mallory"
MARKER = "mallory-was-here"
#: Long enough for a page's scripts to have run: they start as the page loads.
SETTLE_MS = 3000


def inline_attack(where: str) -> str:
    """The attack as an attribute value: no quotes inside."""
    code = BROWSER_ATTACK_JS.replace("{marker}", MARKER).replace("WHERE", where)
    return "eval(atob('" + base64.b64encode(code.encode()).decode() + "'))"


def script_attack(where: str) -> str:
    return "<script>" + BROWSER_ATTACK_JS.replace("{marker}", MARKER).replace("WHERE", where) + "</script>"


HOSTILE_NAME = f'<img src=x onerror="{inline_attack("student-name")}">'
HOSTILE_ANSWER = (
    "The cell state carries what the LSTM remembers. "
    f'<img src=x onerror="{inline_attack("written-answer")}"> {script_attack("written-answer-script")}'
)
#: Runs in a page only where its policy allows inline script.
INLINE_SCRIPT_PROBE = """() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineScriptRan = true';
    document.body.appendChild(script);
    return window.inlineScriptRan === true;
}"""


def hand_in(course: Path) -> None:
    """mallory's exercise 1: the release, the script outputs' attack, a hostile written answer."""
    attacks = attack_cells("script_outputs", course, MARKER, 0, "nobody")
    notebook = sample_class.submission_notebooks("release", course, attacks)["1_gates"]
    sample_class.cells_by_grade_id(notebook)["ex1_cell_state_answer"].source = HOSTILE_ANSWER
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "1_gates.ipynb")
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n", encoding="utf-8")


def as_an_earlier_grader_stored_it(course: Path) -> None:
    """Put script into the autograded notebook's outputs, as a grader without the sanitiser kept it."""
    path = course / "autograded" / STUDENT / ASSIGNMENT / "1_gates.ipynb"
    notebook = nbformat.read(path, as_version=4)
    answer = sample_class.cells_by_grade_id(notebook)["ex1_lstm_answer"]
    answer.outputs += [
        nbformat.v4.new_output("display_data", data={"text/html": script_attack("earlier-grading")}),
        nbformat.v4.new_output(
            "display_data", data={"application/javascript": BROWSER_ATTACK_JS.replace("WHERE", "earlier-js")}
        ),
    ]
    path.chmod(0o644)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course with mallory graded, her name set from the roster, and her feedback written."""
    root = tmp_path_factory.mktemp("formgrader_safety")
    course, exchange = copy_course(root), root / "exchange"
    env = isolated_environment(root / "instructor", exchange)
    make(course, "release", env)
    hand_in(course)
    make(course, "autograde", env)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(STUDENT, first_name="Mallory", last_name=HOSTILE_NAME)
        submission_id = gradebook.find_submission_notebook("1_gates", ASSIGNMENT, STUDENT).id
    as_an_earlier_grader_stored_it(course)
    make(course, "feedback", env)
    with mock.patch.dict(os.environ, {"COURSE_EXCHANGE": str(exchange)}):
        settings = lab.read_course(course)
    return {"root": root, "course": course, "env": env, "settings": settings, "submission_id": submission_id}


@pytest.fixture(scope="module")
def server(graded):
    root = graded["root"]
    instructor_lab = lab.instructor_lab(root / "instructor-config", graded["settings"])
    with JupyterLabServer(instructor_lab, graded["env"], root / "instructor-server.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


class Watch:
    """What the student's content did in the browser: requests to the server's API, and dialogs.

    Every page and frame of the browser counts but JupyterLab's own page, which calls the
    API itself: the Formgrader frame, the feedback viewer's frame, a feedback page in a tab
    of its own, and any frame inside them.
    """

    def __init__(self, context):
        self.context = context
        self.api_requests: list[str] = []
        self.dialogs: list[str] = []
        context.on("request", self._request)
        context.on("dialog", self._dialog)

    def _request(self, request):
        try:
            frame = request.frame
        except Exception:  # noqa: BLE001  (a service worker's request has no frame)
            return
        jupyterlab = frame.parent_frame is None and urlparse(frame.url).path.startswith("/lab")
        if urlparse(request.url).path.startswith("/api/") and not jupyterlab:
            self.api_requests.append(f"{request.method} {request.url} from {frame.url[:80]}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def stop(self):
        self.context.remove_listener("request", self._request)
        self.context.remove_listener("dialog", self._dialog)


def what_ran(server, course: Path, watch: Watch) -> dict[str, list]:
    """Every trace a script run as the instructor would leave; all empty when nothing ran."""
    with urllib.request.urlopen(f"{server.url}/api/terminals?token={server.TOKEN}", timeout=10) as reply:
        terminals = json.load(reply)
    shells = [
        child.name()
        for child in psutil.Process(server.process.pid).children(recursive=True)
        if child.name() in ("bash", "sh", "dash", "zsh")
    ]
    return {
        "files written": sorted(path.name for path in course.rglob("pwned-*")),
        "terminals": terminals,
        "shells under the server": shells,
        "terminals in the server's log": [
            line for line in server.log.read_text().splitlines() if "New terminal" in line
        ],
        "requests to /api/": watch.api_requests,
        "dialogs": watch.dialogs,
    }


NOTHING = {
    "files written": [],
    "terminals": [],
    "shells under the server": [],
    "terminals in the server's log": [],
    "requests to /api/": [],
    "dialogs": [],
}


def manual_score(course: Path) -> float | None:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return gradebook.find_grade("ex1_cell_state_answer", "1_gates", ASSIGNMENT, STUDENT).manual_score


def open_jupyterlab(browser, server):
    """A tab with the instructor's JupyterLab, logged in by the server's token."""
    page = browser.new_page()
    page.goto(server.start_url())
    page.locator(".jp-DirListing-itemName").first.wait_for(timeout=120_000)
    return page


def test_formgrader_shows_the_submission_runs_none_of_its_script_and_still_grades(graded, server, browser):
    watch = Watch(browser)
    page = open_jupyterlab(browser, server)  # it opens on Formgrader
    page.frame_locator("#formgrader iframe").locator("tr", has_text=ASSIGNMENT).wait_for(timeout=120_000)
    frame = next(frame for frame in page.frames if "/formgrader" in frame.url)
    frame.goto(f"{server.url}/formgrader/submissions/{graded['submission_id']}/")
    frame.locator("#ex1_cell_state_answer").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(SETTLE_MS)
    assert what_ran(server, graded["course"], watch) == NOTHING

    assert frame.locator("td", has_text="a table").count() == 1  # the student's HTML, cleaned
    assert "The cell state carries what the LSTM remembers." in frame.locator("body").inner_text()
    assert HOSTILE_NAME in frame.locator(".name-shown").first.text_content()  # shown as text
    assert frame.evaluate(INLINE_SCRIPT_PROBE) is False  # the page's policy forbids script not nbgrader's

    frame.locator("div.nbgrader_cell:has(#ex1_cell_state_answer) button.full-credit").click()
    deadline = time.monotonic() + 30
    while manual_score(graded["course"]) != 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert manual_score(graded["course"]) == 1
    watch.stop()
    page.close()
    assert what_ran(server, graded["course"], watch) == NOTHING  # grading ran nothing either


def test_the_feedback_page_opened_and_trusted_in_jupyterlab_runs_none_of_its_script(graded, server, browser):
    watch = Watch(browser)
    page = open_jupyterlab(browser, server)
    page.goto(f"{server.url}/lab/tree/feedback/{STUDENT}/{ASSIGNMENT}/1_gates.html")
    viewer = page.frame_locator(".jp-HTMLViewer iframe")
    viewer.locator("td", has_text="a table").wait_for(state="attached", timeout=60_000)
    page.get_by_text("Trust HTML", exact=True).click()  # lets the page run script, with the server's origin
    viewer.locator("td", has_text="a table").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(SETTLE_MS)
    watch.stop()
    page.close()
    assert what_ran(server, graded["course"], watch) == NOTHING


def test_the_feedback_page_opened_in_a_tab_of_its_own_runs_none_of_its_script(graded, server, browser):
    """As JupyterLab's "Open in New Browser Tab" opens it: ``/files/``, from the lab's page."""
    watch = Watch(browser)
    page = open_jupyterlab(browser, server)
    with page.expect_popup() as opened:
        page.evaluate(
            "url => window.open(url)", f"{server.url}/files/feedback/{STUDENT}/{ASSIGNMENT}/1_gates.html"
        )
    tab = opened.value
    tab.locator("td", has_text="a table").wait_for(state="attached", timeout=60_000)
    tab.wait_for_timeout(SETTLE_MS)
    watch.stop()
    tab.close()
    page.close()
    assert what_ran(server, graded["course"], watch) == NOTHING


def hand_in_a_planted_link(course: Path) -> None:
    """eve's submission as it could reach ``submitted/`` without collect, say unpacked from an
    LMS download: the blank release, her exercise 2 a link to the instructor's solution, and a
    page of her own beside the notebooks."""
    folder = course / "submitted" / "eve" / ASSIGNMENT
    folder.mkdir(parents=True)
    shutil.copy2(course / "exercises" / ASSIGNMENT / "1_gates.ipynb", folder)
    (folder / "2_gru8.ipynb").symlink_to(course / "solutions" / ASSIGNMENT / "2_gru8.ipynb")
    (folder / "notes.html").write_text(script_attack("eves-notes"), encoding="utf-8")
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n", encoding="utf-8")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student("eve", first_name="Eve", last_name="Planted")


def press(page, row_text: str, button: str) -> str:
    """Press ``button`` (a Formgrader column: autograde, generate-feedback) in the row showing
    ``row_text``; the log of the dialog that reports it, which must say it succeeded."""
    page.locator("tr", has_text=row_text).locator(f"td.{button} a").click()
    dialog = page.locator(".modal.in")
    dialog.wait_for(timeout=300_000)
    title, log = dialog.locator(".modal-title").inner_text(), dialog.locator(".modal-body").inner_text()
    assert title == "Success", log
    dialog.get_by_role("button", name="OK").click()
    dialog.wait_for(state="detached", timeout=30_000)
    return log


def test_formgraders_autograde_and_feedback_buttons_run_the_courses_commands(graded, server, browser):
    """nbgrader's own buttons would grade the solution eve's link points at and send her own page
    back in her feedback; the course's commands refuse the link, flag her, and send notebooks only."""
    course = graded["course"]
    hand_in_a_planted_link(course)
    page = open_jupyterlab(browser, server)
    page.goto(f"{server.url}/formgrader/manage_submissions/{ASSIGNMENT}")
    page.locator("tr", has_text="eve").locator("td.autograde a").wait_for(timeout=60_000)

    log = press(page, "eve", "autograde")
    refusal = (  # the course's words, printed before nbgrader's log of eve and again at the end
        f"refused 2_gru8.ipynb: a symbolic link (to {course}/solutions/{ASSIGNMENT}/2_gru8.ipynb); "
        "links are never followed"
    )
    refusals = {line.strip() for line in log.splitlines() if "links are never followed" in line}
    assert refusals == {refusal, f"eve, {refusal}"}, log
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "eve")
        assert gradebook.find_submission_notebook("2_gru8", ASSIGNMENT, "eve").score == 0
        assert all(notebook.flagged for notebook in submission.notebooks)
    assert (course / "submitted" / "eve" / ASSIGNMENT / "2_gru8.ipynb").is_symlink()  # hers, untouched

    page.locator("tr", has_text="eve").locator("td.generate-feedback a").wait_for(timeout=60_000)
    press(page, "eve", "generate-feedback")
    assert (course / "autograded" / "eve" / ASSIGNMENT / "notes.html").is_file()  # nbgrader keeps every file
    sent = sorted(path.name for path in (course / "feedback" / "eve" / ASSIGNMENT).iterdir())
    assert sent == ["1_gates.html", "timestamp.txt"], sent  # her one notebook graded, and not her page
    shutil.rmtree(course / "feedback" / "eve")

    page.goto(f"{server.url}/formgrader/manage_assignments")  # the class's Generate Feedback
    page.locator("tr", has_text=ASSIGNMENT).locator("td.generate-feedback a").wait_for(timeout=60_000)
    press(page, ASSIGNMENT, "generate-feedback")
    for student in (STUDENT, "eve"):
        sent = sorted(path.name for path in (course / "feedback" / student / ASSIGNMENT).iterdir())
        assert sent == ["1_gates.html", "timestamp.txt"], (student, sent)
    page.close()
