"""nbgrader's Formgrader for the instructor's JupyterLab, with no page able to run a student's script.

Formgrader (nbgrader 0.9.6) renders a submission, outputs and Markdown included, into a
page of the Jupyter server's own origin, and its templates print values such as the
student id without escaping them. A student's ``<script>`` there runs as the instructor:
it can write files and open terminals through the server's API. ``make lab-instructor``
(:mod:`autograder.tools.lab`) loads this server extension in place of nbgrader's: the same
URLs, pages and JavaScript (manual grading works as before), with four changes:

1. Every page carries a Content-Security-Policy that lets script run only from
   Formgrader's own static files and from the inline scripts and event handlers of
   nbgrader's templates, named by their SHA-256. For a submission page those are read
   from the same template rendered with no notebook, so nothing the student wrote can be
   among them. The page may connect only to Formgrader's API, load images only from
   Formgrader and ``data:``, and embed nothing.
2. Values printed by the templates are HTML-escaped (nbgrader's Jinja environment does
   not escape), the student's id and name included.
3. Submissions are rendered by :class:`autograder.engine.outputs.SafeHTMLExporter`, which
   cleans outputs and Markdown before rendering, whatever graded the notebook.
4. Files served from a submission's folder (``/formgrader/submissions/<id>/<file>``,
   which nbgrader serves from the server's origin) and every other Formgrader response
   get a policy with ``sandbox`` and no script at all.
5. The Autograde and Generate Feedback buttons run the course's commands
   (:mod:`autograder.engine.checked`, what ``make autograde`` and ``make feedback`` run) in
   place of nbgrader's API: nbgrader's would read ``submitted/`` and ``autograded/`` as it
   finds them, following links and copying every file a submission brought into the
   feedback a student is sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sys
from html.parser import HTMLParser

import markupsafe
import nbformat
from jinja2 import Environment, FileSystemLoader
from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.formgrader import apihandlers, handlers
from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
from tornado import web

from autograder.engine.outputs import SafeHTMLExporter

#: Policy of every Formgrader response that is not a rendered page: static files, the
#: files of a submission, redirects, the API's JSON. Nothing in it runs; an HTML file
#: opened from a submission's folder gets a unique origin of its own.
NO_SCRIPT_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"

#: What nbgrader's submission template prints from its resources that a student, or a
#: name taken from a student's record, can shape.
_STUDENT_TEXT = (
    "student",
    "first_name",
    "last_name",
    "notebook_id",
    "assignment_id",
    "notebook_path",
    "filename",
)


class _InlineScripts(HTMLParser):
    """The inline scripts and event-handler attributes of a page, as the browser hashes them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.sources += [value or "" for name, value in attrs if name.startswith("on")]
        if tag == "script" and not dict(attrs).get("src"):
            self._script = []

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.sources.append("".join(self._script))
            self._script = None


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def page_policy(formgrader_url: str, template_html: str) -> str:
    """The policy of a Formgrader page whose own scripts are those of ``template_html``.

    ``formgrader_url`` is the absolute address of Formgrader (``http://host:port/formgrader``):
    script comes only from its static files, not from the whole server, where a
    submission's own files are served too.
    """
    parser = _InlineScripts()
    parser.feed(template_html)
    parser.close()
    hashes = " ".join(dict.fromkeys(_sha256(source) for source in parser.sources))
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {formgrader_url}/static/ {hashes} 'unsafe-hashes'",
            f"style-src {formgrader_url}/static/ 'unsafe-inline'",
            f"img-src {formgrader_url}/ data:",
            f"font-src {formgrader_url}/",
            f"connect-src {formgrader_url}/api/",
            "frame-ancestors 'self'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


class GuardedPage:
    """Mixed into each of nbgrader's Formgrader handlers: the policies above."""

    @property
    def content_security_policy(self) -> str:
        return NO_SCRIPT_POLICY

    def _formgrader_url(self) -> str:
        return f"{self.request.protocol}://{self.request.host}{self.base_url}/formgrader"

    def allow_scripts_of(self, template_html: str) -> None:
        """Let this response run the scripts of ``template_html``, nbgrader's own markup."""
        self.set_header("Content-Security-Policy", page_policy(self._formgrader_url(), template_html))

    def render(self, name, **namespace):
        # The environment escapes every value (GuardedFormgrader), so the page is the template's.
        html = super().render(name, **namespace)
        self.allow_scripts_of(html)
        return html


