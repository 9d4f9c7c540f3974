"""Spatial resizing layers: upsampling, zero padding and cropping."""

from __future__ import annotations

from pydantic import model_validator

from . import dtypes as dt
from .base import (
    LayerKind,
    LayerParams,
    NonNegativeInt,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    any_case,
    format_shape,
    known,
    product,
    register,
    require_rank,
)
from .geometry import (
    DataFormat,
    as_tuple,
    channel_axis,
    grow,
    length_ok,
    require_spatial_rank,
    spatial_axes,
    with_spatial,
)


def _no_weights(p, shapes) -> int:
    return 0


def _resize(layer: str, p, shape: Shape, rank: int, factors, margins) -> Shape:
    """Scale then pad (positive margins) or crop (negative ones) each spatial axis."""
    data_format = getattr(p, "data_format", None)
    require_spatial_rank(shape, layer, rank, data_format)
    sizes = [shape[a] for a in spatial_axes(rank, data_format)]
    out = [grow(n, f, m) for n, f, m in zip(sizes, factors, margins, strict=True)]
    return with_spatial(shape, data_format, out, shape[channel_axis(data_format)])


# --- UpSampling1D, UpSampling2D ---------------------------------------------


class UpSampling1DParams(LayerParams):
    size: PositiveInt = 2


class UpSampling2DParams(LayerParams):
    size: PositiveInt | list[PositiveInt] = 2
    data_format: DataFormat = None
    interpolation: any_case(  # type: ignore[valid-type]
        "nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"
    ) = "nearest"

    @model_validator(mode="after")
    def _check(self):
        if not length_ok(self.size, 2):
            raise ValueError(f"size must be one integer or a list of 2, got {self.size}")
        return self


