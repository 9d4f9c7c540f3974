"""The layer registry: one `LayerKind` per supported Keras layer class.

The kinds live in one module per Keras family (`core`, `convolutional`,
`pooling`, `normalization`, `regularization`, `reshaping`, `merging`,
`attention`, `activations`, `rnn`, `preprocessing` ...), as Keras itself
groups them under `keras/src/layers/<family>/`.

`REGISTRY` maps a Keras class name to its kind. It loads lazily: looking up
`Dense` imports only the module that declares it, so linting a spec pays
only for the layer kinds it uses (each kind's pydantic model costs time to
create). Iterating over the registry loads every module.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Set

from . import base
from .base import Dim, LayerKind, LayerParams, Shape, ShapeError, Trait, format_shape

# The module declaring each kind. A test checks this index against what the
# modules actually register, so it cannot drift.
KIND_MODULES: dict[str, str] = {
    **dict.fromkeys(["Activation", "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"], "activations"),
    **dict.fromkeys(
        ["AdditiveAttention", "Attention", "GroupQueryAttention", "MultiHeadAttention"], "attention"
    ),
    **dict.fromkeys(
        [
            "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
            "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
        ],
        "convolutional",
    ),
    **dict.fromkeys(
        ["Dense", "EinsumDense", "Embedding", "Identity", "Masking", "ReversibleEmbedding"], "core"
    ),
    **dict.fromkeys(
        ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract"], "merging"
    ),
    **dict.fromkeys(
        [
            "BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization",
            "SpectralNormalization", "UnitNormalization",
        ],
        "normalization",
    ),
    **dict.fromkeys(
        [
            "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
            "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
            "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D",
            "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
            "GlobalMaxPooling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
        ],
        "pooling",
    ),
    # Keras' preprocessing family, split as its subfolders are: features, images, augmentations, audio.
    **dict.fromkeys(
        [
            "CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup",
            "Normalization", "Rescaling", "StringLookup", "TextVectorization",
        ],
        "preprocessing",
    ),
    **dict.fromkeys(
        [
            "CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation",
            "RandomTranslation", "RandomZoom", "Resizing",
        ],
        "image_preprocessing",
    ),
    **dict.fromkeys(
        [
            "AugMix", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix",
            "Equalization", "MixUp", "RandAugment", "RandomColorDegeneration", "RandomColorJitter",
            "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur", "RandomGrayscale", "RandomHue",
            "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomSaturation", "RandomSharpness",
            "RandomShear", "Solarization",
        ],
        "augmentation",
    ),
    **dict.fromkeys(["MelSpectrogram", "STFTSpectrogram"], "audio"),
    **dict.fromkeys(
        [
            "ActivityRegularization", "AlphaDropout", "Dropout", "GaussianDropout", "GaussianNoise",
            "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        ],
        "regularization",
    ),
    **dict.fromkeys(
        [
            "Cropping1D", "Cropping2D", "Cropping3D", "Flatten", "Permute", "RepeatVector", "Reshape",
            "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
        ],
        "reshaping",
    ),
    # Keras' rnn family: the layers and wrappers, the cells (and RNN, which runs them), ConvLSTM.
    **dict.fromkeys(["Bidirectional", "GRU", "LSTM", "SimpleRNN", "TimeDistributed"], "rnn"),
    **dict.fromkeys(["GRUCell", "LSTMCell", "RNN", "SimpleRNNCell", "StackedRNNCells"], "rnn_cells"),
    **dict.fromkeys(["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"], "conv_lstm"),
}  # fmt: skip


class _LazyRegistry(Mapping[str, LayerKind]):
    """A read-only view of `base.REGISTRY` that imports a kind's module on first lookup."""

    def __getitem__(self, name: str) -> LayerKind:
        if name not in base.REGISTRY:
            module = KIND_MODULES.get(name) if isinstance(name, str) else None
            if module is None:
                raise KeyError(name)
            importlib.import_module(f"{__name__}.{module}")
        return base.REGISTRY[name]

    def __contains__(self, name: object) -> bool:
        return name in KIND_MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(KIND_MODULES))

    def __len__(self) -> int:
        return len(KIND_MODULES)


REGISTRY: Mapping[str, LayerKind] = _LazyRegistry()


class KindsWith(Set[str]):
    """The names of the kinds that declare any of some traits.

    For stages that ask by name (`name in PASS_THROUGH`): a membership test
    loads only the module of the kind asked about; iterating loads them all.
    """

    def __init__(self, *traits: Trait):
        self.traits = frozenset(traits)

    def __contains__(self, name: object) -> bool:
        return name in KIND_MODULES and bool(REGISTRY[name].traits & self.traits)  # type: ignore[index]

    def __iter__(self) -> Iterator[str]:
        return (name for name in sorted(KIND_MODULES) if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def load_all() -> dict[str, LayerKind]:
    """Import every layer module and return the complete registry."""
    for module in sorted(set(KIND_MODULES.values())):
        importlib.import_module(f"{__name__}.{module}")
    return dict(base.REGISTRY)


__all__ = [
    "KIND_MODULES",
    "REGISTRY",
    "Dim",
    "KindsWith",
    "LayerKind",
    "LayerParams",
    "Shape",
    "ShapeError",
    "Trait",
    "format_shape",
]
