"""The traits about values say one thing for every kind (see their comments in `layers.base`).

They were separate lists of names once, which drifted apart: the 3D resizings were left out of
SHAPE_ONLY, the UpSamplings out of PASSES_IDS, AlphaDropout and SpatialDropout2D/3D out of NOISE.
"""

from __future__ import annotations

from pydantic import ValidationError

from mspec.layers import REGISTRY
from mspec.layers import dtypes as dt
from mspec.layers.base import Trait


def kinds(trait: Trait) -> set[str]:
    return {name for name, kind in REGISTRY.items() if trait in (kind.traits or ())}


def _shape_only_family(name: str) -> bool:
    kind = REGISTRY[name]
    if kind.dtypes is dt.SHAPE_ONLY:
        return True
    if not callable(kind.dtypes):
        return False
    # A family chosen by the parameters: shape-only with the kind's defaults (UpSampling2D's "nearest").
    try:
        params = kind.params()
    except ValidationError:
        return False  # no defaults for every parameter
    return kind.dtypes(params) is dt.SHAPE_ONLY


def test_shape_only_is_the_shape_only_dtype_family() -> None:
    assert kinds(Trait.SHAPE_ONLY) == {name for name in REGISTRY if _shape_only_family(name)}
    assert {"UpSampling3D", "ZeroPadding3D", "Cropping3D", "UpSampling2D"} <= kinds(Trait.SHAPE_ONLY)


def test_what_only_moves_values_hands_ids_and_strings_on() -> None:
    assert kinds(Trait.SHAPE_ONLY) <= kinds(Trait.PASSES_IDS)
    assert kinds(Trait.SHAPE_ONLY) <= kinds(Trait.PASSES_STRINGS)
    # Beyond them: Masking zeroes masked steps and the Dropouts zero values, which ids survive; the
    # others change values in training (GaussianNoise, GaussianDropout, AlphaDropout).
    assert kinds(Trait.PASSES_IDS) - kinds(Trait.SHAPE_ONLY) == {
        "Masking", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    }  # fmt: skip
    # Strings: Add and Concatenate, which TensorFlow runs on strings; not the Dropouts, which fail on
    # strings in training, nor Masking.
    assert kinds(Trait.PASSES_STRINGS) - kinds(Trait.SHAPE_ONLY) == {"Add", "Concatenate"}


def test_noise_is_every_layer_that_changes_values_in_training_only() -> None:
    assert kinds(Trait.NOISE) == {
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        "GaussianNoise", "GaussianDropout", "AlphaDropout",
    }  # fmt: skip
    assert not kinds(Trait.NOISE) & kinds(Trait.SHAPE_ONLY)
