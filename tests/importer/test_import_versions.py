"""`.keras` files saved by older Keras 3 versions import, and rebuild as the same model.

The files in tests/data/keras_versions/ were saved by Keras 3.8, 3.10, 3.12,
3.13 and 3.14 (tests/data/keras_versions/make_files.py, run by hand). Each is
imported, rebuilt with the installed Keras, and compared with the file loaded
by the installed Keras: parameter count, layer names and classes, and
predictions once the loaded model's weights are copied layer by layer.
"""

from __future__ import annotations

import numpy as np
import pytest

from mspec.importer import import_model
from mspec.pipeline import check_bytes

from support.paths import DATA

FILES = sorted((DATA / "keras_versions").glob("keras_*.keras"))
VERSIONS = [path.stem.removeprefix("keras_").replace("_", ".") for path in FILES]


def test_every_version_has_its_file():
    assert VERSIONS == ["3.10", "3.12", "3.13", "3.14", "3.8"]


@pytest.mark.parametrize("path", FILES, ids=VERSIONS)
def test_imports_without_diagnostics(path):
    result = import_model(path)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    # Initializers saved without the keys later versions added are still Keras' defaults.
    assert "Glorot" not in result.text
    assert 'name = "score"' not in result.text  # a last step named like its output
    assert 'name = "signal_conv"' in result.text  # kept: generated code would not give it


@pytest.mark.keras
@pytest.mark.parametrize("path", FILES, ids=VERSIONS)
def test_rebuilds_as_the_same_model(path):
    keras = pytest.importorskip("keras")
    from mspec.backends.keras_model.build import build_model

    result = import_model(path)
    checked = check_bytes(result.text.encode(), "imported.toml")
    rebuilt = build_model(checked.graph)
    saved = keras.saving.load_model(path)
    assert rebuilt.count_params() == saved.count_params()
    assert {layer.name: type(layer) for layer in rebuilt.layers} == {
        layer.name: type(layer) for layer in saved.layers
    }
    for layer in saved.layers:
        rebuilt.get_layer(layer.name).set_weights(layer.get_weights())
    rng = np.random.default_rng(0)
    data = [
        rng.integers(0, 50, (3, 6)).astype("int32"),
        rng.normal(size=(3, 8, 8, 1)).astype("float32"),
        rng.normal(size=(3, 10, 2)).astype("float32"),
        rng.normal(size=(3, 5)).astype("float32"),
    ]
    for want, got in zip(saved.predict(data, verbose=0), rebuilt.predict(data, verbose=0), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
