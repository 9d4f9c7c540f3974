"""Keras model configurations written by hand, as `model.to_json()` saves them, for tests without Keras."""

from __future__ import annotations


def keras_tensor(name: str, node: int = 0, index: int = 0) -> dict:
    """A reference to output `index` of call `node` of layer `name`, as an inbound node holds it."""
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, index]}}


def keras_layer(cls: str, name: str, config: dict, *sources, module: str = "keras.layers", **extra) -> dict:
    """A layer called once per source: a layer name (its first output) or the call's arguments as given."""
    nodes = [{"args": [keras_tensor(s) if isinstance(s, str) else s], "kwargs": {}} for s in sources]
    return {"module": module, "class_name": cls, "config": {"name": name, **config}, "name": name,
            "inbound_nodes": nodes, **extra}  # fmt: skip


def functional_model(*layers: dict, inputs=("x",), outputs=("y",), **top) -> dict:
    """A Functional model named hand_made: an InputLayer of 4 features per input, then `layers`."""
    return {
        "class_name": "Functional",
        "config": {
            "name": "hand_made",
            "layers": [keras_layer("InputLayer", name, {"batch_shape": [None, 4]}) for name in inputs]
            + list(layers),
            "input_layers": [[name, 0, 0] for name in inputs],
            "output_layers": [[name, 0, 0] for name in outputs],
        },
        **top,
    }
