"""mspec export: every format fed and read by the spec's names, its manifest, and --verify.

One tiny model is trained once for the module (one epoch, seed 0): three
inputs of different dtypes declared in non-alphabetical order (float
features through a Normalization, an integer id into an Embedding, a
sequence of ids into a masked Embedding) and two outputs (a sigmoid and a
3-class softmax). Keras flattens dict inputs in sorted-key order and the
LiteRT converter may reorder tensors: feeding by name must still give the
Keras model's predictions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mspec import check_text
from mspec.artifacts.formats import layer_in, refused
from mspec.artifacts.manifest import contract
from mspec.cli import main

ROWS = 200

SPEC = """
[model]
name = "shop"

[inputs.tabular]
shape = [4]

[inputs.item_id]
shape = [1]
dtype = "int32"

[inputs.history]
shape = [10]
dtype = "int32"
kind = "sequence"

[branches.tab]
from = "tabular"
layers = [{ type = "Normalization" }, { type = "Dense", units = 8, activation = "relu" }]

[branches.item]
from = "item_id"
layers = [{ type = "Embedding", input_dim = 20, output_dim = 4 }, { type = "Flatten" }]

[branches.hist]
from = "history"
layers = [
    { type = "Embedding", input_dim = 30, output_dim = 4, mask_zero = true },
    { type = "GlobalAveragePooling1D" },
]

[merges.joined]
type = "Concatenate"
from = ["tab", "item", "hist"]

[outputs.will_buy]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"

[outputs.segment]
from = "joined"
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"
"""

STRINGS = """
[model]
name = "words"

[inputs.word]
shape = [1]
dtype = "string"

[branches.ids]
from = "word"
layers = [
    { type = "StringLookup", vocabulary = ["a", "b", "c"] },
    { type = "Embedding", input_dim = 5, output_dim = 2 },
    { type = "Flatten" },
]

[outputs.y]
from = "ids"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""

SUFFIX = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite"}


def _manifest_of(path: Path, fmt: str) -> dict:
    where = path / "mspec.manifest.json" if fmt == "saved_model" else Path(f"{path}.manifest.json")
    return json.loads(where.read_text())


# --- the contract, statically (no framework) -----------------------------------


def test_the_contract_comes_from_the_spec_in_its_order() -> None:
    found = contract(check_text(SPEC))
    assert [t.name for t in found.inputs] == ["tabular", "item_id", "history"]
    assert [t.dtype for t in found.inputs] == ["float32", "int32", "int32"]
    assert [t.shape for t in found.inputs] == [("batch", 4), ("batch", 1), ("batch", 10)]
    tabular, item_id, history = (t.expects for t in found.inputs)
    assert tabular["layer"] == "Normalization in tab step 1" and "raw numbers" in tabular["values"]
    assert item_id["ids"] == [0, 20] and "padding" not in item_id
    assert history["ids"] == [0, 30] and history["padding"] == 0
    outputs = [(t.name, t.shape) for t in found.outputs]
    assert outputs == [("will_buy", ("batch", 1)), ("segment", ("batch", 3))]
    assert found.layers["tab_normalization"] == "tab step 1"


def test_a_converter_message_is_one_line_naming_the_spec_layer() -> None:
    found = contract(check_text(SPEC))
    message = (
        "ConverterError: <unknown>:0: error: loc(fused['LookupTableFindV2:', "
        "'shop_1/hist_embedding_1/None_Lookup/LookupTableFindV2']): 'tf.LookupTableFindV2' op is "
        "neither a custom op nor a flex op\n<unknown>:0: note: see current operation"
    )
    assert layer_in(message, found) == "hist step 1 (hist_embedding)"
    line = refused("LiteRT", message, found)
    assert line.startswith("LiteRT cannot hold layer hist step 1 (hist_embedding): ")
    assert "neither a custom op nor a flex op" in line and "\n" not in line
    assert layer_in("no layer here", found) is None


