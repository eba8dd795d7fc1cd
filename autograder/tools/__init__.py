"""Course tooling: the JupyterLab views of a student and of the instructor (``lab``), and
Formgrader behind a Content-Security-Policy (``safe_formgrader``). They use the engine; the
engine never imports them, and grading never runs them (so they are not in the grading
machine's fingerprint, :mod:`autograder.engine.fingerprint`).
"""
