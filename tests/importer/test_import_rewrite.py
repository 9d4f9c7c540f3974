"""Import rewrites what a spec cannot write as it is: nested models, tensor operations, application layers.

Each model is built in Keras, imported from its saved configuration, rebuilt
from the spec, given the original weights layer by layer (by the names the
import keeps) and compared with the original on random inputs. The rewrites
are reported once per kind (MS411); what cannot be rewritten is still refused.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from mspec.importer import import_config
from mspec.importer.rewrite import rewrite

from support.keras_applications import match_layers
from support.keras_configs import keras_tensor

needs_keras = pytest.mark.keras


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


@needs_keras
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


@needs_keras
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


@needs_keras
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


@needs_keras
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


@needs_keras
def test_activation_functions_concatenate_reshape_and_negation_become_layers() -> None:
    keras = _keras()
    ops = keras.ops
    x, y = keras.Input((2, 6), name="x"), keras.Input((2, 6), name="y")
    functions = [ops.relu, ops.relu6, ops.leaky_relu, ops.elu, ops.selu, ops.silu, ops.hard_silu,
                 ops.sigmoid, ops.hard_sigmoid, ops.tanh, ops.softplus, ops.softsign, ops.exp,
                 ops.softmax, ops.log_softmax, lambda t: ops.gelu(t, approximate=False)]  # fmt: skip
    activated = [function(keras.layers.Dense(6)(x)) for function in functions]
    joined = ops.concatenate([*activated, -y], axis=-1)
    flat = ops.reshape(joined, (-1, 2 * 6 * (len(functions) + 1)))
    model = keras.Model([x, y], keras.layers.Dense(3, name="out")(flat))
    messages = round_trip(model, _arrays((2, 6), (2, 6)))
    written = [message.split(", which")[0] for message in messages]
    assert len(written) == len(functions) + 3
    assert "tensor operation `ops.leaky_relu(...)` written as Activation" in written
    assert "tensor operation `-x` written as Rescaling" in written
    assert "tensor operation `ops.concatenate(...)` written as Concatenate" in written
    assert "tensor operation `ops.reshape(...)` written as Reshape" in written


@needs_keras
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


@needs_keras
def test_operations_without_a_layer_are_still_refused() -> None:
    keras = _keras()
    x, y = keras.Input((4,), name="x"), keras.Input((1,), name="y")
    broadcast = x + y  # shapes differ: Add refuses what ops.add broadcasts
    inverted = 2.0 / x  # no layer computes number / x
    approximated = keras.ops.gelu(x)  # approximate=True: the gelu activation is exact
    batch_joined = keras.ops.concatenate([x, x], axis=0)
    rows = keras.ops.reshape(x, (2, -1))  # the batch size is fixed
    model = keras.Model([x, y], [broadcast, inverted, keras.ops.sin(x), approximated, batch_joined, rows])
    errors = _refused(model)
    assert len(errors) == 6 and all(e.startswith("MS404 ") for e in errors), errors


@needs_keras
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


# --- without Keras: hand-written configurations ------------------------------------


def _dense(name: str, units: int, *nodes) -> dict:
    return {"module": "keras.layers", "class_name": "Dense", "name": name,
            "config": {"name": name, "units": units}, "inbound_nodes": list(nodes)}  # fmt: skip


def _input(name: str) -> dict:
    return {"module": "keras.layers", "class_name": "InputLayer", "name": name,
            "config": {"name": name, "batch_shape": [None, 4]}, "inbound_nodes": []}  # fmt: skip


def _tower(**config) -> dict:
    """A Sequential of two Dense layers, as Keras 3 saves one called as a layer (no InputLayer)."""
    layers = [{"module": "keras.layers", "class_name": "Dense", "config": {"name": n, "units": 3}}
              for n in ("hidden", "projection")]  # fmt: skip
    return {"module": "keras", "class_name": "Sequential", "name": "tower",
            "config": {"name": "tower", "layers": layers, **config}}  # fmt: skip


def test_a_nested_model_read_in_the_keras_2_form_and_used_as_the_output_is_inlined() -> None:
    tower = {**_tower(), "inbound_nodes": [[["x", 0, 0, {}]]]}
    data = {"class_name": "Functional", "config": {
        "name": "old", "layers": [_input("x"), tower],
        "input_layers": [["x", 0, 0]], "output_layers": [["tower", 0, 0]],
    }}  # fmt: skip
    result = import_config(data, "old.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    document = tomllib.loads(result.text)
    assert document["outputs"] == {
        "projection": {"from": "x", "layers": [
            {"type": "Dense", "units": 3, "name": "hidden"}, {"type": "Dense", "units": 3}
        ]}
    }  # fmt: skip


def test_the_rewrite_leaves_the_saved_configuration_as_it_was() -> None:
    calls = [{"args": [keras_tensor("x")], "kwargs": {}}, {"args": [keras_tensor("tower")], "kwargs": {}}]
    tower = {**_tower(trainable=False), "inbound_nodes": calls}
    output = _dense("y", 1, {"args": [keras_tensor("tower", 1)]})
    config = {"name": "m", "layers": [_input("x"), tower, output],
              "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}  # fmt: skip
    saved = json.dumps(config, sort_keys=True)
    rewritten, rewrites = rewrite(config)
    assert json.dumps(config, sort_keys=True) == saved
    assert rewrites.inlined == ["tower"]
    layers = {entry["name"]: entry for entry in rewritten["layers"]}
    # Called twice, on x and then on its own output: each inlined layer has two calls.
    histories = [node["args"][0]["config"]["keras_history"] for node in layers["hidden"]["inbound_nodes"]]
    assert histories == [["x", 0, 0], ["projection", 0, 0]]
    assert layers["y"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["projection", 1, 0]
    assert layers["hidden"]["config"]["trainable"] is False


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda tower: tower["config"].update(layers=[]), "it has no layers"),
        (lambda tower: tower["config"]["layers"].append(3), "a layer entry is not an object"),
        (lambda tower: tower["inbound_nodes"][0].update(args=[keras_tensor("x"), keras_tensor("x")]),
         "it is called with arguments other than its inputs"),
        (lambda tower: tower["inbound_nodes"][0]["kwargs"].update(training=True),
         "it is called with arguments other than its inputs"),
    ],
)  # fmt: skip
def test_a_nested_model_that_cannot_be_inlined_says_why(change, why) -> None:
    tower = {**_tower(), "inbound_nodes": [{"args": [keras_tensor("x")], "kwargs": {}}]}
    change(tower)
    data = {"class_name": "Functional", "config": {
        "name": "m", "layers": [_input("x"), tower, _dense("y", 1, {"args": [keras_tensor("tower")]})],
        "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]],
    }}  # fmt: skip
    result = import_config(data, "m.json")
    errors = [d.message for d in result.diagnostics if d.is_error]
    assert errors == [f"layer 'tower' (Sequential): a model nested inside the model cannot be inlined: {why}"]
