"""Import Keras without TensorFlow's C++ start-up lines reaching the user.

TensorFlow's native code writes notes straight to file descriptor 2 while it
loads (oneDNN, CPU features, absl's "log messages before InitializeLog"),
past TF_CPP_MIN_LOG_LEVEL. They say nothing about the run, so the import
runs with descriptor 2 pointed at a temporary file, shown only if the import
fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Any


def import_keras() -> Any:
    """Import and return keras (and its backend), keeping the native start-up notes out of sight."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import importlib.util

            import keras

            # Keras' data pipelines use TensorFlow whatever the backend: load it now, quietly.
            if importlib.util.find_spec("tensorflow") is not None:
                import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            with contextlib.suppress(OSError):
                os.write(2, captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras
