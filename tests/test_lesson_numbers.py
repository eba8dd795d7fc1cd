"""Every number a lesson's text states comes out of the lesson.

"Honesty is the product": a figure in a lesson's prose must be one that a cell of that
lesson printed (its stored outputs, which nbval keeps equal to a fresh run), or one in a
results file that the lesson loads and names (``results/*.json``, written by a script in the
repository). This test reads the markdown of each lesson, extracts every number, and fails
on each one found in neither place, naming the sentence it stands in.

A prose number matches an output when they agree to the prose's own precision: "0.005"
matches a printed 0.0052, "about 200 times" a printed 194 (a trailing zero is taken as
rounding), but "0.0053" matches neither. Signs are ignored (prose writes "−" or "-" in
LaTeX). What is not checked: numbers inside identifiers (``float32``, ``h_{t-1}``, ``\\tfrac1``),
link targets, the numbering of headings, list items, lessons, sections and exercise steps, the
years of citations, and the short allow-list below.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from rnn_forecast.notebooks import LESSONS_DIR, lesson_notebooks
from rnn_forecast.paths import REPOSITORY_ROOT

#: Values a lesson may state without printing them: constants of the theory it teaches and
#: counts fixed by the equations, not measurements. Keep it short; each says why.
ALLOWED = {
    0: "h_0 = 0, z = 0, bias 0: the zero of equations and initial values",
    1: "sigma in (0, 1), 1 - z, a factor of exactly 1: the unit of the theory",
    2: "two gates, two markers, 2 x 1/12: counts fixed by the cells' and the task's definitions",
    3: "three gates, three blocks, bias 3 (the lessons' 'open gate', printed as sigma(3))",
    4: "the LSTM's four blocks, 4 n (d + n + 1)",
    6: "1/6, the variance of the sum of two uniform values",
    12: "1/12, the variance of a uniform value on [0, 1]; the 12-month window",
}

#: Words that, just before a number, make it a reference to a part of the course, not a figure.
REFERENCE = re.compile(
    r"\b(?:Lessons?|lessons?|[Ss]ections?|Steps?|[Qq]uestions?|[Ee]xercises?|[Cc]hapter|ch\.|Item)"
    r"\s+\d+(?:\s*(?:,|and|or|to|-|–)\s*\d+)*"
)
#: "Cho et al. (2014)", "Greff et al., 2017", "Yahav (2018)", "Econometrica 1960".
CITATION_YEAR = re.compile(r"(?:et al\.|[A-Z][a-z]+)[,]?\s*\(?((?:19|20)\d\d)\b")
#: A number in prose: 12, 2,500, 0.73, 1e-5, 7.2e-06; not inside an identifier or a version.
PROSE_NUMBER = re.compile(
    r"(?<![\w.\\^_-])(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[eE]([-+−]?\d+))?(?![\w])"
)
#: A number anywhere in an output or a results file.
ANY_NUMBER = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[eE]([-+−]?\d+))?")
RESULTS_FILE = re.compile(r"results/[\w./-]+\.json")

#: Arithmetic worked out in the check-yourself answers (no cell prints it, so as not to give
#: the answer away): the value each stated number must round from, computed here.
WORKED_ANSWERS = {
    "01_why_rnns_forget.ipynb": {
        "0.0012": 0.8**30,  # Q1: the factor 0.8 over 30 steps
        "800": 1 / 0.8**30,  # ... "about 800 times weaker"
        "2,000": 1_000 / 0.5,  # Q5: a gradient of norm 1,000 against one of 0.5
    },
    "02_gated_cells.ipynb": {
        "1,280": 4 * 16 * (3 + 16 + 1),  # Q3: LSTM(16) on 3 features
        "1,008": 3 * 16 * (3 + 16 + 2),  # Q3: GRU(16), reset_after=True
    },
}


@dataclass(frozen=True)
class Quoted:
    """A number as the prose writes it, with the rounding its digits imply."""

    text: str
    value: float
    half_unit: float
    cell: int
    sentence: str

    def matches(self, value: float) -> bool:
        return abs(abs(value) - abs(self.value)) <= self.half_unit * (1 + 1e-9) + 1e-300


def _parse(match: re.Match) -> tuple[float, float]:
    """(value, half a unit of its last digit) of a number matched by PROSE_NUMBER/ANY_NUMBER."""
    whole, fraction, exponent = match.group(1).replace(",", ""), match.group(2) or "", match.group(3)
    scale = 10.0 ** int(exponent.replace("−", "-")) if exponent else 1.0
    value = float(whole + fraction) * scale
    if fraction:
        unit = 10.0 ** -(len(fraction) - 1)
    elif exponent:
        unit = 1.0
    else:
        unit = 10.0 ** (len(whole) - len(whole.rstrip("0"))) if whole.strip("0") else 1.0
    return value, unit / 2 * scale


def prose(markdown: str) -> str:
    """The text whose numbers are claims: markup, links and references taken out."""
    text = markdown.replace("{,}", ",")  # LaTeX's thousands separator, 1{,}280
    text = re.sub(r"<[^>]+>", " ", text)  # <details><summary>
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"`[^`\n]*\.ipynb`|`tests/[^`]*`|`rnn_forecast/[^`]*`", " ", text)  # file names
    text = re.sub(r"^\s*#+\s*\d+\.", " ", text, flags=re.MULTILINE)  # "## 5. Heading"
    text = re.sub(r"^\s*\d+\.\s", " ", text, flags=re.MULTILINE)  # numbered list items
    text = REFERENCE.sub(" ", text)
    return CITATION_YEAR.sub(lambda match: match.group(0).replace(match.group(1), " "), text)


def _sentence_start(text: str, position: int) -> int:
    ends = [end.end() for end in re.finditer(r"[.!?](?=\s)|\n\n", text[:position])]
    return ends[-1] if ends else 0


def _sentence_end(text: str, position: int) -> int:
    end = re.search(r"[.!?](?=\s|$)|\n\n", text[position:])
    return position + end.end() if end else len(text)


def quoted_numbers(notebook: nbformat.NotebookNode) -> list[Quoted]:
    """Every number the markdown cells of ``notebook`` state, with where it stands."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        text = prose(cell.source)
        for match in PROSE_NUMBER.finditer(text):
            value, half_unit = _parse(match)
            sentence = " ".join(
                text[_sentence_start(text, match.start()) : _sentence_end(text, match.end())].split()
            )
            sentence = sentence[:160]
            found.append(Quoted(match.group(0), value, half_unit, index, sentence))
    return found


