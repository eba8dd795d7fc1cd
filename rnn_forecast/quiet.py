"""Keep TensorFlow's start-up chatter out of notebooks, test cells and logs.

nbgrader scores a passing test cell 0 when it wrote anything to stderr, and nbval
fails a notebook whose stored outputs differ from a fresh run, so the noise TensorFlow
prints on import is not cosmetic here.
"""

import logging
import os

_QUIET_ENVIRONMENT = {
    # Read by TensorFlow's C++ runtime once, at import: 3 drops info, warnings and errors
    # such as "Could not find cuda drivers" on a machine without a GPU.
    "TF_CPP_MIN_LOG_LEVEL": "3",
    # The oneDNN notice is printed before the log level applies; turning the custom
    # oneDNN ops off also makes CPU results reproducible run to run.
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


def quiet_tensorflow() -> None:
    """Set TensorFlow's logging variables unless the user already chose values.

    Call before TensorFlow is imported; importing :mod:`rnn_forecast` does it for you.
    """
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def quiet_tensorflow_logger() -> None:
    """Keep TensorFlow's Python logger at ERROR once TensorFlow is imported.

    In an interactive session (Jupyter, IPython) TensorFlow sets its logger to INFO when it
    creates it, overriding the level chosen before the import, so warnings such as
    "... triggered tf.function retracing" (training several models in one notebook) would
    land in the notebook's outputs. :mod:`rnn_forecast.models` calls this on import.
    """
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
