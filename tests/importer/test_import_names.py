"""Keras layer names and dict outputs survive `mspec import` and a rebuild; a step's `name` key."""

from __future__ import annotations

import numpy as np
import pytest

from mspec.backends.codegen import generate_source
from mspec.backends.summary import render_summary
from mspec.pipeline import check_bytes

NAMED = """
[model]
name = "named"
outputs_as = "dict"

[inputs.a]
shape = [4]

[branches.x]
from = "a"
layers = [
    { type = "Dense", units = 8, name = "x_dense" },
    { type = "Dense", units = 8 },
    { type = "Dense", units = 3, name = "block5_conv3" },
]

[outputs.priority]
from = "x"
layers = [{ type = "Dense", units = 1, name = "dense_7" }]

[outputs.aux]
from = "x"
"""


def _check(text: str):
    return check_bytes(text.encode(), "spec.toml")


def test_step_names_are_the_layer_names_and_generated_names_avoid_them():
    result = _check(NAMED)
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    source = generate_source(result.graph)
    assert 'layers.Dense(8, name="x_dense")(a)' in source
    # The unnamed step would be x_dense: that name is given, so it gets the next one.
    assert 'layers.Dense(8, name="x_dense_2")(x)' in source
    assert 'name="block5_conv3"' in source and 'name="dense_7"' in source
    assert 'outputs={"priority": priority, "aux": aux}' in source
    summary = render_summary(result.graph)
    assert 'Dense(3) name="block5_conv3"' in summary and 'name="x_dense"' in summary


@pytest.mark.parametrize(
    ("step", "code"),
    [
        ('{ type = "Dense", units = 1, name = "a" }', "MS203"),  # an input's name
        ('{ type = "Dense", units = 1, name = "block5_conv3" }', "MS203"),  # given twice
        ('{ type = "Dense", units = 1, name = "has space" }', "MS107"),
        ('{ type = "Dense", units = 1, name = "a/b" }', "MS107"),
        ('{ type = "Dense", units = 1, name = 3 }', "MS103"),
    ],
)
def test_bad_step_names_are_refused(step, code):
    text = NAMED.replace('{ type = "Dense", units = 1, name = "dense_7" }', step)
    codes = {d.code for d in _check(text).diagnostics if d.is_error}
    assert code in codes


def test_a_last_step_may_give_its_own_entry_name():
    text = NAMED.replace('name = "dense_7"', 'name = "priority"')
    assert not [d for d in _check(text).diagnostics if d.is_error]


def test_specs_without_names_generate_what_they_did():
    text = NAMED.replace('outputs_as = "dict"\n', "")
    for name in ("x_dense", "block5_conv3", "dense_7"):
        text = text.replace(f', name = "{name}"', "")
    source = generate_source(_check(text).graph)
    assert 'name="x_dense"' in source and 'name="x_dense_2"' in source
    assert "outputs=[priority, aux]" in source


# --- through Keras ---------------------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _round_trip(model, tmp_path):
    from mspec.backends.keras_model.build import build_model

    path = tmp_path / "model.keras"
    model.save(path)
    from mspec.importer import import_model

    result = import_model(path)
    assert result.ok, [d.format() for d in result.diagnostics]
    checked = _check(result.text)
    assert not [d for d in checked.diagnostics if d.is_error]
    return result.text, build_model(checked.graph)


@pytest.mark.keras
def test_custom_names_round_trip(tmp_path):
    keras = _keras()
    layers = keras.layers
    a = keras.Input((4,), name="ids")
    b = keras.Input((6, 2), name="series")
    x = layers.Dense(8, name="embed_proj")(a)
    x = layers.Dense(8, name="block5_conv3")(x)
    s = layers.Conv1D(4, 3, name="conv-a")(b)
    s = layers.Flatten(name="flat")(s)
    m = layers.Concatenate(name="joined")([x, s])
    out = layers.Dense(1, name="score")(m)
    model = keras.Model([a, b], out, name="custom")
    _, rebuilt = _round_trip(model, tmp_path)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    for layer in model.layers:
        assert rebuilt.get_layer(layer.name).__class__ is layer.__class__


@pytest.mark.keras
def test_automatic_names_and_dict_outputs_round_trip(tmp_path):
    keras = _keras()
    layers = keras.layers
    # Layers made before the model's: Keras numbers the model's own dense_3, dense_4 ...
    for _ in range(3):
        layers.Dense(1)
    a = keras.Input((4,))
    b = keras.Input((3,))
    x = layers.Dense(8)(a)
    x = layers.Dense(8)(x)
    x = layers.Dense(5)(x)
    m = layers.Concatenate()([x, b])
    shared = layers.Dense(2)
    p = layers.Dense(1, name="head")(shared(m))
    q = layers.Dense(2)(shared(m))
    model = keras.Model([a, b], {"priority": p, "aux": q})
    model.compile(optimizer="adam", loss={"priority": "mse", "aux": "mse"})
    text, rebuilt = _round_trip(model, tmp_path)
    assert 'outputs_as = "dict"' in text
    assert {layer.name for layer in rebuilt.layers} == {layer.name for layer in model.layers}
    for layer in model.layers:
        assert rebuilt.get_layer(layer.name).__class__ is layer.__class__
    rebuilt.set_weights(model.get_weights())
    data = [np.ones((2, 4), "float32"), np.ones((2, 3), "float32")]
    want, got = model.predict(data, verbose=0), rebuilt.predict(data, verbose=0)
    assert isinstance(got, dict) and list(got) == list(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)
