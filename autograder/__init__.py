"""The course's autograder. This package's own modules are the course's exercises package:
``checks`` (what the exercises' test cells call, each marked ``@check``), ``steps`` (each
exercise step's answer and the sentence for a step not done), ``reference`` and
``calibrate`` (the reference solutions and the RMSE bounds, ``calibration.json``). The
notebooks import ``autograder.checks`` and ``autograder.steps`` by these names.

Its subpackages: :mod:`autograder.engine` (the grading engine, which knows nothing of this
course), :mod:`autograder.tools` (the JupyterLab views) and :mod:`autograder.testkit` (test
and benchmark support). CONTRIBUTING.md, "Architecture", says what may import what.
"""
