"""nbgrader preprocessors that decide every autograded point outside the student's kernel.

``nbgrader_config.py`` puts :class:`TrustedExecute` in place of nbgrader's ``Execute`` and
:class:`FlagSuspicious` after ``SaveAutoGrades``, so plain ``nbgrader autograde``,
``make autograde``, ``make grade``, formgrader, feedback and export all see the same
trusted verdicts. For each notebook:

1. The student's kernel runs in the sandbox (:mod:`autograder.engine.sandbox`): it sees its own
   in-memory working folder, the course package, ``data/`` and Python, nothing else of the
   course, and no network; nothing it starts outlives the notebook.
2. Before each graded test cell runs, the kernel hands over, as plain data, the values the
   cell's checks take (:mod:`autograder.engine.handover`). Which values, and which checks, come
   from the test cell's source, which nbgrader has just restored from the gradebook, so it
   is the instructor's, not the student's: ``from autograder.checks import check_x`` and
   calls ``check_x(answer_name, literal, ...)``. A test cell of any other form scores 0
   and the log says why: there is nothing to verify it with.
3. The kernel then runs only what the student saw of the cell: its hidden tests are taken
   out first, so their source never reaches student code (a hook that records every cell
   the grader runs learns nothing it did not have). A visible check's own result is kept
   only for comparison.
4. The verifier (:mod:`autograder.engine.verifier`), a separate sandboxed process that never ran
   student code, runs the same checks on the handed-over values. Its verdict replaces the
   cell's outputs, and nbgrader's ``SaveAutoGrades`` scores the cell from it.
5. Signs of tampering are collected for the instructor: a check that passed in the
   kernel but failed in the verifier (or the reverse), attempts recorded by the kernel's
   audit hook (reading the course folder, writing outside the sandbox, network), processes
   still running when the notebook ended, and a test error far better than every honest
   calibrated run. :class:`FlagSuspicious` marks such a notebook ``flagged`` in the
   gradebook; the reasons are printed under the notebook's first code cell, stored in its
   metadata (``autograder.flags``) and logged.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Bool, List, Unicode

from autograder.engine import handover, sandbox
from autograder.engine.gradebook_rows import StudentRows, read_rows, restore_rows
from autograder.engine.test_cells import CheckCall, UnverifiableTestCell, parse_test_cell
from autograder.engine.verifier import Verdict, Verifier, VerifierFailed

FLAGS_KEY = "autograder"
#: A file (JSON lines) where grader faults are reported for the job that ran nbgrader (autograder.engine.grade_job).
FAULTS_VARIABLE = "AUTOGRADER_FAULTS"
#: What to do about a fault of the grading machine, whatever it was.
CHECK_THE_GRADER = "run `make doctor` in the course folder to see what fails, then grade this student again"
UNSAFE_WARNING = (
    "GRADING WITHOUT THE SANDBOX (unsafe_no_sandbox): student code runs with your "
    "permissions and can read the solutions and change course files; only the verdicts "
    "are still computed outside the student's kernel."
)


class GraderFault(RuntimeError):
    """The grading machinery failed, not the submission: the student is not graded, and no score is written.

    ``machine`` is set when nothing can be graded on this machine (no sandbox): grading stops.
    """

    def __init__(self, what: str, todo: str = CHECK_THE_GRADER, machine: bool = False):
        super().__init__(f"{what}; {todo}" if todo else what)
        self.machine = machine


# ---------------------------------------------------------------- one verifier per student


class _VerifierPool:
    """The verifier of the student being graded; a new student gets a fresh process."""

    def __init__(self):
        self.key = None
        self.verifier: Verifier | None = None
        atexit.register(self.close)

    def get(self, key, start) -> Verifier:
        if self.key != key or self.verifier is None or not self.verifier.alive:
            self.close()
            self.key, self.verifier = key, start()
        return self.verifier

    def close(self) -> None:
        if self.verifier is not None:
            self.verifier.close()
            self.verifier = None


_VERIFIERS = _VerifierPool()


# ---------------------------------------------------------------- the preprocessors


def _is_test_cell(cell) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def _failed_in_kernel(cell) -> bool:
    return any(
        output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr")
        for output in cell.get("outputs", [])
    )


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the student's kernel in the sandbox, and a look at it after.

    Scores still come from the cells' outputs; :class:`TrustedExecute` adds the verdicts. A
    fault of the grading machinery (:class:`GraderFault`: the sandbox or the kernel cannot
    start, the verifier fails twice) is no score: the student's gradebook rows are put back
    as they were before this grading, the log says "Not graded" with what to do, and a job
    of ``make grade`` learns of it through ``AUTOGRADER_FAULTS``.
    """

    unsafe_no_sandbox = Bool(
        False,
        help="Run student kernels (and the verifier) without the sandbox. Unsafe: student code "
        "can read the solutions and rewrite course files. Warned about on every run.",
    ).tag(config=True)
    audited_folders = List(
        Unicode(),
        help="Folders besides the course folder whose access the kernel's audit hook reports: the "
        "instructor's course folder when a grading job grades a copy of the submission elsewhere.",
    ).tag(config=True)

    def preprocess(self, nb, resources, km=None):
        self._course_root = Path(CourseDirectory(config=self.config).root).resolve()
        self._sandboxed_km: sandbox.SandboxedKernelManager | None = None
        _remember_rows(resources)
        self._flags: list[str] = []
        try:
            if self.unsafe_no_sandbox:
                self.log.warning(UNSAFE_WARNING)
            else:
                try:
                    sandbox.require_sandbox()
                except sandbox.SandboxUnavailable as error:
                    raise GraderFault(str(error), "", machine=True) from None
            self._prepare(nb, resources)
            nb, resources = super().preprocess(nb, resources, km)
        except GraderFault as fault:
            self._not_graded(fault, resources)
            if fault.machine:
                raise SystemExit(str(fault)) from None
            raise
        except (VerifierFailed, OSError) as error:
            what = "the verifier could not run" if isinstance(error, VerifierFailed) else "the grader failed"
            fault = GraderFault(f"{what} ({error})")
            self._not_graded(fault, resources)
            raise fault from None
        except Exception:
            output = self._sandboxed_km.sandbox_output() if self._sandboxed_km else ""
            if output:  # why a kernel died, for the instructor
                self.log.warning("The student's kernel printed, last:\n%s", output[-3000:])
            raise
        self._publish_flags(nb, resources)
        return nb, resources

    def _prepare(self, nb, resources) -> None:
        """What a subclass does before the kernel starts."""

    def create_kernel_manager(self):
        if self.unsafe_no_sandbox:
            self.kernel_manager_class = AsyncKernelManager
            return super().create_kernel_manager()
        self.km = self._sandboxed_km = sandbox.SandboxedKernelManager(
            kernel_name=self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name", "python3"),
            config=self.config,
            course_root=str(self._course_root),
            audit_protected=[str(self._course_root), str(sandbox.REPOSITORY_ROOT), *self.audited_folders],
        )
        return self.km

    def start_new_kernel(self, **kwargs):
        try:
            super().start_new_kernel(**kwargs)
        except Exception as error:  # noqa: BLE001  (no student code has run yet: whatever failed is the grader's)
            raise GraderFault(f"the student's kernel could not start in the sandbox: {error}") from None

    def start_new_kernel_client(self):
        km = self._sandboxed_km
        try:
            return super().start_new_kernel_client()
        except Exception as error:  # noqa: BLE001  (no student code has run yet: whatever failed is the grader's)
            printed = km.sandbox_output()[-1500:] if km is not None else ""
            raise GraderFault(
                f"the student's kernel could not start ({error})" + (f": {printed}" if printed else "")
            ) from None

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self._inspect_sandbox()
        return cell, resources

    def _inspect_sandbox(self) -> None:
        """Before the kernel stops: processes still running, and the audit trail it sent out."""
        if not isinstance(self.km, sandbox.SandboxedKernelManager):
            return
        left = [p for p in self.km.sandbox_processes() if _running(p)]
        if left:
            self._flags.append(
                f"{len(left)} process(es) were still running when the notebook ended, and were stopped: "
                + "; ".join(_command_line(p) for p in left[:3])
            )
        # The first record is the hook's "audit started"; the kernel cannot take one back.
        self._flags += [f"tried to {line}" for line in dict.fromkeys(self.km.audit_records()[1:])]

    def _publish_flags(self, nb, resources) -> None:
        resources.setdefault(FLAGS_KEY, {})["flags"] = list(self._flags)
        nb.metadata[FLAGS_KEY] = {"flags": list(self._flags), "sandboxed": not self.unsafe_no_sandbox}
        if not self._flags:
            return
        for flag in self._flags:
            self.log.warning("Flagged for the instructor: %s", flag)
        first_code = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first_code is not None:
            text = "[flagged] The grader flagged this notebook for the instructor:\n" + "".join(
                f"- {flag}\n" for flag in self._flags
            )
            first_code.outputs.append(new_output("stream", name="stdout", text=text))

    def _not_graded(self, fault: GraderFault, resources) -> None:
        """Leave no score: the student's rows as before this grading, no autograded copy; say so."""
        info = resources.get("nbgrader")
        if not info:  # not grading a student (make doctor): the caller reports it
            return
        student = info.get("student")
        self.log.error("Not graded: %s (notebook %s): %s", student, info.get("notebook"), fault)
        _restore_rows(resources, CourseDirectory(config=self.config))
        path = os.environ.get(FAULTS_VARIABLE)
        if path:
            with open(path, "a", encoding="utf-8") as faults:
                faults.write(json.dumps({"student": student, "reason": str(fault)}) + "\n")


