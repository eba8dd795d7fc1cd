"""Copied work found: every pair of submissions' answer cells compared, for the instructor's judgement.

    similar_pairs(data, threshold) -> (pairs above the threshold, number of pairs compared)
    similar_pairs(data, threshold, kind="written") -> the same for the written answers

Each submission's code answer cells (nbgrader ``solution`` cells; the notebooks' other
cells are the course's own) are joined in notebook order and fingerprinted with
``copydetect``, which implements the winnowing algorithm MOSS uses on code whose names and
literals are normalised away (so renamed variables still match, and reordered lines keep
their own fingerprints). Two kinds of code are ignored as boilerplate, as MOSS does:

- the released starter code of those cells (from the gradebook's source cells);
- code that more than :func:`common_limit` submissions share: on a short exercise most
  correct answers are the same line (``model = build_model(keras.layers.GRU(8))``), which
  proves nothing; what two submissions share with no one else does.

The written answers (markdown ``solution`` cells, graded by hand) are compared the same
way, with the same two kinds of boilerplate (their starter text, "YOUR ANSWER HERE", and
phrases more than a tenth of the class shares), but as text: copydetect's tokeniser keeps
nothing of prose (pygments' TextLexer yields one whitespace-like token, which it drops), so
the text is lower-cased, every run of whitespace made one space, and fingerprinted
unfiltered; the matching parts are then marked in the text as the student wrote it. A few
words changed or sentences reordered leave most of its k-grams in place; two answers to the
same question in their own words share only short phrases.

A pair is listed when each submission shares at least ``threshold`` of its remaining
fingerprints with the other. Nothing here changes a grade. Part of the grading engine;
:mod:`autograder.engine.class_report` shows the pairs with the matching code highlighted.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from autograder.engine.class_data import ClassData

#: copydetect's noise threshold k (characters of normalised code) and winnowing window; the
#: answers are a few lines each, so k is smaller than copydetect's default of 25.
NOISE_THRESHOLD = 12
WINDOW = 1
#: The same k for written answers, in characters of normalised text: about four words.
TEXT_NOISE_THRESHOLD = 25


@dataclass(frozen=True)
class SimilarPair:
    first: str
    second: str
    #: The smaller of the two shares of fingerprints each has in common with the other.
    similarity: float
    shared_tokens: int
    #: Each submission's answers, escaped, with the matching parts in <mark>.
    first_html: str
    second_html: str
    #: "code" (the code answer cells) or "written" (the written answers).
    kind: str = "code"


def _joined(cells: dict[str, dict[str, str]], notebooks: list[str], separator: str = "\n") -> str:
    return separator.join(source for notebook in notebooks for source in cells.get(notebook, {}).values())


def normalised(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased, each run of whitespace one space; and where each character came from.

    >>> normalised("  The  Cell\\nstate")
    ('the cell state', [2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
    """
    characters, origin = [], []
    for word in re.finditer(r"\S+", text):
        if characters:
            characters.append(" ")
            origin.append(word.start() - 1)
        for at, character in enumerate(word.group(0), start=word.start()):
            lowered = character.lower()  # may be longer ("İ"): each part points to its origin
            characters.append(lowered)
            origin += [at] * len(lowered)
    return "".join(characters), origin


