"""The diagnostics one import reports about the model, in the order it finds them."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..diagnostics.rules import Rule
from .keras_format import Layer


class Reporter:
    """Collects the diagnostics of one model; every one is located at the model file's start."""

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def report(self, rule: Rule, message: str, hint: str | None = None, *, node: str | None = None) -> None:
        """Report `rule` about the model."""
        self.diagnostics.append(rule.at_file(self.path, message, hint, node=node))

    def layer_error(self, layer: Layer, rule: Rule, message: str, hint: str | None = None) -> None:
        """Report what keeps `layer` out of a spec; the layer is not reported again for what follows."""
        self.report(rule, f"{layer.label}: {message}", hint, node=layer.name)
        layer.role = "bad"

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)
