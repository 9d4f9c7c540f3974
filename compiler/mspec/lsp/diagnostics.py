"""The checker's findings as LSP diagnostics: the same findings as `mspec lint`, with ranges and links."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ..diagnostics import Diagnostic
from ..diagnostics.rules import RULES
from ..syntax.document import Location
from .analysis import Analysis

SOURCE = "mspec"
# docs/diagnostics.md in a checkout of the repository (an editable install): a link editors can open.
_LOCAL_DOCS = Path(__file__).resolve().parents[3] / "docs" / "diagnostics.md"


def docs_base(configured: str | None = None) -> str | None:
    """Where the rule pages are: the configured address, else the checkout's docs/diagnostics.md."""
    if configured:
        return configured
    return _LOCAL_DOCS.as_uri() if _LOCAL_DOCS.is_file() else None


def rule_link(code: str, base: str | None) -> str | None:
    """The address of a rule's section of docs/diagnostics.md (its heading's anchor)."""
    if base is None or code not in RULES:
        return None
    return f"{base}#{code.lower()}"


def finding_range(analysis: Analysis, line: int, col: int) -> types.Range:
    """The range of the key or value a finding is located at (a table's: its header)."""
    return analysis.lines.range(*analysis.span(Location(line, col)))


def to_lsp(analysis: Analysis, diagnostic: Diagnostic, docs: str | None) -> types.Diagnostic:
    link = rule_link(diagnostic.code, docs)
    rule = RULES.get(diagnostic.code)
    message = diagnostic.message + (f"\n{diagnostic.hint}" if diagnostic.hint else "")
    if link is None and rule is not None:
        message += f"\n`mspec rule {diagnostic.code}` explains {rule.name}"
    return types.Diagnostic(
        range=finding_range(analysis, diagnostic.line, diagnostic.col),
        message=message,
        severity=types.DiagnosticSeverity.Error if diagnostic.is_error else types.DiagnosticSeverity.Warning,
        code=diagnostic.code,
        code_description=types.CodeDescription(href=link) if link else None,
        source=SOURCE,
        data={"node": diagnostic.node, "hint": diagnostic.hint},
    )


def lsp_diagnostics(
    analysis: Analysis, docs: str | None = None, previous: Analysis | None = None
) -> list[types.Diagnostic]:
    """Every finding of an analysis, in the checker's order; none for a file that is not a spec.

    A finding already converted for `previous` (the same finding on the same
    written key or value) is reused: after an edit most findings are where
    they were, and building protocol objects costs more than finding them.
    """
    cache = previous.converted if previous is not None and previous.converted_docs == docs else {}
    converted: dict[tuple, types.Diagnostic] = {}
    found = []
    for diagnostic in analysis.diagnostics:
        start, end = analysis.span(Location(diagnostic.line, diagnostic.col))
        # The finding and the text it covers fix its range.
        key = (diagnostic, analysis.text[start:end])
        item = cache.get(key)
        if item is None:
            item = to_lsp(analysis, diagnostic, docs)
        converted[key] = item
        found.append(item)
    analysis.converted, analysis.converted_docs = converted, docs
    return found
