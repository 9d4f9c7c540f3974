"""Outputs depend on inputs; inputs, branches, merges and shared layers are used.

Runs after shape inference: a node whose shape could not be inferred is in
error (or downstream of one), and neither it nor what feeds it is reported
as unused, nor what feeds an entry that failed validation (an output with a
misspelt metric does not make the whole model "unused").
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import OUTPUT_WITHOUT_INPUT, UNUSED_INPUT, UNUSED_NODE, UNUSED_SHARED_LAYER
from ...diagnostics.suggest import closest
from ..model import ModelGraph
from .cycles import cycle_components


def check_usage(graph: ModelGraph) -> list[Diagnostic]:
    spec = graph.spec
    found = []
    # Names whose problems are already reported: not reported again as unused.
    broken = {
        graph.nodes[ref.node].owner if ref.node in graph.nodes else ref.node for ref in graph.unresolved
    }
    broken |= spec.broken
    # A name used twice (MS203) is reported there, not again as unused.
    broken |= _names_used_twice(spec.document.data)
    if graph.has_cycle():
        for component in cycle_components(graph):
            broken |= {graph.nodes[n].owner for n in component}
    unresolved_nodes = {ref.node for ref in graph.unresolved}
    feeding_outputs = graph.feeding_outputs()
    # What feeds something already in error is not reported as unused: only root causes are.
    explained = _feeding_errors(graph)

    for name, output in spec.outputs.items():
        node_id = graph.outputs.get(name)
        if node_id is None:
            continue
        upstream = graph.ancestors(node_id) | {node_id}
        # An unknown reference explains a missing input already; a cycle does not.
        if not any(graph.nodes[n].role == "input" for n in upstream) and not upstream & unresolved_nodes:
            found.append(
                OUTPUT_WITHOUT_INPUT.at(
                    graph.document,
                    output.path,
                    f"output {name!r} does not depend on any input",
                    "every path back from an output must start at an input",
                )
            )

    for name in spec.inputs:
        if name not in feeding_outputs and name not in explained and name not in broken:
            found.append(
                UNUSED_INPUT.at(
                    graph.document,
                    ("inputs", name),
                    f"input {name!r} is not used by any output",
                    "remove it, or connect it to the model",
                )
            )
    for section, entries in (("branches", spec.branches), ("merges", spec.merges)):
        for name in entries:
            node_id = graph.tensors.get(name)
            if (
                node_id is not None
                and node_id not in feeding_outputs
                and node_id not in explained
                and name not in broken
            ):
                found.append(
                    UNUSED_NODE.at(
                        graph.document,
                        (section, name),
                        f"{name!r} is not used by any output",
                    )
                )
    used_shared = {node.shared for node in graph.nodes.values() if node.shared}
    used_shared |= _shared_named_by_broken_entries(graph)
    for ref in graph.unresolved:
        meant = closest(ref.name, spec.shared) if ref.shared else None
        if meant is not None:
            used_shared.add(meant)
    for name in spec.shared:
        if name not in used_shared and name not in broken:
            found.append(
                UNUSED_SHARED_LAYER.at(
                    graph.document,
                    ("shared", name),
                    f"shared layer {name!r} is never used",
                )
            )
    return found


def _feeding_errors(graph: ModelGraph) -> set[str]:
    """Nodes in error, downstream of one, or feeding one, or feeding an entry that failed validation."""
    spec = graph.spec
    seeds = {ref.node for ref in graph.unresolved if ref.node in graph.nodes}
    seeds |= {node.id for node in graph.nodes.values() if node.role != "input" and node.shape is None}
    data = spec.document.data
    for section in ("branches", "merges", "outputs"):
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for name in spec.broken & table.keys():
            raw = table[name]
            sources = raw.get("from") if isinstance(raw, dict) else None
            for source in sources if isinstance(sources, list) else [sources]:
                if isinstance(source, str) and source in graph.tensors:
                    seeds.add(graph.tensors[source])
            if name in graph.tensors:
                seeds.add(graph.tensors[name])
    # A misspelt reference probably meant the closest name: that node is not "unused". An output
    # reading a name like none of them may have meant any node: none is reported as unused.
    for ref in graph.unresolved:
        meant = None if ref.shared else closest(ref.name, graph.tensors)
        if meant is not None:
            seeds.add(graph.tensors[meant])
        elif not ref.shared and ref.path[0] == "outputs":
            return set(graph.nodes)
    explained = set(seeds)
    queue = list(seeds)
    while queue:
        for source in graph.predecessors[queue.pop()]:
            if source not in explained:
                explained.add(source)
                queue.append(source)
    return explained


def _shared_named_by_broken_entries(graph: ModelGraph) -> set[str]:
    """Shared layers that an entry which failed validation refers to (so its steps are not in the graph)."""
    spec = graph.spec
    named: set[str] = set()
    for section in ("branches", "outputs"):
        table = spec.document.data.get(section)
        if not isinstance(table, dict):
            continue
        for name in spec.broken & table.keys():
            raw = table[name]
            steps = raw.get("layers") if isinstance(raw, dict) else None
            for step in steps if isinstance(steps, list) else []:
                if isinstance(step, dict) and isinstance(step.get("shared"), str):
                    named.add(step["shared"])
    return named


def _names_used_twice(data: dict) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for section in ("inputs", "shared", "branches", "merges", "outputs"):
        table = data.get(section)
        for name in table if isinstance(table, dict) else ():
            (twice if name in seen else seen).add(name)
    return twice
