"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax) and the normalizations that
rescale values without batch statistics (GroupNormalization, UnitNormalization, RMSNormalization).

Shape rules follow Keras 3's `build` and `compute_output_shape`; where Keras
builds a layer that then fails (or silently broadcasts weights along another
axis) when it runs, mspec refuses while checking, and says why.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from .base import (
    Constraint,
    Initializer,
    LayerKind,
    LayerParams,
    Regularizer,
    Shape,
    ShapeError,
    normalize_axis,
    product,
    register,
    require_known,
)

NonNegative = Annotated[float, Field(ge=0)]


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


def _axes(axis: int | list[int]) -> list[int]:
    return [axis] if isinstance(axis, int) else list(axis)


def _distinct(axes: list[int], shape: Shape, layer: str) -> list[int]:
    """Return the axes made positive, refusing one out of range or named twice (Keras fails when run)."""
    positive = [normalize_axis(axis, len(shape), layer, shape) for axis in axes]
    if len(set(positive)) < len(positive):
        raise ShapeError(
            f"{layer} axis {axes} names the same axis twice for input {{0}}",
            hint="list each axis once, either counting from the start or from the end",
        )
    return positive


# --- Activations without weights --------------------------------------------


class ReLUParams(LayerParams):
    max_value: NonNegative | None = None
    negative_slope: NonNegative = 0.0
    threshold: NonNegative = 0.0


class LeakyReLUParams(LayerParams):
    negative_slope: NonNegative = 0.3


class ELUParams(LayerParams):
    alpha: float = 1.0


class SoftmaxParams(LayerParams):
    axis: int | list[int] = -1


def _softmax_shape(p: SoftmaxParams, shapes) -> Shape:
    (shape,) = shapes
    # Keras builds any axis and fails only when run: out of range, repeated or none at all.
    if isinstance(p.axis, list) and not p.axis:
        raise ShapeError("Softmax needs at least one axis, got axis []", hint="name the axes to normalize")
    _distinct(_axes(p.axis), shape, "Softmax")
    return shape


for _name, _params, _rule, _doc, _keys in (
    ("ReLU", ReLUParams, _same_shape, "Rectified linear unit, optionally capped, leaky or shifted.",
     ("max_value",)),
    ("LeakyReLU", LeakyReLUParams, _same_shape, "Leaky ReLU: `negative_slope * x` below zero.",
     ("negative_slope",)),
    ("ELU", ELUParams, _same_shape, "Exponential linear unit: `alpha * (exp(x) - 1)` below zero.",
     ("alpha",)),
    ("Softmax", SoftmaxParams, _softmax_shape, "Softmax over `axis` (one or several).", ("axis",)),
):  # fmt: skip
    register(LayerKind(_name, _params, _rule, _no_weights, "activation", _doc, key_params=_keys))


# --- PReLU ------------------------------------------------------------------


class PReLUParams(LayerParams):
    alpha_initializer: Initializer = "zeros"  # Keras writes "Zeros": the same initializer
    alpha_regularizer: Regularizer = None
    alpha_constraint: Constraint = None
    # Axes (counted from 1, batch excluded) along which one slope is shared.
    shared_axes: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] | None = None

    @property
    def shared(self) -> set[int]:
        if self.shared_axes is None:
            return set()
        return set(_axes(self.shared_axes))


def _prelu_slopes(p: PReLUParams, shape: Shape) -> list[int]:
    """The shape of alpha: the input's without batch, 1 on every shared axis."""
    for axis in sorted(p.shared):
        if axis >= len(shape):
            raise ShapeError(
                f"PReLU shared axis {axis} is out of range for input {{0}}",
                hint=f"shared_axes count from 1 (the batch axis is 0) up to {len(shape) - 1}",
            )
    sizes = []
    for axis in range(1, len(shape)):
        if axis in p.shared:
            sizes.append(1)
        else:
            sizes.append(require_known(shape[axis], f"size on axis {axis} (not shared)", shape, "PReLU"))
    return sizes


def _prelu_shape(p: PReLUParams, shapes) -> Shape:
    _prelu_slopes(p, shapes[0])
    return shapes[0]


register(
    LayerKind(
        "PReLU",
        PReLUParams,
        _prelu_shape,
        lambda p, shapes: product(_prelu_slopes(p, shapes[0])),  # type: ignore[arg-type,return-value]
        "activation",
        "Leaky ReLU with a learned slope per position; `shared_axes` share one slope along axes.",
        # Keras fixes the rank, and the size of every axis that is not shared, at the first build.
        build_axes=lambda p, shapes: {
            (0, a): shapes[0][a] for a in range(1, len(shapes[0])) if a not in p.shared
        },
        build_rank=True,
        key_params=("shared_axes",),
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
    beta_initializer: Initializer = "zeros"
    gamma_initializer: Initializer = "ones"
    beta_regularizer: Regularizer = None
    gamma_regularizer: Regularizer = None
    beta_constraint: Constraint = None
    gamma_constraint: Constraint = None

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
    )
)


# --- UnitNormalization and RMSNormalization ---------------------------------


class UnitNormalizationParams(LayerParams):
    axis: int | list[int] = -1


def _unit_norm_shape(p: UnitNormalizationParams, shapes) -> Shape:
    _distinct(_axes(p.axis), shapes[0], "UnitNormalization")
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
    )
)


class RMSNormalizationParams(LayerParams):
    axis: int | list[int] = -1
    epsilon: float = 1e-6


def _rms_axes(p: RMSNormalizationParams, shape: Shape) -> list[int]:
    axes = sorted(_distinct(_axes(p.axis), shape, "RMSNormalization"))
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
    scale = [shape[axis] for axis in sorted(_axes(p.axis))]
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
        build_axes=lambda p, shapes: {(0, a): shapes[0][a] for a in _axes(p.axis)},
        key_params=("axis",),
    )
)
