"""The synthetic class for the tests: the scores each kind of submission must get, the
errors a graded cell showed, and the sample class of :mod:`autograder.sample_class`.

The course, the submissions and plain ``nbgrader autograde`` live in the package because
the grading benchmarks build the same class; tests take them from here, beside what only
tests need:

    course = make_course(tmp_path)                     # config, solutions/, exercises/, gradebook
    make_class(course)                                 # one submission per kind of CLASS
    grading = autograde(course)                        # `nbgrader autograde gated_rnn`
    assert grading.scores["ana"] == expected_scores("solution")
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.sample_class import (
    ASSIGNMENT,
    AUTOGRADED,
    CLASS,
    NOTEBOOKS,
    SUBMISSION_KINDS,
    TEST_TIMEOUT,
    Grading,
    autograde,
    cells_by_grade_id,
    grade_in_the_kernel,
    make_class,
    make_course,
    make_submission,
    nbgrader_environment,
    read_scores,
    run_nbgrader,
    submission_notebooks,
    summary,
    tree_digest,
)

__all__ = [
    "ASSIGNMENT",
    "AUTOGRADED",
    "CLASS",
    "NOTEBOOKS",
    "SUBMISSION_KINDS",
    "TEST_TIMEOUT",
    "Grading",
    "autograde",
    "error_outputs",
    "expected_scores",
    "grade_in_the_kernel",
    "make_class",
    "make_course",
    "make_submission",
    "nbgrader_environment",
    "read_scores",
    "run_nbgrader",
    "submission_notebooks",
    "summary",
    "tree_digest",
]


def expected_scores(kind: str) -> dict[str, float]:
    """grade_id -> the autograded score a submission of ``kind`` must get."""
    lost = SUBMISSION_KINDS[kind][1]
    return {name: (0.0 if name in lost else float(points)) for name, points in AUTOGRADED.items()}


<<<<<<< HEAD
# ---------------------------------------------------------------- running nbgrader


def nbgrader_environment() -> dict[str, str]:
    """The environment nbgrader needs: the venv's bin on PATH, TensorFlow quiet."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_nbgrader(course: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` with ``course`` as working directory (and so as course directory)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args],
        cwd=course,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _check(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed with exit status {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


# ---------------------------------------------------------------- the course


def make_course(tmp_path: Path, *, register: bool = True) -> Path:
    """A course directory under ``tmp_path`` built from the repository.

    It holds copies of ``nbgrader_config.py``, ``solutions/`` and ``exercises/``. With
    ``register`` (the default) it also runs ``nbgrader generate_assignment`` with the
    gradebook, as ``make release`` does, so that ``autograde`` knows the assignment, its
    hidden tests and its checksums.
    """
    course = Path(tmp_path) / "course"
    course.mkdir(parents=True)
    shutil.copy2(REPOSITORY_ROOT / "nbgrader_config.py", course)
    for folder in ("solutions", "exercises"):
        shutil.copytree(
            REPOSITORY_ROOT / folder, course / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    if register:
        _check(run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force"), "nbgrader generate_assignment")
    return course


def grade_in_the_kernel(course: Path) -> None:
    """Switch ``course`` to nbgrader's own autograde pipeline: the student's kernel scores itself.

    For showing what the course's protections prevent (the tests of hostile submissions)
    and what they cost (the grading benchmark); never for grading students.
    """
    with (Path(course) / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(
            "\nc.Autograde.autograde_preprocessors = [  # nbgrader's defaults\n"
            "    'nbgrader.preprocessors.Execute', 'nbgrader.preprocessors.IgnorePattern',\n"
            "    'nbconvert.preprocessors.ClearMetadataPreprocessor', 'nbgrader.preprocessors.LimitOutput',\n"
            "    'nbgrader.preprocessors.SaveAutoGrades', 'nbgrader.preprocessors.AssignLatePenalties',\n"
            "    'nbgrader.preprocessors.CheckCellMetadata',\n"
            "]\n"
        )


def _without_solution_markers(source: str) -> str:
    return "\n".join(
        line for line in source.split("\n") if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


def _cells_by_id(notebook) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells if "nbgrader" in cell.metadata}


def submission_notebooks(
    kind: str, course: Path | None = None, attacks: dict[str, dict[str, str]] | None = None
) -> dict[str, nbformat.NotebookNode]:
    """The notebooks a student of ``kind`` hands in: notebook name -> notebook.

    A student works in the release (from ``exercises/``), so a submission is the release
    notebook with the student's answers in its solution cells; the "solution" student's
    answers are the instructor's solutions without the BEGIN/END SOLUTION lines.
    ``attacks`` (notebook -> {answer cell id: code}) puts code at the start of answer cells.
    """
    if kind not in SUBMISSION_KINDS:
        raise ValueError(f"unknown submission kind {kind!r}; choose one of {', '.join(SUBMISSION_KINDS)}")
    attacks = attacks or {}
    root = Path(course) if course is not None else REPOSITORY_ROOT
    edits = _EDITS.get(kind, {})
    pending = {(cell_id, old) for cell_id, changes in edits.items() for old, _ in changes}
    notebooks = {}
    for name in NOTEBOOKS:
        release = nbformat.read(root / "exercises" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
        if kind != "release":
            solution = _cells_by_id(nbformat.read(root / "solutions" / ASSIGNMENT / f"{name}.ipynb", as_version=4))
            for cell_id, cell in _cells_by_id(release).items():
                meta = cell.metadata["nbgrader"]
                if meta.get("solution"):
                    cell.source = _without_solution_markers(solution[cell_id].source)
                for old, new in edits.get(cell_id, []):
                    if old not in cell.source:
                        raise AssertionError(f"{kind}: cannot find {old!r} in cell {cell_id} of {name}")
                    cell.source = cell.source.replace(old, new)
                    pending.discard((cell_id, old))
        for cell_id, code in attacks.get(name, {}).items():
            cell = _cells_by_id(release)[cell_id]
            cell.source = f"{code}\n{cell.source}"
        notebooks[name] = release
    if pending:
        raise AssertionError(f"{kind}: edits for cells not found: {sorted(pending)}")
    return notebooks


def make_submission(course: Path, student: str, kind: str, attacks: dict | None = None) -> Path:
    """Write ``submitted/<student>/gated_rnn/`` of the given ``kind``; returns that folder."""
    folder = Path(course) / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    for name, notebook in submission_notebooks(kind, course, attacks).items():
        nbformat.write(notebook, folder / f"{name}.ipynb", version=4)
    (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n", encoding="utf-8")
    return folder


def make_class(course: Path, students: dict[str, str] | None = None) -> None:
    """Every student of ``students`` (default :data:`CLASS`) hands in their kind."""
    for student, kind in (students or CLASS).items():
        make_submission(course, student, kind)


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``, to prove nothing changed."""
    folder = Path(folder)
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@dataclass
class Grading:
    """One ``nbgrader autograde`` run and what it left behind."""

    course: Path
    result: subprocess.CompletedProcess
    seconds: float
    submitted_before: dict[str, str]
    submitted_after: dict[str, str]
    scores: dict[str, dict[str, float | None]]


def autograde(course: Path, student: str | None = None, *, timeout: int = TEST_TIMEOUT, extra: tuple[str, ...] = ()) -> Grading:
    """Run ``nbgrader autograde gated_rnn`` (for one ``student``, or everyone under
    ``submitted/``) and read the scores from the gradebook.

    ``timeout`` is the per-cell timeout, passed as ``--Execute.timeout``. The command's
    exit status is not checked here: look at ``Grading.result``.
    """
    course = Path(course)
    before = tree_digest(course / "submitted")
    args = ["autograde", ASSIGNMENT, f"--Execute.timeout={timeout}", *extra]
    if student is not None:
        args.append(f"--student={student}")
    started = time.perf_counter()
    result = run_nbgrader(course, *args)
    seconds = time.perf_counter() - started
    return Grading(course, result, seconds, before, tree_digest(course / "submitted"), read_scores(course))


def read_scores(course: Path, db_url: str | None = None) -> dict[str, dict[str, float | None]]:
    """student -> {grade_id: auto_score} of every autograded code cell, from the gradebook
    (``gradebook.db`` in the course, or the database at ``db_url``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's deprecation notices are not ours
        from nbgrader.api import Gradebook

        scores: dict[str, dict[str, float | None]] = {}
        with Gradebook(db_url or f"sqlite:///{Path(course) / 'gradebook.db'}") as gradebook:
            for student in gradebook.students:
                try:
                    submission = gradebook.find_submission(ASSIGNMENT, student.id)
                except Exception:  # noqa: BLE001  (MissingEntry: this student was not graded)
                    continue
                scores[student.id] = {
                    grade.name: grade.auto_score
                    for notebook in submission.notebooks
                    for grade in notebook.grades
                    if grade.cell.cell_type == "code"
                }
    return scores


=======
>>>>>>> issue-10-tidy
def error_outputs(course: Path, student: str) -> dict[str, list[str]]:
    """grade_id -> the error lines and stderr text of each test cell in the autograded copy."""
    found = {}
    for name in NOTEBOOKS:
        path = Path(course) / "autograded" / student / ASSIGNMENT / f"{name}.ipynb"
        if not path.exists():
            continue
        for cell_id, cell in cells_by_grade_id(nbformat.read(path, as_version=4)).items():
            lines = []
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    lines.append(f"{output.ename}: {output.evalue}")
                elif output.output_type == "stream" and output.name == "stderr":
                    lines.append(f"stderr: {output.text}")
            if lines:
                found[cell_id] = lines
    return found
