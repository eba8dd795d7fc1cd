"""The linear autoregression on log returns, and the averaging effect it feeds on."""

import numpy as np
import pytest

from rnn_forecast import mae, rmse
from rnn_forecast.autoregression import (
    fit_autoregression,
    lag_autocorrelation,
    log_returns,
    working_autocorrelation,
)
from rnn_forecast.comparison import autoregression_score, drift_score


def test_monthly_averages_of_a_random_walk_have_workings_autocorrelation():
    """Simulated: 21 steps a month, 20,000 months; the averages' changes correlate as Working says."""
    steps = np.random.default_rng(0).normal(size=(20_000 * 21))
    monthly_averages = np.cumsum(steps).reshape(20_000, 21).mean(axis=1)
    changes = np.diff(monthly_averages)
    assert lag_autocorrelation(changes) == pytest.approx(working_autocorrelation(21), abs=0.02)
    assert lag_autocorrelation(np.diff(np.cumsum(steps)[20::21])) == pytest.approx(0.0, abs=0.02)


def test_the_course_series_has_the_lag_one_autocorrelation_lesson_3_quotes(series):
    returns = log_returns(series["close"])
    assert len(returns) == 916
    assert round(lag_autocorrelation(returns), 3) == 0.218


def test_autoregression_scores_on_the_course_test_set(split):
    """The figures of issue 17: one lag 119.0 / 77.5, two lags 118.3 / 77.3, both better than drift."""
    for lags, expected in [(1, (119.0, 77.5)), (2, (118.3, 77.3))]:
        prediction = fit_autoregression(split.x_train, split.y_train, lags).forecast(split.x_test)
        assert (round(rmse(split.y_test, prediction), 1), round(mae(split.y_test, prediction), 1)) == expected
    score, drift = autoregression_score(split), drift_score(split)
    assert score.rmse < drift.rmse
    assert score.mae < drift.mae


def test_one_lag_slope_is_about_the_training_returns_autocorrelation(series, split):
    """Least squares on one lag estimates the lag-1 autocorrelation of the returns it is fitted on."""
    model = fit_autoregression(split.x_train, split.y_train)
    training_months = len(split.y_train) + 12  # the months the training windows and targets cover
    returns = log_returns(series["close"][:training_months])
    assert model.coefficients[0] == pytest.approx(lag_autocorrelation(returns), abs=0.02)
    assert model.intercept == pytest.approx(returns.mean() * (1 - model.coefficients[0]), abs=5e-4)


def test_autoregression_refuses_more_lags_than_a_window_has_returns(split):
    with pytest.raises(ValueError, match="has 1 to 11 returns"):
        fit_autoregression(split.x_train, split.y_train, lags=12)
