"""What ``make report`` costs on a large class: 200 synthetic gradebook rows, timed part by part.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/report.py [--students N]``). It builds
a course with the real ``nbgrader generate_assignment`` and writes N students into its
gradebook and autograded notebooks directly (``autograder.testkit.report_class``, the kinds of
the report's tests, with their own RMSEs and costs), then times what ``make report`` does:
reading the class (gradebook and notebooks), comparing every pair's answers (copydetect, the
code answers and the written ones), and drawing and writing the HTML, and prints the
pairwise-comparison count (both kinds). The 16-student class
of the tests is timed in the same run, with the ratio. Figures are printed, never asserted.
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from autograder.engine.class_data import read_class
from autograder.engine.class_report import calibration_targets, render
from autograder.engine.similarity import similar_pairs
from autograder.testkit.report_class import CLASS, build_class, synthetic_class
from autograder.testkit.sample_class import ASSIGNMENT, make_course
from rnn_forecast.paths import REPOSITORY_ROOT

RMSE = [
    "2_gru8:ex2_rmse_test:ex2_reported_rmse_test:gru8",
    "3_stacked_lstm:ex3_rmse_test:ex3_reported_rmse_test:stacked_lstm",
]


def time_report(course: Path) -> dict[str, float]:
    """Seconds for each part of make report's work, and the counts."""
    targets = calibration_targets(RMSE, REPOSITORY_ROOT / "autograder" / "calibration.json")
    started = time.perf_counter()
    data = read_class(course, ASSIGNMENT)
    read = time.perf_counter()
    pairs, compared = similar_pairs(data, 0.6)
    code_at = time.perf_counter()
    written, compared_written = similar_pairs(data, 0.6, kind="written")
    pairs += written
    compared_at = time.perf_counter()
    page = render(data, targets, pairs, 0.6, compared, compared_written)
    (course / "report.html").write_text(page, encoding="utf-8")
    done = time.perf_counter()
    return {
        "students": len(data.submissions),
        "read": read - started,
        "compare": compared_at - read,
        "compare written": compared_at - code_at,
        "render": done - compared_at,
        "total": done - started,
        "pairs compared": compared + compared_written,
        "pairs listed": len(pairs),
        "MiB": len(page) / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()
    print(f"make report's work: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        small = make_course(Path(folder) / "small")
        build_class(small, CLASS)
        large = make_course(Path(folder) / "large")
        build_started = time.perf_counter()
        build_class(large, synthetic_class(args.students))
        print(
            f"  (writing {args.students} synthetic students took {time.perf_counter() - build_started:.1f} s)"
        )
        figures = {"tests' class": time_report(small), f"{args.students} rows": time_report(large)}
    for name, found in figures.items():
        print(
            f"  {name:>13}: {found['students']} students, total {found['total']:.2f} s "
            f"(read {found['read']:.2f} s, compare {found['compare']:.2f} s, of which written answers "
            f"{found['compare written']:.2f} s, draw and write {found['render']:.2f} s); "
            f"{found['pairs compared']} pairs compared, {found['pairs listed']} listed; {found['MiB']:.1f} MiB of HTML"
        )
    small, large = figures.values()
    print(
        f"  ratio: {large['students'] / small['students']:.1f}x the students, "
        f"{large['pairs compared'] / small['pairs compared']:.0f}x the pairs, "
        f"{large['total'] / small['total']:.1f}x the time"
    )


if __name__ == "__main__":
    main()
