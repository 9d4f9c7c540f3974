"""The Keras name of every layer a spec's model has: the names the generated code gives them.

The code generator writes these names; what looks a layer up by name in a
built model (the balance probe, importance, the export manifest) reads them
here, below the back ends, without importing the code generator.
"""

from __future__ import annotations

import re

from ..layers.call import LayerCall
from .model import ModelGraph


def _snake(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


class _LayerNames:
    """Gives every Keras layer a unique, stable name derived from spec names."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        # The next suffix to try for each base: a long chain of `x_dense`,
        # `x_dense_2`, ... stays linear instead of rescanning from 2 each time.
        self.next_suffix: dict[str, int] = {}

    def fresh(self, base: str) -> str:
        name = base
        suffix = self.next_suffix.get(base, 2)
        while name in self.taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self.next_suffix[base] = suffix
        self.taken.add(name)
        return name


def layer_names(graph: ModelGraph) -> dict[str, str]:
    """Return the Keras name of every layer the generated code creates.

    Keys are node ids; a shared layer is keyed `shared:NAME` and the layer
    inside a wrapper `KEY/layer`. The last layer of a branch, merge or output
    is named after it; other steps `OWNER_KIND` (`x1_dense`), made unique.
    """
    spec = graph.spec
    given = _given_names(graph)
    fresh = _LayerNames(
        {*spec.inputs, *spec.shared, *spec.branches, *spec.merges, *spec.outputs, *given}
    ).fresh
    names: dict[str, str] = {}

    def add(key: str, name: str, call: LayerCall | None) -> None:
        # A step's own `name` wins over the name derived from spec names.
        names[key] = call.name if call is not None and call.name else name
        if call is not None and call.kind.wraps:
            inner = call.params.layer
            add(f"{key}/layer", inner.name or fresh(f"{names[key]}_{_snake(inner.kind.name)}"), inner)

    for name in shared_layers_used(graph):
        add(f"shared:{name}", name, spec.shared[name])
    for node in graph.topological_order():
        if node.role == "input" or node.shared is not None:
            continue
        is_last = graph.tensors.get(node.owner) == node.id
        if node.call.name:
            add(node.id, node.call.name, node.call)
            continue
        add(
            node.id,
            node.owner if is_last else fresh(f"{node.owner}_{_snake(node.call.kind.name)}"),
            node.call,
        )
    return names


def _given_names(graph: ModelGraph) -> set[str]:
    """The Keras layer names steps give themselves (`name = "..."`), wrapped layers included."""
    given: set[str] = set()

    def visit(call: LayerCall | None) -> None:
        if call is None:
            return
        if call.name:
            given.add(call.name)
        if call.kind.wraps and isinstance(call.params.layer, LayerCall):
            visit(call.params.layer)

    for call in graph.spec.shared.values():
        visit(call)
    for node in graph.nodes.values():
        visit(node.call)
    return given


def shared_layers_used(graph: ModelGraph) -> list[str]:
    """The shared layers some node calls, in the order the spec declares them."""
    used = {node.shared for node in graph.nodes.values() if node.shared}
    return [name for name in graph.spec.shared if name in used]
