"""The old way graph passes built diagnostics, kept while some passes still name their rule by code.

New code calls the rule itself: `rules.MASK_DROPPED.at(graph.document, path,
message, hint, node=...)`, which takes the severity the rule declares.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ...diagnostics.rules import Rule, rule_of
from ...syntax.document import DataPath
from ..model import ModelGraph


def diagnostic(
    graph: ModelGraph,
    rule: Rule | str,
    path: DataPath,
    message: str,
    hint: str | None = None,
    *,
    severity: Severity | None = None,
    at: str = "key",
    node: str | None = None,
) -> Diagnostic:
    """Report `rule` (or the rule of a code) at `path` in the graph's spec; to be replaced by `rule.at`.

    `severity`, when given, must be the one the rule declares: a rule is reported with one severity.
    """
    found = rule_of(rule)
    if severity is not None and severity != found.severity:
        raise ValueError(f"{found.code} is declared as {found.severity}, not {severity}")
    return found.at(graph.document, path, message, hint, at=at, node=node)
