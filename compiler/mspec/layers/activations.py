"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU and Softmax.

Shape rules follow Keras 3's `build` and `compute_output_shape`; where Keras
builds a layer that then fails (or silently broadcasts weights along another
axis) when it runs, mspec refuses while checking, and says why.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import dtypes as dt
from .base import (
    ActivationName,
    FieldGroup,
    LayerKind,
    LayerParams,
    Shape,
    ShapeError,
    Trait,
    axis_list,
    distinct_axes,
    product,
    register,
    require_known,
)
from .weights import Weight, Weights

NonNegative = Annotated[float, Field(ge=0)]


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


# --- Activation -------------------------------------------------------------


class ActivationParams(LayerParams):
    activation: ActivationName


def _activation_shape(p: ActivationParams, shapes) -> Shape:
    (shape,) = shapes
    # glu halves the last axis, but the Activation layer declares its input's shape: what runs
    # would not match the declared shape (and an odd size fails outright).
    if p.activation == "glu" and len(shape) > 1:
        raise ShapeError(
            "Activation 'glu' halves the last axis of {0}, but Keras declares the output "
            "with the input's shape, so the built model would not match what runs",
            hint="use another activation, or gate explicitly: Multiply a projection by a sigmoid one",
        )
    return shape


register(
    LayerKind(
        "Activation", ActivationParams, _activation_shape, _no_weights, "core",
        "Applies an activation function.", key_params=("activation",), positional=("activation",),
        traits=frozenset({Trait.KEEPS_MASK}), dtypes=dt.ACTIVATION,
    )
)  # fmt: skip


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
    distinct_axes(axis_list(p.axis), shape, "Softmax")
    return shape


for _name, _params, _rule, _doc, _keys, _traits, _dtypes in (
    ("ReLU", ReLUParams, _same_shape, "Rectified linear unit, optionally capped, leaky or shifted.",
     ("max_value",), {Trait.KEEPS_MASK}, dt.SELECTS),
    ("LeakyReLU", LeakyReLUParams, _same_shape, "Leaky ReLU: `negative_slope * x` below zero.",
     ("negative_slope",), {Trait.KEEPS_MASK}, dt.RECTIFIES_TO_FLOAT),
    ("ELU", ELUParams, _same_shape, "Exponential linear unit: `alpha * (exp(x) - 1)` below zero.",
     ("alpha",), {Trait.KEEPS_MASK}, dt.FLOAT_ON_TENSORFLOW),
    ("Softmax", SoftmaxParams, _softmax_shape, "Softmax over `axis` (one or several).", ("axis",),
     {Trait.KEEPS_MASK, Trait.CALL_TAKES_MASK}, dt.AVERAGES),
):  # fmt: skip
    register(
        LayerKind(
            _name, _params, _rule, _no_weights, "activation", _doc, key_params=_keys,
            traits=frozenset(_traits), dtypes=_dtypes,
        )
    )  # fmt: skip


# --- PReLU ------------------------------------------------------------------


# One slope per input entry (batch excluded; a shared axis has size 1): the input's rank less one.
# Keras writes the default "Zeros": the same initializer.
ALPHA = Weight("alpha", "zeros", input_ranks=lambda params, shape: frozenset({len(shape) - 1}))


class PReLUParams(LayerParams):
    weights: FieldGroup = Weights(ALPHA)
    # Axes (counted from 1, batch excluded) along which one slope is shared.
    shared_axes: Annotated[int, Field(ge=1)] | list[Annotated[int, Field(ge=1)]] | None = None

    @property
    def shared(self) -> set[int]:
        if self.shared_axes is None:
            return set()
        return set(axis_list(self.shared_axes))


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
        traits=frozenset({Trait.KEEPS_MASK}),
        dtypes=dt.AVERAGES,
    )
)
