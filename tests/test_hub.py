"""A class on JupyterHub (``make hub``, autograder/tools/hub.py), with real accounts and PAM.

The module's fixture does what an administrator does, as root: ``make hub-users``'s
accounts (an instructor and two students, real Unix users with passwords, homes under a
folder of the test's own) and ``make hub``'s set-up (the instructor's clone of the course,
the students' environment, nbgrader's shared exchange), then ``make release`` as the
instructor. Everything it makes is removed afterwards, the accounts and their processes
included, even when a test fails. Not root (a developer's machine): skipped, since only
root can create accounts and a hub that spawns servers as them.

- The hub: JupyterHub with its proxy, logged in through PAM by Chromium as a student and
  the instructor; each sees its own view (a student the Assignment List and Validate, the
  instructor Formgrader), the student fetches from the Assignments tab; a wrong password
  is refused.
- Isolation: as a student account, the other student's work, the instructor's
  ``solutions/`` (nbgrader's source folder), ``gradebook.db`` and configuration, and the
  inbound's listing are refused; links planted in the inbound bring nothing into
  ``submitted/`` at collect.
- The loop, in Chromium: each student (one with the reference solution, one with the blank
  release, placed in the fetched folder as their own files) opens the three notebooks in
  their lab and runs them (Run All Cells), validates ``1_gates`` from the Assignments tab
  (the solution passes; the blank names its open steps, no traceback) and submits through
  the course's confirmation, which validates all three (every step passes, or the open
  steps listed). The instructor collects with
  Formgrader's Collect, which is the course's collect (links refused: the isolation test's
  record of them is rewritten), and types ``make grade`` (sandboxed, unprivileged), then
  ``make feedback && make release-feedback``, into a terminal of their lab (Formgrader's
  buttons run the same commands: ``tests/test_formgrader_safety.py``). Each student
  fetches feedback from the Assignments tab: their own, with the gradebook's scores; they
  cannot list anyone's.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from clone_support import SYSTEM_PATH
from lab_support import chromium
from nbgrader.api import Gradebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from test_browser import menu

from autograder.testkit.sample_class import submission_notebooks
from autograder.tools import hub as class_hub
from autograder.tools.lab import read_course
from rnn_forecast.paths import REPOSITORY_ROOT

#: The exchange's folder of this course: nbgrader names it by the course id.
COURSE_ID = read_course().course_id

PROXY = shutil.which("configurable-http-proxy")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0, reason="creates Unix accounts and runs JupyterHub: run as root (as CI does)"
    ),
    pytest.mark.skipif(
        PROXY is None, reason="JupyterHub's proxy is missing: apt-get install node-configurable-http-proxy"
    ),
    pytest.mark.skipif(
        shutil.which("patchelf") is None,
        reason="needs patchelf (Debian package) to copy Python for the accounts",
    ),
]

ASSIGNMENT = "gated_rnn"
SUFFIX = uuid.uuid4().hex[:5]
INSTRUCTOR = f"teach{SUFFIX}"
ANA, BEN = f"ana{SUFFIX}", f"ben{SUFFIX}"
GROUP = f"class{SUFFIX}"
PASSWORDS = {name: f"pw-{name}-{uuid.uuid4().hex[:8]}" for name in (INSTRUCTOR, ANA, BEN)}
#: What each student hands in (tests/test_where_grading_runs.py grades the same: 16 and 0).
WORK = {ANA: "solution", BEN: "release"}
SCREENSHOTS = REPOSITORY_ROOT / "build" / "screenshots"


@dataclass(frozen=True)
class Class:
    hub: class_hub.Hub
    folder: Path

    def home(self, name: str) -> Path:
        return Path(pwd.getpwnam(name).pw_dir)


def free_ports(count: int = 3) -> int:
    """A port with the ``count - 1`` after it free too (the hub uses three)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(first, first + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise AssertionError("no three free ports in a row on 127.0.0.1")


def as_user(
    name: str, command: list[str], cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess:
    """``command`` run as the account ``name`` through runuser, in a fresh login's environment."""
    entry = pwd.getpwnam(name)
    environment = [
        f"HOME={entry.pw_dir}",
        f"USER={name}",
        f"LOGNAME={name}",
        f"PATH={SYSTEM_PATH}",
        "LANG=C.UTF-8",
        *(f"{key}={value}" for key, value in extra.items()),
    ]
    return subprocess.run(
        ["runuser", "-u", name, "--", "env", "-i", *environment, *command],
        cwd=cwd or entry.pw_dir,
        capture_output=True,
        text=True,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def remove_account(name: str) -> None:
    """The account and every process it runs (all of them started by this test)."""
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    subprocess.run(["pkill", "-KILL", "-U", str(uid)], check=False)
    for _ in range(20):
        if subprocess.run(["pgrep", "-U", str(uid)], capture_output=True, check=False).returncode != 0:
            break
        time.sleep(0.5)
    subprocess.run(["userdel", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def course_class():
    folder = Path(tempfile.mkdtemp(prefix="hub-test-", dir="/tmp"))
    folder.chmod(0o755)
    homes = folder / "home"
    homes.mkdir(mode=0o755)
    try:
        class_hub.create_accounts(INSTRUCTOR, [ANA, BEN], GROUP, passwords=PASSWORDS, home_base=homes)
        hub = class_hub.Hub(
            folder / "hub", INSTRUCTOR, homes / INSTRUCTOR / class_hub.COURSE_FOLDER, GROUP, port=free_ports()
        )
        class_hub.prepare(hub, Path(PROXY))
        instructor = Class(hub, folder)
        succeeded(as_user(INSTRUCTOR, ["make", "release"], hub.course, COURSE_EXCHANGE=str(hub.exchange)))
        yield instructor
    finally:
        for name in (ANA, BEN, INSTRUCTOR):
            remove_account(name)
        with contextlib.suppress(KeyError):
            grp.getgrnam(GROUP)
            subprocess.run(["groupdel", GROUP], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def nbgrader(
    name: str, *arguments: str, cwd: Path | None = None, env: Path | None = None
) -> subprocess.CompletedProcess:
    """nbgrader as ``name``, with the students' environment's nbgrader unless ``env`` is given."""
    return as_user(name, [str(env / "bin" / "nbgrader"), *arguments], cwd, TF_CPP_MIN_LOG_LEVEL="3")


def hand_in(course_class: Class, student: str) -> Path:
    """The student fetches the assignment (once), puts their work in place, and submits it."""
    env = course_class.hub.env
    home = course_class.home(student)
    fetched = home / "exercises" / ASSIGNMENT
    if not fetched.is_dir():
        succeeded(nbgrader(student, "fetch_assignment", ASSIGNMENT, env=env))
    put_work_in_place(course_class, student, fetched)
    succeeded(nbgrader(student, "submit", ASSIGNMENT, env=env))
    return fetched


def put_work_in_place(course_class: Class, student: str, fetched: Path) -> None:
    """The student's work (the honest solution, or the release left blank) in their fetched
    folder, as their own files."""
    entry = pwd.getpwnam(student)
    for name, notebook in submission_notebooks(WORK[student], course_class.hub.course).items():
        target = fetched / f"{name}.ipynb"
        nbformat.write(notebook, target)
        os.chown(target, entry.pw_uid, entry.pw_gid)


# ---------------------------------------------------------------- the hub, in a browser


@contextlib.contextmanager
def running(hub: class_hub.Hub, log: Path):
    """JupyterHub as make hub starts it, stopped (with every server it spawned) afterwards."""
    jupyterhub = Path(sys.prefix) / "bin" / "jupyterhub"
    environment = {"PATH": f"{Path(sys.prefix) / 'bin'}:{SYSTEM_PATH}", "LANG": "C.UTF-8", "HOME": "/root"}
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(jupyterhub), "-f", str(hub.config_file)],
            cwd=hub.state,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()[-5000:]
            try:
                with urllib.request.urlopen(f"{hub.url}/hub/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (
                f"JupyterHub did not answer in 120 s:\n{log.read_text()[-5000:]}"
            )
            time.sleep(1)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def hub_in_a_browser(course_class, tmp_path_factory):
    log = course_class.folder / "jupyterhub.log"
    with running(course_class.hub, log), chromium(tmp_path_factory.mktemp("hub-chromium")) as browser:
        yield browser, log


def log_in(browser, hub: class_hub.Hub, name: str):
    """A fresh page, logged in as ``name`` with their password; returns it on their lab."""
    browser.clear_cookies()
    page = browser.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORDS[name])
    page.click("#login_submit")
    page.wait_for_url("**/lab**", timeout=240_000)
    page.locator(".jp-LabShell").wait_for(timeout=240_000)
    page.wait_for_timeout(3000)
    return page


def nbgrader_menu(page) -> list[str]:
    """The items of the lab's Nbgrader menu (closed again afterwards)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    labels = page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_text_contents()
    page.keyboard.press("Escape")
    return [label.strip() for label in labels if label.strip()]


def open_assignment_list(page):
    menu(page, "Nbgrader", "Assignment List")
    tab = page.locator("#nbgrader-assignment-list")
    tab.wait_for(timeout=60_000)
    return tab


def test_each_account_logs_in_through_pam_and_gets_its_own_view(course_class, hub_in_a_browser):
    browser, log = hub_in_a_browser
    hub = course_class.hub
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    student = log_in(browser, hub, ANA)
    student.screenshot(path=str(SCREENSHOTS / "hub-student.png"))
    assert f"/user/{ANA}/" in student.url
    assert nbgrader_menu(student) == ["Assignment List"]
    # She fetches the assignment from the Assignments tab (she works and submits in the loop below).
    tab = open_assignment_list(student)
    tab.locator("#released_assignments_list").get_by_role("button", name="Fetch").click(timeout=120_000)
    tab.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=120_000)
    fetched = course_class.home(ANA) / "exercises" / ASSIGNMENT
    assert sorted(path.name for path in fetched.glob("*.ipynb")) == [
        "1_gates.ipynb",
        "2_gru8.ipynb",
        "3_stacked_lstm.ipynb",
    ]
    assert fetched.stat().st_uid == pwd.getpwnam(ANA).pw_uid, "fetched as her own account"
    student.close()

    instructor = log_in(browser, hub, INSTRUCTOR)
    instructor.screenshot(path=str(SCREENSHOTS / "hub-instructor.png"))
    assert f"/user/{INSTRUCTOR}/" in instructor.url
    assert "Formgrader" in nbgrader_menu(instructor)
    assert "Assignment List" not in nbgrader_menu(instructor)
    instructor.close()

    # A wrong password is refused by PAM, and the hub admits no account outside the class.
    page = browser.new_page()
    browser.clear_cookies()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", BEN)
    page.fill("#password_input", "not-" + PASSWORDS[BEN])
    page.click("#login_submit")
    page.locator(".login_error, .alert-danger").first.wait_for(timeout=60_000)
    page.close()

    # Each server runs as its own account.
    for name in (ANA, INSTRUCTOR):
        servers = subprocess.run(
            ["pgrep", "-U", str(pwd.getpwnam(name).pw_uid), "-f", "jupyterhub.singleuser"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert servers.stdout.strip(), f"no server of {name}:\n{log.read_text()[-3000:]}"


# ---------------------------------------------------------------- isolation between accounts


def test_a_student_reads_nothing_of_another_or_the_instructor_and_links_in_the_inbound_bring_nothing(
    course_class,
):
    hub = course_class.hub
    ana_work = hand_in(course_class, ANA)
    solution = hub.course / "solutions" / ASSIGNMENT / "2_gru8.ipynb"
    refused = {
        "another student's home": ana_work / "2_gru8.ipynb",
        "the instructor's solutions": solution,
        "the instructor's gradebook": hub.course / "gradebook.db",
        "the instructor's course config": hub.course / "nbgrader_config.py",
    }
    for what, path in refused.items():
        assert path.exists(), what
        result = as_user(BEN, ["cat", str(path)])
        assert "Permission denied" in result.stderr, what
    inbound = hub.exchange / COURSE_ID / "inbound"
    listing = as_user(BEN, ["ls", str(inbound)])
    assert "Permission denied" in listing.stderr, "ben lists the inbound"
    # A hard link needs the file to be reachable and (fs.protected_hardlinks) his own.
    for target in (solution, ana_work / "2_gru8.ipynb"):
        linked = as_user(BEN, ["ln", str(target), str(course_class.home(BEN) / "stolen.ipynb")])
        assert linked.returncode != 0, f"hard link to {target}"

    # ben submits honestly once, then plants links in a submission folder of his own.
    hand_in(course_class, BEN)
    # Stamped now, after his honest submission: collect takes this one.
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    planted = inbound / f"{BEN}+{ASSIGNMENT}+{stamp}+planted"
    succeeded(as_user(BEN, ["mkdir", str(planted)]))
    succeeded(as_user(BEN, ["sh", "-c", f"printf '%s' '{stamp}' > '{planted}/timestamp.txt'"]))
    succeeded(as_user(BEN, ["ln", "-s", str(solution), str(planted / "2_gru8.ipynb")]))
    succeeded(as_user(BEN, ["ln", "-s", str(ana_work / "1_gates.ipynb"), str(planted / "1_gates.ipynb")]))
    succeeded(as_user(BEN, ["ln", "-s", str(hub.course / "gradebook.db"), str(planted / "gradebook.html")]))

    collected = succeeded(
        as_user(INSTRUCTOR, ["make", "collect", "UPDATE=1"], hub.course, COURSE_EXCHANGE=str(hub.exchange))
    )
    submitted = hub.course / "submitted"
    assert {path.name for path in submitted.iterdir()} == {ANA, BEN}, collected.stdout
    secrets = {
        solution.read_bytes(),
        (ana_work / "1_gates.ipynb").read_bytes(),
        (hub.course / "gradebook.db").read_bytes(),
    }
    for path in (submitted / BEN).rglob("*"):
        assert not path.is_symlink(), f"{path} is a link"
        if path.is_file():
            assert path.read_bytes() not in secrets, f"{path} holds what ben may not read"
    record = hub.course / ".intake" / ASSIGNMENT / f"{BEN}.json"
    assert record.is_file(), collected.stdout
    assert "2_gru8.ipynb" in record.read_text(), record.read_text()


# ---------------------------------------------------------------- the class loop, in the browser

NOTEBOOKS = ("1_gates", "2_gru8", "3_stacked_lstm")
#: Running the reference solution trains two small models; Validate and Submit's check run notebooks again.
RUN_SECONDS = 900
GRADE_SECONDS = 1800


def lab_url(hub: class_hub.Hub, name: str, path: str = "") -> str:
    return f"{hub.url}/user/{name}/lab/tree/{path}"


def kernel_state(panel) -> str | None:
    """The state of the notebook's kernel, as the notebook's toolbar shows it ("idle", "busy", ...)."""
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    return indicator.first.get_attribute("data-status") if indicator.count() else None


@contextlib.contextmanager
def dialogs_shown(page, what: str):
    """On a timeout or a failed check in the lab, fail with the text of the dialogs showing, and
    a screenshot (build/screenshots/hub-failed.png)."""
    try:
        yield
    except (PlaywrightTimeout, AssertionError) as error:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "hub-failed.png"))
        shown = [" ".join(text.split()) for text in page.locator(".jp-Dialog").all_inner_texts()]
        said = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise AssertionError(f"{what}: {said}; dialogs showing: {shown or 'none'}") from error


def select_kernel_dialog(page):
    return page.locator(".jp-Dialog", has_text="Select Kernel")


@contextlib.contextmanager
def unless_it_closes(dialog):
    """Answering ``dialog``: a timeout is no failure when the lab closed the dialog on its own
    between the test finding it and answering it."""
    try:
        yield
    except PlaywrightTimeout:
        if dialog.is_visible():
            raise


def choose_the_course_kernel(dialog) -> None:
    """Answer JupyterLab's Select Kernel with the course's kernel, Python 3: the page's locator
    handler (student_works_and_submits). On a busy machine the lab may open a notebook before it
    knows the kernels, or reopen one just closed, and ask which kernel to start, at any moment;
    it queues one dialog per ask, so the next may show as soon as this one is answered."""
    with unless_it_closes(dialog):
        print(f"the lab asked: {' '.join(dialog.inner_text(timeout=5_000).split())}", file=sys.stderr)
        dialog.locator("select").first.select_option(label="Python 3 (ipykernel)", timeout=10_000)
        dialog.locator(".jp-mod-accept").first.click(timeout=10_000)


def answer_dialogs(page) -> None:
    """Answer the dialogs the lab shows as a student would, printing what they said.

    Select Kernel is the locator handler's alone: an auto-waiting assertion is what makes
    Playwright run the handler, again on each retry while one shows, when the test only polls
    the page. Answering it here too raced the handler, which closed the dialog under this
    function's own click (CI, stop 25)."""
    expect(select_kernel_dialog(page)).to_have_count(0, timeout=60_000)
    for dialog in page.locator(".jp-Dialog").filter(has_not_text="Select Kernel").all():
        with unless_it_closes(dialog):
            print(
                f"the lab showed a dialog: {' '.join(dialog.inner_text(timeout=5_000).split())}",
                file=sys.stderr,
            )
            accept = dialog.locator(".jp-mod-accept")
            if accept.count():
                accept.first.click(timeout=10_000)
            else:
                page.keyboard.press("Escape")


def run_all(page, hub: class_hub.Hub, name: str, notebook: str) -> None:
    """Open ``notebook`` of the fetched assignment, Run All Cells, wait until its kernel is done, save, close."""
    with dialogs_shown(page, f"Run All of {name}'s {notebook}"):
        _run_all(page, hub, name, notebook)


def _run_all(page, hub: class_hub.Hub, name: str, notebook: str) -> None:
    page.goto(lab_url(hub, name, f"exercises/{ASSIGNMENT}/{notebook}.ipynb"))
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-CodeCell").first.wait_for(timeout=240_000)
    deadline = time.monotonic() + 240
    while kernel_state(panel) != "idle":
        assert time.monotonic() < deadline, f"{name}'s kernel for {notebook} did not start"
        answer_dialogs(page)
        time.sleep(1)
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
    # Done: the first cell run, then no cell queued or running ("[*]") and the kernel idle (a
    # blank answer's error stops Run All, and the cells after it keep "[ ]"). Idle with the
    # first cell not run, Run All ran nothing and is pressed again: pressed before the page is
    # connected to the kernel, or its queue dropped when a Select Kernel answered on a busy
    # machine swapped the kernel under it.
    deadline = time.monotonic() + RUN_SECONDS
    presses = 0
    while True:
        texts = [text.strip() for text in prompts.all_text_contents()]
        idle = "[*]:" not in texts and kernel_state(panel) == "idle"
        if idle and texts and re.fullmatch(r"\[\d+\]:", texts[0]):
            break
        assert time.monotonic() < deadline, f"Run All of {name}'s {notebook} did not finish: {texts}"
        if idle and texts[:1] in ([], ["[ ]:"]):
            assert presses < 12, f"Run All of {name}'s {notebook} ran nothing, pressed 12 times: {texts}"
            answer_dialogs(page)
            menu(page, "Run", "Run All Cells")
            presses += 1
            page.wait_for_timeout(5000)
        else:
            time.sleep(2)
    answer_dialogs(page)
    menu(page, "File", "Save Notebook")
    page.wait_for_timeout(1000)
    answer_dialogs(page)
    # Closed once saved: an open notebook autosaves, and Validate and Submit read the files.
    menu(page, "File", "Close Tab")


def validate(page, notebook: str) -> str:
    """The Assignments tab's Validate of one fetched notebook: what its dialog says, whitespace joined."""
    tab = open_assignment_list(page)
    fetched = tab.locator("#fetched_assignments_list")
    fetched.locator("a.assignment-notebooks-link").first.click(timeout=60_000)
    fetched.locator(".nested_list_item", has_text=notebook).get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_SECONDS * 1000)
    message = dialog.locator("#validation-message")
    if not message.count():
        page.screenshot(path=str(SCREENSHOTS / "hub-validate-failed.png"))
        raise AssertionError(f"Validate showed no validation message: {dialog.inner_text()}")
    said = " ".join(message.inner_text().split())
    dialog.get_by_role("button", name="Ok").click()
    return said


def submissions_of(hub: class_hub.Hub, student: str) -> set[str]:
    inbound = hub.exchange / COURSE_ID / "inbound"
    return {path.name for path in inbound.iterdir() if path.name.startswith(f"{student}+{ASSIGNMENT}+")}


def student_works_and_submits(browser, course_class: Class, student: str) -> str:
    """In the student's lab: fetch (once), run each notebook, Validate, Submit; the submission's timestamp."""
    hub = course_class.hub
    page = log_in(browser, hub, student)
    # Whatever the test is about to click or assert, a Select Kernel showing is answered first.
    page.add_locator_handler(select_kernel_dialog(page), choose_the_course_kernel, no_wait_after=True)
    fetched = course_class.home(student) / "exercises" / ASSIGNMENT
    if not fetched.is_dir():
        tab = open_assignment_list(page)
        tab.locator("#released_assignments_list").get_by_role("button", name="Fetch").click(timeout=120_000)
        tab.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=120_000)
    assert fetched.stat().st_uid == pwd.getpwnam(student).pw_uid, "fetched as the student's own account"
    put_work_in_place(course_class, student, fetched)
    for notebook in NOTEBOOKS:
        run_all(page, hub, student, notebook)
    # Validate from the Assignments tab on exercise 1 (no training: Submit's check below runs
    # Validate's checks on all three notebooks again).
    said = validate(page, "1_gates")
    assert "Traceback" not in said, said
    if WORK[student] == "solution":
        assert "passes all the tests" in said, said
    else:
        assert re.search(r"Step \d", said), f"Validate names no open step: {said}"

    before = submissions_of(hub, student)
    tab = open_assignment_list(page)
    tab.locator("#fetched_assignments_list").get_by_role("button", name="Submit").click(timeout=120_000)
    # The course's extension lists the steps still open (Validate's list) and asks.
    dialog = page.locator(".jp-Dialog", has_text=f"Submit {ASSIGNMENT}?")
    dialog.wait_for(timeout=RUN_SECONDS * 1000)
    asked = " ".join(dialog.inner_text().split())
    assert "Traceback" not in asked, asked
    if WORK[student] == "solution":
        assert f"Every step of {ASSIGNMENT} passes its visible checks." in asked, asked
    else:
        assert "These steps are still open" in asked, asked
    dialog.get_by_role("button", name="Submit").click()
    page.locator(".Toastify__toast", has_text=f"Submitted {ASSIGNMENT} at").wait_for(timeout=120_000)
    new = submissions_of(hub, student) - before
    assert len(new) == 1, f"{student} handed in {sorted(new)}"
    page.close()
    return (hub.exchange / COURSE_ID / "inbound" / new.pop() / "timestamp.txt").read_text()


def wait_for_terminal_command(page, uid: int, finished, what: str) -> None:
    """Until the ``make`` the instructor typed has started and ended with ``finished()`` true;
    otherwise the terminal is saved as build/screenshots/hub-terminal-failed.png."""
    started, seen = time.monotonic(), False
    while True:
        running = subprocess.run(["pgrep", "-U", str(uid), "-x", "make"], capture_output=True, check=False)
        seen = seen or running.returncode == 0
        if running.returncode != 0 and finished():
            return
        problem = None
        if seen and running.returncode != 0:
            time.sleep(5)  # what make wrote last reaches the disk
            problem = None if finished() else "ended without its result"
            if problem is None:
                return
        elif not seen and time.monotonic() - started > 120:
            problem = "never ran"
        elif time.monotonic() - started > GRADE_SECONDS:
            problem = f"did not finish in {GRADE_SECONDS} s"
        if problem:
            page.screenshot(path=str(SCREENSHOTS / "hub-terminal-failed.png"))
            raise AssertionError(
                f"{what}, typed in the instructor's terminal, {problem}: see build/screenshots/hub-terminal-failed.png"
            )
        time.sleep(2)


def type_in_terminal(page, command: str) -> None:
    terminal = page.locator(".jp-Terminal:visible .xterm")
    terminal.click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def test_the_class_is_graded_as_the_instructor_and_each_student_fetches_their_own_feedback(
    course_class, hub_in_a_browser
):
    browser, _ = hub_in_a_browser
    hub = course_class.hub
    handed_in = {student: student_works_and_submits(browser, course_class, student) for student in WORK}

    # The instructor: Formgrader's Collect, then make grade, make feedback and make
    # release-feedback typed into a terminal of their lab, in the course folder.
    record = hub.course / ".intake" / ASSIGNMENT / f"{BEN}.json"
    links_refused_before = record.is_file()  # the isolation test's planted links
    page = log_in(browser, hub, INSTRUCTOR)
    formgrader = page.frame_locator("#formgrader iframe")
    row = formgrader.locator("tr", has_text=ASSIGNMENT)
    row.wait_for(timeout=120_000)
    row.locator("td.collect a").click()
    formgrader.locator("#success-modal", has_text="Successfully collected").wait_for(timeout=300_000)
    formgrader.locator("#success-modal .modal-footer button").click()
    for student, stamp in handed_in.items():
        collected = hub.course / "submitted" / student / ASSIGNMENT / "timestamp.txt"
        assert collected.read_text() == stamp, f"Formgrader did not collect {student}'s latest submission"
    if links_refused_before:
        # The course's collect (SafeCollect) keeps the refusals of the submission it collected,
        # none for ben's latest: nbgrader's own collect would have left the record as it was.
        assert not record.exists(), "Formgrader's Collect did not go through the course's intake"

    uid = pwd.getpwnam(INSTRUCTOR).pw_uid
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^New$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Terminal$")).click()
    page.locator(".jp-Terminal:visible .xterm-screen").wait_for(timeout=120_000)
    page.wait_for_timeout(3000)  # the shell's prompt
    autograded = [hub.course / "autograded" / student / ASSIGNMENT for student in WORK]
    type_in_terminal(page, 'make grade GRADE_FLAGS="--workers 2 --cell-timeout 60"')
    wait_for_terminal_command(page, uid, lambda: all(path.is_dir() for path in autograded), "make grade")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SCREENSHOTS / "hub-grade.png"))
    released = hub.exchange / COURSE_ID / "feedback"
    type_in_terminal(page, "make feedback && make release-feedback")
    wait_for_terminal_command(
        page, uid, lambda: any(released.iterdir()), "make feedback && make release-feedback"
    )
    page.close()

    graded = hub.course / "autograded" / ANA / ASSIGNMENT / "2_gru8.ipynb"
    assert graded.stat().st_uid == uid, "graded by the instructor's account"
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission(ASSIGNMENT, student).score for student in WORK}
        by_notebook = {
            student: {
                notebook.name: notebook.score
                for notebook in gradebook.find_submission(ASSIGNMENT, student).notebooks
            }
            for student in WORK
        }
    assert scores == {ANA: 16.0, BEN: 0.0}

    listing = as_user(BEN, ["ls", str(released)])
    assert "Permission denied" in listing.stderr, "ben lists everyone's feedback"
    for student in WORK:
        page = log_in(browser, hub, student)
        tab = open_assignment_list(page)
        submitted = tab.locator("#submitted_assignments_list")
        submitted.get_by_role("button", name="Fetch Feedback").click(timeout=120_000)
        submitted.get_by_text("(view feedback)").first.wait_for(timeout=120_000)
        page.close()
        fetched = sorted(
            (course_class.home(student) / "exercises" / ASSIGNMENT / "feedback").glob("*/*.html")
        )
        assert {path.stem for path in fetched} == set(by_notebook[student]), fetched
        for path in fetched:
            score = by_notebook[student][path.stem]
            assert f"Score: {score:.1f}" in path.read_text() or f"Score: {score:g}" in path.read_text(), (
                f"{path} does not show {student}'s score {score}"
            )
