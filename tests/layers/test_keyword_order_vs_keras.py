"""A layer kind's parameters come in the order of Keras' constructor, but for the kinds listed here.

The order of a kind's parameters is the keyword order of generated code, of
docs/layers.md, of the schema and of imported steps (generated code passes
required arguments first, whatever their place). A new kind must follow
Keras; the kinds below came in another order, which generated code and docs
keep, so the list says where each one parts from Keras. Aligning one with
Keras changes those outputs: it then leaves this list.
"""

from __future__ import annotations

import inspect

import pytest

from mspec.layers import load_all

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

# kind -> the first parameter out of Keras' order.
OWN_ORDER = {
    "Dense": "activation",  # units last (generated code writes it first, as a required argument)
    "Conv3DTranspose": "output_padding",
    "GRU": "use_bias",  # recurrent_activation after the cell's arguments
    "GRUCell": "use_bias",
    "LSTM": "use_bias",
    "LSTMCell": "use_bias",
    "SimpleRNN": "kernel_constraint",  # activity_regularizer with the sequence arguments
    "IntegerLookup": "vocabulary",  # mask_token and oov_token after the vocabulary
    "StringLookup": "vocabulary",
    # Augmentation layers: data_format and seed first.
    **dict.fromkeys(
        [
            "AugMix",
            "CutMix",
            "MixUp",
            "RandAugment",
            "RandomColorDegeneration",
            "RandomColorJitter",
            "RandomCrop",
            "RandomElasticTransform",
            "RandomErasing",
            "RandomGaussianBlur",
            "RandomGrayscale",
            "RandomHue",
            "RandomInvert",
            "RandomPerspective",
            "RandomPosterization",
            "RandomSaturation",
            "RandomSharpness",
            "RandomShear",
        ],
        "data_format",
    ),
}


def first_out_of_order(name: str, parameters: list[str]) -> str | None:
    """The first of mspec's parameters not where Keras' constructor has it; None when all are."""
    signature = inspect.signature(getattr(keras.layers, name).__init__).parameters
    ours = [p for p in parameters if p in signature]
    theirs = [p for p in signature if p in ours]
    return next((mine for mine, keras_own in zip(ours, theirs, strict=True) if mine != keras_own), None)


def test_parameters_follow_keras_order_but_where_listed() -> None:
    found = {
        name: first
        for name, kind in sorted(load_all().items())
        if (first := first_out_of_order(name, list(kind.params.model_fields))) is not None
    }
    assert found == OWN_ORDER
