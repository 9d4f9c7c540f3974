"""Check training data against a spec: every bound column, streamed, vectorised per chunk."""

from __future__ import annotations

import os

from ..diagnostics import Diagnostic
from ..frontend import CheckResult
from .binding import bind
from .source import open_data


def check_data(result: CheckResult, path: str | os.PathLike) -> list[Diagnostic]:
    """Check a data file against a spec that checked without errors; DataError if it cannot be read."""
    source = open_data(path)
    _, diagnostics = bind(result, source)
    return sorted(diagnostics)
