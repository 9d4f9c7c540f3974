"""Spatial resizing layers: upsampling, zero padding and cropping."""

from __future__ import annotations

from pydantic import model_validator

from .base import (
    LayerKind,
    LayerParams,
    NonNegativeInt,
    PositiveInt,
    Shape,
    ShapeError,
    any_case,
    known,
    register,
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
    )
)  # fmt: skip
register(
    LayerKind(
        "UpSampling2D", UpSampling2DParams,
        lambda p, s: _resize("UpSampling2D", p, s[0], 2, as_tuple(p.size, 2), [0, 0]), _no_weights,
        "reshaping", "Scales rows and columns by `size` (repetition or interpolation).",
        key_params=("size", "interpolation"), positional=("size",),
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
    )
)  # fmt: skip
register(
    LayerKind(
        "ZeroPadding2D", ZeroPadding2DParams, _zero_padding_2d_shape, _no_weights, "reshaping",
        "Adds rows and columns of zeros around an image.", key_params=("padding",),
        positional=("padding",),
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping1D", Cropping1DParams,
        lambda p, s: _cropped("Cropping1D", p, s[0], 1, [_pair(p.cropping, "cropping")]), _no_weights,
        "reshaping", "Removes steps from the start and end of the time axis.", key_params=("cropping",),
        positional=("cropping",),
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping2D", Cropping2DParams,
        lambda p, s: _cropped("Cropping2D", p, s[0], 2, list(_pairs(p.cropping, "cropping"))), _no_weights,
        "reshaping", "Removes rows and columns from the borders of an image.", key_params=("cropping",),
        positional=("cropping",),
    )
)  # fmt: skip
