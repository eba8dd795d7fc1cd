"""What a student hands in: read without following links, checked before anything grades it.

Every step that reads a submission goes through :func:`read_submission`: ``nbgrader
collect`` (:class:`SafeCollect`, wired in ``nbgrader_config.py``), ``make autograde`` and
``make feedback`` (:mod:`autograder.engine.checked`) and the job bundles of ``make grade``
(:mod:`autograder.engine.orchestrate`). It opens each entry relative to its folder with
``O_NOFOLLOW`` and decides on what ``fstat`` says of the opened file, never on an earlier
look at the path, so a name swapped for a link in between is still refused. A file is read
only if it is a regular file with one name (no hard link elsewhere) owned by the owner of
the submission folder; a symbolic link, a hard link, a named pipe, a socket, a device or
another user's file is refused, as is a name a page or a file pattern would misread.

A refusal names the file and why. The suspicious ones (links, special files, other users'
files, markup in a name) flag the student for the instructor: :func:`flag_submission` sets
nbgrader's ``flagged`` on the submission's notebooks in the gradebook, which Formgrader
shows. What collect refused never reaches ``submitted/``, so collect keeps its refusals in
``.intake/ASSIGNMENT/STUDENT.json`` (:func:`write_record`) for the graders to report again.

Student ids are checked too (:func:`id_problem`): nbgrader puts them into file patterns and
pages, so an id holding ``[``, ``*``, markup, a path separator or a leading dot is refused at
collect and left ungraded, with a message, wherever it turns up.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import stat
import unicodedata
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError

#: Flags of every open of a student's file or folder: never through a link, never blocking
#: on a named pipe, never taking a terminal.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC

MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 128
#: Folders nested deeper than this in a submission are refused.
MAX_DEPTH = 16
#: Besides letters and digits, what a student id may hold (JupyterHub names, e-mail addresses).
ID_PUNCTUATION = "._-@+"
GLOB_CHARACTERS = "*?[]"
MARKUP_CHARACTERS = "<>&\"'`"
PATH_SEPARATORS = "/\\"
#: Where collect keeps, per assignment and student, what it refused (relative to the course).
RECORDS = ".intake"
#: The headings of the graders' reports, above the refusals that flag and those that do not.
FLAGGED_HEADING = (
    "Refused and flagged for the instructor in the gradebook (links and special files are never read):"
)
LEFT_OUT_HEADING = (
    "Not graded, because of what was handed in (such a notebook scores 0; the student may submit again):"
)
#: What a submission brings besides its notebooks that nbgrader's feedback needs.
FEEDBACK_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass(frozen=True)
class Refusal:
    """One file or folder of a submission that was not read, and why."""

    #: Relative to the submission folder, "/"-separated; "." is the folder itself.
    path: str
    reason: str
    #: Links, special files, other users' files, markup in a name: the student is flagged.
    suspicious: bool

    def __str__(self) -> str:
        return self.reason if self.path == "." else f"{shown(self.path)}: {self.reason}"


@dataclass
class Intake:
    """What of one submission may be graded (path relative to the submission -> content), and what not."""

    files: dict[str, bytes] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return any(refusal.suspicious for refusal in self.refused)

    def flags(self) -> list[str]:
        """The suspicious refusals, as reasons to flag the student."""
        return [
            f"refused: {r.reason}" if r.path == "." else f"refused {shown(r.path)}: {r.reason}"
            for r in self.refused
            if r.suspicious
        ]

    def left_out(self) -> list[str]:
        """The other refusals: files not graded for what they are (a broken notebook, a hidden file)."""
        return [str(refusal) for refusal in self.refused if not refusal.suspicious]

    def notebooks(self) -> list[str]:
        """The notebooks nbgrader grades: ``*.ipynb`` directly in the submission folder."""
        return sorted(path for path in self.files if "/" not in path and path.endswith(".ipynb"))


@dataclass(frozen=True)
class Rules:
    """nbgrader's own rules for copying a submission (``CourseDirectory.ignore``, ``include``,
    ``max_file_size``, ``max_dir_size``); an ignored name is skipped as nbgrader skips it."""

    ignore: tuple[str, ...] = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")
    include: tuple[str, ...] = ("*",)
    max_file_bytes: int = 100_000 * 1000
    max_total_bytes: int = 100_000 * 1000

    @classmethod
    def of(cls, coursedir) -> Rules:
        return cls(
            tuple(coursedir.ignore),
            tuple(coursedir.include),
            coursedir.max_file_size * 1000,
            coursedir.max_dir_size * 1000,
        )


# ---------------------------------------------------------------- names


def shown(text: str) -> str:
    """``text`` as it may appear in a log or a report: quoted and escaped unless plainly printable."""
    plain = text.isprintable() and not any(c in MARKUP_CHARACTERS for c in text)
    return text if plain else ascii(text)


def _characters(text: str, allowed) -> str | None:
    """What is wrong with the characters of ``text``, by the worst kind found; None if nothing."""
    kinds = (
        (MARKUP_CHARACTERS, "which a page reads as markup"),
        (GLOB_CHARACTERS, "which nbgrader's file patterns read as a pattern"),
        (PATH_SEPARATORS, "a path separator"),
    )
    for characters, why in kinds:
        found = sorted({c for c in text if c in characters})
        if found:
            return f"contains {' '.join(found)}, {why}"
    odd = sorted({c for c in text if (unicodedata.category(c)[0] in "CZ" and c != " ") or not allowed(c)})
    if odd:
        return f"contains {', '.join(ascii(c) for c in odd)}, not allowed"
    return None


def id_problem(student_id: str) -> str | None:
    """Why ``student_id`` cannot be collected or graded; None if it can.

    >>> id_problem("ana.lopez@uni.example") is None
    True
    >>> id_problem("m7_glob[1]")
    "contains [ ], which nbgrader's file patterns read as a pattern"
    """
    if not student_id:
        return "is empty"
    if len(student_id) > MAX_ID_LENGTH:
        return f"is {len(student_id)} characters long, more than {MAX_ID_LENGTH}"
    problem = _characters(student_id, lambda c: c.isalnum() or c in ID_PUNCTUATION)
    if problem is None and not student_id[0].isalnum():
        return f"starts with {student_id[0]!r}, not a letter or digit"
    return problem


#: What to do about a refused id, for the messages of collect and the graders.
ID_RULE = (
    f"A student id may hold letters, digits and {' '.join(ID_PUNCTUATION)}, start with a letter or "
    f"digit, and be at most {MAX_ID_LENGTH} characters long"
)


def name_problem(name: str) -> str | None:
    """Why a file or folder named ``name`` in a submission is not read; None if it is.

    >>> name_problem("2_gru8 (copy).ipynb") is None
    True
    >>> name_problem(".pgpass")
    'its name starts with a dot (a hidden file)'
    """
    if name.startswith("."):
        return "its name starts with a dot (a hidden file)"
    if len(name) > MAX_NAME_LENGTH:
        return f"its name is {len(name)} characters long, more than {MAX_NAME_LENGTH}"
    problem = _characters(name, lambda c: True)
    return f"its name {problem}" if problem else None


def _suspicious_name(name: str) -> bool:
    """Markup or control characters in a file name: no honest reason to hand that in."""
    return any(c in MARKUP_CHARACTERS or unicodedata.category(c)[0] == "C" for c in name)


# ---------------------------------------------------------------- reading without following links


class _Budget:
    def __init__(self, rules: Rules):
        self.rules, self.used = rules, 0


def read_submission(base: str | Path, *names: str, rules: Rules = Rules()) -> Intake:
    """Read the submission folder ``base/names[0]/names[1]/...``.

    ``base`` is the instructor's own folder (the exchange's inbound folder, or the course's
    ``submitted/``) and is opened as it is; every name below it, the submission folder's
    own included, must be a real folder, not a link. The files it holds are read as the
    module docstring says; its owner is the owner every file must have.
    """
    intake = Intake()
    try:
        folder = _open_folders(base, names)
    except _Refused as refused:
        intake.refused.append(Refusal(".", refused.reason, refused.suspicious))
        return intake
    try:
        _read_folder(folder, "", os.fstat(folder).st_uid, _Budget(rules), intake, depth=0)
    finally:
        os.close(folder)
    return intake


class _Refused(Exception):
    def __init__(self, reason: str, suspicious: bool):
        super().__init__(reason)
        self.reason, self.suspicious = reason, suspicious


def _open_folders(base, names) -> int:
    folder = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for depth, name in enumerate(names):
            what = "the submission folder is" if depth == len(names) - 1 else f"the folder {shown(name)} is"
            try:
                inner = os.open(name, OPEN_FLAGS, dir_fd=folder)
            except OSError as error:
                raise _Refused(f"{what} {_why_not_opened(folder, name, error)}", True) from None
            kind = os.fstat(inner).st_mode
            if not stat.S_ISDIR(kind):
                os.close(inner)
                raise _Refused(f"{what} {_kind(kind)}, not a folder", True)
            os.close(folder)
            folder = inner
    except BaseException:
        os.close(folder)
        raise
    return folder


def _read_folder(folder: int, prefix: str, owner: int, budget: _Budget, intake: Intake, depth: int) -> None:
    rules = budget.rules
    for name in sorted(os.listdir(folder)):
        path = prefix + name
        if any(fnmatch.fnmatch(name, pattern) for pattern in rules.ignore):
            continue
        try:
            opened = os.open(name, OPEN_FLAGS, dir_fd=folder)
        except OSError as error:
            reason = _why_not_opened(folder, name, error)
            intake.refused.append(Refusal(path, reason, error.errno not in (errno.EACCES, errno.ENOENT)))
            continue
        try:
            found = os.fstat(opened)
            refusal = _refusal(path, found, owner, depth) or _name_refusal(path, name)
            if refusal is not None:
                intake.refused.append(refusal)
            elif stat.S_ISDIR(found.st_mode):
                _read_folder(opened, f"{path}/", owner, budget, intake, depth + 1)
            elif any(fnmatch.fnmatch(name, pattern) for pattern in rules.include):
                _read_file(opened, path, budget, intake)
        finally:
            os.close(opened)


def _name_refusal(path: str, name: str) -> Refusal | None:
    problem = name_problem(name)
    return None if problem is None else Refusal(path, f"{problem}; not read", _suspicious_name(name))


def _refusal(path: str, found: os.stat_result, owner: int, depth: int) -> Refusal | None:
    if found.st_uid != owner:
        return Refusal(
            path, f"owned by another user (uid {found.st_uid}; the submission's owner is uid {owner})", True
        )
    if stat.S_ISDIR(found.st_mode):
        if depth + 1 >= MAX_DEPTH:
            return Refusal(path, f"nested more than {MAX_DEPTH} folders deep; not read", False)
        return None
    if not stat.S_ISREG(found.st_mode):
        return Refusal(path, f"{_kind(found.st_mode)}, not a regular file; never read", True)
    if found.st_nlink > 1:
        return Refusal(
            path,
            f"a hard link (one file with {found.st_nlink} names, which may lie outside the submission); never read",
            True,
        )
    return None


def _read_file(opened: int, path: str, budget: _Budget, intake: Intake) -> None:
    rules = budget.rules
    # Read one byte past each limit: the file may grow after fstat.
    limit = min(rules.max_file_bytes, rules.max_total_bytes - budget.used) + 1
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(opened, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > rules.max_file_bytes:
        intake.refused.append(
            Refusal(path, f"larger than {rules.max_file_bytes} bytes (CourseDirectory.max_file_size)", False)
        )
    elif size >= limit:
        intake.refused.append(
            Refusal(
                path, f"beyond {rules.max_total_bytes} bytes in all (CourseDirectory.max_dir_size)", False
            )
        )
    else:
        intake.files[path] = b"".join(chunks)
        budget.used += size


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a regular file"),
    )
    return next((what for test, what in kinds if test(mode)), "an unknown kind of file")


def _why_not_opened(folder: int, name: str, error: OSError) -> str:
    """What an entry that could not be opened is; only for the message: the refusal is already decided."""
    try:
        found = os.lstat(name, dir_fd=folder)
    except OSError:
        return f"unreadable by the grader ({error.strerror}); not read"
    if stat.S_ISLNK(found.st_mode):
        try:
            target = os.readlink(name, dir_fd=folder)
        except OSError:
            target = "?"
        return f"a symbolic link (to {shown(target[:200])}); links are never followed"
    if error.errno in (errno.ENXIO, errno.EOPNOTSUPP) or not stat.S_ISREG(found.st_mode):
        return f"{_kind(found.st_mode)}, not a regular file; never read"
    return f"unreadable by the grader ({error.strerror}); not read"


def class_folders(step: Path, assignment: str) -> tuple[list[str], dict[str, str]]:
    """In one of nbgrader's folders of student work (``submitted/``, ``autograded/``): the
    students holding a folder for ``assignment``, sorted, and the folders there whose names
    cannot be a student id, folder name -> why and what to do."""
    step = Path(step)
    if not step.is_dir():
        return [], {}
    students, unusable = [], {}
    for name in sorted(os.listdir(step)):
        if not os.path.lexists(step / name / assignment):
            continue
        problem = id_problem(name)
        if problem is None:
            students.append(name)
        else:
            unusable[name] = (
                f"the folder name {shown(name)} {problem}, so nbgrader cannot grade it as a student id. "
                f"{ID_RULE}: rename {step.name}/{shown(name)} to the student's valid id and grade again"
            )
    return students, unusable


def read_for_grading(course: Path, assignment: str, student: str, rules: Rules) -> Intake:
    """``submitted/STUDENT/ASSIGNMENT`` as the graders take it: what collect refused, what is
    refused now, and the notebooks nbgrader could not grade moved to the refusals."""
    intake = check_notebooks(read_submission(Path(course) / "submitted", student, assignment, rules=rules))
    intake.refused[:0] = read_record(course, assignment, student)
    return intake


# ---------------------------------------------------------------- notebooks


def notebook_problem(content: bytes) -> str | None:
    """Why ``content`` cannot be graded as a notebook by nbgrader; None if it can.

    >>> notebook_problem(b"")
    'an empty file, not a notebook'
    >>> notebook_problem(b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}')
    'nbformat 3, an older notebook format than the nbformat 4 nbgrader grades'
    """
    if not content.strip():
        return "an empty file, not a notebook"
    try:
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return "not a notebook: not UTF-8 text"
    except ValueError as error:
        return f"not a notebook: invalid JSON ({error})"
    version = data.get("nbformat") if isinstance(data, dict) else None
    if not isinstance(version, int) or not isinstance(data.get("cells", []), list):
        return "not a notebook: JSON without a notebook's format version and cells"
    if version != 4:
        age = "an older" if version < 4 else "a newer"
        return f"nbformat {version}, {age} notebook format than the nbformat 4 nbgrader grades"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat repairs what it can, as it will when nbgrader reads it
            notebook = nbformat.from_dict(data)
            MetadataValidator().validate_nb(notebook)
    except (SchemaTooOldError, SchemaTooNewError, ValidationError) as error:
        message = getattr(error, "message", None) or str(error)
        return f"its nbgrader cell metadata is broken ({message.splitlines()[0][:200]}), so nbgrader cannot grade it"
    except (AttributeError, KeyError, TypeError) as error:
        return f"not a notebook: its cells are malformed ({error})"
    return None


def check_notebooks(intake: Intake) -> Intake:
    """``intake`` with every notebook nbgrader could not grade moved from its files to its refusals."""
    for path in intake.notebooks():
        problem = notebook_problem(intake.files[path])
        if problem is not None:
            del intake.files[path]
            intake.refused.append(Refusal(path, f"{problem}; it scores 0", False))
    return intake


# ---------------------------------------------------------------- what collect refused, and flags


def record_path(course: Path, assignment: str, student: str) -> Path:
    return Path(course) / RECORDS / assignment / f"{student}.json"


def write_record(course: Path, assignment: str, student: str, refused: list[Refusal]) -> None:
    """Keep what collect refused of ``student``'s latest collected submission (nothing: no record)."""
    path = record_path(course, assignment, student)
    if not refused:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"refused": [asdict(r) for r in refused]}, indent=1), encoding="utf-8")


