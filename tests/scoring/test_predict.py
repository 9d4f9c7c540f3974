"""mspec predict: one row out per row in, in order, the same numbers as model.predict, in every format.

Two tiny models are trained once for the module (one epoch, seed 0): a list
model with a classifier output (softmax) and a regression output, and a
dict model (`outputs_as = "dict"`) with a binary output trained from logits
and a regression output of two units. Their predictions through mspec are
compared with `model.predict` on the same rows.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import mspec  # noqa: E402
from mspec.cli import main  # noqa: E402
from mspec.scoring.columns import OutputKind  # noqa: E402
from mspec.training import FitError  # noqa: E402

from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402

pytestmark = pytest.mark.keras

ROWS = 200

LIST_SPEC = """
[model]
name = "two"
[inputs.a]
shape = [3]
[inputs.b]
shape = [2]
[merges.ab]
type = "Concatenate"
from = ["a", "b"]
[outputs.kind]
from = "ab"
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
[outputs.size]
from = "ab"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
metrics = ["mae"]
"""

DICT_SPEC = """
[model]
name = "named"
outputs_as = "dict"
[inputs.a]
shape = [3]
[inputs.b]
shape = [2]
[merges.ab]
type = "Concatenate"
from = ["a", "b"]
[outputs.churn]
from = "ab"
layers = [{ type = "Dense", units = 1 }]
loss = { type = "BinaryCrossentropy", from_logits = true }
[outputs.pair]
from = "ab"
layers = [{ type = "Dense", units = 2 }]
loss = "mse"
"""


def arrays(rows: int = ROWS, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, 3)).astype("float32")
    b = rng.normal(size=(rows, 2)).astype("float32")
    return {
        "id": np.arange(1000, 1000 + rows),
        "a": a,
        "b": b,
        "kind": rng.integers(0, 3, rows),
        "size": a[:, 0] - b[:, 1],
        "churn": (a[:, 1] > 0).astype("int64"),
        "pair": np.stack([a[:, 2], b[:, 0]], axis=-1).astype("float32"),
    }


def table(data: dict[str, np.ndarray], columns: list[str]) -> pa.Table:
    return pa.table({c: list(data[c]) if data[c].ndim > 1 else data[c] for c in columns})


def flat_csv(path: Path, data: dict[str, np.ndarray], columns: list[str]) -> None:
    """CSV cells are scalars: a (rows, k) array becomes columns NAME_0..NAME_k-1."""
    flat = {}
    for c in columns:
        if data[c].ndim == 1:
            flat[c] = data[c]
        else:
            flat.update({f"{c}_{k}": data[c][:, k] for k in range(data[c].shape[1])})
    pacsv.write_csv(pa.table(flat), path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("predict")
    data = arrays()
    np.savez(folder / "train.npz", **{k: v for k, v in data.items() if k != "id"})
    found = {"folder": folder, "data": data}
    for name, text in (("two", LIST_SPEC), ("named", DICT_SPEC)):
        spec = folder / f"{name}.toml"
        spec.write_text(textwrap.dedent(text))
        train = folder / "train.npz"
        mspec.fit(spec, train, output_dir=folder, epochs=1, seed=0, verbose=0, log=lambda _: None)
        found[name] = (spec, folder / f"{name}.keras")
    return found


def keras_predictions(model_path: Path, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    model = keras.saving.load_model(model_path)
    predicted = model.predict({"a": data["a"], "b": data["b"]}, verbose=0)
    if isinstance(predicted, dict):
        return {k: np.asarray(v) for k, v in predicted.items()}
    return dict(zip(model.output_names, (np.asarray(p) for p in predicted), strict=True))


def read_output(path: Path) -> dict[str, np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path) as archive:
            return {k: archive[k] for k in archive.files}
    loaded = pacsv.read_csv(path) if path.suffix == ".csv" else pq.read_table(path)
    return {name: loaded.column(name).to_numpy() for name in loaded.column_names}


def assert_list_model_columns(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    probabilities = expected["kind"]
    for k in range(3):
        np.testing.assert_allclose(got[f"kind_prob_{k}"], probabilities[:, k], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got["kind"], probabilities.argmax(axis=-1))
    np.testing.assert_allclose(got["size"], expected["size"][:, 0], rtol=1e-5, atol=1e-6)


# --- what an output is written as (no model) -----------------------------------


def test_columns_of_each_kind_of_output() -> None:
    logits = np.array([[0.0], [2.0], [-3.0]])
    binary = OutputKind("y", "binary", from_logits=True).columns(logits, threshold=0.5)
    assert list(binary) == ["y_prob", "y"]
    np.testing.assert_allclose(binary["y_prob"], 1 / (1 + np.exp(-logits[:, 0])), rtol=1e-6)
    assert binary["y"].tolist() == [1, 1, 0]  # 0.5 is at the threshold: 1
    assert OutputKind("y", "binary").columns(np.array([[0.3], [0.8]]), threshold=0.9)["y"].tolist() == [0, 0]
    classes = OutputKind("c", "classes", from_logits=True).columns(np.array([[1.0, 3.0, 2.0]]))
    assert list(classes) == ["c", "c_prob_0", "c_prob_1", "c_prob_2"]
    assert classes["c"].tolist() == [1]
    assert sum(classes[f"c_prob_{k}"][0] for k in range(3)) == pytest.approx(1.0)
    values = OutputKind("v", "values").columns(np.arange(6.0).reshape(3, 2))
    assert list(values) == ["v_0", "v_1"] and values["v_1"].tolist() == [1.0, 3.0, 5.0]


def test_output_kinds_come_from_the_spec(trained: dict) -> None:
    from mspec.scoring.columns import output_kinds

    kinds = output_kinds(mspec.check(trained["named"][0]))
    assert kinds["churn"] == OutputKind("churn", "binary", from_logits=True)
    assert kinds["pair"] == OutputKind("pair", "values")
    kinds = output_kinds(mspec.check(trained["two"][0]))
    assert (kinds["kind"].kind, kinds["size"].kind) == ("classes", "values")


def test_default_chunks_hold_about_chunk_bytes_of_inputs_and_at_least_a_batch() -> None:
    from mspec.scoring.predict import CHUNK_BYTES, default_chunk_rows

    small = mspec.check_text(textwrap.dedent(LIST_SPEC))
    # 5 float32 values of inputs and 8 bytes per output: 36 bytes a row.
    assert default_chunk_rows(small, 1024) == CHUNK_BYTES // 36
    images = mspec.check_text(
        '[model]\nname = "images"\n[inputs.picture]\nshape = [512, 512, 3]\n[outputs.y]\nfrom = "picture"\n'
        'layers = [{ type = "Flatten" }, { type = "Dense", units = 1 }]\nloss = "mse"\n'
    )
    assert images.ok and default_chunk_rows(images, 1024) == 1024  # a batch, though larger than CHUNK_BYTES


# --- predictions equal model.predict ---------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".npz"])
def test_predictions_equal_keras_in_every_output_format(trained: dict, suffix: str, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.parquet"
    pq.write_table(table(data, ["id", "a", "b"]), source)  # no label columns: none are needed
    out = tmp_path / f"scores{suffix}"
    result = mspec.predict(spec, model, source, out, keep=["id"])
    got = read_output(out)
    assert result.rows == ROWS
    assert list(got) == ["id", "kind", "kind_prob_0", "kind_prob_1", "kind_prob_2", "size"]
    np.testing.assert_array_equal(got["id"], data["id"])  # one row out per row in, in order
    assert_list_model_columns(got, keras_predictions(model, data))


@pytest.mark.parametrize("form", ["npz", "csv", "parquet", "dataset"])
def test_every_input_form_gives_the_same_predictions(trained: dict, form: str, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    if form == "npz":
        source = tmp_path / "new.npz"
        np.savez(source, a=data["a"], b=data["b"], id=data["id"], kind=data["kind"])
    elif form == "csv":
        source = tmp_path / "new.csv"
        flat_csv(source, data, ["id", "a", "b"])
        spec = tmp_path / "flat.toml"
        spec.write_text(
            textwrap.dedent(LIST_SPEC)
            .replace("[inputs.a]\n", '[inputs.a]\ncolumns = ["a_0", "a_1", "a_2"]\n')
            .replace("[inputs.b]\n", '[inputs.b]\ncolumns = ["b_0", "b_1"]\n')
        )
    elif form == "parquet":
        source = tmp_path / "new.parquet"
        pq.write_table(table(data, ["id", "a", "b", "size"]), source)
    else:
        source = tmp_path / "parts"
        source.mkdir()
        whole = table(data, ["id", "a", "b"])
        pq.write_table(whole.slice(0, 70), source / "part-0.parquet")
        pq.write_table(whole.slice(70), source / "part-1.parquet")
    out = tmp_path / "scores.parquet"
    result = mspec.predict(spec, model, source, out, keep=["id"], chunk_rows=64)
    got = read_output(out)
    assert result.rows == ROWS
    np.testing.assert_array_equal(got["id"].astype("int64"), data["id"])
    assert_list_model_columns(got, keras_predictions(model, data))


def test_data_is_read_predicted_and_written_in_chunks(trained: dict, tmp_path: Path, monkeypatch) -> None:
    from mspec.data.source import DataSource

    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.parquet"
    pq.write_table(table(data, ["id", "a", "b"]), source, row_group_size=50)
    sizes: list[int] = []
    read = DataSource.read

    def counting(self, names, chunk_rows, *args, **kwargs):
        for first, chunk in read(self, names, chunk_rows, *args, **kwargs):
            if "id" in names:  # predict's read, not the data check's
                sizes.append(len(chunk["id"]))
            yield first, chunk

    monkeypatch.setattr(DataSource, "read", counting)
    out = tmp_path / "scores.parquet"
    result = mspec.predict(spec, model, source, out, keep=["id"], chunk_rows=48)
    assert max(sizes) <= 48 and sum(sizes) == ROWS and result.chunks == len(sizes) >= 5
    assert pq.ParquetFile(out).metadata.num_row_groups == result.chunks  # written chunk by chunk
    np.testing.assert_array_equal(read_output(out)["id"], data["id"])


def test_dict_model_binary_output_from_logits_and_threshold(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["named"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"], b=data["b"])
    expected = keras_predictions(model, data)
    probability = 1 / (1 + np.exp(-expected["churn"][:, 0].astype("float64")))
    threshold = float(np.median(probability))
    mspec.predict(spec, model, source, tmp_path / "p.npz", threshold=threshold)
    got = read_output(tmp_path / "p.npz")
    assert list(got) == ["churn_prob", "churn", "pair_0", "pair_1"]
    np.testing.assert_allclose(got["churn_prob"], probability, rtol=1e-5)
    np.testing.assert_array_equal(got["churn"], (got["churn_prob"] >= threshold).astype("int64"))
    assert 0 < got["churn"].sum() < ROWS  # the threshold splits the rows
    np.testing.assert_allclose(got["pair_1"], expected["pair"][:, 1], rtol=1e-5, atol=1e-6)


def test_keep_copies_csv_columns_as_written(trained: dict, tmp_path: Path) -> None:
    _, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.csv"
    flat = {"account": [f"{i:05d}" for i in range(ROWS)], "region": ["n", "s"] * (ROWS // 2)}
    flat.update({f"a_{k}": data["a"][:, k] for k in range(3)})
    flat.update({f"b_{k}": data["b"][:, k] for k in range(2)})
    pacsv.write_csv(pa.table(flat), source)
    flat_spec = tmp_path / "flat.toml"
    flat_spec.write_text(
        textwrap.dedent(LIST_SPEC)
        .replace("[inputs.a]\n", '[inputs.a]\ncolumns = ["a_0", "a_1", "a_2"]\n')
        .replace("[inputs.b]\n", '[inputs.b]\ncolumns = ["b_0", "b_1"]\n')
    )
    out = tmp_path / "scores.csv"
    outcome = CliRunner().invoke(
        main, ["predict", str(flat_spec), "--model", str(model), "--data", str(source), "-o", str(out),
               "--keep", "account,region"],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    written = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(column_types={"account": pa.string()}))
    assert written.column_names[:3] == ["account", "region", "kind"]
    assert written.column("account").to_pylist() == flat["account"]  # "00007" stays "00007"
    assert "MS502" not in outcome.output  # kept columns are not reported as bound to nothing


def test_labels_present_are_ignored_even_when_wrong(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"], b=data["b"], kind=np.full(ROWS, 9), size=np.full(ROWS, np.nan))
    with pytest.raises(FitError):  # the same labels stop evaluate: they are wrong
        mspec.evaluate(spec, model, source)
    result = mspec.predict(spec, model, source, tmp_path / "p.parquet")
    assert result.rows == ROWS and "kind" in result.columns
    assert result.warnings == []  # nor are the label columns reported as bound to nothing (MS502)


def test_the_spec_lint_table_applies_to_data_findings_as_in_lint(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"], b=data["b"], notes=np.zeros(ROWS))
    warned = mspec.predict(spec, model, source, tmp_path / "p.parquet")
    assert [w.code for w in warned.warnings] == ["MS502"]  # an array bound to nothing
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(spec.read_text() + '\n[lint]\nignore = ["MS502"]\n')
    assert mspec.predict(quiet, model, source, tmp_path / "q.parquet").warnings == []


CITIES = """
[model]
name = "cities"
[inputs.city]
shape = [1]
dtype = "string"
[inputs.amount]
shape = [2]
[branches.c]
from = "city"
layers = [
  { type = "StringLookup", vocabulary = ["paris", "lyon"] },
  { type = "Embedding", input_dim = 3, output_dim = 4 },
  { type = "Flatten" },
]
[merges.m]
type = "Concatenate"
from = ["c", "amount"]
[outputs.y]
from = "m"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def test_text_inputs_are_predicted(tmp_path: Path) -> None:
    import tensorflow as tf

    spec = tmp_path / "cities.toml"
    spec.write_text(CITIES)
    model = mspec.build_model(spec)
    cities = np.array(["paris", "lyon", "nice", "paris"] * 10, dtype=object)
    amount = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    source = tmp_path / "cities.parquet"
    pq.write_table(pa.table({"city": cities, "amount": list(amount)}), source)
    mspec.predict(spec, model, source, tmp_path / "p.parquet", keep=["city"], chunk_rows=16)
    got = read_output(tmp_path / "p.parquet")
    expected = model.predict({"city": tf.constant(cities[:, None]), "amount": amount}, verbose=0)
    assert got["city"].tolist() == cities.tolist()
    np.testing.assert_allclose(got["y_prob"], expected[:, 0], rtol=1e-5)


