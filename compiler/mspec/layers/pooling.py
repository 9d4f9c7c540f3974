"""Pooling layers: windowed max and average, and global pooling over every spatial axis."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from . import dtypes as dt
from .base import (
    LayerKind,
    LayerParams,
    Padding,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    known,
    register,
)
from .geometry import (
    DataFormat,
    as_tuple,
    channel_axis,
    format_sizes,
    length_ok,
    pool_length,
    require_spatial_rank,
    spatial_axes,
    with_spatial,
)

Sizes = PositiveInt | list[PositiveInt]


class PoolingParams(LayerParams):
    rank: ClassVar[int] = 2

    pool_size: Sizes
    # None: the window moves by its own size.
    strides: Sizes | None = None
    padding: Padding = "valid"
    data_format: DataFormat = None

    @model_validator(mode="after")
    def _check(self):
        for name in ("pool_size", "strides"):
            if not length_ok(getattr(self, name), self.rank):
                raise ValueError(
                    f"{name} must be one integer or a list of {self.rank}, got {getattr(self, name)}"
                )
        return self

    @property
    def window(self) -> tuple[int, ...]:
        return as_tuple(self.pool_size, self.rank)

    @property
    def stride(self) -> tuple[int, ...]:
        return self.window if self.strides is None else as_tuple(self.strides, self.rank)


# Keras gives max pooling a default window of 2 on every axis; average pooling has none.
class MaxPooling1DParams(PoolingParams):
    rank: ClassVar[int] = 1
    pool_size: Sizes = 2


class MaxPooling2DParams(PoolingParams):
    rank: ClassVar[int] = 2
    pool_size: Sizes = 2


class MaxPooling3DParams(PoolingParams):
    rank: ClassVar[int] = 3
    pool_size: Sizes = 2


class AveragePooling1DParams(PoolingParams):
    rank: ClassVar[int] = 1


class AveragePooling2DParams(PoolingParams):
    rank: ClassVar[int] = 2


class AveragePooling3DParams(PoolingParams):
    rank: ClassVar[int] = 3


def _pooling_rule(layer: str):
    def rule(p: PoolingParams, shapes) -> Shape:
        (shape,) = shapes
        require_spatial_rank(shape, layer, p.rank, p.data_format)
        sizes = [shape[a] for a in spatial_axes(p.rank, p.data_format)]
        out = [pool_length(n, k, s, p.padding) for n, k, s in zip(sizes, p.window, p.stride, strict=True)]
        if any(known(o) and o <= 0 for o in out):
            raise ShapeError(
                f"{layer} would produce an empty output: pool_size {format_sizes(p.window)} does not fit in "
                f"spatial size {format_sizes(tuple(sizes))} of {{0}} with padding 'valid'",
                hint="use padding 'same', a smaller pool_size, or a larger input",
            )
        return with_spatial(shape, p.data_format, out, shape[channel_axis(p.data_format)])

    return rule


POOLING_PARAMS = {
    "MaxPooling1D": MaxPooling1DParams,
    "MaxPooling2D": MaxPooling2DParams,
    "MaxPooling3D": MaxPooling3DParams,
    "AveragePooling1D": AveragePooling1DParams,
    "AveragePooling2D": AveragePooling2DParams,
    "AveragePooling3D": AveragePooling3DParams,
}


def _strides_default(config, build_config):
    return config.get("pool_size", _NO_DEFAULT)


_NO_DEFAULT = object()  # equal to no saved value


def _pooling_dtypes(mode: str, rank: int) -> dt.Declaration:
    if mode == "Average":
        return dt.AVERAGES
    return dt.SELECTS_IN_3D if rank == 3 else dt.POOLS_MAXIMA


for _rank in (1, 2, 3):
    for _mode, _what in (("Max", "maximum"), ("Average", "average")):
        _name = f"{_mode}Pooling{_rank}D"
        _params = POOLING_PARAMS[_name]
        register(
            LayerKind(
                _name, _params, _pooling_rule(_name), lambda p, s: 0, "pooling",
                f"Downsamples with the {_what} over `pool_size` windows in {_rank}D.",
                key_params=("pool_size", "strides"), positional=("pool_size",),
                # Strides default to the pool size, which Keras saves as the strides.
                import_defaults={"strides": _strides_default},
                traits=frozenset({Trait.POOLING}), dtypes=_pooling_dtypes(_mode, _rank),
            )
        )  # fmt: skip


# --- Global pooling ---------------------------------------------------------


class GlobalPoolingParams(LayerParams):
    data_format: DataFormat = None
    keepdims: bool = False


def _global_rule(layer: str, rank: int):
    def rule(p: GlobalPoolingParams, shapes) -> Shape:
        (shape,) = shapes
        require_spatial_rank(shape, layer, rank, p.data_format)
        channels = shape[channel_axis(p.data_format)]
        if p.keepdims:
            return with_spatial(shape, p.data_format, [1] * rank, channels)
        return (shape[0], channels)

    return rule


for _rank in (1, 2, 3):
    for _mode, _what in (("Max", "maximum"), ("Average", "average")):
        _name = f"Global{_mode}Pooling{_rank}D"
        register(
            LayerKind(
                _name, GlobalPoolingParams, _global_rule(_name, _rank), lambda p, s: 0, "pooling",
                f"Takes the {_what} over every {_rank}D spatial position, per channel.",
                key_params=("keepdims",),
                # Only GlobalAveragePooling1D reads a mask (to average the unmasked steps).
                traits=frozenset(
                    {Trait.POOLING, Trait.CALL_TAKES_MASK} if _name == "GlobalAveragePooling1D"
                    else {Trait.POOLING}
                ),
                dtypes=dt.PROMOTES if _mode == "Average" else dt.KEEPS_NUMBERS,
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
                _name, ADAPTIVE_PARAMS[_rank], _adaptive_rule(_name), lambda p, s: 0, "pooling",
                f"Takes the {_what} over {_rank}D windows sized to give exactly `output_size` positions.",
                key_params=("output_size",), positional=("output_size",),
                traits=frozenset(), dtypes=_pooling_dtypes(_mode, _rank),
            )
        )  # fmt: skip
