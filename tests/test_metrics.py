"""Errors in index points and the naive and drift baselines."""

import numpy as np
import pytest

from rnn_forecast import drift_forecast, mae, mean_growth, naive_forecast, rmse


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


def test_mean_growth_is_the_mean_ratio_of_next_to_last_month():
    x = np.array([[[5.0], [10.0]], [[3.0], [4.0]]])
    assert mean_growth(x, [11.0, 5.0]) == pytest.approx((1.1 + 1.25) / 2)


def test_drift_forecast_scales_the_last_month(split):
    growth = mean_growth(split.x_train, split.y_train)
    np.testing.assert_allclose(drift_forecast(split.x_test, growth), split.x_test[:, -1, 0] * growth)
    np.testing.assert_array_equal(drift_forecast(split.x_test, 1.0), naive_forecast(split.x_test))


def test_drift_uses_the_training_windows_only_and_beats_the_naive_forecast(split):
    growth = mean_growth(split.x_train, split.y_train)
    assert round(growth, 4) == 1.0064
    drift = drift_forecast(split.x_test, growth)
    naive = naive_forecast(split.x_test)
    assert rmse(split.y_test, drift) < rmse(split.y_test, naive)
    assert mae(split.y_test, drift) < mae(split.y_test, naive)
