"""Errors in index points and the naive baseline."""

import numpy as np
import pytest

from rnn_forecast import mae, naive_forecast, rmse


def test_rmse_and_mae_on_a_hand_computed_case():
    truth, prediction = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 3.0, 1.0]
    assert rmse(truth, prediction) == pytest.approx(np.sqrt((1 + 0 + 0 + 9) / 4))
    assert mae(truth, prediction) == pytest.approx((1 + 0 + 0 + 3) / 4)


def test_metrics_accept_a_keras_column_of_predictions():
    assert rmse([1.0, 2.0], np.array([[1.0], [4.0]])) == pytest.approx(np.sqrt(2))


def test_metrics_refuse_unpaired_arrays():
    with pytest.raises(ValueError, match="must pair up"):
        rmse([1.0, 2.0], [1.0])


def test_naive_forecast_repeats_the_last_month(split):
    np.testing.assert_array_equal(naive_forecast(split.x_test), split.x_test[:, -1, 0])


def test_naive_forecast_scores_on_the_course_test_set(split):
    prediction = naive_forecast(split.x_test)
    assert round(rmse(split.y_test, prediction), 1) == 125.1
    assert round(mae(split.y_test, prediction), 1) == 85.4
