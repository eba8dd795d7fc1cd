"""nbgrader configuration: the repository root is the course directory.

Instructors run nbgrader through the Makefile (make release, autograde, feedback,
export); see "For instructors: exercises and grading" in the README.
"""

import os

c = get_config()

# The course and its one assignment have one name: the Assignments tab shows them side by side.
c.CourseDirectory.course_id = "gated_rnn"
c.CourseDirectory.source_directory = "solutions"  # instructor version, with solutions and tests
c.CourseDirectory.release_directory = "exercises"  # student version, generated, committed
# submitted/, autograded/, feedback/ and gradebook.db keep nbgrader's default places
# (all in .gitignore: student work never goes into git).

# The exchange, where `make release` publishes and students submit: exchange/ here (ignored by
# git), or COURSE_EXCHANGE, for example a JupyterHub's shared exchange (README, "The assignment loop").
c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or os.path.join(os.path.dirname(__file__), "exchange")

# What a student hands in is read without following links (autograder/engine/intake.py): collect copies
# only regular files of the student's own, refuses invalid student ids, and flags links and special
# files (README, "What grading protects against").
c.ExchangeFactory.collect = "autograder.engine.intake.SafeCollect"

# A cell may run this long before nbgrader interrupts it and scores its tests 0. The
# longest cell, training the stacked LSTM for 40 epochs, takes about 10 s on a 2-core
# laptop; 120 s leaves room for a slow machine while an endless loop costs two minutes.
c.Execute.timeout = 120
# After a cell ends, nbgrader waits this long for the rest of its output and, past it, fails
# the student's whole assignment ("Timeout waiting for IOPub output"). nbgrader's 4 s were
# too short for a flood: 200 MiB printed, on a busy 2-core machine, took longer to arrive
# and left that student ungraded; with 30 s it is graded, its output cut to the byte limits.
c.Execute.iopub_timeout = 30

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback for students: each hidden test's code and output are replaced by whether the
# checks passed and the plain message of a failure (autograder/engine/feedback.py). The
# autograded notebooks keep everything for the instructor. The pages are rendered by an
# exporter that cleans every output and Markdown cell first (autograder/engine/outputs.py): a
# student's HTML never runs in the instructor's or the student's browser.
c.GenerateFeedback.exporter_class = "autograder.engine.outputs.SafeHTMLExporter"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.engine.feedback.RedactHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Grading that a submission cannot forge (README, "What grading protects against"): the
# student's kernel runs sandboxed, and every autograded point is decided by a verifier
# process outside it. TrustedExecute replaces nbgrader's Execute (its settings, such as
# Execute.timeout, still apply); FlagSuspicious marks notebooks with signs of tampering.
# What the student's code displayed is cleaned of anything a browser could run and cut to
# the output byte limits (after nbgrader's LimitOutput, which counts lines) before
# SaveAutoGrades and the notebook's writing (autograder/engine/outputs.py); neither touches the
# test cells' verdicts or any error output, so no score changes.
c.Autograde.autograde_preprocessors = [
    "autograder.engine.trusted.TrustedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.engine.outputs.SanitizeOutputs",
    "autograder.engine.outputs.LimitOutputBytes",
    "nbgrader.preprocessors.SaveAutoGrades",
    "autograder.engine.trusted.FlagSuspicious",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
