"""``make report``: what the instructor sees of a graded class, as one HTML file that opens offline.

    python -m autograder.engine.class_report ASSIGNMENT [--output build/report.html]
        [--rmse NOTEBOOK:TEST_CELL:REPORTED_CELL:EXERCISE --calibration autograder/calibration.json]

Reads the class through :func:`autograder.engine.class_data.read_class` (the gradebook and the
autograded notebooks) and writes, with every figure embedded as a base64 PNG:

- the score distribution of the class and per notebook;
- per test: pass rate, points and discrimination (the point-biserial correlation of passing
  it with the rest of the score), calling out the tests nearly everyone fails and those that
  separate no one;
- per test, the failure sentences students got, grouped and counted;
- the test RMSE the class reached on the exercises named by ``--rmse``, against the
  calibrated bound and the honest band (the reference runs' range in ``--calibration``);
- flagged submissions with their reasons, submissions not graded cleanly, late ones;
- grading cost per submission (what ``make grade`` recorded) and the slowest;
- pairs of submissions whose answer cells look copied, code or written answers
  (:mod:`autograder.engine.similarity`).

Every string that came from a student (ids, names, sentences, code) is escaped: student
output is hostile (:mod:`autograder.engine.outputs`). The report changes no grade. The
course-specific parts (which notebooks have an RMSE, the calibration file) come in as
arguments from the Makefile, so the engine names no exercise. Part of the grading engine.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import io
import json
import math
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder.engine.class_data import (
    ClassData,
    GradedCell,
    Submission,
    found_figure,
    printed_rmse,
    read_class,
)
from autograder.engine.similarity import SimilarPair, similar_pairs

#: A test passed by fewer than this share of the class is called out as "nearly everyone fails".
NEARLY_ALL_FAIL = 0.2
#: A test whose discrimination is below this (or undefined) is called out as separating no one.
WEAK_DISCRIMINATION = 0.1
#: Colours of the course's figures (Okabe-Ito, as rnn_forecast.style).
BLUE, ORANGE, GREEN, GREY, WINE = "#0072B2", "#E69F00", "#009E73", "#555555", "#882255"


@dataclass(frozen=True)
class RmseTarget:
    """One exercise whose test RMSE the report plots against its calibration."""

    notebook: str
    #: The hidden test that recomputes the RMSE (its failure sentence ends on the figure found).
    test_cell: str
    #: The 0-point check that the RMSE the notebook printed is the model's own.
    reported_cell: str
    bound: float
    honest_min: float
    honest_max: float


@dataclass(frozen=True)
class CellStatistics:
    cell: GradedCell
    passed: int
    taken: int
    mean_points: float
    #: Point-biserial correlation of passing with the rest of the score; None when either is constant.
    discrimination: float | None
    failures: list[tuple[str, int]]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.taken if self.taken else float("nan")

    @property
    def call_out(self) -> str:
        if self.taken and self.pass_rate < NEARLY_ALL_FAIL:
            return "nearly everyone fails"
        if self.discrimination is None or self.discrimination < WEAK_DISCRIMINATION:
            return "separates no one" if self.passed in (0, self.taken) else "separates little"
        return ""


def point_biserial(passed: list[bool], rest: list[float]) -> float | None:
    """Pearson's correlation of a 0/1 variable with a score (None when either is constant).

    >>> round(point_biserial([True, True, False, False], [4.0, 3.0, 1.0, 0.0]), 3)
    0.949
    """
    if len(set(passed)) < 2 or len(set(rest)) < 2:
        return None
    x = [float(value) for value in passed]
    mean_x, mean_y = statistics.fmean(x), statistics.fmean(rest)
    covariance = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, rest, strict=True))
    spread = math.sqrt(sum((a - mean_x) ** 2 for a in x) * sum((b - mean_y) ** 2 for b in rest))
    return covariance / spread


def cell_statistics(data: ClassData) -> list[CellStatistics]:
    """Per autograded test cell: how many passed, mean points, discrimination, failure sentences."""
    rows = []
    for cell in data.tests:
        if cell.kind != "code":
            continue
        key = (cell.notebook, cell.grade_id)
        passed = [submission.passed(cell) for submission in data.submissions]
        points = [submission.points.get(key, 0.0) for submission in data.submissions]
        rest = [s.score - p for s, p in zip(data.submissions, points, strict=True)]
        sentences = Counter(s.failures[key] for s in data.submissions if key in s.failures)
        rows.append(
            CellStatistics(
                cell,
                sum(passed),
                len(passed),
                statistics.fmean(points) if points else 0.0,
                point_biserial(passed, rest),
                sentences.most_common(),
            )
        )
    return rows


def reached_rmse(submission: Submission, target: RmseTarget) -> tuple[float | None, str]:
    """The test RMSE a submission reached, and where the figure comes from.

    The grader's own figure where the hidden test failed (its sentence ends on it); else the
    one the notebook printed, if the 0-point check confirmed it is the model's own (to within
    half an index point); else None.
    """
    sentence = submission.failures.get((target.notebook, target.test_cell))
    if sentence is not None and found_figure(sentence) is not None:
        return found_figure(sentence), "grader"
    if (target.notebook, target.reported_cell) in submission.failures:
        return None, ""
    if (target.notebook, target.test_cell) not in submission.points:
        return None, ""
    value = printed_rmse(submission.printed.get(target.notebook, []))
    return (value, "printed, confirmed") if value is not None else (None, "")


# ---------------------------------------------------------------- figures


def _figure_png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"axes.spines.top": False, "axes.spines.right": False, "font.size": 10})
    return plt


def score_figure(data: ClassData) -> str:
    """The class's total scores, and each notebook's, as histograms."""
    plt = _pyplot()
    notebooks = data.notebooks
    figure, axes = plt.subplots(1, 1 + len(notebooks), figsize=(3.2 * (1 + len(notebooks)), 2.8))
    totals = [s.score for s in data.submissions]
    maximum = max((s.max_score for s in data.submissions), default=1.0) or 1.0
    _histogram(axes[0], totals, maximum, "the whole assignment", BLUE)
    for axis, notebook in zip(axes[1:], notebooks, strict=True):
        possible = sum(cell.points for cell in data.tests if cell.notebook == notebook) or 1.0
        scores = [s.notebook_scores.get(notebook, 0.0) for s in data.submissions]
        _histogram(axis, scores, possible, notebook, GREEN)
    axes[0].set_ylabel("students")
    figure.tight_layout()
    return _figure_png(figure)


def _histogram(axis, values: list[float], maximum: float, title: str, color: str) -> None:
    steps = max(1, math.ceil(maximum))
    edges = [maximum * i / steps - 0.5 * maximum / steps for i in range(steps + 2)]
    axis.hist(values, bins=edges, color=color, edgecolor="white")
    axis.set_xlabel(f"score (of {maximum:g})")
    axis.set_title(title, fontsize=10)
    axis.yaxis.get_major_locator().set_params(integer=True)


def pass_rate_figure(rows: list[CellStatistics]) -> str:
    """Each test's pass rate (bar) and discrimination (dot), one row per test."""
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 0.32 * len(rows) + 1.2), sharey=True)
    labels = [f"{row.cell.notebook} · {row.cell.grade_id}" for row in rows]
    positions = list(range(len(rows)))[::-1]
    colors = [ORANGE if row.call_out else BLUE for row in rows]
    left.barh(positions, [100 * row.pass_rate for row in rows], color=colors)
    left.set_yticks(positions, labels, fontsize=8)
    left.set_xlim(0, 100)
    left.set_xlabel("students who passed (%)")
    values = [row.discrimination for row in rows]
    right.axvline(0, color=GREY, linewidth=0.8)
    right.scatter(
        [v for v in values if v is not None],
        [p for p, v in zip(positions, values, strict=True) if v is not None],
        color=[c for c, v in zip(colors, values, strict=True) if v is not None],
    )
    for position, value in zip(positions, values, strict=True):
        if value is None:
            right.text(
                0.02, position, "undefined: everyone scores alike", va="center", fontsize=7, color=GREY
            )
    right.set_xlim(-1, 1)
    right.set_xlabel("discrimination (correlation with the rest of the score)")
    figure.tight_layout()
    return _figure_png(figure)


