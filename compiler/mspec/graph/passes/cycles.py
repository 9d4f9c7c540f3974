"""The graph is a DAG: report each cycle once, with its path."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CYCLE
from ..model import ModelGraph


def check_cycles(graph: ModelGraph) -> list[Diagnostic]:
    if not graph.has_cycle():
        return []
    found = []
    components = cycle_components(graph)
    for component in sorted(components, key=lambda c: min(graph.nodes[n].order for n in c)):
        start = min(component, key=lambda n: graph.nodes[n].order)
        cycle = _walk(graph, start, component)
        names = []
        for node_id in cycle:
            owner = graph.nodes[node_id].owner
            if not names or names[-1] != owner:
                names.append(owner)
        if len(names) > 1 and names[0] == names[-1]:
            names.pop()
        shown = " -> ".join([*names, names[0]])
        node = graph.nodes[start]
        path = (*node.path, "from") if node.role == "merge" else node.path
        hint = "a model is a DAG: break the loop by changing one `from`"
        found.append(CYCLE.at(graph.document, path, f"cycle: {shown}", hint, node=start))
    return found


def cycle_components(graph: ModelGraph) -> list[set[str]]:
    """Return the sets of nodes that lie on cycles (networkx finds them iteratively)."""
    import networkx as nx

    digraph = graph.as_networkx()
    components = [c for c in nx.strongly_connected_components(digraph) if len(c) > 1]
    return components + [{n} for n in digraph.nodes if digraph.has_edge(n, n)]


def _walk(graph: ModelGraph, start: str, component: set[str]) -> list[str]:
    """Follow edges inside the component from `start` back to `start` (shortest loop)."""
    import networkx as nx

    sub = graph.as_networkx().subgraph(component)
    best = None
    for pred in sorted(sub.predecessors(start), key=lambda n: graph.nodes[n].order):
        path = nx.shortest_path(sub, start, pred)
        if best is None or len(path) < len(best):
            best = path
    return best or [start]
