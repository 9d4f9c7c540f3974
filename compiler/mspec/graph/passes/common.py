"""Building diagnostics for graph passes."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ...syntax.document import DataPath
from ..model import ModelGraph


def diagnostic(
    graph: ModelGraph,
    code: str,
    path: DataPath,
    message: str,
    hint: str | None = None,
    *,
    severity: Severity = Severity.ERROR,
    at: str = "key",
    node: str | None = None,
) -> Diagnostic:
    document = graph.spec.document
    loc = document.locate(path, prefer=at)
    return Diagnostic(document.path, loc.line, loc.col, code, severity, message, hint, node=node)
