"""The loader accepts the shipped series and refuses every kind of broken file clearly."""

import hashlib
import math

import pytest

from rnn_forecast import DATA_PATH, DataFileError, describe_series, load_monthly_series

SHIPPED_SHA256 = "214979f04fa79ba719c0d4ec54fee11a89e04a389a2f8406a8fb9966a7723b29"
GOOD_ROWS = ["1950-01-01,16.88", "1950-02-01,17.21", "1950-03-01,17.35", "1950-04-01,17.84"]


def write_csv(tmp_path, rows, header="date,close"):
    path = tmp_path / "series.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_shipped_file_is_the_documented_one():
    assert hashlib.sha256(DATA_PATH.read_bytes()).hexdigest() == SHIPPED_SHA256


def test_shipped_series_has_the_shape_students_are_told(series):
    summary = describe_series(series)
    assert summary.rows == 917
    assert (str(summary.first), str(summary.last)) == ("1950-01-01", "2026-05-01")
    assert (round(summary.minimum, 1), round(summary.maximum, 1)) == (16.9, 7412.6)
    assert list(series.columns) == ["date", "close"]
    assert str(series["date"].dtype).startswith("datetime64")
    assert str(summary) == "917 monthly rows, 1950-01-01 to 2026-05-01, close min 16.9, max 7412.6"


def test_loader_keeps_rows_exactly_as_written(tmp_path):
    frame = load_monthly_series(write_csv(tmp_path, GOOD_ROWS))
    assert frame["close"].tolist() == [16.88, 17.21, 17.35, 17.84]
    assert [d.strftime("%Y-%m") for d in frame["date"]] == ["1950-01", "1950-02", "1950-03", "1950-04"]


def test_missing_file_says_where_the_file_is_expected(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DataFileError) as error:
        load_monthly_series(missing)
    message = str(error.value)
    assert str(missing) in message
    assert "does not exist" in message
    assert str(DATA_PATH) in message


# Each case: rows of the file, the line the error must name, words the message must contain.
BROKEN_FILES = {
    "wrong columns": (None, 1, ["expected the columns `date,close`", "found `month,price`"]),
    "unparseable date": (
        ["1950-01-01,16.88", "1950-13-01,17.21"],
        3,
        ["cannot read the date '1950-13-01'", "YYYY-MM-01"],
    ),
    "not first of month": (["1950-01-01,16.88", "1950-02-15,17.21"], 3, ["not the first day of a month"]),
    "duplicate month": (
        ["1950-01-01,16.88", "1950-02-01,17.21", "1950-02-01,17.22"],
        4,
        ["1950-02 appears twice (first on line 3)", "one row per month"],
    ),
    "repeated month later": (
        ["1950-01-01,16.88", "1950-02-01,17.21", "1950-03-01,17.35", "1950-02-01,17.22"],
        5,
        ["1950-02 appears twice"],
    ),
    "gap": (
        ["1950-01-01,16.88", "1950-02-01,17.21", "1950-05-01,18.0"],
        4,
        ["missing between 1950-02 and 1950-05", "Add the row for 1950-03"],
    ),
    "unsorted": (
        ["1950-01-01,16.88", "1950-03-01,17.35", "1950-02-01,17.21"],
        3,
        ["1950-03 comes before 1950-02 (line 4)", "Sort the rows"],
    ),
    "reversed": (
        ["1950-02-01,17.21", "1950-01-01,16.88"],
        3,
        ["1950-01 comes after 1950-02", "Sort the rows"],
    ),
    "NaN close": (["1950-01-01,16.88", "1950-02-01,NaN"], 3, ["'NaN' is not a finite positive number"]),
    "empty close": (["1950-01-01,16.88", "1950-02-01,"], 3, ["'' is not a finite positive number"]),
    "infinite close": (["1950-01-01,inf"], 2, ["'inf' is not a finite positive number"]),
    "zero close": (["1950-01-01,16.88", "1950-02-01,0"], 3, ["'0' is not a finite positive number"]),
    "negative close": (
        ["1950-01-01,16.88", "1950-02-01,-17.21"],
        3,
        ["'-17.21' is not a finite positive number"],
    ),
    "extra field": (["1950-01-01,16.88,x"], 2, ["expected 2 fields"]),
}


@pytest.mark.parametrize("case", BROKEN_FILES)
def test_broken_file_is_refused_with_file_line_and_fix(tmp_path, case):
    rows, line, phrases = BROKEN_FILES[case]
    # rows None: the rows are good and the header is what is broken
    path = write_csv(tmp_path, GOOD_ROWS, header="month,price") if rows is None else write_csv(tmp_path, rows)
    before = path.read_bytes()
    with pytest.raises(DataFileError) as error:
        load_monthly_series(path)
    message = str(error.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert error.value.line == line
    for phrase in phrases:
        assert phrase in message
    assert path.read_bytes() == before, "the loader must never modify the file"


def test_header_only_file_is_refused(tmp_path):
    with pytest.raises(DataFileError, match="header but no data rows"):
        load_monthly_series(write_csv(tmp_path, []))


def test_error_is_a_value_error_for_callers_that_catch_those(tmp_path):
    with pytest.raises(ValueError):
        load_monthly_series(write_csv(tmp_path, ["1950-01-01,-1"]))


def test_every_close_in_the_shipped_file_is_finite_and_positive(series):
    assert all(math.isfinite(v) and v > 0 for v in series["close"])
