"""Convolution layers: plain, separable, depthwise and transposed (1D, 2D and 3D)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from . import dtypes as dt
from .base import (
    Activation,
    ConvPadding,
    FieldGroup,
    LayerKind,
    NonNegativeInt,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    any_case,
    known,
    product,
    register,
    require_known,
)
from .geometry import (
    DataFormat,
    WindowParams,
    as_tuple,
    channel_axis,
    conv_spatial,
    format_sizes,
    require_spatial_rank,
    spatial_axes,
    transpose_length,
    with_spatial,
)
from .weights import BIAS, DEPTHWISE, KERNEL, POINTWISE, Weights

# An int (the same for every spatial axis) or one value per spatial axis.
Sizes = PositiveInt | list[PositiveInt]


# --- Conv1D, Conv2D, Conv3D -------------------------------------------------


class ConvParams(WindowParams):
    filters: PositiveInt
    kernel_size: Sizes
    strides: Sizes = 1
    padding: ConvPadding = "valid"
    data_format: DataFormat = None
    dilation_rate: Sizes = 1
    groups: PositiveInt = 1
    activation: Activation = None
    use_bias: bool = True
    weights: FieldGroup = Weights(KERNEL, BIAS, activity=True)

    @model_validator(mode="after")
    def _check(self):
        self._check_lengths("kernel_size", "strides", "dilation_rate")
        if self.filters % self.groups:
            raise ValueError(f"filters ({self.filters}) must be divisible by groups ({self.groups})")
        self._check_strides_with_dilation()
        return self


class Conv1DParams(ConvParams):
    rank: ClassVar[int] = 1
    # "causal" pads on the left only, so that output t never sees inputs after t.
    padding: any_case("valid", "same", "causal") = "valid"  # type: ignore[valid-type]


class Conv2DParams(ConvParams):
    rank: ClassVar[int] = 2


class Conv3DParams(ConvParams):
    rank: ClassVar[int] = 3


def _channels(layer: str, p: WindowParams, shape: Shape) -> int:
    """Check the input rank and return its (known) channel count."""
    require_spatial_rank(shape, layer, p.rank, p.data_format)
    where = "first" if channel_axis(p.data_format) == 1 else "last"
    return require_known(
        shape[channel_axis(p.data_format)], f"channel dimension ({where} axis)", shape, layer
    )


def _conv_rule(layer: str):
    def rule(p: ConvParams, shapes) -> Shape:
        (shape,) = shapes
        channels = _channels(layer, p, shape)
        if channels % p.groups:
            raise ShapeError(
                f"{layer} with groups={p.groups} needs a channel count divisible by {p.groups}, "
                f"got {channels} channels in {{0}}",
            )
        return with_spatial(shape, p.data_format, conv_spatial(layer, p, shape), p.filters)

    return rule


def _conv_count(p: ConvParams, shapes) -> int:
    channels = shapes[0][channel_axis(p.data_format)]
    return product(p.kernel) * (channels // p.groups) * p.filters + (p.filters if p.use_bias else 0)


def _channel_key(p, shapes) -> dict:
    # Keras fixes the channel axis in the layer's input spec when it builds the kernel.
    axis = channel_axis(p.data_format)
    return {(0, axis): shapes[0][axis]}


for _rank, _params in ((1, Conv1DParams), (2, Conv2DParams), (3, Conv3DParams)):
    _name = f"Conv{_rank}D"
    register(
        LayerKind(
            _name, _params, _conv_rule(_name), _conv_count, "convolution",
            f"{_rank}D convolution: `filters` kernels of `kernel_size` slid over the input.",
            build_axes=_channel_key, key_params=("filters", "kernel_size", "strides", "activation"),
            positional=("filters", "kernel_size"),
            # Conv3D convolves through the 3D kernels, which take channels_first: it runs everywhere.
            traits=frozenset({Trait.CPU_CHANNELS_LAST} if _rank < 3 else ()), dtypes=dt.FLOAT_ON_TENSORFLOW,
        )
    )  # fmt: skip


# --- SeparableConv1D, SeparableConv2D ---------------------------------------


class SeparableConvParams(WindowParams):
    filters: PositiveInt
    kernel_size: Sizes
    strides: Sizes = 1
    padding: ConvPadding = "valid"
    data_format: DataFormat = None
    dilation_rate: Sizes = 1
    depth_multiplier: PositiveInt = 1
    activation: Activation = None
    use_bias: bool = True
    weights: FieldGroup = Weights(DEPTHWISE, POINTWISE, BIAS, activity=True)

    @model_validator(mode="after")
    def _check(self):
        self._check_lengths("kernel_size", "strides", "dilation_rate")
        return self


class SeparableConv1DParams(SeparableConvParams):
    rank: ClassVar[int] = 1


class SeparableConv2DParams(SeparableConvParams):
    rank: ClassVar[int] = 2


def _separable_rule(layer: str):
    def rule(p: SeparableConvParams, shapes) -> Shape:
        (shape,) = shapes
        _channels(layer, p, shape)
        return with_spatial(shape, p.data_format, conv_spatial(layer, p, shape), p.filters)

    return rule


def _separable_count(p: SeparableConvParams, shapes) -> int:
    channels = shapes[0][channel_axis(p.data_format)]
    depthwise = product(p.kernel) * channels * p.depth_multiplier
    pointwise = channels * p.depth_multiplier * p.filters
    return depthwise + pointwise + (p.filters if p.use_bias else 0)


for _rank, _params in ((1, SeparableConv1DParams), (2, SeparableConv2DParams)):
    _name = f"SeparableConv{_rank}D"
    register(
        LayerKind(
            _name, _params, _separable_rule(_name), _separable_count, "convolution",
            f"Separable {_rank}D convolution: a per-channel convolution, then a 1x1 one to `filters`.",
            build_axes=_channel_key, key_params=("filters", "kernel_size", "strides", "activation"),
            positional=("filters", "kernel_size"),
            traits=frozenset({Trait.CPU_EQUAL_STRIDES} if _rank == 2 else ()), dtypes=dt.FLOAT_ONLY,
        )
    )  # fmt: skip


# --- DepthwiseConv1D, DepthwiseConv2D ---------------------------------------


class DepthwiseConvParams(WindowParams):
    kernel_size: Sizes
    strides: Sizes = 1
    padding: ConvPadding = "valid"
    depth_multiplier: PositiveInt = 1
    data_format: DataFormat = None
    dilation_rate: Sizes = 1
    activation: Activation = None
    use_bias: bool = True
    weights: FieldGroup = Weights(DEPTHWISE, BIAS, activity=True)

    @model_validator(mode="after")
    def _check(self):
        self._check_lengths("kernel_size", "strides", "dilation_rate")
        return self


class DepthwiseConv1DParams(DepthwiseConvParams):
    rank: ClassVar[int] = 1


class DepthwiseConv2DParams(DepthwiseConvParams):
    rank: ClassVar[int] = 2


def _depthwise_rule(layer: str):
    def rule(p: DepthwiseConvParams, shapes) -> Shape:
        (shape,) = shapes
        channels = _channels(layer, p, shape)
        return with_spatial(
            shape, p.data_format, conv_spatial(layer, p, shape), channels * p.depth_multiplier
        )

    return rule


def _depthwise_count(p: DepthwiseConvParams, shapes) -> int:
    outputs = shapes[0][channel_axis(p.data_format)] * p.depth_multiplier
    return product(p.kernel) * outputs + (outputs if p.use_bias else 0)


for _rank, _params in ((1, DepthwiseConv1DParams), (2, DepthwiseConv2DParams)):
    _name = f"DepthwiseConv{_rank}D"
    register(
        LayerKind(
            _name, _params, _depthwise_rule(_name), _depthwise_count, "convolution",
            f"Depthwise {_rank}D convolution: `depth_multiplier` kernels per channel, channels kept apart.",
            build_axes=_channel_key, key_params=("kernel_size", "strides", "depth_multiplier"),
            positional=("kernel_size",),
            traits=frozenset({Trait.CPU_EQUAL_STRIDES} if _rank == 2 else ()), dtypes=dt.FLOAT_ONLY,
        )
    )  # fmt: skip


# --- Conv1DTranspose, Conv2DTranspose ---------------------------------------


class ConvTransposeParams(WindowParams):
    filters: PositiveInt
    kernel_size: Sizes
    strides: Sizes = 1
    padding: ConvPadding = "valid"
    output_padding: NonNegativeInt | list[NonNegativeInt] | None = None
    data_format: DataFormat = None
    dilation_rate: Sizes = 1
    activation: Activation = None
    use_bias: bool = True
    weights: FieldGroup = Weights(KERNEL, BIAS, activity=True)

    @model_validator(mode="after")
    def _check(self):
        self._check_lengths("kernel_size", "strides", "dilation_rate", "output_padding")
        for extra, stride in zip(self.extra, self.stride, strict=True):
            if extra is not None and extra >= stride:
                raise ValueError(
                    f"output_padding must be smaller than strides on every axis "
                    f"(got output_padding={self.output_padding}, strides={self.strides})"
                )
        self._check_strides_with_dilation()
        # padding 'same' with an even window and output_padding 0 builds, and runs on JAX; TensorFlow
        # refuses it when run (a portability warning, see graph/passes/portability.py).
        return self

    @property
    def extra(self) -> tuple[int | None, ...]:
        if self.output_padding is None:
            return (None,) * self.rank
        return as_tuple(self.output_padding, self.rank)


class Conv1DTransposeParams(ConvTransposeParams):
    rank: ClassVar[int] = 1


class Conv2DTransposeParams(ConvTransposeParams):
    rank: ClassVar[int] = 2


def _transpose_rule(layer: str):
    def rule(p: ConvTransposeParams, shapes) -> Shape:
        (shape,) = shapes
        _channels(layer, p, shape)
        sizes = [shape[a] for a in spatial_axes(p.rank, p.data_format)]
        out = [
            transpose_length(n, k, s, d, p.padding, e)
            for n, k, s, d, e in zip(sizes, p.kernel, p.stride, p.dilation, p.extra, strict=True)
        ]
        if any(known(o) and o <= 0 for o in out):
            # Only padding 'same' with an even window and output_padding 0 on a length-1 axis: Keras
            # builds an empty output, which no spec can mean.
            raise ShapeError(
                f"{layer} would produce an empty output: spatial size {format_sizes(tuple(sizes))} of {{0}} "
                f"gives {format_sizes(tuple(out))} with padding 'same', kernel_size {format_sizes(p.kernel)} "
                f"and output_padding {format_sizes(p.extra)}",
                hint="use an odd kernel_size, or output_padding >= 1",
            )
        return with_spatial(shape, p.data_format, out, p.filters)

    return rule


def _transpose_count(p: ConvTransposeParams, shapes) -> int:
    channels = shapes[0][channel_axis(p.data_format)]
    return product(p.kernel) * p.filters * channels + (p.filters if p.use_bias else 0)


for _rank, _params in ((1, Conv1DTransposeParams), (2, Conv2DTransposeParams)):
    _name = f"Conv{_rank}DTranspose"
    register(
        LayerKind(
            _name, _params, _transpose_rule(_name), _transpose_count, "convolution",
            f"Transposed {_rank}D convolution (learned upsampling): the gradient of Conv{_rank}D.",
            build_axes=_channel_key, key_params=("filters", "kernel_size", "strides", "activation"),
            positional=("filters", "kernel_size"),
            traits=frozenset({Trait.CPU_TRANSPOSE_LIMITS}), dtypes=dt.FLOAT_ONLY,
        )
    )  # fmt: skip


class Conv3DTransposeParams(ConvTransposeParams):
    rank: ClassVar[int] = 3


register(
    LayerKind(
        "Conv3DTranspose", Conv3DTransposeParams, _transpose_rule("Conv3DTranspose"), _transpose_count,
        "convolution", "Transposed 3D convolution (learned upsampling): the gradient of Conv3D.",
        build_axes=_channel_key, key_params=("filters", "kernel_size", "strides", "activation"),
        positional=("filters", "kernel_size"),
        traits=frozenset({Trait.CPU_TRANSPOSE_LIMITS}), dtypes=dt.FLOAT_ONLY,
    )
)  # fmt: skip
