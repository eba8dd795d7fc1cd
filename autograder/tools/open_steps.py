"""The steps still open in a student's fetched assignment, as the Submit confirmation lists them.

The course's JupyterLab extension (``autograder/tools/labextension/``) asks, before it lets
the student submit::

    GET /course-lab/open-steps?assignment=gated_rnn

and shows, per notebook, the numbered list the *Validate* button shows ("Step 2 is not done
yet: ...", "Step 5: your written answer is still missing."), then asks whether to submit
anyway. The list is Validate's own: each notebook is run by nbgrader's ``Validator`` (what
the *Validate* button and ``nbgrader validate`` run) with the student's nbgrader
configuration, and each failure it reports is reduced to the sentence the course's step
checks already print (:mod:`autograder.steps` renders them in the kernel). There is no
second list of steps here to drift from the notebooks.

Why run the notebooks rather than read them: whether step 2 is done (a model trained) or
step 3 right (a test error in index points) is known only to the checks, which need the
student's variables. Running them the way Validate does keeps the student's code out of the
server process: the ``Validator`` runs in a process of its own (``python -m
autograder.tools.open_steps``), which starts the notebook's kernel as another process, so a
notebook that hangs or floods never blocks the Jupyter server, and nothing the student wrote
is imported into it. The server only reads the notebooks of the student's own assignment
folder (``Exchange.assignment_dir``), by a name it checks first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path

API = "course-lab"
#: What an assignment may be called; anything else is refused before a path is built from it.
ASSIGNMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Running three notebooks (two trainings) takes a minute or two on a busy machine; past this
#: the student reads that the check did not finish, and may still submit.
VALIDATION_SECONDS = 900
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
STEP_SENTENCE = re.compile(r"(Step \d+[ :].*?\.)(?=\s+Step \d+[ :]|\s*$)", re.DOTALL)
HEADING = re.compile(r"^##\s+(\d+)\.", re.MULTILINE)
NO_RESPONSE = "You did not provide a response."


def step_numbers(cells) -> list[int | None]:
    """The step each cell belongs to: the number of the "## N." heading above it."""
    numbers, current = [], None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            found = HEADING.search(cell.get("source", ""))
            if found:
                current = int(found.group(1))
        numbers.append(current)
    return numbers


def sentences_of_failure(error: str, number: int | None) -> list[str]:
    """The sentences a failed cell showed in Validate, whitespace joined; its step named if it did not."""
    plain = ANSI.sub("", error)
    text = " ".join(plain.split())
    if text == NO_RESPONSE:
        return [f"Step {number}: your written answer is still missing." if number else NO_RESPONSE]
    said = [match.group(1) for match in STEP_SENTENCE.finditer(text)]
    if said:
        return said
    if "Traceback" in plain:  # the student's own code stopped: Python's last line says how
        lines = [line.strip() for line in plain.splitlines() if line.strip()]
        text = lines[-1][-300:]
    said = text or "it did not pass"  # a check's verdict: one sentence, shown whole
    return [f"Step {number}: {said}" if number else said]


def open_steps(path: Path, config) -> list[str]:
    """Run ``path`` as Validate does; the sentence of each step still open, in the notebook's order."""
    import nbformat
    from nbgrader.validator import Validator

    results = Validator(config=config).validate(str(path))
    if results.get("type_changed") or results.get("changed"):
        return [
            "A cell you were not meant to change was changed: press Validate in this notebook to see which."
        ]
    cells = nbformat.read(path, as_version=nbformat.NO_CONVERT).cells
    number_of_source = {
        cell.source.strip(): number for cell, number in zip(cells, step_numbers(cells), strict=True)
    }
    found: list[str] = []
    for failure in results.get("failed", []):
        number = number_of_source.get(failure["source"])
        found += sentences_of_failure(failure["raw_error"], number)
    return list(dict.fromkeys(found))


def nbgrader_config():
    """The nbgrader configuration ``nbgrader validate`` uses in this folder (the student's own)."""
    from nbgrader.apps import NbGrader

    app = NbGrader()
    app.load_config_file()
    return app.config


def assignment_report(assignment: str) -> dict:
    """Every notebook of the fetched ``assignment`` with its open steps, or why there are none."""
    config = nbgrader_config()
    folder = Path(config.Exchange.get("assignment_dir", ".")).resolve() / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        return {"notebooks": [], "error": f"No notebooks of {assignment} found in {folder}: fetch it first."}
    report = []
    for path in notebooks:
        try:
            report.append({"name": path.name, "open": open_steps(path, config)})
        except Exception as error:  # noqa: BLE001  (the student reads that this one was not checked, and why)
            report.append({"name": path.name, "open": [], "error": f"{type(error).__name__}: {error}"[:300]})
    return {"notebooks": report, "error": None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.tools.open_steps",
        description="Print, as JSON, the open steps of each notebook of a fetched assignment (Submit's list).",
    )
    parser.add_argument("assignment")
    arguments = parser.parse_args(argv)
    # nbgrader's validator logs to stderr; the report is the last line of stdout.
    sys.stdout.write(json.dumps(assignment_report(arguments.assignment)) + "\n")


# ---------------------------------------------------------------- in the Jupyter server


async def report_in_own_process(assignment: str, cwd: Path, log) -> dict:
    """:func:`assignment_report` run by a process of its own, without blocking the server."""
    environment = dict(os.environ)
    # A check that writes to stderr fails in nbgrader: TensorFlow must stay quiet.
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    environment.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autograder.tools.open_steps",
        assignment,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), VALIDATION_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return {
            "notebooks": [],
            "error": f"Checking took over {VALIDATION_SECONDS // 60} minutes and was stopped.",
        }
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        log.error("Open steps of %s could not be read: %s", assignment, err.decode(errors="replace")[-3000:])
        return {
            "notebooks": [],
            "error": "The steps could not be checked (the Jupyter server's log says why).",
        }


def _handler_class():
    from jupyter_server.base.handlers import APIHandler
    from tornado import web

    class OpenStepsHandler(APIHandler):
        @web.authenticated
        async def get(self):
            assignment = self.get_argument("assignment", "")
            if not ASSIGNMENT_NAME.fullmatch(assignment):
                raise web.HTTPError(400, "give the assignment's name, for example ?assignment=gated_rnn")
            root = Path(self.settings["server_root_dir"]).expanduser().resolve()
            self.finish(json.dumps(await report_in_own_process(assignment, root, self.log)))

    return OpenStepsHandler


def _jupyter_server_extension_points():
    return [{"module": "autograder.tools.open_steps"}]


def _load_jupyter_server_extension(serverapp):
    from jupyter_server.utils import url_path_join

    base_url = serverapp.web_app.settings["base_url"]
    route = url_path_join(base_url, API, "open-steps")
    serverapp.web_app.add_handlers(".*$", [(route, _handler_class())])


if __name__ == "__main__":
    main()
