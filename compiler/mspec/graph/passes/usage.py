"""Outputs depend on inputs; inputs, branches, merges and shared layers are used."""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ..model import ModelGraph
from .common import diagnostic
from .cycles import cycle_components


def check_usage(model: ModelGraph) -> list[Diagnostic]:
    spec = model.spec
    found = []
    # Names whose problems are already reported: not reported again as unused.
    broken = {
        model.nodes[ref.node].owner if ref.node in model.nodes else ref.node for ref in model.unresolved
    }
    broken |= spec.broken
    if model.has_cycle():
        for component in cycle_components(model):
            broken |= {model.nodes[n].owner for n in component}
    unresolved_nodes = {ref.node for ref in model.unresolved}
    feeding_outputs = model.feeding_outputs()

    for name, output in spec.outputs.items():
        node_id = model.outputs.get(name)
        if node_id is None:
            continue
        upstream = model.ancestors(node_id) | {node_id}
        # An unknown reference explains a missing input already; a cycle does not.
        if not any(model.nodes[n].role == "input" for n in upstream) and not upstream & unresolved_nodes:
            found.append(
                diagnostic(
                    model,
                    "MS204",
                    output.path,
                    f"output {name!r} does not depend on any input",
                    "every path back from an output must start at an input",
                )
            )

    for name in spec.inputs:
        if name not in feeding_outputs:
            found.append(
                diagnostic(
                    model,
                    "MS205",
                    ("inputs", name),
                    f"input {name!r} is not used by any output",
                    "remove it, or connect it to the model",
                    severity=Severity.WARNING,
                )
            )
    for section, entries in (("branches", spec.branches), ("merges", spec.merges)):
        for name in entries:
            node_id = model.tensors.get(name)
            if node_id is not None and node_id not in feeding_outputs and name not in broken:
                found.append(
                    diagnostic(
                        model,
                        "MS206",
                        (section, name),
                        f"{name!r} is not used by any output",
                        severity=Severity.WARNING,
                    )
                )
    used_shared = {node.shared for node in model.nodes.values() if node.shared}
    for name in spec.shared:
        if name not in used_shared and name not in spec.broken:
            found.append(
                diagnostic(
                    model,
                    "MS207",
                    ("shared", name),
                    f"shared layer {name!r} is never used",
                    severity=Severity.WARNING,
                )
            )
    return found
