"""The student's path of issue 21 in a real browser: Debian's Chromium driven by Playwright
against the student's JupyterLab, started as ``make lab`` starts it (the course's prebuilt lab
extension and its server part included).

One session, in order: lesson 1 has no Validate button, runs, and after it is reopened its
slider cell says how to bring the sliders back; ``make release``; the Assignments tab names
the course as the assignment is named and fetches it; with only step 1 of ``2_gru8`` done,
Validate names steps 2, 3 and the written answer (step 5) by number, with no "Error" or
"Traceback"; a tutorial's ``Sequential`` answer gets the sentence naming the missing head;
Submit lists the open steps and asks ("Not yet" submits nothing); after submitting, a
notification says what was submitted and when, in words, and the Assignments tab shows the
same time. Screenshots (``validate``, ``submit``, ``submitted``) go to build/screenshots/;
``make screenshots`` copies them into docs/screenshots/.

Without Chromium (Debian package ``chromium``) the tests are skipped.
"""

from __future__ import annotations

import os
import re
import time
from unittest import mock

import nbformat
import pytest
from lab_support import JupyterLabServer, chromium, copy_course, isolated_environment, make
from test_browser import RUN_ALL_SECONDS, menu, open_assignments, screenshot, wait_for_kernel

from autograder.steps import missing_answer_again
from autograder.testkit.sample_class import ASSIGNMENT
from autograder.tools import lab

pytestmark = pytest.mark.slow

LESSON_1 = "01_why_rnns_forget.ipynb"
NOTEBOOK = "2_gru8.ipynb"
#: Submit runs the three notebooks as Validate does before it asks; a busy machine needs minutes.
CHECK_SECONDS = 900
#: "Submitted gated_rnn at 14:05 on 7 December."
SUBMITTED = re.compile(rf"Submitted {ASSIGNMENT} at (\d\d:\d\d on \d{{1,2}} [A-Z][a-z]+)\.")
TUTORIAL_MODEL = (
    "model = keras.Sequential([keras.Input((12, 1)), keras.layers.GRU(8), keras.layers.Dense(1)])"
)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("student-path")
    course, exchange = copy_course(root), root / "exchange"
    instructor = isolated_environment(root / "instructor", exchange)
    with mock.patch.dict(os.environ, {"COURSE_EXCHANGE": str(exchange)}):
        settings = lab.read_course(course)
    student_lab, _ = lab.student_lab(root / "student" / "workspace", settings)
    env = isolated_environment(root / "student", exchange)
    with (
        chromium(root / "chromium-profile") as browser,
        JupyterLabServer(student_lab, env, root / "student-server.log") as server,
    ):
        page = browser.new_page()
        page.goto(server.start_url())
        page.locator(".jp-RenderedMarkdown h1", has_text="Start here").wait_for(timeout=120_000)
        yield {
            "page": page,
            "server": server,
            "workspace": student_lab.cwd,
            "course": course,
            "instructor": instructor,
            "exchange": exchange,
        }
        page.close()
    # The server logged no error of its own. (A kernel nbgrader's Validate shut down may print
    # ipykernel's shutdown race, "Uncaught exception in ZMQStream callback", to the same log:
    # not the server's, and not the student's to see.)
    errors = [line for line in server.log.read_text().splitlines() if line.startswith("[E ")]
    assert errors == [], server.log.read_text()[-3000:]


def open_notebook(session, relative):
    page, server = session["page"], session["server"]
    page.goto(f"{server.url}/lab/tree/{relative}?token={server.TOKEN}")
    page.locator(".jp-NotebookPanel:visible .jp-CodeCell").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)  # the toolbar's items are all added by now
    return page.locator(".jp-NotebookPanel:visible")


def validate_button(panel):
    return panel.locator(".jp-Toolbar .validate-button")


def set_answer(notebook_path, grade_id, source):
    """The student's answer in one cell, as saved from the editor."""
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    nbformat.write(notebook, notebook_path)


def validate(page, panel):
    validate_button(panel).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=CHECK_SECONDS * 1000)
    message = dialog.locator("#validation-message").inner_text()
    return dialog, " ".join(message.split())


def test_a_lesson_has_no_validate_button_and_after_reopening_says_how_to_get_its_sliders(session):
    page = session["page"]
    panel = open_notebook(session, f"{lab.LESSONS}/{LESSON_1}")
    assert validate_button(panel).count() == 1  # nbgrader added it ...
    assert not validate_button(panel).is_visible()  # ... and the course's extension hid it
    wait_for_kernel(session["server"], LESSON_1)
    menu(page, "Run", "Run All Cells")
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
    deadline = time.monotonic() + RUN_ALL_SECONDS
    while not all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in prompts.all_text_contents()):
        assert time.monotonic() < deadline, "lesson 1's Run All did not finish"
        time.sleep(2)
    menu(page, "File", "Save Notebook")
    menu(page, "File", "Close Tab")
    panel = open_notebook(session, f"{lab.LESSONS}/{LESSON_1}")
    fallback = panel.locator(".jp-OutputArea-output", has_text="sliders for the figure above")
    sliders = panel.locator(".widget-slider")
    deadline = time.monotonic() + 60
    while fallback.count() == 0 and sliders.count() == 0:  # cells off screen are not drawn: scroll
        assert time.monotonic() < deadline, "lesson 1's slider cell shows neither sliders nor a text"
        panel.locator(".jp-WindowedPanel-outer").evaluate("outer => outer.scrollBy(0, 600)")
        page.wait_for_timeout(300)
    if fallback.count():  # the sliders need the cell run again: the text says so
        said = fallback.first.inner_text()
        assert "run this cell to get them" in said, said
        assert "run the notebook in Jupyter" not in said
    menu(page, "File", "Close Tab")


