"""Import rewrites what a spec cannot write as it is: nested models, tensor operations, application layers.

Each model is built in Keras, imported from its saved configuration, rebuilt
from the spec, given the original weights layer by layer (by the names the
import keeps) and compared with the original on random inputs. The rewrites
are reported once per kind (MS411); what cannot be rewritten is still refused.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_applications import match_layers
from mspec.importer import import_config

pytestmark = pytest.mark.keras


def _keras():
    return pytest.importorskip("keras")


def round_trip(model, inputs: list[np.ndarray] | np.ndarray) -> list[str]:
    """Import `model`, rebuild it, copy its weights and check the predictions; return the MS411 messages."""
    keras = _keras()
    from mspec.api import build_model, check_text

    result = import_config(json.loads(model.to_json()), "model.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    rebuilt = build_model(check_text(result.text, "toml", "model.toml"))
    assert rebuilt.count_params() == model.count_params()
    pairs, problems = match_layers(model, rebuilt)
    # The spec orders layers its own way; names and classes are the same.
    assert problems in ([], ["the same layers in another order"]), problems
    inputs = inputs if len(inputs) > 1 else inputs[0]
    want = keras.ops.convert_to_numpy(model(inputs, training=False))
    before = keras.ops.convert_to_numpy(rebuilt(inputs, training=False))
    for layer, twin in pairs:
        if getattr(layer, "weights", None):
            twin.set_weights(layer.get_weights())
    got = keras.ops.convert_to_numpy(rebuilt(inputs, training=False))
    if rebuilt.count_params():
        assert np.max(np.abs(want - before)) > 1e-3, "the comparison does not depend on the weights"
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    return [d.message for d in result.diagnostics if d.code == "MS411"]


def _arrays(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=(3, *shape)).astype("float32") for shape in shapes]


def test_a_nested_sequential_called_twice_shares_its_inlined_layers() -> None:
    keras = _keras()
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    tower = keras.Sequential(
        [keras.layers.Dense(8, activation="relu", name="hidden"), keras.layers.Dense(3, name="projection")],
        name="tower",
    )
    merged = keras.layers.Concatenate(name="both")([tower(a), tower(b)])
    model = keras.Model([a, b], keras.layers.Dense(1, name="score")(merged))
    messages = round_trip(model, _arrays((4,), (4,)))
    assert messages == ["nested model inlined, its layers now layers of the model (1: 'tower')"]


def test_nested_functional_models_with_several_inputs_and_outputs_are_inlined() -> None:
    keras = _keras()
    # The innermost model, a Sequential inside a Functional inside the model.
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6, name="dense")], name="inner")
    x, y = keras.Input((6,), name="x"), keras.Input((6,), name="y")
    added = keras.layers.Add(name="added")([inner(x), y])
    pair = keras.Model([x, y], [added, keras.layers.Dense(2, name="side")(y)], name="pair")
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    first, second = pair([a, b])
    # The outer model uses the name "dense" too: the inlined layer is renamed after its model.
    out = keras.layers.Dense(1, name="dense")(keras.layers.Concatenate(name="joined")([first, second]))
    model = keras.Model([a, b], out)
    messages = round_trip(model, _arrays((6,), (6,)))
    assert messages == [
        "nested model inlined, its layers now layers of the model (2: 'inner', 'pair'); "
        "layers named like one of the model's own renamed: 'dense' as 'pair_dense'"
    ]


def test_a_frozen_nested_model_keeps_its_layers_frozen() -> None:
    keras = _keras()
    from mspec.api import build_model, check_text

    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dense(4, name="frozen_dense")], name="block")
    block.trainable = False
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs)))
    result = import_config(json.loads(model.to_json()), "model.json")
    rebuilt = build_model(check_text(result.text, "toml", "model.toml"))
    assert rebuilt.get_layer("frozen_dense").trainable is False
    assert rebuilt.get_layer("y").trainable is True


def test_arithmetic_on_tensors_becomes_merges_and_rescalings() -> None:
    keras = _keras()
    x, y = keras.Input((5,), name="x"), keras.Input((5,), name="y")
    hard_sigmoid = keras.layers.ReLU(6.0, name="relu6")(x + 3.0) * (1.0 / 6.0)
    mixed = (2.5 - hard_sigmoid) / 4.0 + keras.ops.maximum(x, y) - (y - 1.0) * x
    model = keras.Model([x, y], keras.layers.Dense(2, name="out")(mixed))
    messages = round_trip(model, _arrays((5,), (5,)))
    written = {message.split(" written as ")[0]: message.split(" written as ")[1].split(",")[0]
               for message in messages}  # fmt: skip
    assert written == {
        "tensor operation `x + number`": "Rescaling",
        "tensor operation `x * number`": "Rescaling",
        "tensor operation `number - x`": "Rescaling",
        "tensor operation `x / number`": "Rescaling",
        "tensor operation `x - number`": "Rescaling",
        "tensor operation `ops.maximum(x, y)`": "Maximum",
        "tensor operation `x + y`": "Add",
        "tensor operation `x - y`": "Subtract",
        "tensor operation `x * y`": "Multiply",
    }


def test_the_application_layers_become_public_layers_with_the_same_weights() -> None:
    keras = _keras()
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    inputs = keras.Input((3, 3, 4), name="image")
    scaled = LayerScale(0.5, 4, name="layer_scale")(inputs)
    branch = keras.layers.Conv2D(4, 1, name="branch")(inputs)
    total = CustomScaleLayer(0.17, name="residual")([scaled, branch])
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D(name="pool")(total))
    # The LayerScale weight starts at 0.5 in both models: give the original another one.
    model.get_layer("layer_scale").set_weights([np.arange(1.0, 5.0, dtype="float32")])
    messages = round_trip(model, _arrays((3, 3, 4)))
    assert [m.split(",")[0] for m in messages] == [
        "LayerScale layer written as EinsumDense",
        "CustomScaleLayer layer written as Rescaling + Add",
    ]


def _refused(model) -> list[str]:
    result = import_config(json.loads(model.to_json()), "model.json")
    assert not result.ok
    return [f"{d.code} {d.message}" for d in result.diagnostics if d.is_error]


def test_operations_without_a_layer_are_still_refused() -> None:
    keras = _keras()
    x, y = keras.Input((4,), name="x"), keras.Input((1,), name="y")
    broadcast = x + y  # shapes differ: Add refuses what ops.add broadcasts
    inverted = 2.0 / x  # no layer computes number / x
    model = keras.Model([x, y], keras.layers.Concatenate(name="c")([broadcast, inverted, keras.ops.sin(x)]))
    errors = _refused(model)
    assert len(errors) == 3 and all(e.startswith("MS404 ") for e in errors), errors


def test_a_nested_model_called_with_other_arguments_is_refused_with_the_reason() -> None:
    keras = _keras()
    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dropout(0.5), keras.layers.Dense(4)], name="inner_block")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs, training=True)))
    errors = _refused(model)
    assert errors == [
        "MS402 layer 'inner_block' (Sequential): a model nested inside the model cannot be inlined: "
        "it is called with arguments other than its inputs"
    ]
