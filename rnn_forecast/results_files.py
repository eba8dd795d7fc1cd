"""What the experiments too slow for a lesson share when they write ``results/*.json``.

The memory horizon (:mod:`rnn_forecast.memory_horizon`, lesson 4) and the rolling-origin
evaluation (:mod:`rnn_forecast.rolling_origin`, lesson 3) each write one JSON file that a
lesson loads: compact (one list of numbers per line, so a diff shows which curve changed),
without NaN (JSON has none), and with the environment the numbers were measured in.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import time
from datetime import UTC, datetime
from pathlib import Path


def to_json(results: dict) -> str:
    """Indented JSON with every list of numbers on one line (one learning curve per line).

    >>> print(to_json({"curve": [0.5, 0.25, None]}), end="")
    {
     "curve": [0.5, 0.25, null]
    }
    """
    text = json.dumps(results, indent=1)
    numbers = re.compile(r"\[\s+((?:-?[0-9.eE+-]+|null)(?:,\s+(?:-?[0-9.eE+-]+|null))*)\s+\]")
    return (
        numbers.sub(
            lambda match: "[" + ", ".join(item.strip() for item in match.group(1).split(",")) + "]", text
        )
        + "\n"
    )


def write_json(path: Path, results: dict) -> None:
    """Write ``results`` (with its ``environment``) to ``path`` and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(results), encoding="utf-8")
    print(f"Wrote {path} in {results['environment']['seconds']} s.")


def read_json(path: str | Path, target: str, error: type[ValueError]) -> dict:
    """The JSON object in ``path``; ``error`` saying to run ``make <target>`` if it is missing or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path} does not exist; run `make {target}` to create it")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as problem:
        raise error(f"{path} is not valid JSON ({problem}); run `make {target}` again") from None


def read_checked(path: str | Path, target: str, error: type[ValueError], check) -> dict:
    """:func:`read_json`, once ``check(results)`` passes: it raises ``KeyError`` or ``TypeError`` on a
    file that is incomplete, and ``error`` then says to run ``make <target>`` again."""
    results = read_json(path, target, error)
    try:
        check(results)
    except (KeyError, TypeError) as problem:
        raise error(f"{path} is incomplete ({problem!s}); run `make {target}` to write it again") from None
    return results


def finite(value: float, digits: int = 6) -> float | None:
    """``value`` rounded to ``digits`` decimals; ``None`` (JSON's null) for NaN or infinity.

    >>> finite(0.12345678), finite(float("nan"))
    (0.123457, None)
    """
    return round(float(value), digits) if math.isfinite(value) else None


def environment(started: float) -> dict:
    """Date, versions, machine and the run's wall time since ``started`` (``time.perf_counter()``)."""
    import numpy as np

    import keras
    import tensorflow as tf

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": processor(),
        "cores": os.cpu_count(),
        "seconds": round(time.perf_counter() - started),
    }


def processor() -> str:
    """The processor's model name, as Linux reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