register(
    LayerKind(
        "UpSampling1D", UpSampling1DParams,
        lambda p, s: _resize("UpSampling1D", p, s[0], 1, [p.size], [0]), _no_weights, "reshaping",
        "Repeats each step `size` times along the time axis.", key_params=("size",),
        positional=("size",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "UpSampling2D", UpSampling2DParams,
        lambda p, s: _resize("UpSampling2D", p, s[0], 2, as_tuple(p.size, 2), [0, 0]), _no_weights,
        "reshaping", "Scales rows and columns by `size` (repetition or interpolation).",
        key_params=("size", "interpolation"), positional=("size",),
        # With interpolation = "nearest" (the default) Keras repeats values, as UpSampling1D does. Any
        # other interpolation resizes with tf.image.resize: integers come back integers (in the range
        # of the ids around them), but strings fail, which the traits do not see (the dtype family does).
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.upsamples,
    )
)  # fmt: skip


# --- ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D -------------------

# One axis: an int (both sides) or [before, after].
Margin = NonNegativeInt | list[NonNegativeInt]


def _pair(value: int | list[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an integer or a list [before, after], got {value}")
    return (value[0], value[1])


def _pairs(value: int | list, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Read an int, [rows, cols] or [[top, bottom], [left, right]] (entries may mix forms)."""
    if isinstance(value, int):
        return ((value, value), (value, value))
    if len(value) != 2:
        raise ValueError(
            f"{name} must be an integer, [rows, cols] or [[top, bottom], [left, right]], got {value}"
        )
    return (_pair(value[0], name), _pair(value[1], name))


class ZeroPadding1DParams(LayerParams):
    padding: Margin = 1
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        _pair(self.padding, "padding")
        return self


class ZeroPadding2DParams(LayerParams):
    padding: NonNegativeInt | list[Margin] = 1
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        _pairs(self.padding, "padding")
        return self


class Cropping1DParams(LayerParams):
    cropping: Margin = 1

    @model_validator(mode="after")
    def _check(self):
        _pair(self.cropping, "cropping")
        return self


class Cropping2DParams(LayerParams):
    cropping: NonNegativeInt | list[Margin] = 0
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        _pairs(self.cropping, "cropping")
        return self


def _zero_padding_1d_shape(p: ZeroPadding1DParams, shapes) -> Shape:
    return _resize("ZeroPadding1D", p, shapes[0], 1, [1], [sum(_pair(p.padding, "padding"))])


def _zero_padding_2d_shape(p: ZeroPadding2DParams, shapes) -> Shape:
    return _resize("ZeroPadding2D", p, shapes[0], 2, [1, 1], [sum(m) for m in _pairs(p.padding, "padding")])


def _cropped(layer: str, p, shape: Shape, rank: int, crops: list[tuple[int, int]]) -> Shape:
    require_spatial_rank(shape, layer, rank, getattr(p, "data_format", None))
    axes = spatial_axes(rank, getattr(p, "data_format", None))
    for axis, crop in zip(axes, crops, strict=True):
        if known(shape[axis]) and sum(crop) >= shape[axis]:
            raise ShapeError(
                f"{layer} cannot remove {crop[0]} + {crop[1]} positions from an axis of size "
                f"{shape[axis]} in {{0}}: nothing would be left",
                hint="cropping must leave at least one position on every cropped axis",
            )
    return _resize(layer, p, shape, rank, [1] * rank, [-sum(c) for c in crops])


register(
    LayerKind(
        "ZeroPadding1D", ZeroPadding1DParams, _zero_padding_1d_shape, _no_weights, "reshaping",
        "Adds zeros at the start and end of the time axis.", key_params=("padding",),
        positional=("padding",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "ZeroPadding2D", ZeroPadding2DParams, _zero_padding_2d_shape, _no_weights, "reshaping",
        "Adds rows and columns of zeros around an image.", key_params=("padding",),
        positional=("padding",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping1D", Cropping1DParams,
        lambda p, s: _cropped("Cropping1D", p, s[0], 1, [_pair(p.cropping, "cropping")]), _no_weights,
        "reshaping", "Removes steps from the start and end of the time axis.", key_params=("cropping",),
        positional=("cropping",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping2D", Cropping2DParams,
        lambda p, s: _cropped("Cropping2D", p, s[0], 2, list(_pairs(p.cropping, "cropping"))), _no_weights,
        "reshaping", "Removes rows and columns from the borders of an image.", key_params=("cropping",),
        positional=("cropping",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
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
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}),
        dtypes=dt.SHAPE_ONLY,
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
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}),
        dtypes=dt.SHAPE_ONLY,
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
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}),
        dtypes=dt.SHAPE_ONLY,
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
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}),
        dtypes=dt.SHAPE_ONLY,
    )
)


# --- UpSampling3D, ZeroPadding3D, Cropping3D ----------------------------------

# One axis: an int (both sides) or [before, after].
Margin = NonNegativeInt | list[NonNegativeInt]


def _triples(value: int | list, name: str) -> tuple[tuple[int, int], ...]:
    """Read an int, [d1, d2, d3] or [[before, after], x3] (entries may mix forms), as Keras does."""
    if isinstance(value, int):
        return ((value, value),) * 3
    if len(value) != 3:
        raise ValueError(
            f"{name} must be an integer, [dim1, dim2, dim3] or three [before, after] pairs, got {value}"
        )
    pairs = []
    for entry in value:
        if isinstance(entry, int):
            pairs.append((entry, entry))
        elif len(entry) == 2:
            pairs.append((entry[0], entry[1]))
        else:
            raise ValueError(f"each entry of {name} must be an integer or [before, after], got {entry}")
    return tuple(pairs)


class UpSampling3DParams(LayerParams):
    size: PositiveInt | list[PositiveInt] = 2
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        if not length_ok(self.size, 3):
            raise ValueError(f"size must be one integer or a list of 3, got {self.size}")
        return self


class ZeroPadding3DParams(LayerParams):
    padding: NonNegativeInt | list[Margin] = 1
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        _triples(self.padding, "padding")
        return self


class Cropping3DParams(LayerParams):
    cropping: NonNegativeInt | list[Margin] = 1
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        _triples(self.cropping, "cropping")
        return self


def _resize3d(layer: str, p, shape: Shape, factors, margins) -> Shape:
    require_spatial_rank(shape, layer, 3, p.data_format)
    sizes = [shape[a] for a in spatial_axes(3, p.data_format)]
    out = [grow(n, f, m) for n, f, m in zip(sizes, factors, margins, strict=True)]
    return with_spatial(shape, p.data_format, out, shape[channel_axis(p.data_format)])


def _up_sampling_3d_shape(p: UpSampling3DParams, shapes) -> Shape:
    return _resize3d("UpSampling3D", p, shapes[0], as_tuple(p.size, 3), [0, 0, 0])


def _zero_padding_3d_shape(p: ZeroPadding3DParams, shapes) -> Shape:
    margins = [sum(pair) for pair in _triples(p.padding, "padding")]
    return _resize3d("ZeroPadding3D", p, shapes[0], [1, 1, 1], margins)


def _cropping_3d_shape(p: Cropping3DParams, shapes) -> Shape:
    (shape,) = shapes
    require_spatial_rank(shape, "Cropping3D", 3, p.data_format)
    crops = _triples(p.cropping, "cropping")
    for axis, crop in zip(spatial_axes(3, p.data_format), crops, strict=True):
        if known(shape[axis]) and sum(crop) >= shape[axis]:
            raise ShapeError(
                f"Cropping3D cannot remove {crop[0]} + {crop[1]} positions from an axis of size "
                f"{shape[axis]} in {{0}}: nothing would be left",
                hint="cropping must leave at least one position on every cropped axis",
            )
    return _resize3d("Cropping3D", p, shape, [1, 1, 1], [-sum(c) for c in crops])


register(
    LayerKind(
        "UpSampling3D", UpSampling3DParams, _up_sampling_3d_shape, _no_weights, "reshaping",
        "Repeats each voxel `size` times along the three spatial axes.", key_params=("size",),
        positional=("size",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "ZeroPadding3D", ZeroPadding3DParams, _zero_padding_3d_shape, _no_weights, "reshaping",
        "Adds zeros at both ends of the three spatial axes of a volume.", key_params=("padding",),
        positional=("padding",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping3D", Cropping3DParams, _cropping_3d_shape, _no_weights, "reshaping",
        "Removes positions from both ends of the three spatial axes of a volume.",
        key_params=("cropping",), positional=("cropping",),
        traits=frozenset({Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}), dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
