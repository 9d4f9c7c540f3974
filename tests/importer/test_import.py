"""`mspec import`: Keras models read back into specs, proven by building the specs again.

The round trip: every spec in specs/ is built with Keras, saved as a .keras
file and as `model.to_json()`, imported from both, checked, built again, and
the two Keras models compared operation by operation: class, connections (by
position, so up to renaming), output shapes, configuration without names, and
weight counts. The importer itself never imports Keras.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec.cli import main
from mspec.diagnostics import CODES
from mspec.importer import ModelFileError, import_config, import_model, model_config_from_bytes
from mspec.importer.convert import sanitize
from mspec.importer.spec_text import render, toml_string
from mspec.importer.values import short_float

from support.document_paths import parent_of, value_paths
from support.import_codes import IMPORT_CODES
from support.keras_configs import functional_model, keras_layer, keras_tensor
from support.paths import ROOT
from support.round_trip import assert_same_model, build_imported, findings
from support.spec_files import SPEC_FILES


def invoke(*args: str):
    return CliRunner().invoke(main, ["import", *args])


def test_every_import_code_is_in_the_catalogue_and_tested_here() -> None:
    assert {code for code in CODES if code.startswith("MS4")} == IMPORT_CODES
    source = Path(__file__).read_text()
    # Each code appears at least once in a test here.
    untested = [code for code in sorted(IMPORT_CODES) if code not in source]
    assert not untested, f"import codes without a test: {untested}"


# --- without Keras: the writer, file reading, hand-written configs --------------


def test_toml_strings_are_escaped() -> None:
    for text in ['a "quoted" \\ back', "tab\tnew\nline\r", "\x00\x1f\x7f", "é ü 名前", "\u202e"]:
        assert tomllib.loads(f"k = {toml_string(text)}")["k"] == text


def test_toml_round_trips_through_tomllib() -> None:
    document = {
        "model": {"name": "m", "description": 'say "hi"\n'},
        "inputs": {"x": {"shape": [3, "x_dim2"], "dtype": "int32"}},
        "branches": {"b": {"from": "x", "layers": [{"type": "Dense", "units": 2, "rate": 1e-07}]}},
        "outputs": {"o": {"from": "b", "layers": [{"type": "Dense", "units": 1}], "loss_weight": 0.5}},
        "compile": {"optimizer": {"type": "Adam", "learning_rate": 0.0005}},
    }
    assert tomllib.loads(render(document, "toml")) == document
    assert json.loads(render(document, "json")) == document


def test_float32_values_are_written_as_meant() -> None:
    assert short_float(0.0010000000474974513) == 0.001
    assert short_float(0.0005000000237487257) == 0.0005
    assert short_float(0.9) == 0.9  # not a float32 value: kept exactly
    assert short_float(3) == 3


def test_names_are_sanitized() -> None:
    assert sanitize("dense_1") == "dense_1"
    assert sanitize("1st block/conv") == "layer_1st_block_conv"
    assert sanitize("_x") == "layer_x"
    assert sanitize("lambda") == "lambda_"
    assert sanitize("naïve") == "na_ve"


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04 this is not a zip archive",
        b'{"hello": "world"}',
        b"[1, 2, 3]",
        b"not json at all",
        b"\xff\xfe",
        b'{"class_name": "Functional", "config": {"layers": 3}}',
    ],
    ids=["corrupt-zip", "other-json", "json-list", "text", "bad-utf8", "bad-layers"],
)
def test_a_file_without_a_keras_model_exits_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ("model.keras" if content.startswith(b"PK") else "model.json")
    path.write_bytes(content)
    result = invoke(str(path), "-o", str(tmp_path / "out.toml"))
    assert result.exit_code == 2, result.output
    assert "MS401 error" in result.stderr
    assert not (tmp_path / "out.toml").exists()


def test_an_archive_without_config_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    result = invoke(str(path))
    assert result.exit_code == 2
    assert "MS401" in result.stderr and "no config.json" in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "absent.keras"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_a_hand_written_config_imports_without_keras() -> None:
    data = functional_model(
        keras_layer("Dense", "y", {"units": 3, "activation": "relu", "use_bias": True}, "x")
    )
    result = import_config(data, "hand.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert tomllib.loads(result.text) == {
        "model": {"name": "hand_made"},
        "inputs": {"x": {"shape": [4]}},
        "outputs": {"y": {"from": "x", "layers": [{"type": "Dense", "units": 3, "activation": "relu"}]}},
    }


def test_get_config_output_is_accepted() -> None:
    data = functional_model(keras_layer("Dense", "y", {"units": 3}, "x"))
    assert model_config_from_bytes(json.dumps(data["config"]).encode())["class_name"] == "Functional"


def test_keras_2_inbound_nodes_are_accepted() -> None:
    data = functional_model(
        keras_layer("Dense", "a", {"units": 3}, "x"),
        keras_layer("Dense", "b", {"units": 3}, "x"),
        keras_layer("Concatenate", "y", {"axis": -1}),
    )
    data["config"]["layers"][-1]["inbound_nodes"] = [[["a", 0, 0, {}], ["b", 0, 0, {}]]]
    data["config"]["layers"][1]["inbound_nodes"] = [[["x", 0, 0, {}]]]
    result = import_config(data, "old.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    document = tomllib.loads(result.text)
    assert document["merges"] == {"y": {"type": "Concatenate", "from": ["a", "b"]}}
    # An output read straight from a merge gets an Identity head: reported as a warning.
    assert [d.code for d in result.diagnostics] == ["MS409"]
    assert document["outputs"] == {"y_output": {"from": "y"}}


def test_unsupported_setting_is_reported_naming_the_layer() -> None:
    initializer = {"module": "my_package.inits", "class_name": "GlorotUniform", "config": {"seed": 7}}
    data = functional_model(keras_layer("Dense", "y", {"units": 3, "kernel_initializer": initializer}, "x"))
    result = import_config(data, "hand.json")
    assert not result.ok and result.text is None
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "MS406" and "'y' (Dense)" in diagnostic.message
    assert "kernel_initializer" in diagnostic.message


def test_an_initializer_with_settings_is_kept_as_a_table() -> None:
    initializer = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": 7}}
    data = functional_model(keras_layer("Dense", "y", {"units": 3, "kernel_initializer": initializer}, "x"))
    result = import_config(data, "hand.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    step = result.document["outputs"]["y"]["layers"][0]
    assert step["kernel_initializer"] == {"type": "GlorotUniform", "seed": 7}


def test_a_fixed_batch_size_is_reported() -> None:
    data = functional_model(keras_layer("Dense", "y", {"units": 3}, "x"))
    data["config"]["layers"][0]["config"]["batch_shape"] = [8, 4]
    result = import_config(data, "hand.json")
    assert [d.code for d in result.diagnostics] == ["MS406"]
    assert "batch size" in result.diagnostics[0].message


def test_a_second_output_of_a_layer_is_reported() -> None:
    data = functional_model(
        keras_layer("Dense", "a", {"units": 3}, "x"), keras_layer("Dense", "y", {"units": 3}, "x")
    )
    second_output = {"class_name": "__keras_tensor__", "config": {"keras_history": ["a", 0, 1]}}
    data["config"]["layers"][-1]["inbound_nodes"] = [{"args": [second_output], "kwargs": {}}]
    result = import_config(data, "hand.json")
    assert [d.code for d in result.diagnostics] == ["MS405"]
    assert "'a' (Dense)" in result.diagnostics[0].message


def test_a_merge_layer_called_twice_is_reported() -> None:
    data = functional_model(
        keras_layer(
            "Add", "y", {}, [keras_tensor("x"), keras_tensor("x")], [keras_tensor("x"), keras_tensor("x")]
        ),
        outputs=("y",),
    )
    data["config"]["output_layers"] = [["y", 0, 0], ["y", 1, 0]]
    result = import_config(data, "hand.json")
    assert "MS407" in [d.code for d in result.diagnostics]


def test_an_importer_fault_is_reported_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    import mspec.importer as importer

    monkeypatch.setattr(importer, "render", lambda document, fmt: '[model]\nname = "1 bad"\n')
    data = functional_model(keras_layer("Dense", "y", {"units": 3}, "x"))
    result = import_config(data, "hand.json")
    assert result.text is None
    assert "MS410" in [d.code for d in result.diagnostics]


def test_compile_settings_a_spec_cannot_hold_are_left_out_with_a_warning() -> None:
    loss_object = {"module": "my_package.losses", "class_name": "MeanSquaredError", "config": {"name": "mse"}}
    optimizer = {
        "module": "keras.optimizers",
        "class_name": "SGD",
        "config": {"name": "sgd", "learning_rate": 0.10000000149011612, "momentum": 0.9, "use_ema": True},
    }
    data = functional_model(
        keras_layer("Dense", "y", {"units": 3}, "x"),
        compile_config={"optimizer": optimizer, "loss": loss_object, "metrics": ["mae", "no_such_metric"]},
    )
    result = import_config(data, "hand.json")
    assert result.ok
    assert [d.code for d in result.diagnostics] == ["MS408", "MS408", "MS408"]
    document = tomllib.loads(result.text)
    assert document["compile"] == {"optimizer": {"type": "SGD", "learning_rate": 0.1, "momentum": 0.9}}
    assert document["outputs"]["y"]["metrics"] == ["mae"] and "loss" not in document["outputs"]["y"]


# --- with Keras: the round trip and the models a spec cannot express ------------

needs_keras = pytest.mark.keras


@functools.cache
def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


@functools.cache
def _saved(spec: Path, folder: Path) -> tuple:
    """Build a spec once; save it as .keras and as to_json()."""
    from mspec.backends.keras_model.build import build_model
    from mspec.pipeline import check_file

    model = build_model(check_file(spec).graph)
    keras_file = folder / f"{spec.stem}.keras"
    json_file = folder / f"{spec.stem}.json"
    model.save(keras_file)
    json_file.write_text(model.to_json())
    return model, keras_file, json_file


@pytest.fixture(scope="module")
def saved_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("saved")


@needs_keras
@pytest.mark.parametrize("source", ["keras", "json"])
@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_round_trip(spec: Path, source: str, saved_folder: Path) -> None:
    _keras()
    original, keras_file, json_file = _saved(spec, saved_folder)
    result = import_model(keras_file if source == "keras" else json_file)
    assert result.ok and not findings(result.diagnostics), [d.format() for d in result.diagnostics]
    rebuilt = build_imported(result.text)
    assert_same_model(original, rebuilt)
    assert rebuilt.output_names == original.output_names
    assert [t.name for t in rebuilt.inputs] == [t.name for t in original.inputs]


@needs_keras
@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_import_is_deterministic_and_the_same_from_both_files(spec: Path, saved_folder: Path) -> None:
    _keras()
    _, keras_file, json_file = _saved(spec, saved_folder)
    first = invoke(str(keras_file))
    assert first.exit_code == 0, first.output
    assert invoke(str(keras_file)).stdout == first.stdout
    assert invoke(str(json_file)).stdout == first.stdout
    as_json = invoke(str(keras_file), "--format", "json")
    assert json.loads(as_json.stdout) == tomllib.loads(first.stdout)
    build_imported(as_json.stdout, "json")


@needs_keras
def test_the_round_trip_keeps_losses_weights_and_the_optimizer(saved_folder: Path) -> None:
    _keras()
    _, keras_file, _ = _saved(ROOT / "specs" / "multi_output_reviews.toml", saved_folder)
    document = tomllib.loads(import_model(keras_file).text)
    assert document["outputs"]["rating"]["loss"] == "mean_squared_error"
    assert document["outputs"]["category"]["loss_weight"] == 0.5
    assert document["outputs"]["category"]["metrics"] == ["sparse_categorical_accuracy"]
    _, keras_file, _ = _saved(ROOT / "specs" / "siamese_text.json", saved_folder)
    document = tomllib.loads(import_model(keras_file).text)
    assert document["compile"] == {"optimizer": {"type": "Adam", "learning_rate": 0.0005}}
    assert set(document["shared"]) == {"embedding", "encoder"}


@needs_keras
def test_the_importer_never_imports_keras(saved_folder: Path) -> None:
    _keras()
    _, keras_file, _ = _saved(ROOT / "specs" / "siamese_text.json", saved_folder)
    code = (
        "import sys\n"
        "from mspec.importer import import_model\n"
        f"result = import_model({str(keras_file)!r})\n"
        "assert result.ok, result.diagnostics\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'h5py'))\n"
        "print(loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "compiler")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@needs_keras
def test_output_file_is_written_and_matches_stdout(tmp_path: Path, saved_folder: Path) -> None:
    _keras()
    _, keras_file, _ = _saved(ROOT / "specs" / "seed" / "shared_projection.toml", saved_folder)
    result = invoke(str(keras_file), "-o", str(tmp_path / "spec.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    written = json.loads((tmp_path / "spec.json").read_text())
    assert written == tomllib.loads(invoke(str(keras_file)).stdout)
    assert not [p for p in tmp_path.iterdir() if p.name != "spec.json"], "a temporary file was left behind"


def _save(model, tmp_path: Path, name: str = "model") -> Path:
    path = tmp_path / f"{name}.keras"
    model.save(path)
    return path


def _refused(path: Path, tmp_path: Path, code: str, layer: str) -> str:
    """Import a model a spec cannot express: exit 1, nothing written, `code` naming `layer`."""
    target = tmp_path / "refused.toml"
    result = invoke(str(path), "-o", str(target))
    assert result.exit_code == 1, result.output
    assert not target.exists()
    lines = [line for line in result.stderr.splitlines() if f" {code} error: " in line]
    assert lines and any(f"'{layer}'" in line for line in lines), result.stderr
    return result.stderr


@needs_keras
def test_lambda_layer_is_refused(tmp_path: Path) -> None:
    keras = _keras()
    inputs = keras.Input((4,), name="x")
    doubled = keras.layers.Lambda(lambda t: t * 2, name="doubler")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(doubled))
    _refused(_save(model, tmp_path), tmp_path, "MS403", "doubler")


@needs_keras
def test_a_nested_sequential_is_inlined_with_a_warning(tmp_path: Path) -> None:
    keras = _keras()
    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(4)], name="inner_block")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs)))
    result = invoke(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    assert " MS411 warning: nested model inlined" in result.stderr and "'inner_block'" in result.stderr
    assert [step["type"] for step in tomllib.loads(result.stdout)["outputs"]["y"]["layers"]] == ["Dense"] * 3


@needs_keras
def test_a_nested_model_that_cannot_be_inlined_is_refused(tmp_path: Path) -> None:
    keras = _keras()
    inputs = keras.Input((4,), name="x")
    block = keras.Sequential([keras.layers.Dense(8), keras.layers.Dense(4)], name="inner_block")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(block(inputs, training=True)))
    _refused(_save(model, tmp_path), tmp_path, "MS402", "inner_block")


class Scale:
    """Holds the custom layer class, created once Keras is imported."""

    cls = None


def _custom_layer_class():
    keras = _keras()
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
    keras = _keras()
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    scaled = _custom_layer_class()(3.0, name="scale_by")(a)
    summed = keras.ops.sin(scaled) + b  # a Keras operation no layer computes
    model = keras.Model([a, b], keras.layers.Dense(1, name="y")(summed))
    stderr = _refused(_save(model, tmp_path), tmp_path, "MS404", "scale_by")
    assert stderr.count(" MS404 error: ") == 2


@needs_keras
def test_several_outputs_and_call_arguments_are_refused(tmp_path: Path) -> None:
    keras = _keras()
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
    keras = _keras()
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
    result = invoke(str(_save(model, tmp_path)))
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
    keras = _keras()
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    merged = keras.layers.Concatenate(name="joined")([keras.layers.Dense(2, name="da")(a), b])
    model = keras.Model([a, b], merged)
    result = invoke(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    assert " MS409 warning: " in result.stderr
    rebuilt = build_imported(result.stdout)
    assert [type(layer).__name__ for layer in rebuilt.layers][-1] == "Identity"
    assert rebuilt.count_params() == model.count_params()


@needs_keras
def test_a_loss_argument_keras_does_not_save_is_reported(tmp_path: Path) -> None:
    keras = _keras()
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, name="y")(inputs))
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.01), loss=keras.losses.Huber(delta=2.0), metrics=["mae"]
    )
    result = invoke(str(_save(model, tmp_path)))
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
    keras = _keras()
    model = keras.Sequential(
        [keras.Input((6,), name="features"), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)],
        name="plain",
    )
    result = invoke(str(_save(model, tmp_path)))
    assert result.exit_code == 0, result.output
    document = tomllib.loads(result.stdout)
    assert list(document["inputs"]) == ["features"]
    (output,) = document["outputs"].values()
    assert [step["units"] for step in output["layers"]] == [8, 1]
    assert build_imported(result.stdout).count_params() == model.count_params()


def _masked_merge(keras):
    tokens, features = keras.Input((10,), dtype="int32", name="tokens"), keras.Input((10, 4), name="features")
    embedded = keras.layers.Embedding(50, 4, mask_zero=True, name="embedded")(tokens)
    sequence = keras.layers.LSTM(4, return_sequences=True, name="sequence")(embedded)
    joined = keras.layers.Concatenate(name="joined")([sequence, features])
    return keras.Model([tokens, features], keras.layers.GRU(3, name="summary")(joined))


def _awkward_names(keras):
    inputs = keras.Input((None, 3), name="1st-input")
    hidden = keras.layers.Dense(2, name="my-dense")(inputs)
    return keras.Model(
        inputs, keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(hidden), name="a b"
    )


def _channels_first(keras):
    image = keras.Input((3, 16, 16), name="image")
    x = keras.layers.Conv2D(4, (3, 2), strides=(2, 1), data_format="channels_first", name="conv")(image)
    x = keras.layers.MaxPooling2D((2, 2), strides=1, data_format="channels_first", name="pool")(x)
    x = keras.layers.ZeroPadding2D(((1, 2), (3, 4)), data_format="channels_first", name="pad")(x)
    return keras.Model(image, x)


def _output_feeding_a_layer(keras):
    inputs = keras.Input((4,), name="x")
    first = keras.layers.Dense(3, name="first")(inputs)
    return keras.Model(inputs, [first, keras.layers.Dense(1, name="second")(first)])


@needs_keras
@pytest.mark.parametrize("make", [_masked_merge, _awkward_names, _channels_first, _output_feeding_a_layer])
def test_hand_built_models_round_trip(make) -> None:
    model = make(_keras())
    result = import_config(json.loads(model.to_json()), "model.json")
    assert result.ok and not findings(result.diagnostics), [d.format() for d in result.diagnostics]
    assert_same_model(model, build_imported(result.text))


@needs_keras
def test_awkward_names_become_spec_names() -> None:
    result = import_config(json.loads(_awkward_names(_keras()).to_json()), "model.json")
    document = tomllib.loads(result.text)
    assert document["model"] == {"name": "a_b"}
    assert document["inputs"] == {"input_1st_input": {"shape": ["input_1st_input_dim1", 3]}}


@needs_keras
def test_several_outputs_of_a_wrapper_and_custom_activations_are_refused(tmp_path: Path) -> None:
    keras = _keras()
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


# The layer modules whose kinds this file imports; later families import theirs in their own test files.
IMPORT_TESTED_HERE = {
    "core", "merge", "conv", "pooling", "reshaping", "rnn", "attention", "activations", "regularization",
    "volumetric", "conv_rnn",
}  # fmt: skip


@needs_keras
def test_every_layer_kind_imports_with_only_its_required_arguments(tmp_path: Path) -> None:
    keras = _keras()
    from mspec.layers import KIND_MODULES, REGISTRY

    problems = []
    for name in REGISTRY:
        if KIND_MODULES[name] not in IMPORT_TESTED_HERE:
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


@needs_keras
def test_damaged_configs_are_reported_never_crash(saved_folder: Path) -> None:
    """Replace or delete random parts of real configs: the result is a spec, diagnostics or MS401."""
    import copy
    import random

    _keras()
    bases = [json.loads(_saved(spec, saved_folder)[2].read_text()) for spec in SPEC_FILES]
    replacements = [None, 0, -1, 2.5, "", "x", [], {}, [None], True, ["x", 0, 0], "InputLayer", "Functional"]
    chance = random.Random(20240611)
    for _ in range(int(os.environ.get("MSPEC_IMPORT_DAMAGE", "600"))):
        data = copy.deepcopy(chance.choice(bases))
        for _ in range(chance.randint(1, 3)):
            path = chance.choice([p for p in value_paths(data) if p])
            parent = parent_of(data, path)
            if chance.random() < 0.3:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(chance.choice(replacements))
        try:
            result = import_config(model_config_from_bytes(json.dumps(data).encode()), "damaged.json")
        except ModelFileError:
            continue
        assert result.ok == (result.text is not None)


# --- random valid models, from the shared strategies ---------------------------


@needs_keras
def test_random_valid_models_round_trip() -> None:
    keras = _keras()
    from hypothesis import HealthCheck, Phase, given, settings

    from mspec.backends.keras_model.build import build_model
    from mspec.pipeline import check_bytes

    # Imported here and never guarded: a broken generator fails this test instead of skipping it.
    from support.spec_graphs import STRUCTURE_ONLY, valid_specs

    @settings(
        max_examples=int(os.environ.get("MSPEC_IMPORT_EXAMPLES", "12")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        # Building models is slow: report the drawn document as it is rather than shrink it.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(generated=valid_specs())
    def round_trip(generated) -> None:
        checked = check_bytes(json.dumps(generated.doc).encode(), "drawn.json", "json", STRUCTURE_ONLY)
        if not checked.ok:
            return  # the strategies' own tests report these
        original = build_model(checked.graph)
        data = json.loads(original.to_json())
        result = import_config(data, "drawn.json")
        assert result.ok, [d.format() for d in result.diagnostics] + [json.dumps(generated.doc)]
        assert_same_model(original, build_imported(result.text))
        keras.backend.clear_session()

    round_trip()


def test_zip_reading_never_trusts_the_declared_size(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "config.json", json.dumps(functional_model(keras_layer("Dense", "y", {"units": 1}, "x")))
        )
    path = tmp_path / "model.keras"
    path.write_bytes(buffer.getvalue())
    assert import_model(path).ok
    with pytest.raises(ModelFileError):
        import_model(tmp_path / "nothing.keras")
