"""The diagnostics one import reports about the model, in the order it finds them."""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from .keras_format import Layer

# What the import leaves out or writes differently, and still imports: warnings, not errors.
WARNING_CODES = ("MS408", "MS409", "MS411")


class Reporter:
    """Collects the diagnostics of one model; every one is located at the model file's start."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def report(self, code: str, message: str, hint: str | None = None, *, node: str | None = None) -> None:
        severity = Severity.WARNING if code in WARNING_CODES else Severity.ERROR
        self.diagnostics.append(Diagnostic(self.path, 1, 1, code, severity, message, hint, node=node))

    def layer_error(self, layer: Layer, code: str, message: str, hint: str | None = None) -> None:
        """Report what keeps `layer` out of a spec; the layer is not reported again for what follows."""
        self.report(code, f"{layer.label}: {message}", hint, node=layer.name)
        layer.role = "bad"

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)