GROUPED = """
[model]
name = "grouped"

[inputs.image]
shape = [8, 8, 4]

[branches.conv]
from = "image"
layers = [{ type = "Conv2D", filters = 4, kernel_size = 3, groups = 4 }, { type = "GlobalAveragePooling2D" }]

[outputs.y]
from = "conv"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (STRINGS, "ONNX cannot hold input 'word': it takes strings, read by StringLookup in ids step 1"),
        (GROUPED, "ONNX cannot hold layer conv step 1 (Conv2D with groups=4)"),
    ],
    ids=["string input", "grouped convolution"],
)
def test_what_onnx_cannot_hold_is_refused_before_keras_and_nothing_is_written(
    tmp_path: Path, text: str, said: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    model = tmp_path / "model.keras"
    model.write_bytes(b"never read: the spec alone says the format cannot hold it")
    target = tmp_path / "out" / "model.onnx"
    result = CliRunner().invoke(
        main, ["export", str(spec), "--model", str(model), "--format", "onnx", "-o", str(target), "--verify"]
    )
    assert result.exit_code == 1, result.output
    assert said in result.output
    assert result.output.count("\n") == 1
    assert not target.parent.exists()


# --- exported, run and verified (Keras) ----------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("keras")
    import mspec

    folder = tmp_path_factory.mktemp("export")
    spec = folder / "shop.toml"
    spec.write_text(SPEC)
    rng = np.random.default_rng(0)
    data = folder / "shop.npz"
    np.savez(
        data,
        tabular=(rng.normal(size=(ROWS, 4)) * 5 + 3).astype("float32"),
        item_id=rng.integers(0, 20, size=(ROWS, 1)).astype("int32"),
        history=rng.integers(0, 30, size=(ROWS, 10)).astype("int32"),
        will_buy=rng.integers(0, 2, size=(ROWS, 1)).astype("float32"),
        segment=rng.integers(0, 3, size=(ROWS,)).astype("int32"),
    )
    fitted = mspec.fit(spec, data, output_dir=folder, epochs=1, seed=0, verbose=0, log=lambda _: None)
    model = folder / "shop.keras"
    return {"spec": spec, "data": data, "model": model, "keras": fitted.model, "folder": folder}


def _export(trained: dict, fmt: str, target: Path, *extra: str):
    arguments = ["export", str(trained["spec"]), "--model", str(trained["model"]), "--format", fmt]
    return CliRunner().invoke(main, [*arguments, "-o", str(target), *extra])


def _rows(trained: dict, count: int = 16) -> dict[str, np.ndarray]:
    arrays = np.load(trained["data"])
    return {name: arrays[name][-count:] for name in ("tabular", "item_id", "history")}


def _keras(trained: dict, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    model = trained["keras"]
    predicted = model.predict([feed[t.name] for t in model.inputs], verbose=0)
    return dict(zip(model.output_names, predicted, strict=True))


def _run_by_name(fmt: str, path: Path, feed: dict[str, np.ndarray]) -> tuple[dict, list[str]]:
    """Run the artifact in its runtime, fed by the spec's names; also its inputs in positional order."""
    if fmt == "saved_model":
        import tensorflow as tf

        serving = tf.saved_model.load(str(path)).signatures["serving_default"]
        found = serving(**{name: tf.constant(value) for name, value in feed.items()})
        order = sorted(serving.structured_input_signature[1])  # keywords: flattened in sorted order
        return {name: value.numpy() for name, value in found.items()}, order
    if fmt == "onnx":
        import onnxruntime

        inference = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in inference.get_outputs()]
        order = [i.name for i in inference.get_inputs()]
        return dict(zip(names, inference.run(names, feed), strict=True)), order
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    by_index = {d["index"]: name for name, d in runner.get_input_details().items()}
    order = [by_index[d["index"]] for d in interpreter.get_input_details()]
    return runner(**feed), order


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "onnx", "litert"])
def test_every_format_is_fed_and_read_by_the_spec_names(trained: dict, fmt: str) -> None:
    if fmt != "saved_model":
        pytest.importorskip("onnxruntime" if fmt == "onnx" else "ai_edge_litert")
    target = trained["folder"] / fmt / f"shop{SUFFIX[fmt]}"
    result = _export(trained, fmt, target, "--verify", "--data", str(trained["data"]))
    assert result.exit_code == 0, result.output
    assert f"verified {fmt} on 64 rows" in result.output
    assert "will_buy: worst difference" in result.output and "segment: worst difference" in result.output

    manifest = _manifest_of(target, fmt)
    assert manifest["format"] == fmt and manifest["model"] == "shop" and manifest["feed_by"] == "name"
    assert [(i["name"], i["dtype"], i["shape"]) for i in manifest["inputs"]] == [
        ("tabular", "float32", ["batch", 4]),
        ("item_id", "int32", ["batch", 1]),
        ("history", "int32", ["batch", 10]),
    ]
    assert [(o["name"], o["shape"]) for o in manifest["outputs"]] == [
        ("will_buy", ["batch", 1]),
        ("segment", ["batch", 3]),
    ]
    assert manifest["inputs"][2]["expects"] == {
        "values": "whole-number ids in [0, 30)",
        "layer": "Embedding in hist step 1",
        "ids": [0, 30],
        "padding": 0,
    }

    feed = _rows(trained)
    found, order = _run_by_name(fmt, target, feed)
    assert sorted(found) == ["segment", "will_buy"]  # not output_0 and output_1
    # The manifest's positions are the artifact's own, whatever order the converter chose.
    assert sorted(order) == ["history", "item_id", "tabular"]
    assert [i["name"] for i in sorted(manifest["inputs"], key=lambda i: i["position"])] == order
    expected = _keras(trained, feed)
    for name, value in expected.items():
        np.testing.assert_allclose(found[name], value, atol=1e-4, rtol=1e-4)