def common_limit(size: int) -> int:
    """Code shared by more than this many submissions of a class of ``size`` is common, not copied."""
    return max(2, size // 10)


def _fingerprint(code: str) -> CodeFingerprint:
    return CodeFingerprint(_Named.name, NOISE_THRESHOLD, WINDOW, fp=_Named(code), language="python")


def _text_fingerprint(text: str) -> CodeFingerprint:
    """Written ``text`` fingerprinted as normalised text; ``shown`` and ``origin`` map it back."""
    plain, origin = normalised(text)
    fingerprint = CodeFingerprint("answers.txt", TEXT_NOISE_THRESHOLD, WINDOW, filter=False, fp=_Named(plain))
    fingerprint.shown, fingerprint.origin = text, origin
    return fingerprint


def _shown(fingerprint: CodeFingerprint, slices) -> str:
    """What a student wrote, escaped, with the matched parts marked (normalised text mapped back)."""
    origin = getattr(fingerprint, "origin", None)
    if origin is None:
        return _highlight(fingerprint.raw_code, slices)
    if not len(slices) or not len(slices[0]):
        return _highlight(fingerprint.shown, slices)
    starts = [origin[start] for start in slices[0].tolist()]
    ends = [origin[end - 1] + 1 for end in slices[1].tolist()]
    return _highlight(fingerprint.shown, np.array([starts, ends]))


def _without(fingerprint: CodeFingerprint, ignored: set) -> CodeFingerprint:
    """``fingerprint`` with every occurrence of the ``ignored`` hashes dropped.

    copydetect's own ``boilerplate`` argument drops only the first occurrence of a repeated
    hash, and the starter code repeats (``set_seed(0)`` opens two exercises).
    """
    fingerprint.hashes = fingerprint.hashes - ignored
    fingerprint.hash_idx = {h: i for h, i in fingerprint.hash_idx.items() if h not in ignored}
    fingerprint.token_coverage = get_token_coverage(
        fingerprint.hash_idx, fingerprint.k, len(fingerprint.filtered_code)
    )
    return fingerprint


class _Named:
    """What copydetect reads a file from: ``read()``, and a name that says the language."""

    name = "answers.py"

    def __init__(self, code: str):
        self.code = code

    def read(self) -> str:
        return self.code


def similar_pairs(data: ClassData, threshold: float, kind: str = "code") -> tuple[list[SimilarPair], int]:
    """The pairs of ``data``'s submissions at least ``threshold`` similar, most similar first.

    ``kind`` "code" compares the code answer cells, "written" the written answers.
    """
    notebooks = data.notebooks
    if kind == "code":
        cells = {s.student: s.answers for s in data.submissions}
        starter, fingerprinted = _joined(data.starter, notebooks), _fingerprint
        separator = "\n"
    elif kind == "written":
        cells = {s.student: s.written for s in data.submissions}
        starter, fingerprinted = _joined(data.written_starter, notebooks), _text_fingerprint
        # A blank line between answers, as the report shows them (normalised away when compared).
        separator = "\n\n"
    else:
        raise ValueError(f"kind must be 'code' or 'written', not {kind!r}")
    codes = {student: _joined(answers, notebooks, separator) for student, answers in cells.items() if answers}
    codes = {student: code for student, code in codes.items() if code.strip()}
    ignored = set(fingerprinted(starter).hashes) if starter.strip() else set()
    plain = {student: fingerprinted(code) for student, code in codes.items()}
    counts = Counter(h for fingerprint in plain.values() for h in fingerprint.hashes)
    ignored |= {h for h, count in counts.items() if count > common_limit(len(codes))}
    prints = {student: _without(fingerprint, ignored) for student, fingerprint in plain.items()}
    pairs, compared = [], 0
    for first, second in itertools.combinations(sorted(prints), 2):
        compared += 1
        a, b = prints[first], prints[second]
        if not len(a.hashes) or not len(b.hashes):
            continue
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(a, b)
        similarity = min(share_a, share_b)
        if similarity >= threshold:
            pairs.append(
                SimilarPair(
                    first,
                    second,
                    float(similarity),
                    int(overlap),
                    _shown(a, slices_a),
                    _shown(b, slices_b),
                    kind,
                )
            )
    return sorted(pairs, key=lambda pair: -pair.similarity), compared


def _highlight(code: str, slices) -> str:
    """``code`` escaped for HTML, with the character ranges in ``slices`` marked."""
    spans = sorted(zip(slices[0].tolist(), slices[1].tolist(), strict=True)) if len(slices) else []
    parts, at = [], 0
    for start, end in spans:
        start = max(start, at)
        if end <= start:
            continue
        parts += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    parts.append(html.escape(code[at:]))
    return "".join(parts)
