"""`mspec import` without Keras: the spec writer, reading model files, hand-written configurations.

The round trips through Keras are in test_import_round_trip.py, the models a
spec cannot express in test_import_refusals.py. The importer itself never
imports Keras.
"""

from __future__ import annotations

import io
import json
import tomllib
import zipfile
from pathlib import Path

import pytest

from mspec.diagnostics import CODES
from mspec.importer import ModelFileError, import_config, import_model, model_config_from_bytes
from mspec.importer.convert import sanitize
from mspec.importer.spec_text import render, toml_string
from mspec.importer.values import short_float

from support.import_codes import IMPORT_CODES
from support.importing import invoke_import
from support.keras_configs import functional_model, keras_layer, keras_tensor


def test_every_import_code_is_in_the_catalogue_and_tested_here() -> None:
    assert {code for code in CODES if code.startswith("MS4")} == IMPORT_CODES
    source = "".join(path.read_text() for path in sorted(Path(__file__).parent.glob("test_import*.py")))
    # Each code appears at least once in a test of the importer.
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
    result = invoke_import(str(path), "-o", str(tmp_path / "out.toml"))
    assert result.exit_code == 2, result.output
    assert "MS401 error" in result.stderr
    assert not (tmp_path / "out.toml").exists()


def test_an_archive_without_config_json_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    result = invoke_import(str(path))
    assert result.exit_code == 2
    assert "MS401" in result.stderr and "no config.json" in result.stderr


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = invoke_import(str(tmp_path / "absent.keras"))
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
