"""Image preprocessing layers: resizing, cropping and the basic random augmentations.

`Resizing`, `CenterCrop` and `RandomCrop` change an image's height and
width; `RandomFlip`, `RandomRotation`, `RandomZoom`, `RandomTranslation`,
`RandomContrast` and `RandomBrightness` keep its shape and are the identity
at inference. All take a batch of images (rank 4, batch included) and have
no weights. The option types here (factors, fill modes, interpolation,
value ranges, seeds) are shared with the further augmentations in
`augmentation`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from . import dtypes as dt
from .base import LayerKind, LayerParams, PositiveInt, Shape, ShapeError, register
from .geometry import DataFormat, channels_first


def _no_weights(p, shapes) -> int:
    return 0


# --- Resizing and cropping ---------------------------------------------------------


def _image_rank(shape: Shape, layer: str) -> None:
    # Keras also takes a rank-3 tensor, as ONE unbatched image: in a model its batch axis would be
    # treated as the image's height.
    if len(shape) != 4:
        raise ShapeError(
            f"{layer} takes a batch of images, rank 4 (batch included), got {{0}}",
            hint="give the input shape [height, width, channels] (channels first with data_format)",
        )


def _resized(shape: Shape, height: int, width: int, data_format: str | None) -> Shape:
    if channels_first(data_format):
        return (shape[0], shape[1], height, width)
    return (shape[0], height, width, shape[3])


class ResizingParams(LayerParams):
    height: PositiveInt
    width: PositiveInt
    interpolation: Literal["bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area"] = "bilinear"
    crop_to_aspect_ratio: bool = False
    pad_to_aspect_ratio: bool = False
    fill_mode: Literal["constant"] = "constant"
    fill_value: float = 0.0
    antialias: bool = False
    data_format: DataFormat = None


class CropParams(LayerParams):
    height: PositiveInt
    width: PositiveInt
    data_format: DataFormat = None


class RandomCropParams(CropParams):
    seed: int | None = None


def _resize_rule(name: str):
    def rule(p, shapes) -> Shape:
        (shape,) = shapes
        _image_rank(shape, name)
        return _resized(shape, p.height, p.width, p.data_format)

    return rule


for _name, _dtypes, _params, _doc in (
    ("Resizing", dt.resizes, ResizingParams, "Resizes images to `height` x `width`."),
    (
        "CenterCrop",
        dt.PROMOTES,
        CropParams,
        "Crops the centre `height` x `width` of images (resizing smaller ones).",
    ),
    (
        "RandomCrop",
        dt.RANDOM_CROP,
        RandomCropParams,
        "Crops a random `height` x `width` window in training (resizing smaller images up to it); at "
        "inference it hands images on uncropped, so the layers after it must take their size too.",
    ),
):
    register(
        LayerKind(
            _name,
            _params,
            _resize_rule(_name),
            _no_weights,
            "image preprocessing",
            _doc,
            key_params=("height", "width"),
            positional=("height", "width"),
            traits=frozenset(),
            dtypes=_dtypes,
        )
    )


# --- Random augmentations (the shape stays) ---------------------------------------


def factor_range(low: float, high: float, *, open_low: bool = False, integer: bool = False):
    """A factor as Keras checks it: a number in [low, high], or two numbers spanning into that range.

    `integer` for a count (RandomPosterization's bits): kept an int, as Keras needs it on
    TensorFlow, where a float count fails when training.
    """

    def inside(value: float) -> bool:
        return (low < value if open_low else low <= value) and value <= high

    def check(value: float | list[float]) -> float | list[float]:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError("a factor is one number or a list of two")
            if open_low and not all(inside(v) for v in value):
                raise ValueError(f"each factor must lie in ({low}, {high}]")
            if not open_low and (value[0] > high or value[1] < low):
                raise ValueError(f"the factor range must reach into [{low}, {high}]")
        elif not inside(value):
            bracket = "(" if open_low else "["
            raise ValueError(f"the factor must lie in {bracket}{low}, {high}]")
        return value

    if integer:
        return Annotated[int | list[int], AfterValidator(check)]
    return Annotated[float | list[float], AfterValidator(check)]


def _two(value: list[float]) -> list[float]:
    if len(value) != 2:
        raise ValueError("value_range is a list of two numbers")
    return value


ValueRange = Annotated[list[float], AfterValidator(_two)]
FillMode = Literal["reflect", "wrap", "constant", "nearest"]
Interpolation = Literal["nearest", "bilinear"]
Seed = int | None


class RandomFlipParams(LayerParams):
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = "horizontal_and_vertical"
    seed: Seed = None
    data_format: DataFormat = None


class RandomRotationParams(LayerParams):
    factor: factor_range(-1, 1)
    fill_mode: FillMode = "reflect"
    interpolation: Interpolation = "bilinear"
    seed: Seed = None
    fill_value: float = 0.0
    data_format: DataFormat = None


class RandomZoomParams(LayerParams):
    height_factor: factor_range(-1, 1, open_low=True)
    width_factor: factor_range(-1, 1, open_low=True) | None = None
    fill_mode: FillMode = "reflect"
    interpolation: Interpolation = "bilinear"
    seed: Seed = None
    fill_value: float = 0.0
    data_format: DataFormat = None


class RandomTranslationParams(LayerParams):
    height_factor: factor_range(-1, 1)
    width_factor: factor_range(-1, 1)
    fill_mode: FillMode = "reflect"
    interpolation: Interpolation = "bilinear"
    seed: Seed = None
    fill_value: float = 0.0
    data_format: DataFormat = None


class RandomContrastParams(LayerParams):
    factor: factor_range(0, 1)
    value_range: ValueRange = Field(default_factory=lambda: [0, 255])
    seed: Seed = None


class RandomBrightnessParams(LayerParams):
    factor: factor_range(-1, 1)
    value_range: ValueRange = Field(default_factory=lambda: [0, 255])
    seed: Seed = None


def _augmentation_rule(name: str):
    def rule(p, shapes) -> Shape:
        (shape,) = shapes
        _image_rank(shape, name)
        return shape

    return rule


for _name, _dtypes, _params, _doc, _keys in (
    ("RandomFlip", dt.PROMOTES, RandomFlipParams, "Flips images at random in training.", ("mode",)),
    (
        "RandomRotation",
        dt.PROMOTES,
        RandomRotationParams,
        "Rotates images at random in training.",
        ("factor",),
    ),
    (
        "RandomZoom",
        dt.PROMOTES,
        RandomZoomParams,
        "Zooms images at random in training.",
        ("height_factor", "width_factor"),
    ),
    (
        "RandomTranslation",
        dt.PROMOTES,
        RandomTranslationParams,
        "Translates images at random in training.",
        ("height_factor", "width_factor"),
    ),
    (
        "RandomContrast",
        dt.NOISE_WHEN_TRAINING,
        RandomContrastParams,
        "Changes image contrast at random in training.",
        ("factor",),
    ),
    (
        "RandomBrightness",
        dt.RANDOM_BRIGHTNESS,
        RandomBrightnessParams,
        "Changes image brightness at random in training.",
        ("factor",),
    ),
):
    register(
        LayerKind(
            _name,
            _params,
            _augmentation_rule(_name),
            _no_weights,
            "image augmentation",
            _doc + " The identity at inference.",
            key_params=_keys,
            positional=_keys[:1],
            traits=frozenset(),
            dtypes=_dtypes,
        )
    )
