"""Where an input's values are first read: past the layers that only move them (`Trait.PASSES_IDS`).

The data binding bounds the ids an Embedding reads, explain's ablation
replaces them, and the export manifest describes what each input takes: all
three ask which nodes take an input's values as they are in the data.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..layers.base import Trait
from .model import ModelGraph


def first_readers(graph: ModelGraph, start: str) -> list[tuple[str, Any]]:
    """(node id, layer call) of the nodes that take `start`'s values first, breadth first.

    A wrapper stands for its wrapped layer (TimeDistributed(Embedding) reads ids); a merge is a
    reader too (its node's role says so).
    """
    found: list[tuple[str, Any]] = []
    seen: set[str] = set()
    queue = deque(graph.successors.get(start, ()))
    while queue:
        node_id = queue.popleft()
        if node_id in seen:
            continue
        seen.add(node_id)
        node = graph.nodes[node_id]
        call = node.call
        if call is not None and call.kind.wraps and getattr(call.params, "layer", None) is not None:
            call = call.params.layer
        if node.role == "step" and call is not None and Trait.PASSES_IDS in call.kind.traits:
            queue.extend(graph.successors.get(node_id, ()))
        else:
            found.append((node_id, call))
    return found
