"""Keep the frameworks' Python log lines out of a run that fits many models (compare, tune).

Fitting and predicting model after model in one process makes TensorFlow log
"triggered tf.function retracing" warnings, and Optuna logs a line per
trial; neither says anything the run's own lines do not. Their loggers are
raised to ERROR for the run, and put back as they were afterwards.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

QUIETED = ("tensorflow", "absl", "optuna", "keras")


@contextlib.contextmanager
def framework_logs_quieted() -> Iterator[None]:
    """Raise the frameworks' loggers to ERROR within the block."""
    loggers = [logging.getLogger(name) for name in QUIETED]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
