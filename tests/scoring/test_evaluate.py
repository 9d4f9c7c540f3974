"""mspec evaluate: each output's loss and metrics, the numbers Keras' model.evaluate gives on the same rows.

Tiny models trained once for the module (one epoch, seed 0): a list model
with a classifier and a regression output, and a dict model
(`outputs_as = "dict"`) with a binary output and one of two units.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import mspec  # noqa: E402
from mspec.cli import main  # noqa: E402

from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402

pytestmark = pytest.mark.keras

ROWS = 300

SPEC = """
[model]
name = "{name}"
outputs_as = "{outputs_as}"
[inputs.a]
shape = [3]
[inputs.b]
shape = [2]
[merges.ab]
type = "Concatenate"
from = ["a", "b"]
[outputs.kind]
from = "ab"
layers = [{{ type = "Dense", units = 3, activation = "softmax" }}]
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
[outputs.churn]
from = "ab"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
loss_weight = 0.5
metrics = ["accuracy", "auc"]
[outputs.pair]
from = "ab"
layers = [{{ type = "Dense", units = 2 }}]
loss = "mse"
metrics = ["mae"]
"""


def arrays(rows: int = ROWS, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, 3)).astype("float32")
    b = rng.normal(size=(rows, 2)).astype("float32")
    return {
        "a": a,
        "b": b,
        "kind": (a[:, 0] > 0).astype("int64") + (b[:, 0] > 0.5),
        "churn": (a[:, 1] > 0).astype("float32"),
        "pair": np.stack([a[:, 2], b[:, 1]], axis=-1).astype("float32"),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("evaluate")
    data = arrays()
    train = folder / "train.npz"
    np.savez(train, **arrays(seed=0))
    np.savez(folder / "held_out.npz", **data)
    found = {"folder": folder, "data": data, "held_out": folder / "held_out.npz"}
    for name, outputs_as in (("listed", "list"), ("named", "dict")):
        spec = folder / f"{name}.toml"
        spec.write_text(textwrap.dedent(SPEC.format(name=name, outputs_as=outputs_as)))
        mspec.fit(spec, train, output_dir=folder, epochs=1, seed=0, verbose=0, log=lambda _: None)
        found[name] = (spec, folder / f"{name}.keras")
    return found


def keras_scores(model_path: Path, data: dict[str, np.ndarray], batch_size: int) -> dict[str, float]:
    model = keras.saving.load_model(model_path)
    x = {"a": data["a"], "b": data["b"]}
    y = [data[name] for name in model.output_names]
    return model.evaluate(x, y, batch_size=batch_size, return_dict=True, verbose=0)


@pytest.mark.parametrize("batch_size", [32, 1024])
@pytest.mark.parametrize("name", ["listed", "named"])
def test_scores_equal_keras_evaluate(trained: dict, name: str, batch_size: int) -> None:
    spec, model = trained[name]
    got = mspec.evaluate(spec, model, trained["held_out"], batch_size=batch_size)
    expected = keras_scores(model, trained["data"], batch_size)
    assert set(got.scores) == set(expected) >= {"loss", "kind_loss", "churn_auc", "pair_mae"}
    for key, value in expected.items():
        assert got.scores[key] == pytest.approx(float(value), rel=1e-5, abs=1e-6), key
    assert got.rows == ROWS
    if batch_size >= ROWS:  # one batch: the total is the outputs' losses, churn's weighed by 0.5
        total = got.scores["kind_loss"] + 0.5 * got.scores["churn_loss"] + got.scores["pair_loss"]
        assert got.scores["loss"] == pytest.approx(total, rel=1e-5)


def test_a_data_set_of_parquet_files_scores_as_one_file(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["listed"]
    data = trained["data"]
    whole = pa.table({k: list(v) if v.ndim > 1 else v for k, v in data.items()})
    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(whole.slice(0, 100), parts / "part-0.parquet")
    pq.write_table(whole.slice(100), parts / "part-1.parquet")
    got = mspec.evaluate(spec, model, parts, batch_size=64)
    expected = keras_scores(model, data, 64)
    for key, value in expected.items():
        assert got.scores[key] == pytest.approx(float(value), rel=1e-5, abs=1e-6), key


def test_command_prints_text_and_json(trained: dict) -> None:
    spec, model = trained["named"]
    args = ["evaluate", str(spec), "--model", str(model), "--data", str(trained["held_out"])]
    as_json = CliRunner().invoke(main, [*args, "--format", "json", "--batch-size", "50"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    expected = keras_scores(model, trained["data"], 50)
    assert report["rows"] == ROWS and set(report["scores"]) == set(expected)
    assert report["scores"]["pair_mae"] == pytest.approx(float(expected["pair_mae"]), rel=1e-5)
    as_text = CliRunner().invoke(main, args)
    assert as_text.exit_code == 0, as_text.output
    lines = as_text.stdout.splitlines()
    names = [line.split()[0] for line in lines[1:]]
    assert names[0] == "loss" and names.index("kind_loss") < names.index("kind_accuracy")
    assert names.index("kind_accuracy") < names.index("churn_loss")  # grouped by output, in the spec's order


@pytest.mark.slow
def test_missing_labels_stop_before_keras(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["listed"]
    data = trained["data"]
    source = tmp_path / "unlabelled.npz"
    np.savez(source, a=data["a"], b=data["b"], kind=data["kind"], pair=data["pair"])
    ran = run_mspec("evaluate", str(spec), "--model", str(model), "--data", str(source))
    assert ran.returncode == 1, ran.stderr
    assert "MS501" in ran.stdout and "output 'churn'" in ran.stdout and NO_FRAMEWORK in ran.stdout
    assert ran.stderr.strip() == "mspec: not evaluated: 1 error in the spec or data"


@pytest.mark.slow
def test_an_unreadable_file_exits_2(trained: dict, tmp_path: Path) -> None:
    spec, model = trained["listed"]
    source = tmp_path / "broken.npz"
    source.write_bytes(b"PK\x03\x04 cut short")
    ran = run_mspec("evaluate", str(spec), "--model", str(model), "--data", str(source))
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(f"mspec: not evaluated: {source}: cannot read as npz")
    assert NO_FRAMEWORK in ran.stdout