#: (gradebook, assignment, student) -> that student's rows when this process first graded them.
_ROWS_BEFORE: dict[tuple[str, str, str], StudentRows | None] = {}


def _remember_rows(resources) -> None:
    """The student's gradebook rows before this process scored any of their notebooks."""
    info = resources.get("nbgrader", {})
    key = (info.get("db_url"), info.get("assignment"), info.get("student"))
    if None in key or key in _ROWS_BEFORE:
        return
    with Gradebook(key[0]) as gradebook:
        _ROWS_BEFORE[key] = read_rows(gradebook, key[1], key[2])


def _restore_rows(resources, coursedir: CourseDirectory) -> None:
    """Put the student's rows back as they were; a submission nbgrader had only just created goes.

    nbgrader's autograde creates the submission (and zero scores for notebooks not handed
    in) before the first notebook runs; a submission no handed-in notebook of which has a
    score yet was not graded before, so it is removed rather than kept at zero.
    """
    info = resources.get("nbgrader", {})
    key = (info.get("db_url"), info.get("assignment"), info.get("student"))
    if None in key:
        return
    db_url, assignment, student = key
    before = _ROWS_BEFORE.get(key)
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    if before is not None and before.submission is not None:
        handed_in = {path.stem for path in submitted.glob("*.ipynb")}
        scored = [
            grade
            for name, notebook in before.submission.notebooks.items()
            if name in handed_in
            for grade in notebook.grades.values()
            if grade["auto_score"] is not None or grade["manual_score"] is not None
        ]
        if not scored and before.submission.extension is None:
            # A student without details may have been created just now too: such a student goes
            # as well, unless another assignment of theirs is in the gradebook.
            before = StudentRows(before.student, before.details) if any(before.details.values()) else None
    with Gradebook(db_url) as gradebook:
        restore_rows(gradebook, assignment, student, before)
    # nbgrader skips a student with an autograded copy unless forced: none may stay behind.
    shutil.rmtree(
        coursedir.format_path(coursedir.autograded_directory, student, assignment), ignore_errors=True
    )


