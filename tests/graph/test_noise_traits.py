"""Layers that change values in training only (NOISE): the output checks look through them.

SpatialDropout2D/3D and AlphaDropout are the identity at inference, as Dropout and GaussianNoise
are, so what a model predicts is what the layer before them gives.
"""

from __future__ import annotations

import pytest

from mspec.pipeline import check_bytes


@pytest.mark.parametrize(
    "noise, shape",
    [
        ('{ type = "AlphaDropout", rate = 0.1 }', "[4]"),
        ('{ type = "SpatialDropout2D", rate = 0.1 }', "[2, 2, 3]"),
        ('{ type = "SpatialDropout3D", rate = 0.1 }', "[2, 2, 2, 3]"),
    ],
)
def test_the_output_checks_look_through_training_noise(noise: str, shape: str) -> None:
    # Keras applies these in training only: the prediction is the relu's, unbounded, as without them.
    spec = f"""
[model]
name = "noise"

[inputs.x]
shape = {shape}

[outputs.p]
from = "x"
layers = [{{ type = "Dense", units = 1, activation = "relu" }}, {noise}]
loss = "binary_crossentropy"
"""
    result = check_bytes(spec.encode(), "noise.toml")
    found = [d.message for d in result.diagnostics if d.code == "MS703"]
    assert len(found) == 1 and "Dense(1, relu)" in found[0], found


@pytest.mark.parametrize(
    "noise, shape",
    [
        ('{ type = "Dropout", rate = 0.1 }', "[3, 2]"),
        ('{ type = "AlphaDropout", rate = 0.1 }', "[3, 2]"),
        ('{ type = "SpatialDropout2D", rate = 0.1 }', "[3, 2, 2]"),
    ],
)
def test_ids_into_dense_are_reported_at_the_dense_after_training_noise(noise: str, shape: str) -> None:
    # As after Dropout: the noise layer's own trouble with integers is the dtype check's (MS305/MS306).
    spec = f"""
[model]
name = "noise"

[inputs.item]
shape = {shape}
dtype = "int32"

[outputs.score]
from = "item"
layers = [{noise}, {{ type = "Flatten" }}, {{ type = "Dense", units = 1 }}]
loss = "mse"
"""
    result = check_bytes(spec.encode(), "noise.toml")
    found = [d.message for d in result.diagnostics if d.code == "MS707"]
    assert len(found) == 1 and "reaches Dense in score" in found[0], found
    assert {d.code for d in result.diagnostics} & {"MS305", "MS306"}


# --- What Keras does ------------------------------------------------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["AlphaDropout", "SpatialDropout2D", "SpatialDropout3D"])
def test_keras_predicts_through_training_noise_unchanged(layer: str) -> None:
    import numpy as np

    keras = pytest.importorskip("keras")
    shape = {"AlphaDropout": (4,), "SpatialDropout2D": (2, 2, 3), "SpatialDropout3D": (2, 2, 2, 3)}[layer]
    values = np.linspace(-1, 3, 2 * int(np.prod(shape)), dtype="float32").reshape((2, *shape))
    noise = getattr(keras.layers, layer)(0.5)
    assert np.array_equal(np.asarray(noise(values, training=False)), values)
    assert not np.array_equal(np.asarray(noise(values, training=True)), values)
