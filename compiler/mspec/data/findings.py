"""Diagnostics about training data, located at the spec entry (input or output) they concern."""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from ..frontend import CheckResult
from ..syntax.document import DataPath


def finding(
    result: CheckResult,
    path: DataPath,
    code: str,
    message: str,
    hint: str | None = None,
    *,
    warning: bool = False,
    at: str = "key",
    node: str | None = None,
) -> Diagnostic:
    """A diagnostic at `path` in the spec (its key, or its value with at="value")."""
    line, col = 1, 1
    if result.document is not None:
        loc = result.document.locate(path, prefer=at)
        line, col = loc.line, loc.col
    severity = Severity.WARNING if warning else Severity.ERROR
    return Diagnostic(result.path, line, col, code, severity, message, hint, node)


def quoted(names, limit: int = 8) -> str:
    """'a', 'b', 'c' (and 12 more)."""
    names = list(names)
    text = ", ".join(repr(n) for n in names[:limit])
    return text + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
