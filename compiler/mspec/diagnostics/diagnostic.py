"""The one Diagnostic type every stage reports through, and its severities.

Kept apart from the package's `__init__` so that the rule catalogue
(`rules.py`), which builds diagnostics, can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about a spec, located in its source file.

    Ordering is by file, then position, then code, so any list of diagnostics
    sorts into the order a reader expects. Build one with a rule's `at`,
    `at_position` or `at_file` (see `mspec.diagnostics.rules`), which give it
    the rule's code and severity.
    """

    file: str
    line: int
    col: int
    code: str
    severity: Severity
    message: str
    hint: str | None = None
    # The graph node at fault, when there is one (diagrams mark it); not part
    # of the printed form, nor of the ordering.
    node: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def format(self) -> str:
        """Render as `PATH:LINE:COL: CODE severity: message (hint)`."""
        text = f"{self.file}:{self.line}:{self.col}: {self.code} {self.severity.value}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "node": self.node,
        }
