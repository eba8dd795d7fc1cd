"""Copied work found: every pair of submissions' answer cells compared, for the instructor's judgement.

    similar_pairs(data, threshold) -> (pairs above the threshold, number of pairs compared)

Each submission's code answer cells (nbgrader ``solution`` cells; the notebooks' other
cells are the course's own) are joined in notebook order and fingerprinted with
``copydetect``, which implements the winnowing algorithm MOSS uses on code whose names and
literals are normalised away (so renamed variables still match, and reordered lines keep
their own fingerprints). Two kinds of code are ignored as boilerplate, as MOSS does:

- the released starter code of those cells (from the gradebook's source cells);
- code that more than :func:`common_limit` submissions share: on a short exercise most
  correct answers are the same line (``model = build_model(keras.layers.GRU(8))``), which
  proves nothing; what two submissions share with no one else does.

A pair is listed when each submission shares at least ``threshold`` of its remaining
fingerprints with the other. Nothing here changes a grade. Part of the grading engine;
:mod:`autograder.engine.class_report` shows the pairs with the matching code highlighted.
"""

from __future__ import annotations

import html
import itertools
from collections import Counter
from dataclasses import dataclass

from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from autograder.engine.class_data import ClassData, Submission

#: copydetect's noise threshold k (characters of normalised code) and winnowing window; the
#: answers are a few lines each, so k is smaller than copydetect's default of 25.
NOISE_THRESHOLD = 12
WINDOW = 1


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


def answer_code(submission: Submission, notebooks: list[str]) -> str:
    """A submission's code answers, notebook by notebook, in cell order."""
    return "\n".join(
        source for notebook in notebooks for source in submission.answers.get(notebook, {}).values()
    )


def common_limit(size: int) -> int:
    """Code shared by more than this many submissions of a class of ``size`` is common, not copied."""
    return max(2, size // 10)


def _fingerprint(code: str) -> CodeFingerprint:
    return CodeFingerprint(_Named.name, NOISE_THRESHOLD, WINDOW, fp=_Named(code), language="python")


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


def similar_pairs(data: ClassData, threshold: float) -> tuple[list[SimilarPair], int]:
    """The pairs of ``data``'s submissions at least ``threshold`` similar, most similar first."""
    notebooks = data.notebooks
    codes = {s.student: answer_code(s, notebooks) for s in data.submissions if s.answers}
    codes = {student: code for student, code in codes.items() if code.strip()}
    starter = "\n".join(
        source for notebook in notebooks for source in data.starter.get(notebook, {}).values()
    )
    ignored = set(_fingerprint(starter).hashes) if starter.strip() else set()
    plain = {student: _fingerprint(code) for student, code in codes.items()}
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
                    _highlight(a.raw_code, slices_a),
                    _highlight(b.raw_code, slices_b),
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
