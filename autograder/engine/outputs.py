"""What a student's code displayed, made safe to store and to show: sanitised, and bounded in bytes.

A submission's outputs are written by the student's code, and the instructor opens them:
in Formgrader, which renders them in a page of the Jupyter server's own origin, and in the
feedback pages. A ``<script>`` there runs as the instructor. So every output passes through
here after the notebook ran and before anything stores or shows it:

- :class:`LimitOutputBytes` keeps at most :data:`CELL_LIMIT` bytes of output per cell and
  :data:`NOTEBOOK_LIMIT` per notebook, and says in the cell what it cut; nbgrader's own
  ``LimitOutput`` counts lines, so one long line passed whole.
- :class:`SanitizeOutputs` keeps plain text, PNG and JPEG images and HTML cleaned by
  ``nh3`` (the Ammonia sanitiser: an allow-list of tags and attributes, no script, no event
  handler, no ``<iframe>``, ``<style>`` or SVG, and no URL that makes the page fetch
  something). It drops ``application/javascript`` and every other MIME type, and turns
  Markdown outputs into cleaned HTML. Stream and error outputs are text, escaped when
  rendered, and stay as they are: nbgrader scores a test cell by its error outputs.
- Both flag the notebook for the instructor when they removed something
  (``autograder.engine.trusted.FlagSuspicious`` marks it in the gradebook).
- :class:`SafeHTMLExporter` is nbconvert's ``HTMLExporter`` that sanitises a notebook's
  outputs, Markdown cells and raw cells before rendering them, whatever produced the
  notebook: ``nbgrader generate_feedback`` uses it (``nbgrader_config.py``), and so does the
  instructor's Formgrader (:mod:`autograder.tools.safe_formgrader`).

``nbgrader_config.py`` runs both preprocessors in ``Autograde.autograde_preprocessors``
right after execution. nbconvert's own ``SanitizeHTML`` is not used: its sanitiser, bleach,
is no longer maintained, and its default allow-list turns a pandas table into escaped text.
"""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser

import nh3
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown import markdown2html_mistune
from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool, Int

from autograder.engine.trusted import FLAGS_KEY

#: Per cell: 5x the largest figure cell of the lessons (201 KB) and 12x a Keras fit of 40
#: epochs with its progress bars (``verbose=1``, batch size 8: 81 KB). The reference
#: solutions print at most 139 bytes per cell.
CELL_LIMIT = 1024 * 1024
#: Per notebook: 6x the lesson with the most output (lesson 1, ten figures: 644 KB); the
#: reference solutions print at most 466 bytes per notebook. Feedback and Formgrader pages
#: then stay a few MB, where 200 MiB of printing made a 210 MB page.
NOTEBOOK_LIMIT = 4 * 1024 * 1024

#: Bytes of a cut cell's limit kept for the note saying so and for an emptied error output.
NOTE_ROOM = 512
#: Bytes of the notebook's limit kept for the grading pass's flag line.
FLAG_ROOM = 1024

#: MIME types kept in display outputs: text, raster images, and HTML once cleaned.
KEPT_TYPES = ("text/plain", "image/png", "image/jpeg")
HTML = "text/html"
MARKDOWN = "text/markdown"
SVG = "image/svg+xml"
#: Display metadata kept: an image's size. Everything else (``isolated``, which renders HTML
#: in an iframe; ``filenames``, which becomes an ``<img src>``) is dropped.
KEPT_METADATA = ("width", "height")

#: Tags cleaned HTML may keep: Ammonia's defaults (text, lists, tables, images), without
#: image maps, with table footers (pandas writes them).
TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"tfoot"}
ATTRIBUTES = {**copy.deepcopy(nh3.ALLOWED_ATTRIBUTES), "table": {"border", "align", "summary"}}
#: An ``<img>`` may show only an image carried in the page itself; any other source would
#: make the instructor's browser request it (the Jupyter server's API included).
_INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
#: A link may lead only outside, by the user's click: no relative URL into the server.
_OUTSIDE_LINK = re.compile(r"(https?:|mailto:)", re.IGNORECASE)

#: MIME types that are code for the browser, worth a flag when dropped. Widgets and plots'
#: JSON are dropped without one: the course's own lessons display widgets.
_SCRIPT_TYPES = re.compile(r"script|_exec|html\+xml", re.IGNORECASE)


