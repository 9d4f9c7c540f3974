"""Running `mspec import` as a user would, and Keras only for the tests that need it."""

from __future__ import annotations

import functools
import os

import pytest
from click.testing import CliRunner

from mspec.cli import main


def invoke_import(*args: str):
    """Run `mspec import ARGS` in this process; the result has exit_code, stdout and stderr."""
    return CliRunner().invoke(main, ["import", *args])


@functools.cache
def keras_or_skip():
    """Import Keras quietly, or skip the test when the tensorflow extra is not installed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")
