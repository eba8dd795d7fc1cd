"""Execute the lesson notebooks headless and collect their figures.

Used by the main job (``python -m rnn_forecast.course``) and by the notebook benchmark
(``benchmarks/notebooks.py``), so both run the lessons the same way: a fresh kernel of the
current environment per notebook, started in the notebook's own folder (as JupyterLab
does), with TensorFlow quiet, and failing on the first cell that raises.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.quiet import quiet_tensorflow

LESSONS_DIR = REPOSITORY_ROOT / "lessons"
# Generous: the slowest lesson takes about a minute on 2 cores; a hung kernel still ends.
CELL_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class ExecutedNotebook:
    """A notebook after a headless run, and how long the run took (kernel start included)."""

    source: Path
    notebook: nbformat.NotebookNode
    seconds: float


def lesson_notebooks(folder: Path = LESSONS_DIR) -> list[Path]:
    """The lesson notebooks, in reading order (their names start with the lesson number)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: Path, output_dir: Path | None = None) -> ExecutedNotebook:
    """Run every cell of ``path`` in a fresh kernel; write the executed copy to ``output_dir``.

    Raises :class:`nbclient.exceptions.CellExecutionError` when a cell fails. The file at
    ``path`` itself is never modified.
    """
    path = Path(path)
    quiet_tensorflow()  # the kernel inherits this process's environment
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        # ipykernel warns on stderr that its local TCP sockets are unencrypted, every start.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output_dir / path.name)
    return ExecutedNotebook(path, notebook, seconds)


def save_figures(executed: ExecutedNotebook, figures_dir: Path) -> list[Path]:
    """Write each PNG output of an executed notebook to ``figures_dir/<notebook>_<n>.png``.

    ``n`` counts the figures of that notebook from 1, in the order they appear.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    for stale in figures_dir.glob(f"{executed.source.stem}_*.png"):  # from an earlier run
        stale.unlink()
    written = []
    for cell in executed.notebook.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                target = figures_dir / f"{executed.source.stem}_{len(written) + 1}.png"
                target.write_bytes(base64.b64decode(png))
                written.append(target)
    return written
