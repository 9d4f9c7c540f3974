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


def keras_apply(step: dict, input_shapes: list[tuple], *, run: bool = False) -> KerasResult:
    """Call a fresh layer on symbolic inputs of the given shapes (batch first).

    With `run`, also call the built layer on arrays of ones (unknown sizes made
    concrete by `concrete_shape`): some mistakes only fail then, and a run whose
    output shape contradicts the symbolic one counts as a failure too.
    """
    import keras

    try:
        layer = make_layer(step)
        inputs = [
            keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step))
            for shape in input_shapes
        ]
        output = _call(layer, step, inputs)
        if isinstance(output, (list, tuple)):
            # Several outputs (return_state, merge_mode=None): one shape each, nothing to run.
            return KerasResult(tuple(tuple(o.shape) for o in output), layer.count_params())
        result = KerasResult(tuple(output.shape), layer.count_params())
        if run:
            arrays = [ones(shape, step) for shape in input_shapes]
            _check_run(_call(layer, step, arrays), result.output_shape)
        return result
    except Exception as error:  # Keras raises ValueError, TypeError, IndexError...
        return KerasResult(None, None, f"{type(error).__name__}: {error}")


def keras_shared(step: dict, input_shapes: list[tuple], *, run: bool = False) -> KerasResult:
    """Call ONE layer on each single-input shape in turn, as a shared layer is (`run`: see keras_apply)."""
    import keras

    try:
        layer = make_layer(step)
        output = None
        for shape in input_shapes:
            output = layer(keras.Input(shape=tuple(shape[1:]), batch_size=shape[0], dtype=dtype_for(step)))
            if run:
                _check_run(layer(ones(shape, step)), tuple(output.shape))
        return KerasResult(tuple(output.shape), layer.count_params())
    except Exception as error:
        return KerasResult(None, None, f"{type(error).__name__}: {error}")


# Sizes given to unknown dimensions when a layer is run on real arrays.
RUN_BATCH = 2
RUN_SIZE = 3


def concrete_shape(shape: tuple) -> tuple:
    """Replace unknown sizes: the batch by RUN_BATCH, any other by RUN_SIZE."""
    return tuple((RUN_BATCH if axis == 0 else RUN_SIZE) if d is None else d for axis, d in enumerate(shape))


def ones(shape: tuple, step: dict):
    """Return an input array: ones, or zeros for integer inputs (index 0 is valid for any vocabulary)."""
    import numpy as np

    dtype = dtype_for(step)
    fill = np.zeros if dtype.startswith("int") else np.ones
    return fill(concrete_shape(shape), dtype=dtype)


def _call(layer, step: dict, inputs: list):
    if step["type"] == "MultiHeadAttention":
        return layer(*inputs)
    if len(inputs) == 1 and step["type"] not in MULTI_INPUT:
        return layer(inputs[0])
    return layer(inputs)


def _check_run(output, symbolic: tuple) -> None:
    actual = tuple(output.shape)
    if len(actual) != len(symbolic) or any(
        d is not None and d != a for d, a in zip(symbolic, actual, strict=True)
    ):
        raise ValueError(f"running the layer gave shape {actual}, not the declared {symbolic}")


MULTI_INPUT = {
    "Concatenate",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Dot",
    "Attention",
}


def dtype_for(step: dict) -> str:
    return "int32" if step["type"] in {"Embedding", "CategoryEncoding"} else "float32"
