"""SpectralNormalization: a wrapper that divides its layer's kernel by its largest singular value."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from .base import LayerKind, LayerParams, PositiveInt, Shape, ShapeError, register
from .call import LayerCall, make_call

# The wrapped kinds whose kernel (or embedding table) has its output size on the last axis:
# Keras adds a vector of that size, estimated by power iteration.
NORMALIZABLE = ("Dense", "Embedding", "Conv1D", "Conv2D", "Conv3D")


class SpectralNormalizationParams(LayerParams):
    layer: Any
    power_iterations: PositiveInt = 1

    @field_validator("layer", mode="before")
    @classmethod
    def _kernel_layer(cls, value: Any) -> LayerCall:
        if isinstance(value, LayerCall):
            call = value
        elif isinstance(value, dict) and "type" in value:
            call = make_call(value)
        else:
            raise ValueError(
                "layer must be a layer table with a 'type', such as { type = \"Dense\", units = 8 }"
            )
        if call.kind.name not in NORMALIZABLE:
            raise ValueError(
                f"SpectralNormalization wraps a layer with a kernel ({', '.join(NORMALIZABLE)}), "
                f"got {call.kind.name}"
            )
        return call


def _shape(p: SpectralNormalizationParams, shapes) -> Shape:
    inner: LayerCall = p.layer
    return inner.kind.output_shape(inner.params, shapes)


def _output_size(inner: LayerCall) -> int:
    params = inner.params
    for name in ("units", "output_dim", "filters"):
        if hasattr(params, name):
            return getattr(params, name)
    raise ShapeError(f"SpectralNormalization cannot size the kernel of {inner.kind.name}")


def _count(p: SpectralNormalizationParams, shapes) -> int:
    inner: LayerCall = p.layer
    return inner.kind.param_count(inner.params, shapes) + _output_size(inner)


def _keys(p: SpectralNormalizationParams, shapes) -> dict:
    inner: LayerCall = p.layer
    return inner.kind.build_axes(inner.params, shapes)


register(
    LayerKind(
        "SpectralNormalization", SpectralNormalizationParams, _shape, _count, "core",
        "Wraps a Dense, Embedding or convolution `layer` and divides its kernel by its spectral norm in "
        "training.",
        build_axes=_keys, key_params=("layer",), wraps=True, positional=("layer",),
    )
)  # fmt: skip
