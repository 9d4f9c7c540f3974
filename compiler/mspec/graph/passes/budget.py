"""Resource bounds: a model too large to build is reported before anything tries to build it."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import OVER_BUDGET
from ..model import ModelGraph

# Keras starts building a model of any size and the process dies when
# memory runs out; these limits turn that into a diagnostic.
MAX_PARAMS = 2_000_000_000  # weights in the whole model (about 8 GB as float32)
MAX_NODES = 100_000  # layer calls, inputs included
# Longest path from an input to an output, in layer calls. mspec itself works
# iteratively at any depth; this bounds what a build is asked to do.
MAX_GRAPH_DEPTH = 20_000
BYTES_PER_PARAM = 4


def check_budget(graph: ModelGraph) -> list[Diagnostic]:
    found = []
    if len(graph.nodes) > MAX_NODES:
        message = f"the model has {len(graph.nodes):,} nodes, more than the limit of {MAX_NODES:,}"
        found.append(OVER_BUDGET.at(graph.document, ("model",), message))
    depth, deepest = _longest_path(graph)
    if depth > MAX_GRAPH_DEPTH:
        message = f"the graph is {depth:,} layers deep, more than the limit of {MAX_GRAPH_DEPTH:,}"
        found.append(
            OVER_BUDGET.at(graph.document, graph.nodes[deepest].path, message, at="value", node=deepest)
        )
    total = sum(node.param_count or 0 for node in graph.nodes.values())
    if total > MAX_PARAMS:
        largest = max(graph.nodes.values(), key=lambda node: node.param_count or 0)
        message = (
            f"the model has {total:,} parameters ({_gigabytes(total)} as float32), more than the budget "
            f"of {MAX_PARAMS:,}; the largest layer is {graph.label(largest.id)} with {largest.param_count:,}"
        )
        hint = "shrink that layer"
        found.append(OVER_BUDGET.at(graph.document, largest.path, message, hint, at="value", node=largest.id))
    return found


def _longest_path(graph: ModelGraph) -> tuple[int, str | None]:
    """Return the number of layer calls on the longest input-to-node path, and its last node."""
    depth: dict[str, int] = {}
    deepest, best = None, 0
    for node in graph.topological_order():
        depth[node.id] = max((depth[i] for i in graph.predecessors[node.id]), default=0) + (
            node.role != "input"
        )
        if depth[node.id] > best:
            deepest, best = node.id, depth[node.id]
    return best, deepest


def _gigabytes(params: int) -> str:
    return f"{params * BYTES_PER_PARAM / 1e9:,.1f} GB"
