"""What a student's code displayed, made safe (``autograder/engine/outputs.py``), without nbgrader's grading.

The preprocessors run on notebooks built here and on the lessons as committed (honest
notebooks with figures and tables); the pages are rendered by the real nbconvert with
nbgrader's own feedback and Formgrader templates. What a browser would run is read from
the HTML with Python's own parser, independently of the sanitiser. The grading pipeline
itself is tested in ``test_hostile_submissions.py``, the browser in ``test_formgrader_safety.py``.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader.utils import determine_grade

from autograder.engine import outputs
from autograder.tools.safe_formgrader import escaping_templates, page_policy
from rnn_forecast.paths import REPOSITORY_ROOT

NBGRADER_TEMPLATES = (
    Path(__import__("nbgrader").__file__).parent / "server_extensions" / "formgrader" / "templates"
)
ATTACK = "fetch('/api/terminals', {method: 'POST'})"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


class Runnable(HTMLParser):
    """What in a page a browser runs, loads or embeds: scripts, handlers, frames, scripted URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "frame", "object", "embed", "svg", "math", "base", "form", "meta", "link"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on"):
                self.found.append(f"{name}={value}")
            if name in ("src", "href", "srcdoc", "data", "action", "formaction", "xlink:href") and (
                value.startswith(("javascript", "vbscript", "data:text", "/"))
                or (tag != "a" and value.startswith("http"))
            ):
                self.found.append(f"{tag} {name}={value[:40]}")
        self._in_script = tag == "script"
        if tag == "script":
            self.found.append("<script " + dict(attrs).get("src", "") + ">")

    def handle_data(self, data):
        if self._in_script:
            self.found.append(data.strip())

    def handle_endtag(self, tag):
        self._in_script = False


def runnable(html: str) -> list[str]:
    parser = Runnable()
    parser.feed(html)
    parser.close()
    return parser.found


def display(data, metadata=None, kind="display_data"):
    extra = {"execution_count": 1} if kind == "execute_result" else {}
    return new_output(kind, data=data, metadata=metadata or {}, **extra)


def hostile_outputs():
    """One display per way an output can carry script."""
    return [
        display({"text/html": f"<b>hi</b><script>{ATTACK}</script>", "text/plain": "hi"}),
        display({"text/html": f'<img src=x onerror="{ATTACK}">'}),
        display({"text/html": f"<iframe srcdoc='<script>{ATTACK}</script>'></iframe>"}),
        display({"application/javascript": ATTACK, "text/plain": "<Javascript>"}),
        display(
            {"image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg'><script>{ATTACK}</script></svg>"}
        ),
        display({"text/markdown": f'**md** <img src=x onerror="{ATTACK}">'}),
        display({"text/html": '<a href="javascript:alert(1)">x</a><a href="/api/contents">y</a>'}),
        display({"text/html": '<img src="/api/terminals"><img src="https://tracker.example/p.png">'}),
        display({"text/html": "<style>body {display: none}</style><p style='position:fixed'>over</p>"}),
        display({"text/html": "<b>isolated</b>"}, {"text/html": {"isolated": True}}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"}),
        display({"text/latex": r"\href{javascript:alert(1)}{x}"}),
        display({"image/png": PNG, "text/plain": "fig"}, {"image/png": {"width": 10, "filenames": "/api/x"}}),
    ]


def notebook_with(*cells):
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}})
    nb.cells = list(cells)
    return nb


def code_cell(*outputs_, grade=False, solution=False):
    cell = new_code_cell("print('answer')", outputs=list(outputs_))
    if grade or solution:
        cell.metadata["nbgrader"] = {"grade": grade, "solution": solution, "grade_id": "c", "points": 1}
    return cell


def stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def error(message="boom"):
    return new_output("error", ename="ValueError", evalue=message, traceback=[f"ValueError: {message}"])


def run(preprocessor, nb):
    resources = {}
    nb, resources = preprocessor(nb, resources)
    return nb, resources


def lessons():
    return sorted((REPOSITORY_ROOT / "lessons").glob("*.ipynb"))


# ---------------------------------------------------------------- cleaning HTML


