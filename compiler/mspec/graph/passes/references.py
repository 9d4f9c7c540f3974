"""Every `from` and `shared` reference names something that exists."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import UNKNOWN_NODE, UNKNOWN_SHARED_LAYER, Rule
from ...diagnostics.suggest import did_you_mean
from ..model import ModelGraph, Unresolved


def check_references(graph: ModelGraph) -> list[Diagnostic]:
    found = []
    for ref in graph.unresolved:
        if ref.name in graph.spec.broken:
            continue  # its own entry is already reported
        rule, message, hint = _explain(graph, ref)
        found.append(rule.at(graph.document, ref.path, message, hint, at="value", node=ref.node))
    return found


def _explain(graph: ModelGraph, ref: Unresolved) -> tuple[Rule, str, str | None]:
    """Say what is wrong with a reference, and what was probably meant."""
    spec = graph.spec
    if ref.shared:
        hint = did_you_mean(ref.name, spec.shared) or "declare it under [shared]"
        return UNKNOWN_SHARED_LAYER, f"unknown shared layer {ref.name!r}", hint
    if ref.name in spec.shared:
        hint = f'use it as a step: layers = [{{ shared = "{ref.name}" }}]'
        return UNKNOWN_NODE, f"{ref.name!r} is a shared layer, not a node", hint
    if ref.name in spec.outputs and ref.name not in graph.tensors:
        hint = f"read its source {spec.outputs[ref.name].source!r} instead"
        return UNKNOWN_NODE, f"output {ref.name!r} has no layers of its own to read from", hint
    node_names = [*spec.inputs, *spec.branches, *spec.merges, *spec.outputs]
    return UNKNOWN_NODE, f"unknown node {ref.name!r}", did_you_mean(ref.name, node_names)