def read_record(course: Path, assignment: str, student: str) -> list[Refusal]:
    """What collect refused of ``student``'s submission, each prefixed "at collect"."""
    path = record_path(course, assignment, student)
    if not path.is_file():
        return []
    found = json.loads(path.read_text(encoding="utf-8"))["refused"]
    return [Refusal(r["path"], f"{r['reason']} (at collect)", r["suspicious"]) for r in found]


def flag_submission(gradebook: Gradebook, assignment: str, student: str) -> None:
    """Mark every notebook of ``student``'s submission ``flagged`` in nbgrader's gradebook
    (creating the submission if grading has not yet), as Formgrader shows flags."""
    for notebook in _submission(gradebook, assignment, student).notebooks:
        notebook.flagged = True
    gradebook.db.commit()


def score_nothing_submitted(gradebook: Gradebook, assignment: str, student: str) -> None:
    """What nbgrader's autograde records for a notebook that was not submitted, for every
    notebook of the assignment: each grade 0, nothing left to grade by hand."""
    for notebook in _submission(gradebook, assignment, student).notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
    gradebook.db.commit()


def _submission(gradebook: Gradebook, assignment: str, student: str):
    gradebook.update_or_create_student(student)
    try:
        return gradebook.find_submission(assignment, student)
    except MissingEntry:
        with warnings.catch_warnings():
            # nbgrader's add_submission builds rows before adding them to the session, which
            # SQLAlchemy 2 reports during autoflush; nbgrader's own autograde does the same.
            warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session")
            return gradebook.add_submission(assignment, student)