def test_a_pandas_table_stays_a_table():
    frame = pd.DataFrame({"units": [8, 32], "rmse": [123.8, 121.7]}, index=["gru8", "lstm"])
    cleaned = outputs.clean_html(frame._repr_html_())
    for tag in ("<table", "<thead>", "<tbody>", "<tr>", "<th>", "<td>123.8</td>"):
        assert tag in cleaned, cleaned
    assert "<style" not in cleaned


@pytest.mark.parametrize("output", hostile_outputs()[:9], ids=lambda o: next(iter(o["data"])))
def test_cleaned_html_runs_nothing_and_fetches_nothing(output):
    html = next(iter(output["data"].values()))
    assert runnable(outputs.clean_html(html)) == []


def test_cleaning_keeps_images_carried_in_the_page_and_links_that_lead_outside():
    html = f'<img src="data:image/png;base64,{PNG}" alt="fig"><a href="https://keras.io/">Keras</a>'
    cleaned = outputs.clean_html(html)
    assert f'src="data:image/png;base64,{PNG}"' in cleaned
    assert 'href="https://keras.io/"' in cleaned


# ---------------------------------------------------------------- SanitizeOutputs


def test_every_display_keeps_only_text_raster_images_and_cleaned_html():
    nb, _resources = run(outputs.SanitizeOutputs(), notebook_with(code_cell(*hostile_outputs())))
    for output in nb.cells[0].outputs[:-1]:  # the last one is the flag line
        assert set(output["data"]) <= {"text/plain", "image/png", "image/jpeg", "text/html"}, output
        assert runnable(output["data"].get("text/html", "")) == [], output
        for key, metadata in output["metadata"].items():
            assert set(metadata) <= {"width", "height"}, (key, metadata)
    kinds = [set(output["data"]) for output in nb.cells[0].outputs[:-1]]
    assert {"text/html"} <= kinds[0]
    assert kinds[3] == {"text/plain"}
    assert "image/png" in kinds[-1]
    assert "<strong>md</strong>" in nb.cells[0].outputs[5]["data"]["text/html"]  # Markdown becomes clean HTML


def test_a_notebook_whose_outputs_carried_script_is_flagged_and_says_so():
    nb, resources = run(
        outputs.SanitizeOutputs(), notebook_with(code_cell(stream("hi")), code_cell(*hostile_outputs()))
    )
    flags = resources["autograder"]["flags"]
    assert flags == nb.metadata["autograder"]["flags"]
    assert len(flags) == 1
    for part in ("<script>", "onerror handler", "<iframe>", "application/javascript"):
        assert part in flags[0]
    assert nb.cells[0].outputs[-1]["text"].startswith("[flagged] The grader flagged this notebook")


def test_stream_and_error_outputs_are_left_as_they_are_so_no_score_changes():
    failing = code_cell(stream("<script>x</script>", "stderr"), error("<img src=x onerror=y>"), grade=True)
    nb, _ = run(outputs.SanitizeOutputs(), notebook_with(copy.deepcopy(failing)))
    assert nb.cells[0].outputs == failing.outputs
    assert determine_grade(nb.cells[0]) == determine_grade(failing) == (0, 1)


@pytest.mark.parametrize("lesson", lessons(), ids=lambda path: path.stem)
def test_the_lessons_outputs_pass_unchanged_in_substance_and_unflagged(lesson):
    nb = nbformat.read(lesson, as_version=4)
    cleaned, resources = run(outputs.SanitizeOutputs(), copy.deepcopy(nb))
    assert "autograder" not in resources
    for before, after in zip(nb.cells, cleaned.cells, strict=True):
        for old, new in zip(before.get("outputs", []), after.get("outputs", []), strict=True):
            if "data" in old:
                kept = {
                    key
                    for key in old["data"]
                    if key in ("text/plain", "image/png", "image/jpeg", "text/html")
                }
                if "text/markdown" in old["data"]:
                    kept.add("text/html")  # Markdown becomes cleaned HTML
                assert set(new["data"]) == kept
                for key in kept - {"text/html"}:
                    assert new["data"][key] == old["data"][key]


# ---------------------------------------------------------------- LimitOutputBytes