def _numbers_in(text: str) -> list[float]:
    return [_parse(match)[0] for match in ANY_NUMBER.finditer(text)]


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the code cells printed or displayed as text (figures are pixels: not read)."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
                parts.append(output.get("data", {}).get(kind, ""))
    return "\n".join(part if isinstance(part, str) else "".join(part) for part in parts)


def results_files(notebook: nbformat.NotebookNode) -> list[Path]:
    """The results files a lesson names in its code or its outputs."""
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    names = sorted(set(RESULTS_FILE.findall(code + "\n" + output_text(notebook))))
    return [REPOSITORY_ROOT / name for name in names]


def _is_curve(node) -> bool:
    """A learning curve: a list of more than three numbers, not all whole (lengths and seeds are)."""
    return (
        isinstance(node, list)
        and len(node) > 3
        and all(
            item is None or (isinstance(item, (int, float)) and not isinstance(item, bool)) for item in node
        )
        and any(isinstance(item, float) and not item.is_integer() for item in node)
    )


def _json_numbers(node) -> list[float]:
    """The numbers of a results file, except its learning curves.

    A file holds thousands of per-epoch errors; almost any two-decimal number would round from one
    of them, so a curve's values count only where a cell of the lesson prints them.
    """
    if isinstance(node, bool) or node is None or _is_curve(node):
        return []
    if isinstance(node, (int, float)):
        return [float(node)] if math.isfinite(node) else []
    if isinstance(node, str):
        return _numbers_in(node)
    items = node.items() if isinstance(node, dict) else enumerate(node)
    return [number for key, value in items for number in _numbers_in(str(key)) + _json_numbers(value)]


