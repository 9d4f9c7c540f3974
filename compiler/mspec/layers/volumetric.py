"""3D resizing layers, the 3D transposed convolution, and adaptive pooling to a fixed output size."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from .base import LayerKind, LayerParams, NonNegativeInt, PositiveInt, Shape, ShapeError, known, register
from .conv import ConvTransposeParams, _channel_key, _transpose_count, _transpose_rule
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


# --- Conv3DTranspose ----------------------------------------------------------


class Conv3DTransposeParams(ConvTransposeParams):
    rank: ClassVar[int] = 3


register(
    LayerKind(
        "Conv3DTranspose", Conv3DTransposeParams, _transpose_rule("Conv3DTranspose"), _transpose_count,
        "convolution", "Transposed 3D convolution (learned upsampling): the gradient of Conv3D.",
        build_axes=_channel_key, key_params=("filters", "kernel_size", "strides", "activation"),
        positional=("filters", "kernel_size"),
    )
)  # fmt: skip


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
    )
)  # fmt: skip
register(
    LayerKind(
        "ZeroPadding3D", ZeroPadding3DParams, _zero_padding_3d_shape, _no_weights, "reshaping",
        "Adds zeros at both ends of the three spatial axes of a volume.", key_params=("padding",),
        positional=("padding",),
    )
)  # fmt: skip
register(
    LayerKind(
        "Cropping3D", Cropping3DParams, _cropping_3d_shape, _no_weights, "reshaping",
        "Removes positions from both ends of the three spatial axes of a volume.",
        key_params=("cropping",), positional=("cropping",),
    )
)  # fmt: skip


# --- AdaptiveAveragePooling1D/2D/3D, AdaptiveMaxPooling1D/2D/3D ---------------


class AdaptivePoolingParams(LayerParams):
    rank: ClassVar[int] = 2

    output_size: PositiveInt | list[PositiveInt]
    # Keras compares the value as written: "CHANNELS_LAST" is refused here, unlike other layers.
    data_format: Literal["channels_last", "channels_first"] | None = None

    @model_validator(mode="after")
    def _check(self):
        if not length_ok(self.output_size, self.rank):
            raise ValueError(
                f"output_size must be one integer or a list of {self.rank}, got {self.output_size}"
            )
        return self


class AdaptivePooling1DParams(AdaptivePoolingParams):
    rank: ClassVar[int] = 1


class AdaptivePooling2DParams(AdaptivePoolingParams):
    rank: ClassVar[int] = 2


class AdaptivePooling3DParams(AdaptivePoolingParams):
    rank: ClassVar[int] = 3


ADAPTIVE_PARAMS = {1: AdaptivePooling1DParams, 2: AdaptivePooling2DParams, 3: AdaptivePooling3DParams}


def _adaptive_rule(layer: str):
    def rule(p: AdaptivePoolingParams, shapes) -> Shape:
        (shape,) = shapes
        # Keras declares any rank (it has no input spec) but the run needs exactly this one.
        require_spatial_rank(shape, layer, p.rank, p.data_format)
        return with_spatial(
            shape, p.data_format, list(as_tuple(p.output_size, p.rank)), shape[channel_axis(p.data_format)]
        )

    return rule


for _rank in (1, 2, 3):
    for _mode, _what in (("Max", "maximum"), ("Average", "average")):
        _name = f"Adaptive{_mode}Pooling{_rank}D"
        register(
            LayerKind(
                _name, ADAPTIVE_PARAMS[_rank], _adaptive_rule(_name), _no_weights, "pooling",
                f"Takes the {_what} over {_rank}D windows sized to give exactly `output_size` positions.",
                key_params=("output_size",), positional=("output_size",),
            )
        )  # fmt: skip