# ---------------------------------------------------------------- nbgrader collect


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, copying only what :func:`read_submission` reads.

    Student ids are checked first (:func:`id_problem`): a submission whose id fails is not
    collected, and the log says which and what to do. Refused files are logged per student
    and kept in the course's ``.intake/`` record, and a suspicious one flags the student in
    the gradebook. Everything else is as nbgrader collects: the latest submission per
    student, ``--update``, ``--before-duedate``, the owner warning.
    """

    def init_src(self):
        student = self.coursedir.student_id
        if student not in ("", "*") and id_problem(student):
            self.fail(f"The student id {shown(student)} {id_problem(student)}. {ID_RULE}.")
        super().init_src()
        kept = []
        for record in self.src_records:
            problem = id_problem(record["username"])
            if problem is None:
                kept.append(record)
                continue
            self.log.error(
                "Not collected: %s, whose student id %s %s. %s: give the student a valid user name "
                "and have them submit again, or copy the folder by hand to submitted/VALID_ID/%s/.",
                shown(record["filename"]),
                shown(record["username"]),
                problem,
                ID_RULE,
                self.coursedir.assignment_id,
            )
        self.src_records = kept
        self._students = {os.path.join(self.inbound_path, r["filename"]): r["username"] for r in kept}

    def do_copy(self, src, dest, log=None):
        student, assignment = self._students[src], self.coursedir.assignment_id
        intake = read_submission(self.inbound_path, os.path.basename(src), rules=Rules.of(self.coursedir))
        os.makedirs(dest, exist_ok=True)
        for relative, content in intake.files.items():
            target = Path(dest, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if self.coursedir.groupshared:
            _share_with_group(dest, self.log)
        write_record(Path(self.coursedir.root), assignment, student, intake.refused)
        for refusal in intake.refused:
            self.log.warning("Refused from %s's submission: %s", student, refusal)
        if intake.flagged:
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
                flag_submission(gradebook, assignment, student)
            self.log.warning(
                "%s is flagged for the instructor in the gradebook (Formgrader shows it): "
                "the submission held links or special files.",
                student,
            )


def _share_with_group(folder: str, log) -> None:
    """What nbgrader's copy does for ``CourseDirectory.groupshared``: folders ug+rwx, files ug+rw."""
    for dirname, _, filenames in os.walk(folder):
        for path, bits in [(dirname, 0o2770), *((os.path.join(dirname, f), 0o660) for f in filenames)]:
            mode = os.stat(path).st_mode
            if mode & bits != bits:
                try:
                    os.chmod(path, (mode | bits) & 0o2777)
                except PermissionError:
                    log.warning("Could not update permissions of %s to make it groupshared", path)
