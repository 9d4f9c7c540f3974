"""Every `from` and `shared` reference names something that exists."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...suggest import did_you_mean
from ..model import ModelGraph
from .common import diagnostic


def check_references(model: ModelGraph) -> list[Diagnostic]:
    spec = model.spec
    node_names = [*spec.inputs, *spec.branches, *spec.merges, *spec.outputs]
    found = []
    for ref in model.unresolved:
        if ref.name in spec.broken:
            continue  # its own entry is already reported
        if ref.shared:
            found.append(
                diagnostic(
                    model,
                    "MS208",
                    ref.path,
                    f"unknown shared layer {ref.name!r}",
                    did_you_mean(ref.name, spec.shared) or "declare it under [shared]",
                    at="value",
                )
            )
        elif ref.name in spec.shared:
            found.append(
                diagnostic(
                    model,
                    "MS201",
                    ref.path,
                    f"{ref.name!r} is a shared layer, not a node",
                    f'use it as a step: layers = [{{ shared = "{ref.name}" }}]',
                    at="value",
                )
            )
        elif ref.name in spec.outputs and ref.name not in model.tensors:
            found.append(
                diagnostic(
                    model,
                    "MS201",
                    ref.path,
                    f"output {ref.name!r} has no layers of its own to read from",
                    f"read its source {spec.outputs[ref.name].source!r} instead",
                    at="value",
                )
            )
        else:
            found.append(
                diagnostic(
                    model,
                    "MS201",
                    ref.path,
                    f"unknown node {ref.name!r}",
                    did_you_mean(ref.name, node_names),
                    at="value",
                )
            )
    return found
