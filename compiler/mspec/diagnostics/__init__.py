"""The one Diagnostic type every stage reports through, and the code catalogue (from the rules).

A finding is built by its rule, by name: `rules.UNKNOWN_KEY.at(document,
path, message, hint)`; the rule gives it its code and severity.
"""

from __future__ import annotations

from .diagnostic import Diagnostic, Severity
from .rules import RULES

# The code catalogue, derived from the rule registry (compiler/mspec/diagnostics/rules.py):
# stable codes, never reused for another meaning.
CODES: dict[str, str] = {code: rule.summary for code, rule in RULES.items()}

__all__ = ["CODES", "Diagnostic", "Severity"]
