"""The traits of the layers that only move values, against what Keras does with them.

UpSampling1D/2D/3D, ZeroPadding3D and Cropping3D only move, repeat or pad values (SHAPE_ONLY), hand
ids on (PASSES_IDS) and strings too (PASSES_STRINGS). Each test pins the verdict that follows from
the traits, and the Keras tests show that Keras does what they say.
"""

from __future__ import annotations

import pytest

from mspec.data.binding import id_limits
from mspec.pipeline import CheckResult, check_bytes


def check(text: str) -> CheckResult:
    result = check_bytes(text.encode(), "traits.toml")
    assert result.graph is not None, [d.format() for d in result.diagnostics]
    return result


def codes(result: CheckResult, code: str) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == code]


def _strings_through(layer: str, shape: str) -> str:
    return f"""
[model]
name = "strings"

[inputs.city]
shape = {shape}
dtype = "string"

[outputs.score]
from = "city"
layers = [
  {layer}, {{ type = "Flatten" }}, {{ type = "Hashing", num_bins = 16 }},
  {{ type = "Embedding", input_dim = 16, output_dim = 2 }},
  {{ type = "Flatten" }}, {{ type = "Dense", units = 1 }},
]
loss = "mse"
"""


STRING_CASES = {
    "UpSampling1D": ('{ type = "UpSampling1D", size = 2 }', "[3, 1]"),
    "UpSampling2D": ('{ type = "UpSampling2D", size = 2 }', "[2, 2, 1]"),
    "UpSampling3D": ('{ type = "UpSampling3D", size = 2 }', "[2, 2, 2, 1]"),
}


@pytest.mark.parametrize("layer", sorted(STRING_CASES))
def test_strings_pass_the_up_samplings(layer: str) -> None:
    step, shape = STRING_CASES[layer]
    result = check(_strings_through(step, shape))
    assert not codes(result, "MS709"), [d.format() for d in result.diagnostics]


def _ids_through(steps: str, shape: str) -> str:
    return f"""
[model]
name = "ids"

[inputs.item]
shape = {shape}
dtype = "int32"

[outputs.score]
from = "item"
layers = [{steps}]
loss = "mse"
"""


ID_CASES = {
    "UpSampling1D": ('{ type = "UpSampling1D", size = 2 }', "[3]"),
    "UpSampling2D": ('{ type = "UpSampling2D", size = 2 }', "[2, 2]"),
    "UpSampling3D": ('{ type = "UpSampling3D", size = 2 }', "[2, 2, 2]"),
    "ZeroPadding3D": ('{ type = "ZeroPadding3D", padding = 1 }', "[2, 2, 2]"),
    "Cropping3D": ('{ type = "Cropping3D", cropping = [[0, 1], [0, 0], [0, 0]] }', "[2, 2, 2]"),
}


@pytest.mark.parametrize("layer", sorted(ID_CASES))
def test_ids_reach_the_embedding_after_moving_layers(layer: str) -> None:
    # A reshape gives the moving layer its channel axis; the Embedding after it reads the same ids.
    step, shape = ID_CASES[layer]
    steps = (
        f'{{ type = "Reshape", target_shape = {shape[:-1]}, 1] }}, {step}, '
        '{ type = "Flatten" }, { type = "Embedding", input_dim = 10, output_dim = 2 }, '
        '{ type = "Flatten" }, { type = "Dense", units = 1 }'
    )
    result = check(_ids_through(steps, shape))
    assert result.graph is not None
    # The data check range-checks the ids against the Embedding they reach (MS5xx)...
    assert [(limit.layer, limit.limit) for limit in id_limits(result.graph, "item")] == [("Embedding", 10)]
    # ... and the ids reach it as ids: no MS707 on the way.
    assert not codes(result, "MS707"), [d.format() for d in result.diagnostics]


@pytest.mark.parametrize("layer", ["ZeroPadding3D", "Cropping3D", "UpSampling3D"])
def test_ids_into_dense_are_reported_at_the_dense_after_a_3d_resizing(layer: str) -> None:
    step, shape = ID_CASES[layer]
    steps = f'{{ type = "Reshape", target_shape = {shape[:-1]}, 1] }}, {step}, {{ type = "Flatten" }}, '
    steps += '{ type = "Dense", units = 1 }'
    found = codes(check(_ids_through(steps, shape)), "MS707")
    assert len(found) == 1 and "reaches Dense" in found[0], found


# --- What Keras does ------------------------------------------------------------------------------


def _keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("strings run on TensorFlow only")
    return keras


KERAS_LAYERS = {
    "UpSampling1D": (lambda k: k.layers.UpSampling1D(2), (3, 1)),
    "UpSampling2D": (lambda k: k.layers.UpSampling2D(2), (2, 2, 1)),
    "UpSampling3D": (lambda k: k.layers.UpSampling3D(2), (2, 2, 2, 1)),
    "ZeroPadding3D": (lambda k: k.layers.ZeroPadding3D(1), (2, 2, 2, 1)),
    "Cropping3D": (lambda k: k.layers.Cropping3D(((0, 1), (0, 0), (0, 0))), (2, 2, 2, 1)),
}


@pytest.mark.keras
@pytest.mark.parametrize("layer", sorted(KERAS_LAYERS))
def test_keras_moves_ids_and_strings_unchanged(layer: str) -> None:
    import numpy as np

    keras = _keras()
    make, shape = KERAS_LAYERS[layer]
    ids = np.arange(1, 1 + 2 * int(np.prod(shape)), dtype="int32").reshape((2, *shape))
    out = np.asarray(make(keras)(ids))
    assert out.dtype == np.int32
    assert set(np.unique(out)) <= set(np.unique(ids)) | {0}
    strings = np.array([f"s{i}" for i in range(ids.size)], dtype=object).reshape(ids.shape)
    out = np.asarray(make(keras)(keras.ops.convert_to_tensor(strings)))
    assert set(np.unique(out)) <= {s.encode() for s in strings.flat} | {b""}


@pytest.mark.keras
@pytest.mark.parametrize("layer", ["UpSampling1D", "UpSampling2D", "UpSampling3D"])
def test_keras_trains_on_strings_through_the_up_samplings(layer: str) -> None:
    import numpy as np

    keras = _keras()
    make, shape = KERAS_LAYERS[layer]
    city = keras.Input(shape, dtype="string")
    x = keras.layers.Flatten()(make(keras)(city))
    x = keras.layers.Embedding(16, 2)(keras.layers.Hashing(16)(x))
    model = keras.Model(city, keras.layers.Dense(1)(keras.layers.Flatten()(x)))
    model.compile(loss="mse")
    strings = np.array([f"s{i % 5}" for i in range(4 * int(np.prod(shape)))], dtype=object)
    model.fit(keras.ops.convert_to_tensor(strings.reshape((4, *shape))), np.zeros((4, 1)), verbose=0)


@pytest.mark.keras
def test_keras_refuses_an_id_out_of_range_after_up_sampling() -> None:
    # What the data check's range check prevents: the id reaches the Embedding unchanged.
    import numpy as np

    keras = _keras()
    item = keras.Input((3, 1), dtype="int32")
    x = keras.layers.Embedding(10, 2)(keras.layers.Flatten()(keras.layers.UpSampling1D(2)(item)))
    model = keras.Model(item, x)
    assert np.asarray(model(np.full((1, 3, 1), 9, dtype="int32"))).shape == (1, 6, 2)
    with pytest.raises(Exception, match="indices"):
        model(np.full((1, 3, 1), 12, dtype="int32"))
