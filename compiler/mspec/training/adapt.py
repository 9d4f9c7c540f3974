"""Give every stateful preprocessing layer the spec leaves without state its state, from the training data.

Keras' Normalization without `mean`/`variance` is the identity until someone
calls `adapt`; StringLookup, IntegerLookup and TextVectorization without a
vocabulary, and Discretization without `bin_boundaries`, fail on the first
batch. `fit` calls `adapt` before training, on the tensor that reaches the
layer (the input itself, or what the layers before it make of the input).
"""

from __future__ import annotations

from typing import Any

from ..graph.layer_names import layer_names
from ..graph.model import ModelGraph
from ..layers.base import Trait


def needs_adapt(call: Any) -> bool:
    """Whether a layer call is a stateful preprocessing layer whose spec gives no state.

    Such a kind has the ADAPTS trait and names the parameter holding its state (`adapt_state`).
    """
    kind = call.kind
    return Trait.ADAPTS in kind.traits and getattr(call.params, kind.adapt_state) is None


def layers_to_adapt(graph: ModelGraph) -> list[str]:
    """Keras names of the layers to adapt (see `needs_adapt`), in graph order."""
    names = layer_names(graph)
    found: list[str] = []
    for node in graph.topological_order():
        call = graph.spec.shared.get(node.shared) if node.shared else node.call
        if call is None or not needs_adapt(call):
            continue
        name = names[f"shared:{node.shared}"] if node.shared else names[node.id]
        if name not in found:
            found.append(name)
    return found


def adapt_layers(model: Any, graph: ModelGraph, x: Any, batch_size: int) -> list[str]:
    """Adapt each layer that needs it on `x` (dict of arrays, or a tf.data of (x, ...)).

    Returns the names of the layers adapted.
    """
    import keras

    adapted = []
    for name in layers_to_adapt(graph):
        layer = model.get_layer(name)
        reaching = layer.input  # the first call's input, for a shared layer
        if any(reaching is tensor for tensor in model.inputs):
            input_name = reaching.name.split(":")[0] if hasattr(reaching, "name") else None
            data = _select(x, _input_key(model, reaching, input_name))
        else:
            feature_model = keras.Model(model.inputs, reaching)
            data = _features(feature_model, x, batch_size)
        layer.adapt(data)
        adapted.append(name)
    return adapted


# The names callers knew when only Normalization layers were adapted.
normalizations_to_adapt = layers_to_adapt
adapt_normalizations = adapt_layers


def _input_key(model: Any, tensor: Any, fallback: str | None) -> str:
    for index, candidate in enumerate(model.inputs):
        if candidate is tensor:
            return model.input_names[index] if hasattr(model, "input_names") else candidate.name
    return fallback or ""


def _select(x: Any, key: str) -> Any:
    if isinstance(x, dict):
        return x[key]
    return x.map(lambda features, *_: features[key])


def _features(feature_model: Any, x: Any, batch_size: int) -> Any:
    if isinstance(x, dict):
        return feature_model.predict(x, batch_size=batch_size, verbose=0)
    return x.map(lambda features, *_: feature_model(features, training=False))