class TrustedExecute(SandboxedExecute):
    """:class:`SandboxedExecute` whose test cells are scored by the verifier's verdicts."""

    def _prepare(self, nb, resources) -> None:
        #: index -> the test cell's checks, or why it has none the verifier can run.
        self._checks_of_cell: dict[int, list[CheckCall] | UnverifiableTestCell] = {}
        #: index -> the source the kernel runs in place of the test cell's: without its hidden tests.
        self._visible = {}
        #: indices of test cells whose visible part calls checks, so the kernel's result means something.
        self._checked_in_kernel = set()
        hidden = ClearHiddenTests(config=self.config)
        for index, cell in enumerate(nb.cells):
            if _is_test_cell(cell):
                try:
                    self._checks_of_cell[index] = parse_test_cell(cell.source)
                except UnverifiableTestCell as error:
                    self._checks_of_cell[index] = error
                visible = cell.copy()
                if hidden._remove_hidden_test_region(visible):
                    self._visible[index] = visible.source
                try:
                    if parse_test_cell(visible.source):
                        self._checked_in_kernel.add(index)
                except UnverifiableTestCell:
                    pass
        self._student = resources.get("nbgrader", {}).get("student")
        self._verifier = self._get_verifier()

    def _get_verifier(self) -> Verifier:
        sandboxed = not self.unsafe_no_sandbox
        return _VERIFIERS.get(
            (self._student, str(self._course_root), sandboxed),
            lambda: Verifier(sandboxed=sandboxed, course_root=self._course_root),
        )

    def preprocess_cell(self, cell, resources, index):
        checks = self._checks_of_cell.get(index)
        answers = None
        if isinstance(checks, list):
            names = sorted(set().union(*(call.answer_names() for call in checks)))
            answers = self._hand_over(names)
        source = cell.source
        cell.source = self._visible.get(index, source)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source  # the instructor's autograded copy keeps the whole test
        if checks is not None:
            self._replace_with_verdict(cell, checks, answers, compare=index in self._checked_in_kernel)
        return cell, resources

    async def _async_hand_over(self, names: list[str]) -> dict:
        """The kernel's hand-over of ``names``; a name it does not hand over counts as missing."""
        answers = {name: handover.MISSING for name in names}
        message_id = self.kc.execute(handover.kernel_code(names), store_history=False, allow_stdin=False)
        try:
            while True:
                message = await self.kc.get_iopub_msg(timeout=self.timeout or 60)
                if message["parent_header"].get("msg_id") != message_id:
                    continue
                content = message["content"]
                if message["msg_type"] == "display_data" and handover.MIME in content.get("data", {}):
                    published = content["data"][handover.MIME]
                    if isinstance(published, dict):
                        answers.update({n: published[n] for n in names if n in published})
                elif message["msg_type"] == "status" and content.get("execution_state") == "idle":
                    break
            await self.async_wait_for_reply(message_id)
        except Exception:  # noqa: BLE001  (a kernel that hangs or breaks hands over nothing)
            self.log.warning("The kernel did not hand over %s; they count as missing.", ", ".join(names))
            if await self.km.is_alive():
                await self.km.interrupt_kernel()
        return answers

    _hand_over = run_sync(_async_hand_over)

    def _replace_with_verdict(self, cell, checks, answers, compare: bool) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if isinstance(checks, UnverifiableTestCell):
            self.log.error("Test cell %s cannot be verified outside the kernel: %s", grade_id, checks)
            cell.outputs = [
                _failure(f"this test cell cannot be graded outside the student's kernel ({checks})")
            ]
            return
        kernel_passed = not _failed_in_kernel(cell)
        verdict = self._judge([call.request() for call in checks], answers)
        outputs = []
        if compare and verdict.passed != kernel_passed:
            said = "passed" if kernel_passed else "failed"
            self._flags.append(
                f"{grade_id}: the check {said} in the student's kernel, but not in the trusted verdict"
            )
            outputs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text=f"[flagged] In the student's own kernel this check {said}; "
                    "the trusted verdict below differs.\n",
                )
            )
        for note in verdict.notes:
            self._flags.append(f"{grade_id}: {note}")
            outputs.append(new_output("stream", name="stdout", text=f"[flagged] {note}\n"))
        if verdict.passed:
            outputs.append(
                new_output(
                    "stream",
                    name="stdout",
                    text="Trusted verdict (computed outside the student's kernel): passed.\n",
                )
            )
        else:
            outputs.append(_failure(verdict.message))
        cell.outputs = outputs

    def _judge(self, calls: list[dict], answers: dict) -> Verdict:
        notebook = self.resources.get("nbgrader", {}).get("notebook", "")
        try:
            return self._verifier.judge(calls, answers, notebook)
        except VerifierFailed as failure:
            self.log.warning("The verifier failed (%s); starting a new one.", failure)
            self._verifier = self._get_verifier()
        try:
            return self._verifier.judge(calls, answers, notebook)
        except VerifierFailed as failure:
            raise GraderFault(f"the verifier failed twice ({failure})") from None


def _failure(message: str):
    return new_output(
        "error", ename="AssertionError", evalue=message, traceback=[f"AssertionError: {message}"]
    )


def _running(process) -> bool:
    try:
        return process.status() != "zombie"
    except Exception:  # noqa: BLE001  (it ended meanwhile)
        return False


def _command_line(process) -> str:
    try:
        return " ".join(process.cmdline())[:80] or process.name()
    except Exception:  # noqa: BLE001  (it ended meanwhile)
        return "?"


class FlagSuspicious(NbGraderPreprocessor):
    """Mark a notebook ``flagged`` in the gradebook when :class:`TrustedExecute` found signs of tampering.

    nbgrader's formgrader shows the flag; ``make grade`` prints it. A notebook with no
    findings keeps whatever flag an instructor set by hand.
    """

    def preprocess(self, nb, resources):
        flags = resources.get(FLAGS_KEY, {}).get("flags", [])
        if flags:
            info = resources["nbgrader"]
            with Gradebook(info["db_url"]) as gradebook:
                notebook = gradebook.find_submission_notebook(
                    info["notebook"], info["assignment"], info["student"]
                )
                notebook.flagged = True
                gradebook.db.commit()
        return nb, resources
