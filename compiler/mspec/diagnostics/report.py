"""Counts what the checks found across files and decides the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Diagnostic

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_CANNOT_RUN = 2


@dataclass
class Report:
    files: int = 0
    errors: int = 0
    warnings: int = 0
    failures: list[str] = field(default_factory=list)  # files that could not be read at all
    stale: list[str] = field(default_factory=list)  # outputs that differ from what would be written

    def add(self, diagnostics: list[Diagnostic]) -> None:
        self.files += 1
        for d in diagnostics:
            if d.is_error:
                self.errors += 1
            else:
                self.warnings += 1

    def cannot_run(self, message: str) -> None:
        self.failures.append(message)

    @property
    def exit_code(self) -> int:
        if self.failures:
            return EXIT_CANNOT_RUN
        return EXIT_ERRORS if self.errors or self.stale else EXIT_OK

    def summary(self) -> str:
        def plural(n: int, word: str) -> str:
            return f"{n} {word}{'' if n == 1 else 's'}"

        found = f"{plural(self.errors, 'error')}, {plural(self.warnings, 'warning')}"
        text = f"{plural(self.files, 'file')} checked: {found}"
        if self.failures:
            text += f"; {plural(len(self.failures), 'file')} could not be read"
        return text
