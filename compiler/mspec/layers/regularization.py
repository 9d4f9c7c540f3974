"""Regularization layers, which only act in training (dropouts and noise) or add to the
loss (activity penalties).

None of them has weights or changes the shape; the spatial dropouts take
inputs of one rank only, as Keras' InputSpec says.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from . import dtypes as dt
from .base import (
    LayerKind,
    LayerParams,
    Shape,
    Trait,
    UnknownDim,
    names_for_nulls,
    register,
    require_rank,
)
from .geometry import DataFormat

Rate = Annotated[float, Field(ge=0, le=1)]
Penalty = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


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


class SpatialDropout2DParams(LayerParams):
    # Keras' constructor takes no `trainable` (nor any other base layer argument but name and dtype).
    trainable: Literal[True] = True
    rate: Rate
    data_format: DataFormat = None
    seed: int | None = None


class SpatialDropout3DParams(SpatialDropout2DParams):
    pass


class AlphaDropoutParams(LayerParams):
    rate: Rate
    noise_shape: list[UnknownDim] | None = None
    seed: int | None = None


class ActivityRegularizationParams(LayerParams):
    l1: Penalty = 0.0
    l2: Penalty = 0.0


def _spatial_dropout_1d_shape(p, shapes) -> Shape:
    require_rank(shapes[0], "SpatialDropout1D", exact=3)
    return shapes[0]


def _spatial_rule(name: str, rank: int):
    def rule(p, shapes) -> Shape:
        require_rank(shapes[0], name, exact=rank)
        return shapes[0]

    return rule


_DROPS = frozenset({Trait.NOISE, Trait.PASSES_IDS, Trait.KEEPS_MASK})
_NOISE = frozenset({Trait.NOISE, Trait.KEEPS_MASK})

for _name, _params, _rule, _category, _doc, _keys, _traits, _dtypes in (
    ("Dropout", DropoutParams, _same_shape, "core", "Randomly zeroes inputs during training.", ("rate",),
     _DROPS, dt.DROPOUT),
    ("SpatialDropout1D", SpatialDropoutParams, _spatial_dropout_1d_shape, "core",
     "Drops whole 1D feature maps during training.", ("rate",), _DROPS, dt.DROPOUT),
    ("SpatialDropout2D", SpatialDropout2DParams, _spatial_rule("SpatialDropout2D", 4), "regularization",
     "Drops whole 2D feature maps during training.", ("rate",), _DROPS, dt.DROPOUT),
    ("SpatialDropout3D", SpatialDropout3DParams, _spatial_rule("SpatialDropout3D", 5), "regularization",
     "Drops whole 3D feature maps during training.", ("rate",), _DROPS, dt.DROPOUT),
    ("GaussianNoise", GaussianNoiseParams, _same_shape, "core", "Adds zero-centred noise during training.",
     ("stddev",), _NOISE, dt.GAUSSIAN_NOISE),
    ("GaussianDropout", GaussianDropoutParams, _same_shape, "core",
     "Multiplies inputs by 1-centred noise during training.", ("rate",), _NOISE, dt.GAUSSIAN_DROPOUT),
    ("AlphaDropout", AlphaDropoutParams, _same_shape, "regularization",
     "Dropout that keeps the mean and variance of its inputs (for SELU networks), during training.",
     ("rate",), _NOISE, dt.ALPHA_DROPOUT),
    ("ActivityRegularization", ActivityRegularizationParams, _same_shape, "regularization",
     "Returns its input and adds an L1/L2 penalty on it to the training loss.", ("l1", "l2"),
     frozenset({Trait.KEEPS_MASK}), dt.ACTIVITY_PENALTY),
):  # fmt: skip
    register(
        LayerKind(
            _name,
            _params,
            _rule,
            _no_weights,
            _category,
            _doc,
            # SpatialDropout2D and 3D fix the rank at construction, so every use must have it.
            build_rank=_name in ("SpatialDropout2D", "SpatialDropout3D"),
            key_params=_keys,
            positional=_keys[:1] if _name != "ActivityRegularization" else (),
            import_values={"noise_shape": _noise_shape_names} if _name in ("Dropout", "AlphaDropout") else {},
            traits=_traits,
            dtypes=_dtypes,
        )
    )