@pytest.mark.keras
@pytest.mark.slow
def test_the_python_api_exports_and_verifies_on_generated_rows(trained: dict) -> None:
    pytest.importorskip("onnxruntime")
    import mspec

    target = trained["folder"] / "api" / "shop.onnx"
    outcome = mspec.export(trained["spec"], trained["model"], "onnx", target, verify=True, rows=32)
    assert outcome.written and outcome.verified and outcome.rows == 32
    assert [c.name for c in outcome.checks] == ["will_buy", "segment"]
    assert all(c.worst <= 1e-5 for c in outcome.checks)
    assert outcome.manifest["inputs"][1]["tensor"] == "item_id"
    assert target.is_file() and Path(f"{target}.manifest.json").is_file()


@pytest.mark.keras
@pytest.mark.slow
def test_a_corrupted_onnx_initializer_fails_verification(trained: dict) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import numpy_helper

    target = trained["folder"] / "corrupt" / "shop.onnx"
    assert _export(trained, "onnx", target).exit_code == 0
    assert _export(trained, "onnx", target, "--verify-only").exit_code == 0  # as written, it passes
    graph = onnx.load(str(target))
    for index, initializer in enumerate(graph.graph.initializer):
        if "segment" in initializer.name and "BiasAdd" in initializer.name:
            bias = numpy_helper.to_array(initializer).copy()
            bias[0] += 0.05
            graph.graph.initializer[index].CopyFrom(numpy_helper.from_array(bias, initializer.name))
            break
    else:
        pytest.fail("no bias initializer of the segment output in the ONNX graph")
    onnx.save(graph, str(target))

    result = _export(trained, "onnx", target, "--verify-only", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert [(c["output"], c["ok"]) for c in report["checks"]] == [("will_buy", True), ("segment", False)]
    assert report["checks"][1]["worst"] > 1e-3 and not report["written"]

    result = _export(trained, "onnx", target, "--verify-only")
    assert result.exit_code == 1, result.output
    assert "segment: worst difference" in result.output and "MISMATCH" in result.output
    assert "will_buy: worst difference" in result.output
    mismatched = [line.strip().split(":")[0] for line in result.output.splitlines() if "MISMATCH" in line]
    assert mismatched == ["segment"]


@pytest.mark.keras
@pytest.mark.slow
def test_a_saved_model_of_other_weights_fails_verification(trained: dict) -> None:
    import keras

    import mspec

    target = trained["folder"] / "perturbed" / "shop"
    perturbed = keras.saving.load_model(trained["model"])
    layer = perturbed.get_layer("will_buy")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + 0.1])
    assert mspec.export(trained["spec"], perturbed, "saved_model", target).written

    result = _export(trained, "saved_model", target, "--verify-only", "--data", str(trained["data"]))
    assert result.exit_code == 1, result.output
    assert [line.split(":")[0].strip() for line in result.output.splitlines() if "MISMATCH" in line] == [
        "will_buy"
    ]


