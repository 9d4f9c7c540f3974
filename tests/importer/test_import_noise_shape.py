"""A saved noise_shape with unknown axes imports as axis names, for AlphaDropout as for Dropout.

Keras saves AlphaDropout's noise_shape in its config as it saves Dropout's, with null for the axes
taken from the input; TOML has no null, so the import names them.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from mspec.importer import import_config

from support.importing import keras_or_skip
from support.round_trip import assert_same_model, build_imported, findings

pytestmark = pytest.mark.keras


@pytest.mark.parametrize("layer", ["Dropout", "AlphaDropout"])
def test_noise_shape_with_unknown_axes_round_trips(layer: str) -> None:
    keras = keras_or_skip()
    x = keras.Input((5, 4), name="x")
    model = keras.Model(x, getattr(keras.layers, layer)(0.3, noise_shape=(None, 1, 4), name="drop")(x))
    config = json.loads(model.to_json())
    saved = next(item for item in config["config"]["layers"] if item["class_name"] == layer)
    assert saved["config"]["noise_shape"] == [None, 1, 4]
    result = import_config(config, "model.json")
    assert result.ok and not findings(result.diagnostics), [d.format() for d in result.diagnostics]
    step = tomllib.loads(result.text)["outputs"]["drop"]["layers"][0]
    assert step == {"type": layer, "rate": 0.3, "noise_shape": ["batch", 1, 4]}
    assert_same_model(model, build_imported(result.text))
