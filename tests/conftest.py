"""Fixtures shared by the test modules."""

from pathlib import Path

import pytest

import rnn_forecast

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def series():
    """The course's S&P 500 series, loaded once."""
    return rnn_forecast.load_monthly_series()


@pytest.fixture(scope="session")
def split(series):
    """The course's windows, split chronologically."""
    from rnn_forecast.comparison import course_split

    return course_split(series)