def unsupported(notebook: nbformat.NotebookNode, worked: dict[str, float] | None = None) -> list[Quoted]:
    """The numbers of the prose found in no output, no results file and not in ALLOWED.

    ``worked`` maps numbers of the check-yourself answers to the value they state.
    """
    worked = worked or {}
    sources = _numbers_in(output_text(notebook))
    for path in results_files(notebook):
        sources += _json_numbers(json.loads(path.read_text(encoding="utf-8")))
    return [
        number
        for number in quoted_numbers(notebook)
        if number.value not in ALLOWED
        and not (number.text in worked and number.matches(worked[number.text]))
        and not any(number.matches(value) for value in sources)
    ]


def report(name: str, numbers: list[Quoted]) -> str:
    return (
        f"{name}: {len(numbers)} number(s) in the text that no output or results file shows:\n"
        + "\n".join(f"  cell {number.cell}: {number.text!r} in: {number.sentence}" for number in numbers)
    )


@pytest.mark.parametrize("path", lesson_notebooks(LESSONS_DIR), ids=lambda path: path.name)
def test_every_number_in_a_lessons_text_comes_from_its_outputs_or_results(path):
    notebook = nbformat.read(path, as_version=4)
    missing = unsupported(notebook, WORKED_ANSWERS.get(path.name))
    assert not missing, report(path.name, missing)


def test_a_sentence_with_a_wrong_number_fails_and_the_right_number_passes():
    notebook = nbformat.read(LESSONS_DIR / "01_why_rnns_forget.ipynb", as_version=4)
    worked = WORKED_ANSWERS["01_why_rnns_forget.ipynb"]
    assert not unsupported(notebook, worked)
    assert "7.67" in output_text(notebook)  # the loss after one unclipped step, section 8
    for sentence, wrong in [
        ("Without clipping the loss fell to 7.61 in one step.", ["7.61"]),
        ("Without clipping the loss fell to 7.67 in one step.", []),
        ("It took 1,234 steps and a rate of 6.1e-04.", ["1,234", "6.1e-04"]),
        ("The gradient 99 steps back is 7.2e-06 of the last step's.", []),
    ]:
        changed = nbformat.from_dict(json.loads(json.dumps(notebook)))
        changed.cells.append(nbformat.v4.new_markdown_cell(sentence))
        assert [number.text for number in unsupported(changed, worked)] == wrong, sentence


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("$0.9^{50} \\approx 0.005$, from 2,500 sequences", ["0.9", "50", "0.005", "2,500"]),
        ("Lesson 2, section 4 and Step 1 (Cho et al., 2014; Greff et al. (2017))", []),
        ("## 5. Measuring\n1. A question about `float32` and $h_{t-1}$, lag-1", []),
        ("the [Lesson 3](03_sp500_comparison.ipynb) link, then 7.2e-06 and 1e-5", ["7.2e-06", "1e-5"]),
    ],
)
def test_what_counts_as_a_quoted_number(markdown, expected):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    assert [number.text for number in quoted_numbers(notebook)] == expected


def test_a_number_matches_to_the_precision_the_prose_gives_it():
    def quoted(text):
        (number,) = quoted_numbers(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)]))
        return number

    assert quoted("0.005").matches(0.0052)
    assert not quoted("0.0053").matches(0.0052)
    assert quoted("200").matches(194)  # "almost 200 times": the zeros are rounding
    assert not quoted("117").matches(118)
    assert quoted("38,000").matches(37649)
    assert quoted("1e-5").matches(1.2e-5)
    assert not quoted("1e-5").matches(2e-5)