@pytest.mark.keras
@pytest.mark.slow
def test_an_export_whose_verification_fails_writes_nothing(
    trained: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mspec.artifacts import verify

    target = trained["folder"] / "strict" / "shop"
    target.parent.mkdir()
    # No difference can pass a negative tolerance: the verification fails whatever the artifact computes.
    monkeypatch.setitem(verify.TOLERANCES, "saved_model", (-1.0, 0.0))
    result = _export(trained, "saved_model", target, "--verify")
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.output
    assert list(target.parent.iterdir()) == []


RECURRENT = """
[model]
name = "series"

[inputs.steps]
shape = [6, 3]

[inputs.extra]
shape = [2]

[branches.rnn]
from = "steps"
layers = [{ type = "LSTM", units = 4 }]

[merges.both]
type = "Concatenate"
from = ["rnn", "extra"]

[outputs.y]
from = "both"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["saved_model", "litert"])
def test_string_inputs_are_fed_as_strings_where_the_format_holds_them(tmp_path: Path, fmt: str) -> None:
    pytest.importorskip("keras")
    import mspec

    result = check_text(STRINGS)
    target = tmp_path / f"words{SUFFIX[fmt]}"
    outcome = mspec.export(result, mspec.build_model(result), fmt, target, verify=True, rows=8)
    assert outcome.written and outcome.verified, [c.describe() for c in outcome.checks] + outcome.problems
    (word,) = outcome.manifest["inputs"]
    assert word["dtype"] == "string" and word["expects"]["layer"] == "StringLookup in ids step 1"


def test_a_recurrent_layer_not_unrolled_is_refused_for_litert_before_keras(tmp_path: Path) -> None:
    spec = tmp_path / "series.toml"
    spec.write_text(RECURRENT)
    model = tmp_path / "series.keras"
    model.write_bytes(b"never read")
    target = tmp_path / "out" / "series.tflite"
    result = CliRunner().invoke(
        main, ["export", str(spec), "--model", str(model), "--format", "litert", "-o", str(target)]
    )
    assert result.exit_code == 1, result.output
    assert "LiteRT cannot hold layer rnn (LSTM)" in result.output
    assert "(set unroll = true: its 6 steps are fixed)" in result.output
    assert result.output.count("\n") == 1 and not target.parent.exists()


@pytest.mark.keras
@pytest.mark.slow
def test_an_unrolled_recurrent_layer_is_exported_to_litert_and_verified(tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    import mspec

    result = check_text(RECURRENT.replace("units = 4 }", "units = 4, unroll = true }"))
    target = tmp_path / "series.tflite"
    outcome = mspec.export(result, mspec.build_model(result), "litert", target, verify=True, rows=8)
    assert outcome.written and outcome.verified, [c.describe() for c in outcome.checks]
    assert [i["name"] for i in outcome.manifest["inputs"]] == ["steps", "extra"]
