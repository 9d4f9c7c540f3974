"""Regularization layers that only act in training (spatial and alpha dropout, activity
penalties) and Masking, which marks padded timesteps for the layers after it.

None of them has weights or changes the shape; SpatialDropout2D and 3D take
inputs of one rank only, as Keras' InputSpec says.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import LayerKind, LayerParams, Shape, register, require_rank
from .core import UnknownDim
from .geometry import DataFormat

Rate = Annotated[float, Field(ge=0, le=1)]
Penalty = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


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


class MaskingParams(LayerParams):
    mask_value: float = 0.0


def _spatial_rule(name: str, rank: int):
    def rule(p, shapes) -> Shape:
        require_rank(shapes[0], name, exact=rank)
        return shapes[0]

    return rule


for _name, _params, _rule, _category, _doc, _keys in (
    ("SpatialDropout2D", SpatialDropout2DParams, _spatial_rule("SpatialDropout2D", 4), "regularization",
     "Drops whole 2D feature maps during training.", ("rate",)),
    ("SpatialDropout3D", SpatialDropout3DParams, _spatial_rule("SpatialDropout3D", 5), "regularization",
     "Drops whole 3D feature maps during training.", ("rate",)),
    ("AlphaDropout", AlphaDropoutParams, _same_shape, "regularization",
     "Dropout that keeps the mean and variance of its inputs (for SELU networks), during training.",
     ("rate",)),
    ("ActivityRegularization", ActivityRegularizationParams, _same_shape, "regularization",
     "Returns its input and adds an L1/L2 penalty on it to the training loss.", ("l1", "l2")),
    ("Masking", MaskingParams, _same_shape, "core",
     "Masks every timestep whose features all equal `mask_value`, for the layers after it.",
     ("mask_value",)),
):  # fmt: skip
    register(
        LayerKind(
            _name,
            _params,
            _rule,
            _no_weights,
            _category,
            _doc,
            # The spatial dropouts fix the rank at construction, so every use must have it.
            build_rank=_name.startswith("Spatial"),
            key_params=_keys,
            positional=_keys[:1] if "Dropout" in _name else (),
            # Masking computes a mask Keras passes on by itself: the import leaves its operations out.
            makes_mask=(lambda config: True) if _name == "Masking" else None,
        )
    )
