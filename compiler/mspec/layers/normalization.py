"""Normalization layers: batch, layer, group, unit and RMS normalization, and the
SpectralNormalization wrapper."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from . import dtypes as dt
from .base import (
    FieldGroup,
    LayerKind,
    LayerParams,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    axis_list,
    distinct_axes,
    normalize_axis,
    product,
    register,
    require_known,
)
from .call import LayerCall, make_call
from .weights import BETA, GAMMA, MOVING_MEAN, MOVING_VARIANCE, Weights


def _no_weights(p, shapes) -> int:
    return 0


class BatchNormalizationParams(LayerParams):
    axis: int = -1
    momentum: float = Field(0.99, ge=0, le=1)
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True
    weights: FieldGroup = Weights(BETA, GAMMA, MOVING_MEAN, MOVING_VARIANCE)


def _batch_norm_shape(p: BatchNormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    axis = normalize_axis(p.axis, len(shape), "BatchNormalization", shape)
    require_known(shape[axis], f"size on axis {p.axis}", shape, "BatchNormalization")
    return shape


def _batch_norm_count(p: BatchNormalizationParams, shapes) -> int:
    channels = shapes[0][p.axis]
    # Moving mean and variance always exist; gamma and beta only if asked for.
    return channels * (2 + int(p.center) + int(p.scale))


register(
    LayerKind(
        "BatchNormalization",
        BatchNormalizationParams,
        _batch_norm_shape,
        _batch_norm_count,
        "normalization",
        "Normalizes with batch statistics (moving averages at inference).",
        build_axes=lambda p, shapes: {(0, p.axis): shapes[0][p.axis]},
        # Keras' InputSpec after the first build fixes the rank as well as the channels.
        build_rank=True,
        traits=frozenset({Trait.CALL_TAKES_MASK, Trait.KEEPS_MASK}),
        dtypes=dt.PROMOTES,
    )
)


class LayerNormalizationParams(LayerParams):
    axis: int | list[int] = -1
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True
    weights: FieldGroup = Weights(BETA, GAMMA)

    @property
    def axes(self) -> list[int]:
        return [self.axis] if isinstance(self.axis, int) else list(self.axis)


def _layer_norm_weighted(p: LayerNormalizationParams) -> bool:
    return p.center or p.scale


def _layer_norm_shape(p: LayerNormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    for axis in distinct_axes(p.axes, shape, "LayerNormalization"):
        # Without gamma and beta nothing is built from the size.
        if _layer_norm_weighted(p):
            require_known(shape[axis], f"size on axis {axis}", shape, "LayerNormalization")
    return shape


def _layer_norm_count(p: LayerNormalizationParams, shapes) -> int:
    if not _layer_norm_weighted(p):
        return 0
    size = product([shapes[0][a] for a in p.axes])
    return size * (int(p.center) + int(p.scale))


def _layer_norm_keys(p: LayerNormalizationParams, shapes) -> dict:
    if not _layer_norm_weighted(p):
        return {}
    return {(0, a): shapes[0][a] for a in p.axes}


register(
    LayerKind(
        "LayerNormalization",
        LayerNormalizationParams,
        _layer_norm_shape,
        _layer_norm_count,
        "normalization",
        "Normalizes each sample over `axis`.",
        build_axes=_layer_norm_keys,
        traits=frozenset({Trait.KEEPS_MASK}),
        dtypes=dt.PROMOTES,
    )
)


# --- GroupNormalization -----------------------------------------------------


class GroupNormalizationParams(LayerParams):
    # -1 puts every channel in a group of its own (instance normalization).
    groups: int = 32
    axis: int = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    weights: FieldGroup = Weights(BETA, GAMMA)

    @model_validator(mode="after")
    def _check_groups(self):
        if self.groups <= 0 and self.groups != -1:
            raise ValueError(
                f"groups must be a positive integer, or -1 for one group per channel; got {self.groups}"
            )
        return self


def _group_norm_shape(p: GroupNormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    axis = normalize_axis(p.axis, len(shape), "GroupNormalization", shape)
    channels = require_known(shape[axis], f"size on axis {p.axis}", shape, "GroupNormalization")
    if len(shape) < 2:
        # Keras builds it, then fails when run: there is no axis left to normalize over.
        raise ShapeError(
            "GroupNormalization needs an input of rank 2 or more (batch included), got {0}",
        )
    groups = channels if p.groups == -1 else p.groups
    if channels < groups:
        raise ShapeError(
            f"GroupNormalization cannot split {channels} channels (axis {p.axis} of {{0}}) "
            f"into {groups} groups",
            hint="use at most as many groups as channels (Keras' default is 32), or groups = -1",
        )
    if channels % groups:
        divisors = [d for d in range(1, channels + 1) if channels % d == 0]
        raise ShapeError(
            f"GroupNormalization groups ({groups}) must divide the {channels} channels "
            f"on axis {p.axis} of {{0}}",
            hint=f"use a divisor of {channels}: {', '.join(map(str, divisors))}",
        )
    return shape


register(
    LayerKind(
        "GroupNormalization",
        GroupNormalizationParams,
        _group_norm_shape,
        lambda p, shapes: shapes[0][p.axis] * (int(p.center) + int(p.scale)),
        "normalization",
        "Normalizes each sample over groups of channels on `axis` (groups must divide the channels).",
        build_axes=lambda p, shapes: {(0, p.axis): shapes[0][p.axis]},
        build_rank=True,
        key_params=("groups",),
        traits=frozenset({Trait.KEEPS_MASK}),
        dtypes=dt.PROMOTES,
    )
)


# --- UnitNormalization and RMSNormalization ---------------------------------


class UnitNormalizationParams(LayerParams):
    axis: int | list[int] = -1


def _unit_norm_shape(p: UnitNormalizationParams, shapes) -> Shape:
    distinct_axes(axis_list(p.axis), shapes[0], "UnitNormalization")
    return shapes[0]


register(
    LayerKind(
        "UnitNormalization",
        UnitNormalizationParams,
        _unit_norm_shape,
        _no_weights,
        "normalization",
        "Scales each sample to unit L2 norm over `axis`.",
        key_params=("axis",),
        traits=frozenset({Trait.KEEPS_MASK}),
        dtypes=dt.FLOAT_ONLY,
    )
)


class RMSNormalizationParams(LayerParams):
    axis: int | list[int] = -1
    epsilon: float = 1e-6


def _rms_axes(p: RMSNormalizationParams, shape: Shape) -> list[int]:
    axes = sorted(distinct_axes(axis_list(p.axis), shape, "RMSNormalization"))
    for axis in axes:
        require_known(shape[axis], f"size on axis {axis}", shape, "RMSNormalization")
    trailing = list(range(len(shape) - len(axes), len(shape)))
    if axes != trailing:
        # The scale is multiplied in by broadcasting, which lines it up with the last axes: Keras
        # builds any axis, but the run fails, or scales along the wrong axis when the sizes agree.
        raise ShapeError(
            f"RMSNormalization axis {p.axis} must name the last axes of {{0}}: Keras lines its scale up "
            "with the last axes whatever `axis` says",
            hint=f"normalize over the last {len(axes)} axes ({trailing}), or Permute the axes there first",
        )
    # Keras builds the scale in the order of `axis` sorted as written, so [-1, 2] on rank 4 gives
    # (size of axis 3, size of axis 2): unless those sizes agree, the scale then broadcasts
    # against the last axes into another shape than the input's.
    scale = [shape[axis] for axis in sorted(axis_list(p.axis))]
    if scale != [shape[axis] for axis in trailing]:
        raise ShapeError(
            f"RMSNormalization axis {p.axis} builds its scale in the order written, "
            f"{tuple(scale)}, which does not line up with the last axes of {{0}}",
            hint=f"write the axes counting the same way, in order: axis = {trailing}",
        )
    return axes


def _rms_shape(p: RMSNormalizationParams, shapes) -> Shape:
    _rms_axes(p, shapes[0])
    return shapes[0]


register(
    LayerKind(
        "RMSNormalization",
        RMSNormalizationParams,
        _rms_shape,
        lambda p, shapes: product([shapes[0][a] for a in _rms_axes(p, shapes[0])]),  # type: ignore[return-value]
        "normalization",
        "Divides by the root mean square over `axis` (the last axes) and applies a learned scale.",
        build_axes=lambda p, shapes: {(0, a): shapes[0][a] for a in axis_list(p.axis)},
        key_params=("axis",),
        traits=frozenset(),
        dtypes=dt.KEEPS_NUMBERS,
    )
)


# --- SpectralNormalization --------------------------------------------------

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


def _spectral_shape(p: SpectralNormalizationParams, shapes) -> Shape:
    inner: LayerCall = p.layer
    return inner.kind.output_shape(inner.params, shapes)


def _output_size(inner: LayerCall) -> int:
    params = inner.params
    for name in ("units", "output_dim", "filters"):
        if hasattr(params, name):
            return getattr(params, name)
    raise ShapeError(f"SpectralNormalization cannot size the kernel of {inner.kind.name}")


def _spectral_count(p: SpectralNormalizationParams, shapes) -> int:
    inner: LayerCall = p.layer
    return inner.kind.param_count(inner.params, shapes) + _output_size(inner)


def _spectral_keys(p: SpectralNormalizationParams, shapes) -> dict:
    inner: LayerCall = p.layer
    return inner.kind.build_axes(inner.params, shapes)


register(
    LayerKind(
        "SpectralNormalization", SpectralNormalizationParams, _spectral_shape, _spectral_count, "core",
        "Wraps a Dense, Embedding or convolution `layer` and divides its kernel by its spectral norm in "
        "training.",
        build_axes=_spectral_keys, key_params=("layer",), wraps=True, positional=("layer",),
        traits=frozenset(), dtypes=dt.Delegated.WRAPPED_CAST_BACK,
    )
)  # fmt: skip