# --- wrong data, wrong arguments: nothing written -------------------------------


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_a_failure_half_way_leaves_the_previous_file_as_it_was(
    trained: dict, tmp_path: Path, stop: type[BaseException]
) -> None:
    spec, model_path = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.parquet"
    pq.write_table(table(data, ["a", "b"]), source)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous")
    model = keras.saving.load_model(model_path)
    calls = []

    def failing_predict(x, **kwargs):
        calls.append(len(x["a"]))
        if len(calls) == 2:
            raise stop("stopped half way")
        return type(model).predict(model, x, **kwargs)

    model.predict = failing_predict
    with pytest.raises(stop, match="half way"):
        mspec.predict(spec, model, source, out, chunk_rows=64)
    assert out.read_bytes() == b"previous"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["new.parquet", "scores.parquet"]  # no temporary file left behind


@pytest.mark.slow
def test_sigterm_while_predicting_leaves_the_previous_file_and_no_temporary(
    trained: dict, tmp_path: Path
) -> None:
    spec, model_path = trained["two"]
    rng = np.random.default_rng(3)
    source = tmp_path / "many.parquet"
    rows = 400_000
    many = {name: rng.normal(size=(rows, width)).astype("float32") for name, width in (("a", 3), ("b", 2))}
    pq.write_table(table(many, ["a", "b"]), source)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous")
    command = [sys.executable, "-m", "mspec", "predict", str(spec), "--model", str(model_path)]
    command += ["--data", str(source), "-o", str(out), "--chunk-rows", "2000", "--batch-size", "16"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Wait until the first chunk is being written: the temporary file exists beside the output.
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".scores.parquet.") for p in tmp_path.iterdir()):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "no chunk written in two minutes"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "Traceback" not in output
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.parquet", "scores.parquet"]


