"""Feedback without hidden tests: an nbconvert preprocessor for ``nbgrader generate_feedback``.

nbgrader renders the autograded notebooks as they are, so hidden test code and its
traceback reach the student (upstream issues #917, #1363). This preprocessor rewrites
every cell that holds a hidden-test region before the HTML is written: the region's code
is replaced by one comment line and the cell's outputs by one line saying whether the
checks passed, with the plain message of a failure. ``nbgrader_config.py`` puts it in
``GenerateFeedback.preprocessors``; the autograded notebooks are left as they are.
"""

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool, Unicode

HIDDEN_PLACEHOLDER = "# Hidden checks ran here; the autograder keeps their code private."
PASSED = "Checks passed."


class RedactHiddenTests(Preprocessor):
    """Hide the code and output of hidden tests; keep pass/fail and the plain message."""

    # nbconvert registers preprocessors disabled unless they say otherwise.
    enabled = Bool(True)
    begin_delimiter = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end_delimiter = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.begin_delimiter not in cell.source:
            return cell, resources
        cell.source = self._without_hidden_region(cell.source)
        cell.outputs = [new_output("stream", name="stdout", text=self._verdict(cell.outputs) + "\n")]
        return cell, resources

    def _without_hidden_region(self, source: str) -> str:
        kept, hidden = [], False
        for line in source.splitlines():
            if self.begin_delimiter in line:
                hidden = True
                kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_PLACEHOLDER)
            elif self.end_delimiter in line:
                hidden = False
            elif not hidden:
                kept.append(line)
        return "\n".join(kept)

    @staticmethod
    def _verdict(outputs) -> str:
        for output in outputs:
            if output.get("output_type") == "error":
                message = output.get("evalue", "").strip() or output.get("ename", "error")
                return f"Checks failed: {message}"
        return PASSED
