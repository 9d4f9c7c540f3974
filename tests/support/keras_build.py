"""The shapes of a model Keras built from a graph, as mspec's static shapes compare with them."""

from __future__ import annotations

from collections import Counter

from mspec.backends.codegen.python import layer_names


def as_keras(shape) -> tuple:
    """Forget dimension names: Keras only has sizes and None."""
    return tuple(d if isinstance(d, int) else None for d in shape)


def keras_shapes(graph, model) -> dict[str, tuple]:
    """The output shape Keras built for every node of the graph that is in the model.

    Nodes no output depends on are generated and called, but Keras leaves
    them out of the model: they have no shape here.
    """
    names = layer_names(graph)
    in_model = graph.feeding_outputs()
    uses: Counter[str] = Counter()
    shapes = {}
    for node in graph.topological_order():
        if node.id not in in_model and node.role != "input":
            uses[node.shared] += node.shared is not None  # still a call of the shared layer
            continue
        if node.role == "input":
            tensor = model.get_layer(node.id).output
        elif node.shared is not None:
            # The i-th call of a shared layer is its i-th inbound node, in code order.
            layer = model.get_layer(names[f"shared:{node.shared}"])
            tensor = layer._inbound_nodes[uses[node.shared]].outputs[0]
            uses[node.shared] += 1
        else:
            tensor = model.get_layer(names[node.id]).output
        shapes[node.id] = tuple(tensor.shape)
    return shapes
