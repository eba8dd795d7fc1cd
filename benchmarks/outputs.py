"""What cleaning and bounding a submission's outputs costs (``autograder/engine/outputs.py``).

Run with ``make bench`` (or ``.venv/bin/python benchmarks/outputs.py [--rounds N]``). It times
the two preprocessors grading adds after execution (``SanitizeOutputs`` then
``LimitOutputBytes``) on notebooks as they come out of execution: each lesson as committed
(honest work with figures, tables and a widget), and a hostile notebook (script in every
output form and 16 MiB printed). Then it renders lesson 1 as feedback with nbconvert's
``HTMLExporter`` and with ``SafeHTMLExporter`` in the same run, and prints their ratio.
Figures are printed, never asserted: speed depends on the machine.
"""

import argparse
import copy
import os
import platform
import statistics
import time
from pathlib import Path

import nbformat
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.engine.outputs import LimitOutputBytes, SafeHTMLExporter, SanitizeOutputs
from rnn_forecast.paths import REPOSITORY_ROOT

NBGRADER_TEMPLATES = (
    Path(__import__("nbgrader").__file__).parent / "server_extensions" / "formgrader" / "templates"
)


def hostile_notebook():
    script = "<script>fetch('/api/terminals', {method: 'POST'})</script>"
    displays = [
        new_output("display_data", data={"text/html": f"<table><tr><td>x</td></tr></table>{script}"}),
        new_output("display_data", data={"text/html": "<img src=x onerror=alert(1)>"}),
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"}),
        new_output("display_data", data={"image/svg+xml": f"<svg>{script}</svg>"}),
    ]
    flood = [
        new_output("stream", name="stdout", text="x" * (12 * 2**20)),
        *[new_output("stream", name="stdout", text="y" * 1023 + "\n") for _ in range(4096)],
    ]
    return new_notebook(
        cells=[new_code_cell("attack", outputs=displays), new_code_cell("flood", outputs=flood)]
    )


def clean(nb) -> None:
    for preprocessor in (SanitizeOutputs(), LimitOutputBytes()):
        nb, _ = preprocessor(nb, {})


def median_ms(action, prepare, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        argument = prepare()
        started = time.perf_counter()
        action(argument)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="time each N times, print the median (default 5)"
    )
    args = parser.parse_args()
    print(
        f"Cleaning and bounding outputs, median of {args.rounds}, {os.cpu_count()} cores, {platform.machine()}"
    )
    notebooks = {
        path.stem: nbformat.read(path, as_version=4)
        for path in sorted((REPOSITORY_ROOT / "lessons").glob("*.ipynb"))
    }
    notebooks["hostile (script, 16 MiB printed)"] = hostile_notebook()
    for name, nb in notebooks.items():
        size = len(nbformat.writes(nb).encode()) / 1e6
        ms = median_ms(clean, lambda nb=nb: copy.deepcopy(nb), args.rounds)
        print(f"  {name:<36} {size:6.2f} MB  {ms:8.1f} ms")

    lesson = notebooks["01_why_rnns_forget"]
    options = {
        "template_name": "feedback",
        "extra_template_basedirs": [str(NBGRADER_TEMPLATES)],
        "extra_template_paths": [
            str(NBGRADER_TEMPLATES.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css")
        ],
    }
    resources = {"nbgrader": {"notebook": "lesson", "score": 0, "max_score": 0, "late_penalty": 0}}
    plain, safe = HTMLExporter(**options), SafeHTMLExporter(**options)
    times = {}
    for exporter in (plain, safe, plain, safe):  # alternating, so that load changes hit both alike
        name = type(exporter).__name__
        ms = median_ms(
            lambda nb, e=exporter: e.from_notebook_node(nb, resources=dict(resources)),
            lambda: lesson,
            args.rounds,
        )
        times.setdefault(name, []).append(ms)
    plain_ms, safe_ms = (min(times[name]) for name in ("HTMLExporter", "SafeHTMLExporter"))
    print(
        f"Rendering lesson 1 as feedback: HTMLExporter {plain_ms:.0f} ms, SafeHTMLExporter {safe_ms:.0f} ms "
        f"(ratio {safe_ms / plain_ms:.2f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
