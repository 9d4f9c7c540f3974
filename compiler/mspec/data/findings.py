"""Diagnostics about training data, located at the spec entry (input or output) they concern."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..diagnostics.rules import Rule
from ..frontend import CheckResult
from ..syntax.document import DataPath


def finding(
    result: CheckResult,
    path: DataPath,
    rule: Rule,
    message: str,
    hint: str | None = None,
    *,
    at: str = "key",
    node: str | None = None,
) -> Diagnostic:
    """Report `rule` at `path` in the spec (its key, or its value with at="value").

    Without a loaded spec the finding is placed at the start of the file.
    """
    if result.document is None:
        return rule.at_file(result.path, message, hint, node=node)
    return rule.at(result.document, path, message, hint, at=at, node=node)


def quoted(names, limit: int = 8) -> str:
    """'a', 'b', 'c' (and 12 more)."""
    names = list(names)
    text = ", ".join(repr(n) for n in names[:limit])
    return text + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
