"""`mspec import` of Keras models a spec cannot express, or expresses only in part.

Each is saved by Keras and imported: what a spec cannot hold is reported
naming the layer and nothing is written; what it holds with a change is
imported with a warning.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from mspec.importer import import_config

from support.importing import invoke_import, keras_or_skip
from support.round_trip import assert_same_model, build_imported

needs_keras = pytest.mark.keras


def _save(model, tmp_path: Path, name: str = "model") -> Path:
    path = tmp_path / f"{name}.keras"
    model.save(path)
    return path


def _refused(path: Path, tmp_path: Path, code: str, layer: str) -> str:
    """Import a model a spec cannot express: exit 1, nothing written, `code` naming `layer`."""
    target = tmp_path / "refused.toml"
    result = invoke_import(str(path), "-o", str(target))
    assert result.exit_code == 1, result.output
    assert not target.exists()
    lines = [line for line in result.stderr.splitlines() if f" {code} error: " in line]
    assert lines and any(f"'{layer}'" in line for line in lines), result.stderr
    return result.stderr


@needs_keras
def test_lambda_layer_is_refused(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((4,), name="x")
    doubled = keras.layers.Lambda(lambda t: t * 2, name="doubler")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(doubled))
    _refused(_save(model, tmp_path), tmp_path, "MS403", "doubler")


@needs_keras
def test_a_nested_sequential_is_inlined_with_a_warning(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(4)], name="inner_block")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs)))
    result = invoke_import(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    assert " MS411 warning: nested model inlined" in result.stderr and "'inner_block'" in result.stderr
    assert [step["type"] for step in tomllib.loads(result.stdout)["outputs"]["y"]["layers"]] == ["Dense"] * 3


@needs_keras
def test_a_nested_model_that_cannot_be_inlined_is_refused(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(4)], name="inner_block")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs, training=True)))
    _refused(_save(model, tmp_path), tmp_path, "MS402", "inner_block")


class Scale:
    """Holds the custom layer class, created once Keras is imported."""

    cls = None


def _custom_layer_class():
    keras = keras_or_skip()
    if Scale.cls is None:

        class ScaleBy(keras.layers.Layer):
            def __init__(self, factor: float = 2.0, **kwargs):
                super().__init__(**kwargs)
                self.factor = factor

            def call(self, inputs):
                return inputs * self.factor

            def get_config(self):
                return {**super().get_config(), "factor": self.factor}

        Scale.cls = ScaleBy
    return Scale.cls


@needs_keras
def test_custom_layer_and_operations_are_refused(tmp_path: Path) -> None:
    keras = keras_or_skip()
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    scaled = _custom_layer_class()(3.0, name="scale_by")(a)
    summed = keras.ops.sin(scaled) + b  # a Keras operation no layer computes
    model = keras.Model([a, b], keras.layers.Dense(1, name="y")(summed))
    stderr = _refused(_save(model, tmp_path), tmp_path, "MS404", "scale_by")
    assert stderr.count(" MS404 error: ") == 2


@needs_keras
def test_several_outputs_and_call_arguments_are_refused(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((5, 3), name="x")
    sequence, state, _ = keras.layers.LSTM(4, return_sequences=True, return_state=True, name="lstm")(inputs)
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(sequence)
    merged = keras.layers.Concatenate(name="merged")([pooled, state])
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(merged))
    _refused(_save(model, tmp_path), tmp_path, "MS405", "lstm")

    inputs = keras.Input((4,), name="x")
    dropped = keras.layers.Dropout(0.5, name="always_on")(inputs, training=True)
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(dropped))
    _refused(_save(model, tmp_path, "dropout"), tmp_path, "MS407", "always_on")


@needs_keras
def test_objects_with_settings_are_kept_with_their_arguments(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((4,), name="x")
    dense = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.RandomNormal(stddev=0.5),
        kernel_regularizer=keras.regularizers.L2(0.001),
        bias_constraint=keras.constraints.MaxNorm(3.0),
        name="y",
    )
    model = keras.Model(inputs, dense(inputs))
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.AUC(from_logits=True), "Precision"],
    )
    result = invoke_import(str(_save(model, tmp_path)))
    assert result.exit_code == 0 and "MS408" not in result.stderr, result.output
    output = tomllib.loads(result.stdout)["outputs"]["y"]
    assert output["layers"][0] == {
        "type": "Dense",
        "units": 2,
        "kernel_initializer": {"type": "RandomNormal", "stddev": 0.5},
        "kernel_regularizer": {"type": "L2", "l2": 0.001},
        "bias_constraint": {"type": "MaxNorm", "max_value": 3.0},
    }
    assert output["loss"] == {"type": "BinaryCrossentropy", "from_logits": True}
    assert output["metrics"] == [{"type": "AUC", "from_logits": True}, "Precision"]


@needs_keras
def test_output_straight_from_a_merge_is_imported_with_a_warning(tmp_path: Path) -> None:
    keras = keras_or_skip()
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    merged = keras.layers.Concatenate(name="joined")([keras.layers.Dense(2, name="da")(a), b])
    model = keras.Model([a, b], merged)
    result = invoke_import(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    assert " MS409 warning: " in result.stderr
    rebuilt = build_imported(result.stdout)
    assert [type(layer).__name__ for layer in rebuilt.layers][-1] == "Identity"
    assert rebuilt.count_params() == model.count_params()


@needs_keras
def test_a_loss_argument_keras_does_not_save_is_reported(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(inputs))
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.01), loss=keras.losses.Huber(delta=2.0), metrics=["mae"]
    )
    result = invoke_import(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    # Keras' Huber saves no delta: the spec gets the class, and a warning says so.
    assert " MS408 warning: " in result.stderr and "delta" in result.stderr
    document = tomllib.loads(result.stdout)
    assert document["compile"] == {"optimizer": {"type": "RMSprop", "learning_rate": 0.01}}
    assert document["outputs"]["y"] == {
        "from": "x",
        "layers": [{"type": "Dense", "units": 1}],
        "loss": "Huber",
        "metrics": ["mae"],
    }


@needs_keras
def test_a_sequential_model_imports_as_one_chain(tmp_path: Path) -> None:
    keras = keras_or_skip()
    model = keras.Sequential(
        [keras.Input((6,), name="features"), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)],
        name="plain",
    )
    result = invoke_import(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    document = tomllib.loads(result.stdout)
    assert list(document["inputs"]) == ["features"]
    (output,) = document["outputs"].values()
    assert [step["units"] for step in output["layers"]] == [8, 1]
    assert build_imported(result.stdout).count_params() == model.count_params()


@needs_keras
def test_several_outputs_of_a_wrapper_and_custom_activations_are_refused(tmp_path: Path) -> None:
    keras = keras_or_skip()
    inputs = keras.Input((5, 3), name="x")
    forward, backward = keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode=None, name="both")(inputs)
    model = keras.Model(inputs, keras.layers.Add(name="y")([forward, backward]))
    _refused(_save(model, tmp_path), tmp_path, "MS405", "both")

    def doubled(t):
        return t * 2

    inputs = keras.Input((3,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, activation=doubled, name="custom_act")(inputs))
    _refused(_save(model, tmp_path, "activation"), tmp_path, "MS406", "custom_act")


# The arguments each kind is built with below: its required ones (and, for a few, a value that fits
# the small probe input).
REQUIRED_ARGUMENTS = {
    "Activation": {"activation": "relu"}, "Dense": {"units": 3}, "Dropout": {"rate": 0.5},
    "SpatialDropout1D": {"rate": 0.5}, "GaussianNoise": {"stddev": 0.1}, "GaussianDropout": {"rate": 0.5},
    "Rescaling": {"scale": 2.0}, "Reshape": {"target_shape": (4, 3)}, "Permute": {"dims": (2, 1)},
    "RepeatVector": {"n": 2}, "Embedding": {"input_dim": 10, "output_dim": 3},
    "CategoryEncoding": {"num_tokens": 12}, "Dot": {"axes": -1},
    "MultiHeadAttention": {"num_heads": 2, "key_dim": 3},
    "EinsumDense": {"equation": "...b,bc->...c", "output_shape": 2},
    "GroupQueryAttention": {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
    "AlphaDropout": {"rate": 0.5}, "SpatialDropout2D": {"rate": 0.5}, "SpatialDropout3D": {"rate": 0.5},
    "GroupNormalization": {"groups": 1},
}  # fmt: skip


def _default_layer(keras, name: str):
    """Return a layer of a registry kind with only its required arguments, and an input shape for it."""
    params = dict(REQUIRED_ARGUMENTS.get(name, {}))
    if name.startswith(("Conv", "SeparableConv")):
        params = {"filters": 2, "kernel_size": 2}
    elif name.startswith("AveragePooling"):
        params = {"pool_size": 2}
    elif name.startswith("Adaptive"):
        params = {"output_size": 2}
    elif name.startswith("DepthwiseConv"):
        params = {"kernel_size": 2}
    elif name in ("GRU", "LSTM", "SimpleRNN"):
        params = {"units": 2}
    elif name == "Bidirectional":
        params = {"layer": keras.layers.LSTM(2)}
    elif name == "TimeDistributed":
        params = {"layer": keras.layers.Dense(2)}
    rank = next((int(c) for c in name if c.isdigit()), None)
    shape = {1: (6, 3), 2: (6, 6, 3), 3: (6, 6, 6, 3)}.get(rank, (4, 3))
    if name in ("Dense", "Activation", "Dropout", "Identity", "Normalization", "Flatten", "RepeatVector"):
        shape = (12,) if name == "RepeatVector" else (4, 3)
    if name in ("Embedding", "CategoryEncoding"):
        shape = (4,)
    if name.startswith("ConvLSTM"):
        shape = (2, *shape)  # a time axis first
    return getattr(keras.layers, name)(**params, name="probe"), shape


# The kinds whose import is tested in their family's own test file, not here.
IMPORT_TESTED_ELSEWHERE = {
    "AugMix", "AutoContrast", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix",
    "Discretization", "Equalization", "GRUCell", "HashedCrossing", "Hashing", "IntegerLookup",
    "LSTMCell", "MelSpectrogram", "MixUp", "RNN", "RandAugment", "RandomBrightness",
    "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop",
    "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomRotation",
    "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation", "RandomZoom", "Resizing",
    "ReversibleEmbedding", "STFTSpectrogram", "SimpleRNNCell", "Solarization", "SpectralNormalization",
    "StackedRNNCells", "StringLookup", "TextVectorization",
}  # fmt: skip


@needs_keras
def test_every_layer_kind_imports_with_only_its_required_arguments(tmp_path: Path) -> None:
    keras = keras_or_skip()
    from mspec.layers import REGISTRY

    problems = []
    for name in REGISTRY:
        if name in IMPORT_TESTED_ELSEWHERE:
            continue  # a family with a test file of its own, which imports its kinds there
        kind = REGISTRY[name]
        layer, shape = _default_layer(keras, name)
        dtype = "int32" if name in ("Embedding", "CategoryEncoding") else "float32"
        inputs = [keras.Input(shape, name=f"in_{i}", dtype=dtype) for i in range(2 if kind.is_merge else 1)]
        if kind.is_merge:
            out = layer(*inputs) if kind.call_style == "separate" else layer(inputs)
            out = keras.layers.Identity(name="y")(out)
        else:
            out = keras.layers.Identity(name="y")(layer(inputs[0]))
        model = keras.Model(inputs, out)
        result = import_config(json.loads(model.to_json()), f"{name}.json")
        if not result.ok:
            problems.append(f"{name}: {[d.format() for d in result.diagnostics]}")
            continue
        document = tomllib.loads(result.text)
        step = document["merges"]["probe"] if kind.is_merge else document["outputs"]["y"]["layers"][0]
        # `name` keeps the Keras layer name ("probe"), which generated code would not give it.
        step = {k: v for k, v in step.items() if k not in ("from", "name")}
        required = {n for n, f in kind.params.model_fields.items() if f.is_required()}
        given = set(REQUIRED_ARGUMENTS.get(name, {}))  # a few kinds get more than their required ones
        extra = set(step) - required - given - {"type"}
        if extra:
            problems.append(f"{name}: defaults written out: {sorted(extra)} in {step}")
            continue
        assert_same_model(model, build_imported(result.text))
    assert not problems, "\n".join(problems)