def _url_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        return value if tag == "img" and _INLINE_IMAGE.fullmatch(value.strip()) else None
    if attribute == "href":
        return value if _OUTSIDE_LINK.match(value.strip()) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with only the allowed tags and attributes, no script and no fetching URL."""
    return nh3.clean(
        str(html),
        tags=TAGS,
        attributes=ATTRIBUTES,
        clean_content_tags={"script", "style"},
        url_schemes=nh3.ALLOWED_URL_SCHEMES | {"data"},
        attribute_filter=_url_filter,
    )


class _ExecutableFinder(HTMLParser):
    """The parts of an HTML text that a browser could run or that load a document."""

    RUNNABLE_TAGS = frozenset(
        {"script", "iframe", "frame", "object", "embed", "svg", "math", "base", "link", "meta", "form"}
    )

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.RUNNABLE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name} handler")
            elif value and re.match(r"\s*(javascript|vbscript|data:text/html)", value, re.IGNORECASE):
                self.found.append(f"{name}={value.strip()[:20]}")


#: Quick looks for anything :class:`_ExecutableFinder` reports, in lower case; most HTML has none.
_TAG_OPENINGS = tuple(f"<{tag}" for tag in _ExecutableFinder.RUNNABLE_TAGS)
_HANDLER = re.compile(r"on[a-z]+\s*=")


def executable_parts(html: str) -> list[str]:
    """What in ``html`` could run script or load another document (for the flag's wording)."""
    lower = str(html).lower()
    if not (
        any(opening in lower for opening in _TAG_OPENINGS)
        or "script:" in lower
        or "data:text" in lower
        or _HANDLER.search(lower)
    ):
        return []
    finder = _ExecutableFinder()
    finder.feed(str(html))
    finder.close()
    return finder.found


def _text_bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def output_bytes(output) -> int:
    """How many bytes an output's content takes (its text, or every MIME type's data)."""
    if output.get("output_type") == "stream":
        return _text_bytes(_joined(output.get("text", "")))
    if output.get("output_type") == "error":
        parts = [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
        return sum(_text_bytes(str(part)) for part in parts)
    total = 0
    for value in output.get("data", {}).values():
        total += _text_bytes(_joined(value) if isinstance(value, (str, list)) else json.dumps(value))
    return total


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cut(text: str, budget: int) -> str:
    if _text_bytes(text) <= budget:
        return text
    if text.isascii():
        return text[: max(budget, 0)]
    return text.encode("utf-8", "surrogatepass")[: max(budget, 0)].decode("utf-8", "ignore")


def _is_test_cell(cell) -> bool:
    grading = cell.get("metadata", {}).get("nbgrader", {})
    return (
        cell.get("cell_type") == "code" and grading.get("grade", False) and not grading.get("solution", False)
    )


def flag_for_the_instructor(nb, resources, flag: str) -> None:
    """Record ``flag`` where ``FlagSuspicious``, formgrader and ``make grade`` read flags."""
    resources.setdefault(FLAGS_KEY, {}).setdefault("flags", []).append(flag)
    nb.metadata.setdefault(FLAGS_KEY, {}).setdefault("flags", []).append(flag)
    first_code = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    if first_code is not None:
        first_code.outputs.append(
            new_output("stream", name="stdout", text=f"[flagged] The grader flagged this notebook: {flag}\n")
        )


class LimitOutputBytes(Preprocessor):
    """Keep at most ``cell_limit`` bytes of output per cell and ``notebook_limit`` per notebook.

    Test cells are left alone: nbgrader scores them by their outputs, which after
    ``TrustedExecute`` are the grader's verdict, not the student's output. In other cells
    the outputs are kept in order while they fit; the one that does not fit is cut (a
    display output keeps only its cut text) and later ones are dropped, except the first
    error output and the first stderr stream, kept emptied, so that the instructor still
    sees that the cell failed. A note in the cell says how many bytes were shown of how
    many. The note, and the flag line of the grading pass, fit within the limits, so that
    limiting a limited notebook again changes nothing.
    """

    enabled = Bool(True)
    cell_limit = Int(CELL_LIMIT, help="Bytes of output kept per cell.").tag(config=True)
    notebook_limit = Int(NOTEBOOK_LIMIT, help="Bytes of output kept per notebook.").tag(config=True)
    flag = Bool(True, help="Flag a notebook whose output was cut, for the instructor.").tag(config=True)

    def preprocess(self, nb, resources):
        self._left_in_notebook = self.notebook_limit - (FLAG_ROOM if self.flag else 0)
        self._cut_cells: list[str] = []
        nb, resources = super().preprocess(nb, resources)
        if self._cut_cells and self.flag:
            more = len(self._cut_cells) - 5
            flag_for_the_instructor(
                nb,
                resources,
                "its output was cut to the grader's limits in "
                + "; ".join(self._cut_cells[:5])
                + (f" and {more} more cells" if more > 0 else ""),
            )
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or _is_test_cell(cell) or not cell.outputs:
            return cell, resources
        total = sum(output_bytes(output) for output in cell.outputs)
        fits = max(min(self.cell_limit, self._left_in_notebook), 0)
        if total <= fits:
            self._left_in_notebook -= total
            return cell, resources
        budget = max(fits - NOTE_ROOM, 0)
        kept, shown, failures_kept = [], 0, set()
        for output in cell.outputs:
            size, room, failure = output_bytes(output), budget - shown, _failure_kind(output)
            if size <= room:
                kept.append(output)
            elif room > 0 or (failure and failure not in failures_kept):
                output = self._trimmed(output, room)
                if output is None:
                    continue
                kept.append(output)
            else:
                continue
            shown += output_bytes(output)
            failures_kept.add(failure)
        note = new_output(
            "stream",
            name="stdout",
            text=f"\n[output truncated by the grader: {shown:,} bytes of {total:,} shown]\n",
        )
        cell.outputs = [*kept, note]
        self._left_in_notebook -= shown + output_bytes(note)
        self._cut_cells.append(f"cell {index} ({total:,} bytes)")
        self.log.warning(
            "Cell %d printed %d bytes; %d kept (the grader's output byte limits).", index, total, shown
        )
        return cell, resources

    @staticmethod
    def _trimmed(output, room: int):
        """``output`` cut to ``room`` bytes (an error keeps its name); None if nothing is left."""
        room = max(room, 0)
        kind = output.get("output_type")
        if kind == "stream":
            return new_output(
                "stream", name=output.get("name", "stdout"), text=_cut(_joined(output.text), room)
            )
        if kind == "error":
            ename = _cut(str(output.get("ename", "Error")), 60)
            evalue = _cut(str(output.get("evalue", "")), room // 2)
            return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])
        text = _cut(_joined(output.get("data", {}).get("text/plain", "")), room)
        if not text:
            return None
        count = {"execution_count": output.get("execution_count")} if kind == "execute_result" else {}
        return new_output(kind, data={"text/plain": text}, **count)


def _failure_kind(output) -> str | None:
    """What makes nbgrader score a cell as failed: an error output or a stderr stream."""
    if output.get("output_type") == "error":
        return "error"
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        return "stderr"
    return None


class SanitizeOutputs(Preprocessor):
    """Keep only plain text, PNG, JPEG and cleaned HTML in display outputs.

    Cleaning costs time, so it is bounded like the output: an HTML output larger than
    ``cell_limit``, and every HTML output after ``html_budget`` bytes of HTML in the
    notebook, is dropped unread (the display keeps its plain text). Honest work is far
    below both. Stream and error outputs are text and are left as they are, so no score
    changes.
    """

    enabled = Bool(True)
    cell_limit = Int(CELL_LIMIT, help="HTML outputs larger than this are dropped, not cleaned.").tag(
        config=True
    )
    html_budget = Int(
        NOTEBOOK_LIMIT, help="Bytes of HTML cleaned per notebook; later HTML outputs are dropped."
    ).tag(config=True)
    flag = Bool(True, help="Flag a notebook whose outputs carried script, for the instructor.").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        self._removed: dict[str, None] = {}
        self._html_left = self.html_budget
        nb, resources = super().preprocess(nb, resources)
        if self._removed and self.flag:
            flag_for_the_instructor(
                nb,
                resources,
                "its outputs carried content that could run in a browser, removed: "
                + ", ".join(list(self._removed)[:8]),
            )
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.get("output_type") in ("display_data", "execute_result"):
                    self._sanitize_display(output)
        return cell, resources

    def _sanitize_display(self, output) -> None:
        data = output.get("data", {})
        kept = {key: data[key] for key in KEPT_TYPES if isinstance(data.get(key), (str, list))}
        html = None
        if isinstance(data.get(HTML), (str, list)):
            html = _joined(data[HTML])
        elif isinstance(data.get(MARKDOWN), (str, list)):
            html = markdown2html_mistune(_joined(data[MARKDOWN]))
        if html is not None and _text_bytes(html) <= min(self.cell_limit, self._html_left):
            self._html_left -= _text_bytes(html)
            self._note_removed(executable_parts(html))
            kept[HTML] = clean_html(html)
        for key, value in data.items():
            if key == SVG and isinstance(value, (str, list)):
                self._note_removed(part for part in executable_parts(_joined(value)) if part != "<svg>")
            elif key not in kept and key not in (HTML, MARKDOWN) and _SCRIPT_TYPES.search(key):
                self._note_removed([key])
        if not kept:
            kept["text/plain"] = "[removed by the grader: " + ", ".join(sorted(data)) + "]"
        metadata = output.get("metadata", {})
        output["data"] = kept
        output["metadata"] = {
            key: {
                name: value
                for name, value in metadata[key].items()
                if name in KEPT_METADATA and _is_size(value)
            }
            for key in KEPT_TYPES
            if isinstance(metadata.get(key), dict)
        }

    def _note_removed(self, parts) -> None:
        for part in parts:
            self._removed[part] = None


def _is_size(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100_000


class SafeHTMLExporter(HTMLExporter):
    """nbconvert's ``HTMLExporter`` that never renders a student's markup as it came.

    Before rendering, a copy of the notebook goes through :class:`SanitizeOutputs` and
    :class:`LimitOutputBytes` (so notebooks graded before these existed are safe too),
    Markdown cells are rendered and then cleaned, and nbconvert's own ``clean_html`` filter
    (raw cells, and every place a template cleans) is this module's. ``sanitize_html``
    is on, so templates leave out JavaScript and widget outputs altogether.
    """

    sanitize_html = Bool(True, help="Leave JavaScript and widgets out of the page (nbconvert's switch).").tag(
        config=True
    )

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        resources = dict(resources or {})
        for preprocessor in (
            SanitizeOutputs(flag=False, parent=self),
            LimitOutputBytes(flag=False, parent=self),
        ):
            nb, resources = preprocessor(nb, resources)
        return super().from_notebook_node(nb, resources, **kw)

    @pass_context
    def markdown2html(self, context, source):
        return clean_html(super().markdown2html(context, source))

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean_html)
