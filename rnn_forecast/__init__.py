"""Shared code of the course "Gated recurrent networks: GRU and LSTM".

The lessons, the exercises and the autograder import this one implementation of
data loading, windows, splits, scaling, model building, metrics and baselines.

Importing the package quiets TensorFlow: its C++ logging level is read once, when
TensorFlow is first imported, so it has to be in the environment before that.
"""

from rnn_forecast.quiet import quiet_tensorflow

quiet_tensorflow()

from rnn_forecast.data import (  # noqa: E402  (TensorFlow must be quieted first)
    DATA_PATH,
    DataFileError,
    describe_series,
    load_monthly_series,
)
from rnn_forecast.metrics import drift_forecast, mae, mean_growth, naive_forecast, rmse  # noqa: E402  (as above)
from rnn_forecast.windows import (  # noqa: E402  (as above)
    TEST_WINDOWS,
    WINDOW,
    chronological_split,
    from_scale_free,
    make_windows,
    to_scale_free,
)

__all__ = [
    "DATA_PATH",
    "TEST_WINDOWS",
    "WINDOW",
    "DataFileError",
    "chronological_split",
    "describe_series",
    "drift_forecast",
    "from_scale_free",
    "load_monthly_series",
    "mae",
    "make_windows",
    "mean_growth",
    "naive_forecast",
    "quiet_tensorflow",
    "rmse",
    "to_scale_free",
]
