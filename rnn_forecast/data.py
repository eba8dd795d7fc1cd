"""Load and validate the monthly S&P 500 series.

The loader never drops, fills or reorders a row: a file that is not a clean monthly
series is refused with an error that names the file, the line and the problem, and
says how to fix it, because a silently repaired series would give every student and
the autograder different numbers from the ones the lessons state.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from rnn_forecast.paths import REPOSITORY_ROOT

DATA_PATH = REPOSITORY_ROOT / "data" / "sp500_monthly.csv"
COLUMNS = ("date", "close")

_RESTORE_HINT = (
    "Restore the course copy with `git checkout -- data/sp500_monthly.csv` "
    "(see data/README.md for its checksum)."
)


class DataFileError(ValueError):
    """The data file is missing or is not a clean monthly series."""

    def __init__(self, path: Path, problem: str, fix: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem} {fix}")


@dataclass(frozen=True)
class SeriesSummary:
    """What a student should see after loading the series."""

    rows: int
    first: date
    last: date
    minimum: float
    maximum: float

    def __str__(self) -> str:
        return (
            f"{self.rows} monthly rows, {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}, "
            f"close min {self.minimum:.1f}, max {self.maximum:.1f}"
        )


def load_monthly_series(path: str | Path | None = None) -> pd.DataFrame:
    """Read a ``date,close`` CSV of monthly values and check that it is a clean series.

    Parameters
    ----------
    path:
        The CSV file; by default the course's ``data/sp500_monthly.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime64, the first of each month) and ``close`` (float64),
        one row per month, oldest first, exactly as in the file.

    Raises
    ------
    DataFileError
        When the file is missing, has other columns, or any row has an unparseable or
        out-of-order date, a duplicate or missing month, or a close that is not a
        finite positive number. The message names the file and line.
    """
    path = Path(path) if path is not None else DATA_PATH
    if not path.is_file():
        raise DataFileError(
            path,
            "the data file does not exist.",
            f"The course expects it at {DATA_PATH}. {_RESTORE_HINT}",
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(enumerate(csv.reader(handle), start=1))
    if not rows:
        raise DataFileError(path, "the file is empty.", _RESTORE_HINT)

    _check_header(path, rows[0][1])
    data_rows = [(line, fields) for line, fields in rows[1:] if fields]
    if not data_rows:
        raise DataFileError(path, "the file has a header but no data rows.", _RESTORE_HINT)

    months: list[date] = []
    closes: list[float] = []
    for line, fields in data_rows:
        if len(fields) != len(COLUMNS):
            raise DataFileError(
                path,
                f"expected 2 fields (date,close), found {len(fields)}: {','.join(fields)!r}.",
                "Each line must read like `1950-01-01,16.88`.",
                line,
            )
        months.append(_parse_month(path, line, fields[0]))
        closes.append(_parse_close(path, line, fields[1]))
    _check_consecutive(path, [line for line, _ in data_rows], months)

    return pd.DataFrame({"date": pd.to_datetime(months), "close": pd.Series(closes, dtype="float64")})


def describe_series(series: pd.DataFrame) -> SeriesSummary:
    """Row count, first and last month, and the range of ``close``."""
    return SeriesSummary(
        rows=len(series),
        first=series["date"].iloc[0].date(),
        last=series["date"].iloc[-1].date(),
        minimum=float(series["close"].min()),
        maximum=float(series["close"].max()),
    )


def _check_header(path: Path, header: list[str]) -> None:
    found = [name.strip().lstrip("\ufeff") for name in header]
    if tuple(found) != COLUMNS:
        raise DataFileError(
            path,
            f"expected the columns `date,close`, found `{','.join(found)}`.",
            "The first line must be exactly `date,close`.",
            1,
        )


def _parse_month(path: Path, line: int, text: str) -> date:
    try:
        parsed = date.fromisoformat(text.strip())
    except ValueError:
        raise DataFileError(
            path,
            f"cannot read the date {text!r}.",
            "Dates must be written YYYY-MM-01, for example 1950-01-01.",
            line,
        ) from None
    if parsed.day != 1:
        raise DataFileError(
            path,
            f"the date {text!r} is not the first day of a month.",
            "Each row stands for one month and is dated YYYY-MM-01.",
            line,
        )
    return parsed


def _check_consecutive(path: Path, lines: list[int], months: list[date]) -> None:
    first_line = {}
    for index, (line, month) in enumerate(zip(lines, months, strict=True)):
        if month in first_line:
            raise DataFileError(
                path,
                f"{month:%Y-%m} appears twice (first on line {first_line[month]}).",
                "Keep one row per month.",
                line,
            )
        first_line[month] = line
        if index == 0:
            continue
        previous, expected = months[index - 1], _next_month(months[index - 1])
        if month < previous:
            problem = f"{month:%Y-%m} comes after {previous:%Y-%m}; rows are not in date order."
        elif month > expected and expected in months[index:]:
            later = lines[months.index(expected)]
            problem = (
                f"{month:%Y-%m} comes before {expected:%Y-%m} (line {later}); rows are not in date order."
            )
        else:
            problem = None
        if problem:
            raise DataFileError(path, problem, "Sort the rows by date, oldest first.", line)
        if month > expected:
            raise DataFileError(
                path,
                f"months are missing between {previous:%Y-%m} and {month:%Y-%m}.",
                f"Add the row for {expected:%Y-%m} and every month after it up to {month:%Y-%m}.",
                line,
            )


def _parse_close(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise DataFileError(
            path,
            f"the close {text!r} is not a finite positive number.",
            "Each close is an index level in points, for example 16.88.",
            line,
        )
    return value


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