def total_bytes(nb):
    return sum(outputs.output_bytes(o) for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_a_cell_keeps_at_most_its_limit_and_says_what_it_cut():
    nb, resources = run(
        outputs.LimitOutputBytes(),
        notebook_with(code_cell(stream("setup done")), code_cell(stream("x" * (3 * outputs.CELL_LIMIT)))),
    )
    cell = nb.cells[1]
    assert sum(outputs.output_bytes(o) for o in cell.outputs) <= outputs.CELL_LIMIT
    assert f"bytes of {3 * outputs.CELL_LIMIT:,} shown]" in cell.outputs[-1]["text"]
    assert cell.outputs[-1]["text"].startswith("\n[output truncated by the grader: ")
    assert "was cut to the grader's limits in cell 1" in resources["autograder"]["flags"][0]
    assert nb.cells[0].outputs[-1]["text"].startswith("[flagged] The grader flagged this notebook")


def test_a_notebook_keeps_at_most_its_limit_over_many_cells():
    cells = [code_cell(stream("y\n" * (outputs.CELL_LIMIT // 2 - 100))) for _ in range(20)]
    nb, _ = run(outputs.LimitOutputBytes(), notebook_with(*cells))
    assert total_bytes(nb) <= outputs.NOTEBOOK_LIMIT
    assert total_bytes(nb) >= outputs.NOTEBOOK_LIMIT - outputs.CELL_LIMIT
    assert "[output truncated by the grader: 0 bytes of" in nb.cells[-1].outputs[-1]["text"]


def test_test_cells_which_nbgrader_scores_are_left_alone_and_a_cut_cell_still_shows_it_failed():
    answer = code_cell(
        stream("z" * outputs.CELL_LIMIT), error(), stream("w" * 100, "stderr"), error(), solution=True
    )
    failed = code_cell(stream("v" * (2 * outputs.CELL_LIMIT)), error(), grade=True)
    partial = code_cell(stream("u" * (2 * outputs.CELL_LIMIT)), grade=True)
    partial.outputs.insert(0, display({"text/plain": "0.5"}, kind="execute_result"))
    tests = [failed, partial]
    nb, _ = run(outputs.LimitOutputBytes(), notebook_with(copy.deepcopy(answer), *copy.deepcopy(tests)))
    kinds = [(o["output_type"], o.get("name")) for o in nb.cells[0].outputs]
    assert kinds.count(("error", None)) == 1
    assert kinds.count(("stream", "stderr")) == 1
    assert nb.cells[1:] == tests
    assert [determine_grade(cell) for cell in nb.cells[1:]] == [(0, 1), (0.5, 1)]


def test_a_display_that_does_not_fit_keeps_its_text_and_a_wide_character_is_never_split():
    big = display({"text/plain": "é" * outputs.CELL_LIMIT, "image/png": PNG * 1000}, kind="execute_result")
    nb, _ = run(outputs.LimitOutputBytes(), notebook_with(code_cell(big)))
    first = nb.cells[0].outputs[0]
    assert set(first["data"]) == {"text/plain"}
    assert first["execution_count"] == 1
    assert set(first["data"]["text/plain"]) == {"é"}


def test_limiting_a_limited_notebook_again_changes_nothing():
    cells = [code_cell(stream("x" * outputs.CELL_LIMIT * 2), error()) for _ in range(6)]
    once, _ = run(outputs.LimitOutputBytes(), notebook_with(*cells))
    twice, resources = run(outputs.LimitOutputBytes(flag=False), copy.deepcopy(once))
    assert twice == once
    assert resources == {}


@pytest.mark.parametrize("lesson", lessons(), ids=lambda path: path.stem)
def test_the_lessons_are_far_below_the_limits(lesson):
    """The course's own notebooks, figures and tables included, pass untouched."""
    nb = nbformat.read(lesson, as_version=4)
    limited, resources = run(outputs.LimitOutputBytes(), copy.deepcopy(nb))
    assert limited == nb
    assert resources == {}
    assert total_bytes(nb) < outputs.NOTEBOOK_LIMIT / 2  # lesson 3, with nine figures: 1.1 MB


# ---------------------------------------------------------------- the pages


def formgrade_exporter():
    """The exporter as Formgrader configures it (nbgrader's formgrade template)."""
    exporter = outputs.SafeHTMLExporter(
        template_name="formgrade", extra_template_basedirs=[str(NBGRADER_TEMPLATES)]
    )
    resources = {
        "base_url": "",
        "submission_id": "s1",
        "notebook_id": "1_gates",
        "assignment_id": "a",
        "index": 0,
    }
    return exporter, {
        **resources,
        "total": 1,
        "student": "ana",
        "notebook_path": "autograded/ana/a/1_gates.ipynb",
    }


def feedback_exporter():
    """The exporter as ``nbgrader generate_feedback`` configures it (nbgrader's feedback template)."""
    exporter = outputs.SafeHTMLExporter(
        template_name="feedback",
        extra_template_basedirs=[str(NBGRADER_TEMPLATES)],
        extra_template_paths=[
            str(NBGRADER_TEMPLATES.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css")
        ],
    )
    return exporter, {"nbgrader": {"notebook": "1_gates", "score": 0, "max_score": 3, "late_penalty": 0}}


def hostile_notebook():
    answer = new_markdown_cell(f'An answer <img src=x onerror="{ATTACK}"> <script>{ATTACK}</script>')
    answer.metadata["nbgrader"] = {
        "grade": True,
        "solution": True,
        "grade_id": "written",
        "points": 1,
        "score": 0,
    }
    raw = new_raw_cell(f"<script>{ATTACK}</script>", metadata={"raw_mimetype": "text/html"})
    return notebook_with(answer, raw, code_cell(*hostile_outputs()))


@pytest.mark.parametrize(
    "make_exporter", [formgrade_exporter, feedback_exporter], ids=["formgrade", "feedback"]
)
def test_a_page_runs_nothing_but_its_templates_scripts(make_exporter):
    exporter, resources = make_exporter()
    page, _ = exporter.from_notebook_node(hostile_notebook(), resources=copy.deepcopy(resources))
    template_only, _ = exporter.from_notebook_node(notebook_with(), resources=copy.deepcopy(resources))
    assert "An answer" in page
    assert "<b>hi</b>" in page
    assert "<td>" not in template_only
    assert runnable(page) == runnable(template_only)
    assert ATTACK not in json.dumps(runnable(page))


def test_formgraders_policy_allows_the_templates_scripts_and_no_student_script():
    exporter, resources = formgrade_exporter()
    template_only, _ = exporter.from_notebook_node(notebook_with(), resources=resources)
    policy = page_policy("http://127.0.0.1:8888/formgrader", template_only)
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    sources = directives["script-src"].split()
    assert "'self'" not in sources
    assert "'unsafe-inline'" not in sources
    assert "'unsafe-eval'" not in sources
    assert sources[0] == "http://127.0.0.1:8888/formgrader/static/"
    hashes = [source for source in sources if source.startswith("'sha256-")]
    assert len(hashes) >= 4  # nbgrader's inline scripts and its two onclick handlers
    assert directives["connect-src"] == "http://127.0.0.1:8888/formgrader/api/"
    student_script = page_policy("http://x/formgrader", f"<script>{ATTACK}</script>").split("script-src ")[1]
    assert student_script.split()[1] not in hashes


def test_the_course_cleans_before_storing_and_renders_feedback_with_the_safe_exporter():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPOSITORY_ROOT)).load_config()
    assert config.GenerateFeedback.exporter_class == "autograder.engine.outputs.SafeHTMLExporter"
    autograde = config.Autograde.autograde_preprocessors
    position = {name.rsplit(".", 1)[1]: index for index, name in enumerate(autograde)}
    assert position["TrustedExecute"] < position["SanitizeOutputs"] < position["LimitOutputBytes"]
    assert position["LimitOutputBytes"] < position["SaveAutoGrades"]


@pytest.mark.parametrize(
    "template", ["manage_students_assignments.tpl", "manage_students_notebook_submissions.tpl"]
)
def test_formgraders_pages_print_a_student_id_from_the_address_as_text(template):
    student_id = f'"; {ATTACK}; "<img src=x onerror="{ATTACK}">'
    page = (
        escaping_templates()
        .get_template(template)
        .render(base_url="", student_id=student_id, assignment_id="gated_rnn")
    )
    assert "<img" not in page
    assert "&lt;img src=x onerror=" in page
    assert f'var student_id = "&#34;; {ATTACK}' in page.replace("&#39;", "'")  # still inside the string