def rmse_figure(data: ClassData, targets: list[RmseTarget]) -> str:
    """Each exercise's RMSEs as dots, with the honest band shaded and the bound as a line."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(targets), figsize=(4.5 * len(targets), 2.8), squeeze=False)
    for axis, target in zip(axes[0], targets, strict=True):
        values = [reached_rmse(s, target)[0] for s in data.submissions]
        shown = sorted(v for v in values if v is not None)
        axis.axvspan(target.honest_min, target.honest_max, color=GREEN, alpha=0.2, label="honest band")
        axis.axvline(target.bound, color=WINE, linestyle="--", label=f"bound {target.bound:g}")
        axis.scatter(shown, [i % 5 for i in range(len(shown))], color=BLUE, s=18, label="a student")
        axis.set_yticks([])
        axis.set_xlabel("test RMSE (index points)")
        axis.set_title(target.notebook, fontsize=10)
        # A model far off (raw prices: thousands of points) would squash the band to a line.
        high = 1.3 * target.bound
        beyond = sum(v > high for v in shown)
        low = min([target.honest_min, *shown])
        axis.set_xlim(low - 0.08 * (high - low), high)
        if beyond:
            axis.annotate(
                f"{beyond} beyond {high:g} →", (0.99, 0.04), xycoords="axes fraction", ha="right", fontsize=8
            )
        axis.legend(fontsize=7, loc="upper right", frameon=False)
    figure.tight_layout()
    return _figure_png(figure)


def cost_figure(data: ClassData) -> str:
    """Grading time against peak memory, one dot per submission ``make grade`` measured."""
    plt = _pyplot()
    jobs = [s.job for s in data.submissions if s.job]
    figure, axis = plt.subplots(figsize=(5, 2.8))
    axis.scatter([j["seconds"] for j in jobs], [j["peak_mib"] for j in jobs], color=BLUE, s=18)
    axis.set_xlabel("grading time (s)")
    axis.set_ylabel("peak memory (MiB)")
    figure.tight_layout()
    return _figure_png(figure)


# ---------------------------------------------------------------- HTML


def e(value) -> str:
    """Escape anything for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table; the cells are HTML already (escape student strings before)."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _image(png: str, alt: str) -> str:
    return f'<figure><img alt="{e(alt)}" src="data:image/png;base64,{png}"><figcaption>{e(alt)}</figcaption></figure>'


STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}
.callout{color:#a05a00;font-weight:600}figure{margin:.8rem 0}img{max-width:100%}figcaption{font-size:.85rem;color:#555}
pre{margin:0;font-size:.8rem;white-space:pre-wrap}mark{background:#ffe08a}.pair td{width:50%}
.note{color:#555;font-size:.9rem}
"""


def render(
    data: ClassData,
    targets: list[RmseTarget] | None = None,
    pairs: list[SimilarPair] | None = None,
    threshold: float | None = None,
    compared: int = 0,
    compared_written: int = 0,
) -> str:
    """The whole report, as one HTML page."""
    targets = targets or []
    pairs = pairs or []
    rows = cell_statistics(data)
    scores = [s.score for s in data.submissions]
    maximum = max((s.max_score for s in data.submissions), default=0.0)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Class report: {e(data.assignment)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Class report: {e(data.assignment)}</h1>",
        f"<p class='note'>Course {e(data.course_id)}, {len(data.submissions)} submissions, written "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC from the gradebook and the autograded "
        "notebooks. Nothing here changes a grade.</p>",
        "<h2 id='scores'>Scores</h2>",
    ]
    if scores:
        parts.append(
            f"<p>Mean <b>{statistics.fmean(scores):.2f}</b>, median <b>{statistics.median(scores):g}</b> "
            f"of {maximum:g} points; lowest {min(scores):g}, highest {max(scores):g}.</p>"
        )
        parts.append(
            _image(score_figure(data), "Score distribution: the whole assignment, then each notebook")
        )
    parts.append(_at_a_glance(data, rows, pairs))
    parts.append("<h2 id='tests'>Tests</h2>")
    parts.append(
        "<p class='note'>Discrimination: the correlation of passing a test with the rest of the "
        "score (the points of every other cell). Near 0 or undefined: the test separates no one; "
        f"a pass rate below {NEARLY_ALL_FAIL:.0%}: nearly everyone fails it.</p>"
    )
    if rows:
        parts.append(
            _image(pass_rate_figure(rows), "Pass rate and discrimination per test (orange: called out)")
        )
    parts.append(
        _table(
            ["notebook", "test", "points", "passed", "mean points", "discrimination", ""],
            [
                [
                    e(row.cell.notebook),
                    e(row.cell.grade_id),
                    f"{row.cell.points:g}",
                    f"{row.passed}/{row.taken} ({row.pass_rate:.0%})",
                    f"{row.mean_points:.2f}",
                    "undefined" if row.discrimination is None else f"{row.discrimination:.2f}",
                    f"<span class='callout'>{e(row.call_out)}</span>",
                ]
                for row in rows
            ],
        )
    )
    parts.append("<h2 id='failures'>What students were told</h2>")
    failing = [row for row in rows if row.failures]
    if not failing:
        parts.append("<p>No test failed.</p>")
    for row in failing:
        parts.append(f"<h3>{e(row.cell.notebook)} · {e(row.cell.grade_id)}</h3>")
        parts.append(
            _table(
                ["students", "sentence"], [[f"{count} ×", e(sentence)] for sentence, count in row.failures]
            )
        )
    if targets:
        parts.append("<h2 id='rmse'>Test RMSE reached</h2>")
        parts.append(
            "<p class='note'>The grader's figure where the hidden test failed; otherwise the figure "
            "the notebook printed, which the 0-point check confirmed is the model's own. Honest band: "
            "the calibrated reference runs' range; bound: what the hidden test accepts.</p>"
        )
        parts.append(
            _image(rmse_figure(data, targets), "Test RMSE per student against the honest band and the bound")
        )
        table = []
        for target in targets:
            values = [reached_rmse(s, target)[0] for s in data.submissions]
            known = [v for v in values if v is not None]
            table.append(
                [
                    e(target.notebook),
                    str(len(known)),
                    f"{statistics.median(known):.1f}" if known else "-",
                    str(sum(target.honest_min <= v <= target.honest_max for v in known)),
                    str(sum(v > target.bound for v in known)),
                    f"{target.honest_min:g}-{target.honest_max:g}",
                    f"{target.bound:g}",
                ]
            )
        parts.append(
            _table(
                ["notebook", "with a figure", "median", "in the band", "above the bound", "band", "bound"],
                table,
            )
        )
    parts += _submissions_sections(data)
    parts += _copied_section(pairs, threshold, compared, compared_written)
    parts.append("</body></html>")
    return "\n".join(parts)


def _at_a_glance(data: ClassData, rows: list[CellStatistics], pairs: list[SimilarPair]) -> str:
    """The few lines to read before Monday's class: the commonest failure, what to look at."""
    points = []
    common = max(
        ((count, sentence, row.cell) for row in rows for sentence, count in row.failures),
        default=None,
        key=lambda found: found[0],
    )
    if common is not None:
        count, sentence, cell = common
        points.append(
            f"Most common failure: <b>{count} ×</b> “{e(sentence)}” ({e(cell.notebook)} · {e(cell.grade_id)})."
        )
    called = [row for row in rows if row.call_out]
    if called:
        points.append(
            f"{len(called)} tests called out (nearly everyone fails them, or they separate no one)."
        )
    flagged = sum(bool(s.flagged_notebooks or s.flags) for s in data.submissions)
    unclean = sum(bool(s.job and s.job.get("outcome") != "graded") for s in data.submissions)
    late = sum(s.seconds_late > 0 for s in data.submissions)
    copied = "1 pair looks" if len(pairs) == 1 else f"{len(pairs)} pairs look"
    written = sum(pair.kind == "written" for pair in pairs)
    if written:
        copied += f" copied ({len(pairs) - written} in code answers, {written} in written answers)"
    else:
        copied += " copied"
    points.append(f"{flagged} flagged, {unclean} not graded cleanly, {late} late; {copied}.")
    return "<h2 id='glance'>At a glance</h2><ul>" + "".join(f"<li>{point}</li>" for point in points) + "</ul>"


def _submissions_sections(data: ClassData) -> list[str]:
    parts = ["<h2 id='flagged'>Flagged submissions</h2>"]
    flagged = [s for s in data.submissions if s.flagged_notebooks or s.flags]
    parts.append(
        _table(
            ["student", "flagged notebooks", "reasons"],
            [
                [
                    e(s.student),
                    e(", ".join(s.flagged_notebooks)),
                    "<br>".join(e(f) for f in s.flags) or "(set by hand)",
                ]
                for s in flagged
            ],
        )
        if flagged
        else "<p>None.</p>"
    )
    parts.append("<h2 id='not-clean'>Not graded cleanly</h2>")
    unclean = [s for s in data.submissions if s.job and s.job.get("outcome") != "graded"]
    parts.append(
        _table(
            ["student", "outcome", "exit status", "what broke"],
            [
                [e(s.student), e(s.job["outcome"]), e(s.job.get("exit_code")), e(s.job.get("reason") or "-")]
                for s in unclean
            ],
        )
        if unclean
        else "<p>None.</p>"
    )
    parts.append("<h2 id='late'>Late submissions</h2>")
    late = sorted((s for s in data.submissions if s.seconds_late > 0), key=lambda s: -s.seconds_late)
    parts.append(
        _table(["student", "late by"], [[e(s.student), _duration(s.seconds_late)] for s in late])
        if late
        else "<p>None.</p>"
    )
    parts.append("<h2 id='cost'>Grading cost</h2>")
    jobs = [s for s in data.submissions if s.job]
    if not jobs:
        parts.append(
            "<p>No submission was graded by <code>make grade</code>, which records time and memory.</p>"
        )
        return parts
    seconds = [s.job["seconds"] for s in jobs]
    parts.append(
        f"<p>{len(jobs)} submissions: median {statistics.median(seconds):.1f} s, total {sum(seconds):.0f} s, "
        f"largest peak {max(s.job['peak_mib'] for s in jobs):.0f} MiB.</p>"
    )
    parts.append(_image(cost_figure(data), "Grading time and peak memory per submission"))
    slowest = sorted(jobs, key=lambda s: -s.job["seconds"])[:5]
    parts.append(
        _table(
            ["slowest", "seconds", "peak MiB", "outcome"],
            [
                [e(s.student), f"{s.job['seconds']:.1f}", f"{s.job['peak_mib']:.0f}", e(s.job.get("outcome"))]
                for s in slowest
            ],
        )
    )
    return parts


def _copied_section(
    pairs: list[SimilarPair], threshold: float | None, compared: int, compared_written: int = 0
) -> list[str]:
    parts = ["<h2 id='copied'>Answers that look copied</h2>"]
    if threshold is None:
        return [*parts, "<p>Not compared.</p>"]
    parts.append(
        f"<p class='note'>{compared} pairs of submissions' code answer cells and {compared_written} pairs "
        "of their written answers compared (the released starter code and text ignored, and what more "
        f"than a tenth of the class shares); listed: a similarity of at least {threshold:.0%} in both "
        "directions. For your judgement: it changes no grade. Matching parts are highlighted.</p>"
    )
    if not pairs:
        return [*parts, "<p>No pair.</p>"]
    for pair in pairs:
        label, unit = (
            ("written answers", "characters") if pair.kind == "written" else ("code answers", "tokens")
        )
        parts.append(
            f"<h3>{e(pair.first)} and {e(pair.second)}: {pair.similarity:.0%} "
            f"({pair.shared_tokens} {unit} shared), {label}</h3>"
        )
        parts.append(
            _table(
                [f"{e(pair.first)}: {label}", f"{e(pair.second)}: {label}"],
                [[f"<pre>{pair.first_html}</pre>", f"<pre>{pair.second_html}</pre>"]],
                cls="pair",
            )
        )
    return parts


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def calibration_targets(specs: list[str], calibration: Path) -> list[RmseTarget]:
    """``NOTEBOOK:TEST_CELL:REPORTED_CELL:EXERCISE`` with the exercise's figures from ``calibration``."""
    exercises = json.loads(Path(calibration).read_text(encoding="utf-8"))["exercises"]
    targets = []
    for spec in specs:
        notebook, test_cell, reported_cell, exercise = spec.split(":")
        figures = exercises[exercise]
        targets.append(
            RmseTarget(
                notebook, test_cell, reported_cell, figures["max_rmse"], figures["min"], figures["max"]
            )
        )
    return targets


def write_report(
    course: Path,
    assignment: str,
    output: Path,
    targets: list[RmseTarget] | None = None,
    threshold: float = 0.6,
) -> Path:
    """Read the class, compare its answers, write the report to ``output``."""
    data = read_class(course, assignment)
    pairs, compared = similar_pairs(data, threshold)
    written, compared_written = similar_pairs(data, threshold, kind="written")
    pairs = sorted(pairs + written, key=lambda pair: -pair.similarity)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(data, targets, pairs, threshold, compared, compared_written), encoding="utf-8")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the class report of an assignment as one HTML file.")
    parser.add_argument("assignment")
    parser.add_argument("--course-dir", type=Path, default=Path("."))
    parser.add_argument("--output", type=Path, default=Path("build/report.html"))
    parser.add_argument("--rmse", action="append", default=[], metavar="NOTEBOOK:TEST:REPORTED:EXERCISE")
    parser.add_argument("--calibration", type=Path, help="the RMSE bounds and reference runs (JSON)")
    parser.add_argument(
        "--similarity", type=float, default=0.6, help="list pairs at least this similar (default %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.rmse and args.calibration is None:
        parser.error("--rmse needs --calibration")
    targets = calibration_targets(args.rmse, args.calibration) if args.rmse else []
    try:
        path = write_report(args.course_dir, args.assignment, args.output, targets, args.similarity)
    except Exception as error:  # noqa: BLE001  (a missing gradebook or assignment: say what to do)
        print(
            f"Could not write the report: {error}. Grade the class first (make grade), in the course folder.",
            file=sys.stderr,
        )
        return 1
    print(f"Wrote {path} (open it in a browser; it needs no network)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