def test_wrong_keep_column_is_a_usage_error(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"], b=data["b"], size_id=data["id"])
    with pytest.raises(ValueError, match="has no column 'idd'"):
        mspec.predict(spec, model, source, tmp_path / "p.csv", keep=["idd"])
    with pytest.raises(ValueError, match="output 'size'"):
        mspec.predict(spec, model, source, tmp_path / "p.csv", keep=["size_id"])
    with pytest.raises(ValueError, match=r"\.parquet, \.csv or \.npz"):
        mspec.predict(spec, model, source, tmp_path / "p.json")
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.slow
def test_bad_data_stops_with_a_located_finding_before_keras(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"][:, :2], b=data["b"])  # a has 2 values per row, the input 3
    out = tmp_path / "scores.parquet"
    ran = run_mspec("predict", str(spec), "--model", str(model), "--data", str(source), "-o", str(out))
    assert ran.returncode == 1, ran.stderr
    assert "two.toml:" in ran.stdout and "input 'a'" in ran.stdout and NO_FRAMEWORK in ran.stdout
    assert ran.stderr.startswith("mspec: not predicted: 1 error in the spec or data")
    assert not out.exists()


@pytest.mark.slow
def test_an_unreadable_file_exits_2(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    source = tmp_path / "broken.parquet"
    source.write_bytes(b"PAR1 this is not parquet")
    out = tmp_path / "scores.csv"
    ran = run_mspec("predict", str(spec), "--model", str(model), "--data", str(source), "-o", str(out))
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(f"mspec: not predicted: {source}: cannot read as parquet")
    assert len(ran.stderr.strip().splitlines()) == 1 and NO_FRAMEWORK in ran.stdout
    assert not out.exists()


@pytest.mark.slow
def test_the_command_prints_its_own_line_only(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["two"]
    data = trained["data"]
    source = tmp_path / "new.npz"
    np.savez(source, a=data["a"], b=data["b"], id=data["id"])
    out = tmp_path / "scores.csv"
    ran = run_mspec(
        "predict", str(spec), "--model", str(model), "--data", str(source), "-o", str(out), "--keep", "id"
    )
    assert ran.returncode == 0, ran.stderr
    # TensorFlow's and absl's start-up lines are held back: only mspec's own line is left.
    columns = "id, kind, kind_prob_0, kind_prob_1, kind_prob_2, size"
    assert ran.stderr.splitlines() == [f"wrote {out}: {ROWS} rows, columns {columns}"]
    assert pacsv.read_csv(out).num_rows == ROWS