def test_the_assignments_tab_names_the_course_as_the_assignment_and_fetches_it(session):
    make(session["course"], "release", session["instructor"])
    tab = open_assignments(session["page"])
    tab.locator("#refresh_assignments_list").click()
    tab.locator("#released_assignments_list").get_by_text(ASSIGNMENT).first.wait_for()
    assert tab.locator("#course_list_default").inner_text().strip() == ASSIGNMENT
    row = tab.locator("#released_assignments_list .list_item").first
    assert row.locator(".item_course").inner_text().strip() == ASSIGNMENT  # beside the assignment
    tab.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
    tab.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT).first.wait_for()


def test_validate_with_only_step_1_done_names_steps_2_3_and_the_written_answer(session):
    page = session["page"]
    path = session["workspace"] / lab.EXERCISES / ASSIGNMENT / NOTEBOOK
    set_answer(path, "ex2_build_answer", "set_seed(0)\nmodel = build_model(keras.layers.GRU(8))")
    panel = open_notebook(session, f"{lab.EXERCISES}/{ASSIGNMENT}/{NOTEBOOK}")
    assert validate_button(panel).is_visible()
    dialog, message = validate(page, panel)
    assert "Step 2 is not done yet: " in message, message
    assert missing_answer_again("2_gru8", "gru8_rmse") in message, message
    assert "Step 5: your written answer is still missing" in message, message
    assert "Step 1" not in message, message
    assert "Error" not in message, message
    assert "Traceback" not in message, message
    screenshot(page, "validate")
    dialog.get_by_role("button", name="Ok").click()
    menu(page, "File", "Close Tab")


def test_a_tutorials_sequential_answer_is_told_the_head_build_model_adds(session):
    page = session["page"]
    path = session["workspace"] / lab.EXERCISES / ASSIGNMENT / NOTEBOOK
    set_answer(path, "ex2_build_answer", f"set_seed(0)\n{TUTORIAL_MODEL}")
    panel = open_notebook(session, f"{lab.EXERCISES}/{ASSIGNMENT}/{NOTEBOOK}")
    dialog, message = validate(page, panel)
    assert "`Dense(16, relu)` layer that `build_model` puts before `Dense(1)` is missing" in message, message
    assert "Traceback" not in message, message
    dialog.get_by_role("button", name="Ok").click()
    menu(page, "File", "Close Tab")


def submission_count(session):
    inbound = session["exchange"] / ASSIGNMENT / "inbound"
    return len(list(inbound.iterdir())) if inbound.is_dir() else 0


def test_submit_lists_the_open_steps_asks_and_confirms_with_a_readable_time(session):
    page = session["page"]
    tab = open_assignments(page)
    submit = tab.locator("#fetched_assignments_list").get_by_role("button", name="Submit")
    submit.click()
    dialog = page.locator(".jp-Dialog", has_text=f"Submit {ASSIGNMENT}?")
    dialog.wait_for(timeout=CHECK_SECONDS * 1000)
    asked = " ".join(dialog.inner_text().split())
    assert "These steps are still open" in asked, asked
    assert NOTEBOOK in asked, asked
    assert "Step 2 is not done yet: " in asked, asked
    assert "Step 5: your written answer is still missing." in asked, asked
    assert "Submit anyway?" in asked
    assert "Error" not in asked, asked
    assert "Traceback" not in asked, asked
    dialog.get_by_role("button", name="Not yet").click()
    page.wait_for_timeout(2000)
    assert submission_count(session) == 0  # the student changed their mind: nothing handed in

    submit.click()
    dialog.wait_for(timeout=CHECK_SECONDS * 1000)
    dialog.locator(".jp-Dialog-body").evaluate("body => body.scrollTo(0, 0)")
    screenshot(page, "submit")
    dialog.get_by_role("button", name="Submit").click()
    toast = page.locator(".Toastify__toast", has_text=f"Submitted {ASSIGNMENT} at")
    toast.wait_for(timeout=120_000)
    when = SUBMITTED.search(toast.inner_text())
    assert when, toast.inner_text()
    assert submission_count(session) == 1
    submitted = tab.locator("#submitted_assignments_list")
    submitted.get_by_text(when.group(1)).first.wait_for(timeout=30_000)
    assert "UTC" not in submitted.inner_text()
    page.wait_for_timeout(1500)  # the notification has slid in whole
    screenshot(page, "submitted")


def test_the_next_make_lab_forgets_the_tabs_jupyterlab_saved(session):
    """JupyterLab saved its layout where make lab looks (reopened, each notebook tab would start a kernel)."""
    config_dir = session["workspace"] / lab.JUPYTER_CONFIG
    assert list((config_dir / lab.WORKSPACES).glob("*.jupyterlab-workspace"))
    lab.forget_open_tabs(config_dir)
    assert not list((config_dir / lab.WORKSPACES).glob("*.jupyterlab-workspace"))
