"""Image augmentation and adjustment layers beyond the basic ones in `image_preprocessing`.

Every one keeps its input's shape and has no weights. Like the basic
augmentations they take a batch of images, rank 4 (batch included): Keras also
takes a rank-3 tensor as ONE unbatched image, which in a model would treat the
batch axis as the image's height, so mspec refuses it.

Layers that work in HSV space (RandomHue, RandomSaturation, and those built
from them) or that mix colour channels need three channels; Keras checks this
only when the layer runs, on the channels axis that `data_format` names, and
mspec checks it while checking the spec. An unknown channel count is accepted.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field

from . import dtypes as dt
from .base import LayerKind, LayerParams, PositiveInt, Shape, ShapeError, register
from .geometry import DataFormat, channels_first
from .image_preprocessing import FillMode, Interpolation, Seed, ValueRange, factor_range


def _no_weights(p, shapes) -> int:
    return 0


def _number_or_pair(low: float | None = None, high: float | None = None, *, each: bool = False):
    """A number or a list of two; `each`: every number must lie in [low, high]."""

    def check(value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) != 2:
            raise ValueError("give one number or a list of two")
        if each and any(v < low or v > high for v in values):  # type: ignore[operator]
            raise ValueError(f"each number must lie in [{low}, {high}]")
        return value

    return Annotated[float | list[float], AfterValidator(check)]


def _default_range() -> list[float]:
    return [0, 255]


class _ImageParams(LayerParams):
    data_format: DataFormat = None
    seed: Seed = None


class RandomGrayscaleParams(_ImageParams):
    factor: Annotated[float, Field(ge=0, le=1)] = 0.5


class _FactorRangeParams(_ImageParams):
    value_range: ValueRange = Field(default_factory=_default_range)


class RandomHueParams(_FactorRangeParams):
    factor: factor_range(0, 1)


class RandomSaturationParams(_FactorRangeParams):
    factor: factor_range(-1, 1)


class RandomSharpnessParams(_FactorRangeParams):
    factor: factor_range(0, 1)


class RandomInvertParams(_FactorRangeParams):
    factor: factor_range(0, 1) = 1.0


class RandomPosterizationParams(_FactorRangeParams):
    factor: factor_range(1, 8, integer=True)  # the number of bits kept per channel


class RandomColorDegenerationParams(_FactorRangeParams):
    factor: factor_range(-1, 1)


class RandomColorJitterParams(_FactorRangeParams):
    brightness_factor: factor_range(-1, 1) | None = None
    contrast_factor: factor_range(0, 1) | None = None
    saturation_factor: factor_range(-1, 1) | None = None
    hue_factor: factor_range(0, 1) | None = None


class RandomShearParams(_ImageParams):
    x_factor: _number_or_pair(0, 1, each=True) = 0.0
    y_factor: _number_or_pair(0, 1, each=True) = 0.0
    interpolation: Interpolation = "bilinear"
    fill_mode: FillMode = "reflect"
    fill_value: float = 0.0


def _odd(value: int | list[int]) -> int | list[int]:
    values = value if isinstance(value, list) else [value]
    if isinstance(value, list) and len(value) != 2:
        raise ValueError("kernel_size is one odd integer or a list of two")
    if any(v % 2 == 0 for v in values):
        raise ValueError("kernel_size must be odd")
    return value


class RandomGaussianBlurParams(_FactorRangeParams):
    factor: factor_range(0, 1) = 1.0
    kernel_size: Annotated[PositiveInt | list[PositiveInt], AfterValidator(_odd)] = 3
    sigma: _number_or_pair() = 1.0


class RandomErasingParams(_FactorRangeParams):
    factor: factor_range(0, 1) = 1.0
    scale: _number_or_pair() = Field(default_factory=lambda: [0.02, 0.33])
    fill_value: float | None = None


class RandomPerspectiveParams(_ImageParams):
    factor: factor_range(0, 1) = 1.0
    scale: Annotated[float, Field(ge=0, le=1)] = 1.0
    interpolation: Interpolation = "bilinear"
    fill_value: float = 0.0


class RandomElasticTransformParams(_FactorRangeParams):
    factor: factor_range(0, 1) = 1.0
    scale: _number_or_pair() = 1.0
    interpolation: Interpolation = "bilinear"
    # Keras also lists "mirror", which only JAX runs: TensorFlow refuses it.
    fill_mode: FillMode = "reflect"
    fill_value: float = 0.0


class AutoContrastParams(LayerParams):
    value_range: ValueRange = Field(default_factory=_default_range)


class SolarizationParams(LayerParams):
    addition_factor: _number_or_pair(0, 1, each=True) = 0.0
    threshold_factor: _number_or_pair(0, 1, each=True) = 0.0
    value_range: ValueRange = Field(default_factory=_default_range)
    seed: Seed = None


class EqualizationParams(LayerParams):
    value_range: ValueRange = Field(default_factory=_default_range)
    bins: PositiveInt = 256
    data_format: DataFormat = None


class ContrastLimitedAdaptiveHistogramEqualizationParams(LayerParams):
    value_range: ValueRange = Field(default_factory=_default_range)
    clip_limit: Annotated[float, Field(gt=0)] = 4.0
    tile_grid_size: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [8, 8]
    )
    data_format: DataFormat = None


class AugMixParams(_FactorRangeParams):
    num_chains: PositiveInt = 3
    chain_depth: PositiveInt = 3
    factor: factor_range(0, 1) = 0.3
    alpha: Annotated[float, Field(gt=0)] = 1.0
    all_ops: bool = True
    interpolation: Interpolation = "bilinear"


class CutMixParams(_ImageParams):
    factor: factor_range(0, 1) = 1.0


class MixUpParams(_ImageParams):
    alpha: Annotated[float, Field(gt=0)] = 0.2


class RandAugmentParams(_FactorRangeParams):
    num_ops: PositiveInt = 2
    factor: factor_range(0, 1) = 0.5
    interpolation: Interpolation = "bilinear"


# --- shape rules ------------------------------------------------------------------


def _channels(shape: Shape, p: Any) -> Any:
    return shape[1] if channels_first(getattr(p, "data_format", None)) else shape[-1]


def _rgb(name: str, allowed: tuple[int, ...] = (3,)):
    """The input needs one of `allowed` channel counts (when known)."""

    def needs(p: Any) -> bool:
        if name == "RandomColorJitter":
            return p.saturation_factor is not None or p.hue_factor is not None
        return True

    def check(p: Any, shape: Shape) -> None:
        channels = _channels(shape, p)
        if needs(p) and isinstance(channels, int) and channels not in allowed:
            counts = " or ".join(str(a) for a in allowed)
            first = channels_first(getattr(p, "data_format", None))
            where = "axis 1 (channels_first)" if first else "the last axis"
            raise ShapeError(
                f"{name} needs {counts} colour channels on {where}, got {channels} in {{0}}",
                hint="give the images three channels (RGB), or set data_format to where the channels are",
            )

    return check


def _keep_shape(name: str, check=None):
    def rule(p, shapes) -> Shape:
        (shape,) = shapes
        if len(shape) != 4:
            raise ShapeError(
                f"{name} takes a batch of images, rank 4 (batch included), got {{0}}",
                hint="give the input shape [height, width, channels] (channels first with data_format)",
            )
        if check is not None:
            check(p, shape)
        return shape

    return rule


for _name, _dtypes, _params, _doc, _keys, _check in (
    ("RandomGrayscale", dt.KEEPS_NUMBERS,
     RandomGrayscaleParams, "Turns images grey at random (with probability `factor`).",
     ("factor",), _rgb("RandomGrayscale", (1, 3))),
    ("RandomHue", dt.AUGMENTS_WHEN_TRAINING,
     RandomHueParams, "Shifts image hue at random.", ("factor",), _rgb("RandomHue")),
    ("RandomSaturation", dt.DROPS_WHEN_TRAINING,
     RandomSaturationParams, "Changes image saturation at random.", ("factor",),
     _rgb("RandomSaturation")),
    ("RandomSharpness", dt.PROMOTES,
     RandomSharpnessParams, "Changes image sharpness at random.", ("factor",), None),
    ("RandomInvert", dt.AUGMENTS_WHEN_TRAINING,
     RandomInvertParams, "Inverts image colours at random (with probability `factor`).",
     ("factor",), None),
    ("RandomPosterization", dt.AUGMENTS_WHEN_TRAINING,
     RandomPosterizationParams, "Reduces the bits per colour channel at random.",
     ("factor",), None),
    ("RandomColorDegeneration", dt.AUGMENTS_WHEN_TRAINING, RandomColorDegenerationParams,
     "Blends images with their greyscale version at random.", ("factor",), _rgb("RandomColorDegeneration")),
    ("RandomColorJitter", dt.AUGMENTS_WHEN_TRAINING, RandomColorJitterParams,
     "Changes image brightness, contrast, saturation and hue at random.",
     ("brightness_factor", "contrast_factor", "saturation_factor", "hue_factor"), _rgb("RandomColorJitter")),
    ("RandomShear", dt.PROMOTES,
     RandomShearParams, "Shears images at random along x and y.", ("x_factor", "y_factor"),
     None),
    ("RandomGaussianBlur", dt.PROMOTES,
     RandomGaussianBlurParams, "Blurs images with a random Gaussian kernel.",
     ("factor", "kernel_size"), None),
    ("RandomErasing", dt.PROMOTES,
     RandomErasingParams, "Erases a random rectangle of each image.", ("factor", "scale"),
     None),
    ("RandomPerspective", dt.PROMOTES,
     RandomPerspectiveParams, "Warps images with a random perspective transform.",
     ("factor", "scale"), None),
    ("RandomElasticTransform", dt.PROMOTES,
     RandomElasticTransformParams, "Warps images with a random elastic distortion.",
     ("factor", "scale"), None),
    ("CutMix", dt.PROMOTES,
     CutMixParams, "Pastes a random patch of another image of the batch into each image.",
     ("factor",), None),
    ("MixUp", dt.AUGMENTS_WHEN_TRAINING,
     MixUpParams, "Blends each image with another image of the batch.", ("alpha",), None),
    ("AugMix", dt.PROMOTES, AugMixParams, "Mixes chains of random augmentations of each image (AugMix).",
     ("num_chains", "chain_depth", "factor"), None),
    ("RandAugment", dt.PROMOTES,
     RandAugmentParams, "Applies `num_ops` augmentations drawn at random (RandAugment).",
     ("num_ops", "factor"), None),
):  # fmt: skip
    register(
        LayerKind(
            _name, _params, _keep_shape(_name, _check), _no_weights, "image augmentation",
            _doc + " The identity at inference.", key_params=_keys,
            positional=_keys[:1] if _name in ("RandomHue", "RandomSaturation", "RandomSharpness",
                                              "RandomPosterization", "RandomColorDegeneration") else (),
            traits=frozenset(), dtypes=_dtypes,
        )
    )  # fmt: skip


for _name, _dtypes, _params, _doc, _keys in (
    ("AutoContrast", dt.PROMOTES, AutoContrastParams, "Stretches each image's values to span `value_range`.",
     ("value_range",)),
    ("Solarization", dt.PROMOTES,
     SolarizationParams, "Inverts the values above a random threshold, in training.",
     ("addition_factor", "threshold_factor")),
    ("Equalization", dt.KEEPS_NUMBERS,
     EqualizationParams, "Equalizes the histogram of each image channel.", ("bins",)),
    ("ContrastLimitedAdaptiveHistogramEqualization", dt.KEEPS_NUMBERS,
     ContrastLimitedAdaptiveHistogramEqualizationParams,
     "Equalizes image histograms tile by tile, with clipped contrast (CLAHE).",
     ("clip_limit", "tile_grid_size")),
):  # fmt: skip
    register(
        LayerKind(
            _name, _params, _keep_shape(_name), _no_weights, "image augmentation", _doc, key_params=_keys,
            traits=frozenset(), dtypes=_dtypes,
        )
    )  # fmt: skip
