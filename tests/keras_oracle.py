"""Ask Keras itself what a layer does: output shape, weight count, or refusal.

The reference for every differential test. Imports Keras lazily so that
collecting tests does not pay for TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@dataclass(frozen=True)
class KerasResult:
    """What Keras did with one layer call: a shape and a count, or an error."""

    output_shape: tuple | None
    param_count: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def make_layer(step: dict):
    """Instantiate a Keras layer from a spec step table ({type=..., params...})."""
    import keras

    params = dict(step)
    class_name = params.pop("type")
    if "layer" in params:
        params["layer"] = make_layer(params["layer"])
    for key, value in params.items():
        # Keras wants tuples where specs write lists (kernel_size, target_shape...).
        if isinstance(value, list):
            params[key] = tuple(value)
    return getattr(keras.layers, class_name)(**params)


def keras_apply(step: dict, input_shapes: list[tuple]) -> KerasResult:
    """Call a fresh layer on symbolic inputs of the given shapes (batch first)."""
    import keras

    try:
        layer = make_layer(step)
        inputs = [
            keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step))
            for shape in input_shapes
        ]
        if step["type"] == "MultiHeadAttention":
            output = layer(*inputs)
        elif len(inputs) == 1 and step["type"] not in MULTI_INPUT:
            output = layer(inputs[0])
        else:
            output = layer(inputs)
        return KerasResult(tuple(output.shape), layer.count_params())
    except Exception as error:  # Keras raises ValueError, TypeError, IndexError...
        return KerasResult(None, None, f"{type(error).__name__}: {error}")


def keras_shared(step: dict, input_shapes: list[tuple]) -> KerasResult:
    """Call ONE layer on each single-input shape in turn, as a shared layer is."""
    import keras

    try:
        layer = make_layer(step)
        output = None
        for shape in input_shapes:
            output = layer(keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step)))
        return KerasResult(tuple(output.shape), layer.count_params())
    except Exception as error:
        return KerasResult(None, None, f"{type(error).__name__}: {error}")


MULTI_INPUT = {"Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot", "Attention"}


def dtype_for(step: dict) -> str:
    return "int32" if step["type"] in {"Embedding", "CategoryEncoding"} else "float32"
