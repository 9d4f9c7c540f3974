"""Core, normalization, regularization and simple reshaping layers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from .base import (
    ActivationName,
    Constraint,
    DenseLikeParams,
    Initializer,
    LayerKind,
    LayerParams,
    PositiveInt,
    Regularizer,
    Shape,
    ShapeError,
    format_shape,
    known,
    normalize_axis,
    product,
    register,
    require_known,
    require_rank,
)
from .geometry import DataFormat

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


# --- Dense ------------------------------------------------------------------


class DenseParams(DenseLikeParams):
    units: PositiveInt


def _dense_shape(p: DenseParams, shapes) -> Shape:
    (shape,) = shapes
    require_rank(shape, "Dense", minimum=2)
    require_known(shape[-1], "last dimension", shape, "Dense")
    return (*shape[:-1], p.units)


def _dense_count(p: DenseParams, shapes) -> int:
    fan_in = shapes[0][-1]
    return fan_in * p.units + (p.units if p.use_bias else 0)


register(
    LayerKind(
        "Dense",
        DenseParams,
        _dense_shape,
        _dense_count,
        "core",
        "Fully connected layer applied to the last axis.",
        build_axes=lambda p, shapes: {(0, -1): shapes[0][-1]},
        key_params=("units", "activation"),
        positional=("units",),
    )
)


# --- Shape-preserving layers without weights --------------------------------


class ActivationParams(LayerParams):
    activation: ActivationName


def _name_is_null(dim: Any) -> Any:
    # TOML has no null: as in an input's shape, a name is a dimension of unknown size.
    return None if isinstance(dim, str) and _NAME.match(dim) else dim


# A dimension in a layer argument: a size, null, or (TOML's spelling of null) a name.
UnknownDim = Annotated[
    int | None,
    BeforeValidator(_name_is_null),
    WithJsonSchema(
        {"anyOf": [{"type": "integer"}, {"type": "null"}, {"type": "string", "pattern": _NAME.pattern}]}
    ),
]


def names_for_nulls(names: Callable[[int], list[str]]) -> Callable[[Any], Any]:
    """An import hook: write a saved list's nulls as names, TOML's spelling of null (see UnknownDim)."""

    def convert(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [name if d is None else d for name, d in zip(names(len(value)), value, strict=True)]

    return convert


# Keras saves noise_shape with nulls; the spec names them after the axes.
_noise_shape_names = names_for_nulls(lambda n: ["batch", *(f"axis{axis}" for axis in range(1, n))])


class DropoutParams(LayerParams):
    rate: float = Field(ge=0, le=1)
    noise_shape: list[UnknownDim] | None = None
    seed: int | None = None


class SpatialDropoutParams(LayerParams):
    rate: float = Field(ge=0, le=1)
    seed: int | None = None


class GaussianNoiseParams(LayerParams):
    # Keras refuses a standard deviation outside [0, 1] in the constructor.
    stddev: float = Field(ge=0, le=1)
    seed: int | None = None


class GaussianDropoutParams(LayerParams):
    # Keras takes a rate of 1, then divides by 1 - rate when training (ZeroDivisionError, every backend).
    rate: float = Field(ge=0, lt=1)
    seed: int | None = None


class RescalingParams(LayerParams):
    scale: float
    offset: float = 0.0


class IdentityParams(LayerParams):
    pass


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


def _spatial_dropout_1d_shape(p, shapes) -> Shape:
    require_rank(shapes[0], "SpatialDropout1D", exact=3)
    return shapes[0]


for _name, _params, _rule, _doc, _keys in (
    ("Activation", ActivationParams, _activation_shape, "Applies an activation function.", ("activation",)),
    ("Dropout", DropoutParams, _same_shape, "Randomly zeroes inputs during training.", ("rate",)),
    (
        "SpatialDropout1D",
        SpatialDropoutParams,
        _spatial_dropout_1d_shape,
        "Drops whole 1D feature maps during training.",
        ("rate",),
    ),
    (
        "GaussianNoise",
        GaussianNoiseParams,
        _same_shape,
        "Adds zero-centred noise during training.",
        ("stddev",),
    ),
    (
        "GaussianDropout",
        GaussianDropoutParams,
        _same_shape,
        "Multiplies inputs by 1-centred noise during training.",
        ("rate",),
    ),
    ("Rescaling", RescalingParams, _same_shape, "Computes `inputs * scale + offset`.", ("scale", "offset")),
    ("Identity", IdentityParams, _same_shape, "Returns its input unchanged.", ()),
):
    register(
        LayerKind(
            _name, _params, _rule, _no_weights, "core", _doc, key_params=_keys, positional=_keys[:1],
            import_values={"noise_shape": _noise_shape_names} if _name == "Dropout" else {},
        )
    )  # fmt: skip


# --- Flatten, Reshape, Permute, RepeatVector --------------------------------


class FlattenParams(LayerParams):
    data_format: DataFormat = None


def _flatten_shape(p, shapes) -> Shape:
    (shape,) = shapes
    rest = shape[1:]
    return (shape[0], product(rest) if rest else 1)


class ReshapeParams(LayerParams):
    target_shape: list[int]

    @model_validator(mode="after")
    def _check_target(self):
        if self.target_shape.count(-1) > 1:
            raise ValueError("target_shape may contain -1 at most once")
        if any(d == 0 or d < -1 for d in self.target_shape):
            raise ValueError("target_shape dimensions must be positive, or -1 once")
        return self


def _reshape_shape(p: ReshapeParams, shapes) -> Shape:
    (shape,) = shapes
    rest, target = shape[1:], list(p.target_shape)
    size = product(rest)
    if size is None:
        return (shape[0], *(None if d == -1 else d for d in target))
    if -1 not in target:
        if product(target) != size:
            raise ShapeError(
                f"Reshape cannot turn {format_shape(shape)} ({size} values per sample) "
                f"into target_shape {tuple(target)} ({product(target)} values)",
                hint="the number of values must stay the same",
            )
        return (shape[0], *target)
    known_size = product([d for d in target if d != -1])
    if size % known_size:
        raise ShapeError(
            f"Reshape cannot turn {format_shape(shape)} ({size} values per sample) "
            f"into target_shape {tuple(target)}: {size} is not divisible by {known_size}",
        )
    return (shape[0], *(size // known_size if d == -1 else d for d in target))


class PermuteParams(LayerParams):
    dims: list[PositiveInt]

    @model_validator(mode="after")
    def _check_dims(self):
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"dims must be a permutation of 1..{len(self.dims)}, got {self.dims}")
        return self


def _permute_shape(p: PermuteParams, shapes) -> Shape:
    (shape,) = shapes
    require_rank(shape, "Permute", exact=len(p.dims) + 1)
    return (shape[0], *(shape[d] for d in p.dims))


class RepeatVectorParams(LayerParams):
    n: PositiveInt


def _repeat_vector_shape(p: RepeatVectorParams, shapes) -> Shape:
    (shape,) = shapes
    require_rank(shape, "RepeatVector", exact=2)
    return (shape[0], p.n, shape[1])


register(
    LayerKind(
        "Flatten",
        FlattenParams,
        _flatten_shape,
        _no_weights,
        "reshaping",
        "Flattens every axis but the batch axis.",
    )
)
register(
    LayerKind(
        "Reshape",
        ReshapeParams,
        _reshape_shape,
        _no_weights,
        "reshaping",
        "Reshapes to `target_shape` (batch excluded; one -1 is inferred).",
        key_params=("target_shape",),
        positional=("target_shape",),
    )
)
register(
    LayerKind(
        "Permute",
        PermuteParams,
        _permute_shape,
        _no_weights,
        "reshaping",
        "Permutes the non-batch axes; `dims` counts from 1.",
        key_params=("dims",),
        positional=("dims",),
    )
)
register(
    LayerKind(
        "RepeatVector",
        RepeatVectorParams,
        _repeat_vector_shape,
        _no_weights,
        "reshaping",
        "Repeats a (batch, features) input `n` times along a new axis 1.",
        key_params=("n",),
        positional=("n",),
    )
)


# --- Embedding and CategoryEncoding -----------------------------------------


class EmbeddingParams(LayerParams):
    input_dim: PositiveInt
    output_dim: PositiveInt
    embeddings_initializer: Initializer = "uniform"
    embeddings_regularizer: Regularizer = None
    embeddings_constraint: Constraint = None
    mask_zero: bool = False


def _embedding_shape(p: EmbeddingParams, shapes) -> Shape:
    return (*shapes[0], p.output_dim)


register(
    LayerKind(
        "Embedding",
        EmbeddingParams,
        _embedding_shape,
        lambda p, s: p.input_dim * p.output_dim,
        "core",
        "Maps integer indexes in [0, input_dim) to dense vectors of size output_dim.",
        key_params=("input_dim", "output_dim"),
        positional=("input_dim", "output_dim"),
        makes_mask=lambda config: config.get("mask_zero") is True,
    )
)


class CategoryEncodingParams(LayerParams):
    num_tokens: PositiveInt
    output_mode: Literal["multi_hot", "one_hot", "count"] = "multi_hot"
    sparse: Literal[False] = False


def _category_encoding_shape(p: CategoryEncodingParams, shapes) -> Shape:
    (shape,) = shapes
    # Keras declares (..., num_tokens) for any rank, but counts over axis 1, not the last one,
    # above rank 2: its docs support 1D and 2D inputs only.
    if p.output_mode != "one_hot" and len(shape) > 2:
        raise ShapeError(
            f"CategoryEncoding with output_mode={p.output_mode!r} takes a rank-1 or rank-2 input "
            "(batch included), got {0}",
            hint="flatten the input to (batch, values) first, or use output_mode='one_hot'",
        )
    if p.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
        return (*shape, p.num_tokens)
    return (*shape[:-1], p.num_tokens)


register(
    LayerKind(
        "CategoryEncoding",
        CategoryEncodingParams,
        _category_encoding_shape,
        _no_weights,
        "preprocessing",
        "Encodes integer category indexes as one-hot, multi-hot or count vectors.",
        key_params=("num_tokens", "output_mode"),
    )
)


# --- Normalization layers ---------------------------------------------------


class BatchNormalizationParams(LayerParams):
    axis: int = -1
    momentum: float = Field(0.99, ge=0, le=1)
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True
    beta_initializer: Initializer = "zeros"
    gamma_initializer: Initializer = "ones"
    moving_mean_initializer: Initializer = "zeros"
    moving_variance_initializer: Initializer = "ones"
    beta_regularizer: Regularizer = None
    gamma_regularizer: Regularizer = None
    beta_constraint: Constraint = None
    gamma_constraint: Constraint = None


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
    )
)


class LayerNormalizationParams(LayerParams):
    axis: int | list[int] = -1
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True
    beta_initializer: Initializer = "zeros"
    gamma_initializer: Initializer = "ones"
    beta_regularizer: Regularizer = None
    gamma_regularizer: Regularizer = None
    beta_constraint: Constraint = None
    gamma_constraint: Constraint = None

    @property
    def axes(self) -> list[int]:
        return [self.axis] if isinstance(self.axis, int) else list(self.axis)


def _distinct_axes(axes: list[int], shape: Shape, layer: str) -> list[int]:
    """Return the axes made positive, refusing one out of range or named twice."""
    positive = [normalize_axis(axis, len(shape), layer, shape) for axis in axes]
    if len(set(positive)) < len(positive):
        raise ShapeError(
            f"{layer} axis {axes} names the same axis twice for input {{0}}",
            hint="list each axis once, either counting from the start or from the end",
        )
    return positive


def _layer_norm_weighted(p: LayerNormalizationParams) -> bool:
    return p.center or p.scale


def _layer_norm_shape(p: LayerNormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    for axis in _distinct_axes(p.axes, shape, "LayerNormalization"):
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
    )
)


def _value_shape(value: float | list[float]) -> tuple[int, ...]:
    return (len(value),) if isinstance(value, list) else ()


class NormalizationParams(LayerParams):
    axis: int | list[int] | None = -1
    mean: float | list[float] | None = None
    variance: float | list[float] | None = None
    invert: bool = False

    @model_validator(mode="after")
    def _mean_with_variance(self):
        if (self.mean is None) != (self.variance is None):
            raise ValueError("give both mean and variance, or neither (then call adapt())")
        if self.mean is None:
            return self
        if _value_shape(self.mean) != _value_shape(self.variance):
            raise ValueError("mean and variance must have the same shape: two numbers or equal-length lists")
        if isinstance(self.mean, list) and not self.kept_axes:
            raise ValueError("a list of means needs a kept axis to lie along, but axis keeps none")
        return self

    @property
    def kept_axes(self) -> list[int]:
        if self.axis is None:
            return []
        return [self.axis] if isinstance(self.axis, int) else list(self.axis)


def _normalization_shape(p: NormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    kept = [normalize_axis(axis, len(shape), "Normalization", shape) for axis in p.kept_axes]
    for axis in kept:
        # Keras shapes the mean and variance (given or adapted) by the kept axes, batch included.
        if not known(shape[axis]):
            raise ShapeError(
                f"Normalization needs a known size on every kept axis, but axis {axis} of {{0}} is unknown",
                hint="give that dimension a fixed size in the input shape, or keep other axes with `axis`",
            )
    repeated = {axis for axis in kept if kept.count(axis) > 1}
    if p.mean is None and any(shape[axis] != 1 for axis in repeated):
        # The adapted statistics get one entry per listed axis and no longer fit the input.
        raise ShapeError(
            f"Normalization axis {p.axis} names the same axis twice for input {{0}}",
            hint="list each axis once, either counting from the start or from the end",
        )
    if isinstance(p.mean, list):
        # Keras lines a list up with the last kept axis and broadcasts it there.
        last = max(kept)
        if len(p.mean) not in (1, shape[last]):
            raise ShapeError(
                f"Normalization mean and variance have {len(p.mean)} values, but axis {last} of {{0}} "
                f"has size {shape[last]}",
                hint="give one value per position on the last kept axis, or a single value",
            )
    return shape


def _normalization_count(p: NormalizationParams, shapes) -> int:
    if p.mean is not None:
        return 0
    # adapt() state: a mean and a variance per kept position, plus a sample count.
    return 2 * product([shapes[0][a] for a in p.kept_axes]) + 1  # type: ignore[operator]


register(
    LayerKind(
        "Normalization",
        NormalizationParams,
        _normalization_shape,
        _normalization_count,
        "preprocessing",
        "Feature-wise standardization with a given or adapted mean and variance.",
        build_axes=lambda p, shapes: {(0, a): shapes[0][a] for a in p.kept_axes},
    )
)