class _SubmissionPage:
    """The exporter a submission page renders with: escaped resources, and the page's policy."""

    def __init__(self, handler: GuardedPage, exporter: SafeHTMLExporter):
        self.handler, self.exporter = handler, exporter

    def from_filename(self, filename, resources=None, **kw):
        resources = {
            key: markupsafe.escape(value) if key in _STUDENT_TEXT and isinstance(value, str) else value
            for key, value in (resources or {}).items()
        }
        html, resources_out = self.exporter.from_filename(filename, resources=dict(resources), **kw)
        template_only, _ = self.exporter.from_notebook_node(
            nbformat.v4.new_notebook(), resources=dict(resources)
        )
        self.handler.allow_scripts_of(template_only)
        return html, resources_out


class GuardedSubmissionHandler(GuardedPage, handlers.SubmissionHandler):
    """nbgrader's submission page, rendered through :class:`_SubmissionPage`."""

    @property
    def exporter(self):
        return _SubmissionPage(self, self.settings["nbgrader_exporter"])


async def run_course_command(course: str, command: str, assignment: str, student: str | None) -> dict:
    """``python -m autograder.engine.checked COMMAND`` (``--force``, as nbgrader's buttons force),
    as nbgrader's API reports a command to Formgrader: ``success``, ``log``, ``error``."""
    arguments = [command, assignment, "--force", f"--course-dir={course}"]
    if student is not None:
        arguments.append(f"--student={student}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autograder.engine.checked",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    log = output.decode("utf-8", errors="replace")
    if process.returncode == 0:
        return {"success": True, "log": log}
    error = (
        f"python -m autograder.engine.checked {command} (what make {command} runs) stopped with "
        f"exit status {process.returncode}: the log above says why."
    )
    return {"success": False, "log": log, "error": error}


class CourseCommandHandler(apihandlers.BaseApiHandler):
    """A Formgrader button that runs :func:`run_course_command`; ``command`` names it."""

    command = ""

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    async def post(self, assignment_id, student_id=None):
        result = await run_course_command(self.coursedir.root, self.command, assignment_id, student_id)
        self.write(json.dumps(result))


#: nbgrader's API handlers whose work the course's commands do instead.
COURSE_COMMANDS = {
    apihandlers.AutogradeHandler: "autograde",
    apihandlers.GenerateAllFeedbackHandler: "feedback",
    apihandlers.GenerateFeedbackHandler: "feedback",
}


def guarded_rules(rules):
    """nbgrader's URL rules with each Formgrader handler replaced by its guarded subclass, and
    the buttons of :data:`COURSE_COMMANDS` by the course's commands."""
    guarded = []
    for pattern, handler, *rest in rules:
        if handler in COURSE_COMMANDS:
            handler = type(
                handler.__name__, (GuardedPage, CourseCommandHandler), {"command": COURSE_COMMANDS[handler]}
            )
        elif handler is handlers.SubmissionHandler:
            handler = GuardedSubmissionHandler
        elif isinstance(handler, type) and issubclass(handler, handlers.BaseHandler):
            handler = type(handler.__name__, (GuardedPage, handler), {})
        guarded.append((pattern, handler, *rest))
    return guarded


def escaping_templates() -> Environment:
    """nbgrader's Formgrader templates, with every printed value HTML-escaped."""
    return Environment(loader=FileSystemLoader([handlers.template_path]), autoescape=True)


class GuardedFormgrader(FormgradeExtension):
    """nbgrader's Formgrader extension with escaping templates, the safe exporter and guarded handlers."""

    def init_tornado_settings(self, webapp):
        super().init_tornado_settings(webapp)
        webapp.settings["nbgrader_jinja2_env"] = escaping_templates()
        webapp.settings["nbgrader_exporter"] = SafeHTMLExporter(config=self.config)

    def init_handlers(self, webapp):
        # The rules nbgrader's own init_handlers registers, in its order.
        rules = [
            *handlers.default_handlers,
            *apihandlers.default_handlers,
            (r"/formgrader/static/(.*)", web.StaticFileHandler, {"path": handlers.static_path}),
            (r"/formgrader/.*", handlers.Template404),
        ]
        base_url = webapp.settings["base_url"]
        webapp.add_handlers(
            ".*$",
            [
                (url_path_join(base_url, pattern.lstrip("/")), *rest)
                for pattern, *rest in guarded_rules(rules)
            ],
        )


def _jupyter_server_extension_points():
    return [{"module": "autograder.tools.safe_formgrader"}]


def _load_jupyter_server_extension(serverapp):
    """Start Formgrader as nbgrader's ``load_jupyter_server_extension`` does, guarded."""
    serverapp.log.info(
        "Loading Formgrader behind a Content-Security-Policy (autograder.tools.safe_formgrader)"
    )
    formgrader = GuardedFormgrader(parent=serverapp)
    formgrader.root_dir = serverapp.root_dir
    formgrader.log = serverapp.log
    formgrader.initialize([])
    formgrader.init_tornado_settings(serverapp.web_app)
    formgrader.init_handlers(serverapp.web_app)
