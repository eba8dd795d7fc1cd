"""Windows, the chronological split and the scale-free transform."""

import numpy as np
import pytest

from rnn_forecast import (
    TEST_WINDOWS,
    WINDOW,
    chronological_split,
    from_scale_free,
    make_windows,
    to_scale_free,
)


def test_windows_pair_twelve_months_with_the_next_one():
    x, y = make_windows(np.arange(20.0), window=12)
    assert x.shape == (8, 12, 1)
    assert y.shape == (8,)
    assert x[0, :, 0].tolist() == list(range(12))
    assert y[0] == 12
    assert x[-1, :, 0].tolist() == list(range(7, 19))
    assert y[-1] == 19


def test_course_windows_first_and_last_values(series):
    closes = series["close"].to_numpy()
    x, y = make_windows(closes)
    assert x.shape == (905, WINDOW, 1)
    assert y.shape == (905,)
    np.testing.assert_array_equal(x[0, :, 0], closes[:12])
    assert y[0] == closes[12] == 21.21  # January 1951
    np.testing.assert_array_equal(x[-1, :, 0], closes[-13:-1])
    assert y[-1] == closes[-1] == 7412.55  # May 2026


def test_windows_are_copies_not_views_of_the_series():
    values = np.arange(20.0)
    x, _ = make_windows(values)
    x[0, 0, 0] = -1
    assert values[0] == 0


@pytest.mark.parametrize("values", [np.arange(12.0), np.zeros((4, 4))])
def test_windows_refuse_series_that_cannot_make_one(values):
    with pytest.raises(ValueError):
        make_windows(values)


def test_split_is_721_training_and_184_test_windows_in_time_order(split):
    assert TEST_WINDOWS == 184
    assert (len(split.x_train), len(split.y_train)) == (721, 721)
    assert (len(split.x_test), len(split.y_test)) == (184, 184)
    # The first test window starts right after the last training window.
    np.testing.assert_array_equal(split.x_test[0, :-1, 0], split.x_train[-1, 1:, 0])
    assert split.x_test[0, -1, 0] == split.y_train[-1]


def test_split_refuses_mismatched_or_impossible_sizes():
    x, y = make_windows(np.arange(30.0))
    with pytest.raises(ValueError, match="windows but y has"):
        chronological_split(x, y[:-1])
    with pytest.raises(ValueError, match="cannot keep"):
        chronological_split(x, y, test_windows=len(x))


def test_scale_free_windows_end_in_one_and_round_trip_exactly(split):
    scaled = to_scale_free(split.x_test, split.y_test)
    np.testing.assert_array_equal(scaled.x[:, -1, 0], 1.0)
    np.testing.assert_allclose(scaled.x * scaled.last[:, None, None], split.x_test, rtol=1e-15)
    np.testing.assert_allclose(from_scale_free(scaled.y, scaled.last), split.y_test, rtol=1e-15)
    # A ratio of 1 means "same as this month", the naive forecast.
    np.testing.assert_array_equal(from_scale_free(np.ones(184), scaled.last), split.x_test[:, -1, 0])


def test_scale_free_accepts_keras_shaped_predictions(split):
    scaled = to_scale_free(split.x_test)
    assert scaled.y is None
    column = np.ones((184, 1))
    assert from_scale_free(column, scaled.last).shape == (184,)


def test_scale_free_refuses_a_window_ending_in_zero():
    x = np.ones((2, 12, 1))
    x[1, -1, 0] = 0
    with pytest.raises(ValueError, match="ends in 0"):
        to_scale_free(x)
