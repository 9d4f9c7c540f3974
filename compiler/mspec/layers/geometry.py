"""Window arithmetic shared by convolution, pooling and padding layers.

Sizes follow Keras' own formulas. A named size (str) is unknown to Keras, so
the result is unknown too, except where the formula is the identity (stride 1
with "same" padding, for instance): then the name carries through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from .base import Dim, LayerParams, Shape, ShapeError, any_case, known, require_rank

# Keras lower-cases data_format ("CHANNELS_LAST" is "channels_last").
DataFormat = any_case("channels_last", "channels_first") | None


def as_tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """Repeat an int n times, or turn a list into a tuple (its length already checked)."""
    if isinstance(value, int):
        return (value,) * n
    return tuple(value)


def length_ok(value: int | Sequence | None, n: int) -> bool:
    """Return whether an int-or-list argument is an int or has exactly n entries."""
    return value is None or isinstance(value, int) or len(value) == n


def channels_first(data_format: str | None) -> bool:
    """Return whether the channels come right after the batch axis (Keras' default is last)."""
    return data_format == "channels_first"


def spatial_axes(rank: int, data_format: str | None) -> range:
    """Return the axes (batch included) that hold the `rank` spatial dimensions."""
    start = 2 if channels_first(data_format) else 1
    return range(start, start + rank)


def channel_axis(data_format: str | None) -> int:
    """Return the channel axis as Keras indexes it: 1 or -1."""
    return 1 if channels_first(data_format) else -1


def with_spatial(shape: Shape, data_format: str | None, spatial: Sequence[Dim], channels: Dim) -> Shape:
    """Assemble (batch, spatial..., channels) or (batch, channels, spatial...)."""
    if channels_first(data_format):
        return (shape[0], channels, *spatial)
    return (shape[0], *spatial, channels)


def _apply(size: Dim, identity: bool, formula) -> Dim:
    if known(size):
        return formula(size)
    # Keras only knows "unknown"; a name survives when the size cannot change.
    return size if identity and isinstance(size, str) else None


def conv_length(size: Dim, kernel: int, stride: int, dilation: int, padding: str) -> Dim:
    """Return a convolution's output length (may be <= 0: the caller refuses it like Keras)."""
    if padding == "valid":
        span = dilation * (kernel - 1)
        return _apply(size, span == 0 and stride == 1, lambda n: (n - span - 1) // stride + 1)
    # "same" and "causal" both keep ceil(n / stride) positions.
    return _apply(size, stride == 1, lambda n: (n - 1) // stride + 1)


def pool_length(size: Dim, pool: int, stride: int, padding: str) -> Dim:
    """Return a pooling window's output length (may be <= 0: the caller refuses it like Keras)."""
    if padding == "valid":
        return _apply(size, pool == 1 and stride == 1, lambda n: (n - pool) // stride + 1)
    return _apply(size, stride == 1, lambda n: (n - 1) // stride + 1)


def transpose_length(
    size: Dim, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> Dim:
    """Return a transposed convolution's output length, as Keras computes it for TensorFlow padding."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return _apply(size, stride == 1 and span + extra == 1, lambda n: (n - 1) * stride + span + extra)
    if output_padding is None:
        return _apply(size, stride == 1, lambda n: n * stride)
    tail = span % 2 + output_padding
    return _apply(size, stride == 1 and tail == 1, lambda n: (n - 1) * stride + tail)


def grow(size: Dim, factor: int = 1, extra: int = 0) -> Dim:
    """Return size * factor + extra (extra may be negative), keeping a name when that is the identity."""
    return _apply(size, factor == 1 and extra == 0, lambda n: n * factor + extra)


def format_sizes(values: Sequence[int]) -> str:
    """Render per-axis sizes: `3` for one axis, `(3, 3)` for several."""
    return str(values[0]) if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"


SPATIAL_NAMES = {1: ("steps",), 2: ("rows", "cols"), 3: ("dim1", "dim2", "dim3")}


def layout(rank: int, data_format: str | None) -> str:
    """Describe the input a layer with `rank` spatial axes expects, e.g. `(batch, steps, channels)`."""
    spatial = ", ".join(SPATIAL_NAMES[rank])
    return f"(batch, channels, {spatial})" if channels_first(data_format) else f"(batch, {spatial}, channels)"


def require_spatial_rank(shape: Shape, layer: str, rank: int, data_format: str | None = None) -> None:
    """Raise ShapeError, with the expected layout as hint, unless the shape has `rank` spatial axes."""
    try:
        require_rank(shape, layer, exact=rank + 2)
    except ShapeError as error:
        raise ShapeError(error.message, hint=f"{layer} takes {layout(rank, data_format)}") from None


# --- what convolutions and convolutional LSTMs share -------------------------


class WindowParams(LayerParams):
    """What every convolution shares; subclasses set `rank` and declare the fields in Keras' order."""

    rank: ClassVar[int] = 2

    @property
    def kernel(self) -> tuple[int, ...]:
        return as_tuple(self.kernel_size, self.rank)

    @property
    def stride(self) -> tuple[int, ...]:
        return as_tuple(self.strides, self.rank)

    @property
    def dilation(self) -> tuple[int, ...]:
        return as_tuple(self.dilation_rate, self.rank)

    def _check_lengths(self, *names: str) -> None:
        for name in names:
            if not length_ok(getattr(self, name), self.rank):
                raise ValueError(
                    f"{name} must be one integer or a list of {self.rank}, got {getattr(self, name)}"
                )

    def _check_strides_with_dilation(self) -> None:
        # Keras' Conv and ConvTranspose constructors refuse to skip and dilate at once (the
        # separable and depthwise ones allow it).
        if max(self.stride) > 1 and max(self.dilation) > 1:
            raise ValueError(
                f"strides > 1 cannot be combined with dilation_rate > 1 "
                f"(got strides={self.strides}, dilation_rate={self.dilation_rate})"
            )


def conv_spatial(layer: str, p: WindowParams, shape: Shape) -> list:
    """Return the output spatial sizes, refusing an empty output like Keras."""
    kernel, stride, dilation = p.kernel, p.stride, p.dilation
    sizes = [shape[a] for a in spatial_axes(p.rank, p.data_format)]
    out = [
        conv_length(n, k, s, d, p.padding) for n, k, s, d in zip(sizes, kernel, stride, dilation, strict=True)
    ]
    if any(known(o) and o <= 0 for o in out):
        span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
        raise ShapeError(
            f"{layer} would produce an empty output: a window of {format_sizes(span)} "
            f"(kernel_size {format_sizes(kernel)}, dilation_rate {format_sizes(dilation)}) does not fit in "
            f"spatial size {format_sizes(tuple(sizes))} of {{0}} with padding 'valid'",
            hint="use padding 'same', a smaller kernel_size, or a larger input",
        )
    return out
