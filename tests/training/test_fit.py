"""`mspec fit` and `mspec.fit`: training from a spec and named data.

Most runs go through the Python API in this process (TensorFlow loads once);
what needs a process of its own runs the command: checks that must stop
before any framework is imported, an interruption, the mirrored strategy on
logical CPU devices, and two processes training one model together.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import mspec  # noqa: E402
from mspec.training import check_before_fit  # noqa: E402

from make_data import concat_independent, write_npz, write_parquet  # noqa: E402
from support.commands import run_mspec  # noqa: E402
from support.paths import ROOT, TESTS  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

EXAMPLE_1 = ROOT / "specs" / "seed" / "concat_independent.toml"


def write_spec(folder: Path, text: str, name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def quiet_fit(spec: Path, data: Path, **settings):
    """`mspec.fit` without Keras' progress bars or mspec's own lines."""
    return mspec.fit(spec, data, verbose=0, log=lambda _: None, **settings)


def write_csv(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Flat columns: input_1_0..input_1_9, input_2_0..input_2_4, output."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = {}
    for name, array in arrays.items():
        if array.ndim == 1:
            columns[name] = array
        else:
            for index in range(array.shape[1]):
                columns[f"{name}_{index}"] = array[:, index]
    pacsv.write_csv(pa.table(columns), path)


def example_1_with_columns(folder: Path) -> Path:
    """Example 1 whose inputs read flat CSV columns."""
    text = EXAMPLE_1.read_text()
    columns_1 = ", ".join(f'"input_1_{i}"' for i in range(10))
    columns_2 = ", ".join(f'"input_2_{i}"' for i in range(5))
    text = text.replace("shape = [10]", f"shape = [10]\ncolumns = [{columns_1}]")
    text = text.replace("shape = [5]", f"shape = [5]\ncolumns = [{columns_2}]")
    return write_spec(folder, text, "example_1_csv.toml")


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
def test_fit_example_1_from_each_format(tmp_path: Path, fmt: str) -> None:
    arrays = concat_independent(1200, seed=1)
    spec = EXAMPLE_1
    data = tmp_path / f"data.{fmt}"
    if fmt == "npz":
        write_npz(data, arrays)
    elif fmt == "parquet":
        write_parquet(data, arrays)
    else:
        write_csv(data, arrays)
        spec = example_1_with_columns(tmp_path)
    result = quiet_fit(spec, data, output_dir=tmp_path / "out", epochs=4, seed=0)
    losses = result.history["loss"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert result.history["accuracy"][-1] > 0.75  # the label is learnable from both inputs
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "concat_independent.history.json",
        "concat_independent.history.png",
        "concat_independent.keras",
        "concat_independent.run.json",
    ]
    run = json.loads((tmp_path / "out" / "concat_independent.run.json").read_text())
    assert run["epochs_run"] == 4 and run["seed"] == 0
    assert run["data"]["sha256"] == _sha256(data)
    reloaded = keras.saving.load_model(tmp_path / "out" / "concat_independent.keras")
    x = {"input_1": arrays["input_1"][:8], "input_2": arrays["input_2"][:8]}
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-6)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_identical_weights(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(600, seed=2))
    first = quiet_fit(EXAMPLE_1, data, epochs=2, seed=5)
    second = quiet_fit(EXAMPLE_1, data, epochs=2, seed=5)
    other = quiet_fit(EXAMPLE_1, data, epochs=2, seed=6)
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(first.model.get_weights(), other.model.get_weights(), strict=True)
    )


MULTI_OUTPUT = """
    [model]
    name = "two_heads"

    [inputs.a]
    shape = [4]

    [inputs.b]
    shape = [3]

    [merges.both]
    type = "Concatenate"
    from = ["a", "b"]

    [outputs.rare]
    from = "both"
    layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
    loss = "binary_crossentropy"

    [outputs.kind]
    from = "both"
    layers = [{ type = "Dense", units = 3, activation = "softmax" }]
    loss = "sparse_categorical_crossentropy"
    metrics = ["sparse_categorical_accuracy"]

    [compile]
    optimizer = { type = "Adam", learning_rate = 0.05 }

    [train]
    epochs = 8
    batch_size = 64
    seed = 1
    """


def _two_heads_data(path: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    rows = 800
    arrays = {
        "a": rng.normal(size=(rows, 4)).astype("float32"),
        "b": rng.normal(size=(rows, 3)).astype("float32"),
        # Positives are rare and carry no signal: class weights alone move the predictions.
        "rare": (rng.random(rows) < 0.1).astype("float32"),
        "kind": rng.integers(0, 3, size=rows).astype("int32"),
    }
    write_npz(path, arrays)
    return arrays


def test_class_weights_on_a_multi_output_model(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    arrays = _two_heads_data(data)
    plain = quiet_fit(write_spec(tmp_path, MULTI_OUTPUT), data)
    weighted_spec = write_spec(
        tmp_path,
        MULTI_OUTPUT + '\n    class_weight = { rare = { "0" = 1.0, "1" = 9.0 }, kind = { "2" = 5.0 } }\n',
        "weighted.toml",
    )
    weighted = quiet_fit(weighted_spec, data)
    x = {"a": arrays["a"], "b": arrays["b"]}
    rare_plain, kind_plain = plain.model.predict(x, verbose=0)
    rare_weighted, kind_weighted = weighted.model.predict(x, verbose=0)
    # Weight 9 on the 10% positives balances the classes: predictions move towards 0.5.
    assert rare_weighted.mean() > rare_plain.mean() + 0.1
    assert kind_weighted[:, 2].mean() > kind_plain[:, 2].mean() + 0.1
    assert {"rare_loss", "kind_loss", "kind_sparse_categorical_accuracy"} <= set(weighted.history)


def test_a_loss_weight_on_one_output_of_two(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    _two_heads_data(data)
    text = MULTI_OUTPUT.replace(
        'loss = "binary_crossentropy"', 'loss = "binary_crossentropy"\n    loss_weight = 3.0'
    )
    result = quiet_fit(write_spec(tmp_path, text), data, epochs=1)
    history = result.history
    # The total is the weighted sum: 3 x rare + 1 x kind (the other output keeps Keras' default weight).
    assert history["loss"][0] == pytest.approx(
        3 * history["rare_loss"][0] + history["kind_loss"][0], rel=0.05
    )


NORMALIZED = """
    [model]
    name = "normalized"

    [inputs.x]
    shape = [3]

    [branches.scaled]
    from = "x"
    layers = [{ type = "Normalization" }, { type = "Dense", units = 4 }]

    [outputs.y]
    from = "scaled"
    layers = [{ type = "Dense", units = 1 }]
    loss = "mean_squared_error"
    """


def test_normalization_without_statistics_is_adapted(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[100.0, -5.0, 0.0], scale=[10.0, 2.0, 0.5], size=(2000, 3)).astype("float32")
    data = tmp_path / "data.npz"
    write_npz(data, {"x": x, "y": x.sum(axis=1)})
    said: list[str] = []
    result = mspec.fit(write_spec(tmp_path, NORMALIZED), data, epochs=1, verbose=0, log=said.append)
    layer = result.model.get_layer("scaled_normalization")
    np.testing.assert_allclose(np.ravel(layer.mean), x.mean(axis=0), rtol=1e-3)
    np.testing.assert_allclose(np.ravel(layer.variance), x.var(axis=0), rtol=1e-2)
    assert result.run["adapted_layers"] == ["scaled_normalization"]
    assert any("adapted layer 'scaled_normalization'" in line for line in said)


def test_early_stopping_stops_and_records_the_best_epoch(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(600, seed=4))
    text = EXAMPLE_1.read_text() + textwrap.dedent(
        """
        [train]
        epochs = 20
        validation_split = 0.25
        # No change is this large: training stops once patience runs out.
        early_stopping = { monitor = "val_loss", patience = 2, min_delta = 100.0 }
        """
    )
    result = quiet_fit(write_spec(tmp_path, text), data, seed=0)
    assert result.run["epochs_run"] == 3
    assert len(result.history["val_loss"]) == 3
    assert result.run["best_epoch"] == 1


def test_streamed_data_trains_like_data_in_memory(tmp_path: Path) -> None:
    data = tmp_path / "data.parquet"
    write_parquet(data, concat_independent(1500, seed=5))
    result = quiet_fit(EXAMPLE_1, data, epochs=3, batch_size=50, seed=0, stream=True)
    assert len(result.history["loss"]) == 3
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.history["accuracy"][-1] > 0.75


# --- The command, in processes of its own ------------------------------------------

NO_LOSS = """
    [model]
    name = "no_loss"

    [inputs.x]
    shape = [2]

    [outputs.y]
    from = "x"
    layers = [{ type = "Dense", units = 1 }]
    """


def test_output_without_a_loss_stops_before_any_framework(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, {"x": np.zeros((4, 2), "float32"), "y": np.zeros(4, "float32")})
    spec = write_spec(tmp_path, NO_LOSS)
    done = run_mspec("fit", str(spec), "--data", str(data), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert f"{spec}:8:1: MS601 error: output 'y' has no loss" in done.stdout
    assert "FRAMEWORKS:\n" in done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_early_stopping_on_validation_loss_needs_validation_data(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(50))
    text = EXAMPLE_1.read_text() + '\n[train]\nearly_stopping = { monitor = "val_loss" }\n'
    spec = write_spec(tmp_path, text)
    done = run_mspec("fit", str(spec), "--data", str(data), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert "MS602 error: early_stopping watches 'val_loss', but there is no validation data" in done.stdout
    assert "FRAMEWORKS:\n" in done.stdout
    # Validation data given on the command line is enough (the run then trains: stop at the check).
    assert "MS602" not in "".join(d.format() for d in check_before_fit(spec, data, validation=data)[2])


def test_a_constant_input_is_reported_dead(tmp_path: Path) -> None:
    arrays = concat_independent(800, seed=10)
    arrays["input_2"] = np.zeros_like(arrays["input_2"])  # carries nothing at all
    data = tmp_path / "data.npz"
    write_npz(data, arrays)
    result = quiet_fit(EXAMPLE_1, data, epochs=4, seed=0)
    dead = [w for w in result.warnings if w.code == "MS604"]
    assert len(dead) == 1 and "x2" in dead[0].message, [w.format() for w in result.warnings]
    assert result.history["balance/merged/x2"][-1] < 0.01


def test_every_fit_code_is_tested() -> None:
    from mspec.diagnostics import CODES

    fit_codes = sorted(code for code in CODES if code.startswith("MS6"))
    modules = (
        Path(__file__),
        TESTS / "training" / "test_fit_settings.py",
        TESTS / "explain" / "test_explain.py",
    )
    sources = "".join(path.read_text() for path in modules)
    untested = [code for code in fit_codes if code not in sources]
    assert not untested, f"fit codes without a test: {untested}"


def test_data_that_does_not_fit_the_spec_stops_before_any_framework(tmp_path: Path) -> None:
    arrays = concat_independent(50)
    arrays["input_2"] = arrays["input_2"][:, :4]  # 4 features where the spec says 5
    data = tmp_path / "data.npz"
    write_npz(data, arrays)
    done = run_mspec("fit", str(EXAMPLE_1), "--data", str(data), "-o", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert "input_2" in done.stdout and "data.npz" in done.stdout
    assert "FRAMEWORKS:\n" in done.stdout
    assert "Traceback" not in done.stderr


def test_interrupted_training_leaves_the_previous_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    small = tmp_path / "small.npz"
    write_npz(small, concat_independent(200, seed=6))
    quiet_fit(EXAMPLE_1, small, output_dir=out, epochs=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    large = tmp_path / "large.npz"
    write_npz(large, concat_independent(200_000, seed=7))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mspec",
            "fit",
            str(EXAMPLE_1),
            "--data",
            str(large),
            "-o",
            str(out),
            "--epochs",
            "50",
            "--batch-size",
            "16",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:  # wait until training has really started
            if line.startswith("Epoch 1/"):
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, rest
    assert "interrupted: nothing written" in rest
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no temporary file either


def test_mirrored_training_on_two_logical_cpu_devices(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(512, seed=8))
    done = run_mspec(
        "fit",
        str(EXAMPLE_1),
        "--data",
        str(data),
        "-o",
        str(tmp_path / "out"),
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--distribute",
        "mirrored",
        "--cpu-devices",
        "2",
        "-q",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    strays = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if not OWN_LINE.fullmatch(line) and not line.startswith("FRAMEWORKS:")
    ]
    assert not strays, strays  # no TensorFlow or absl line from the mirrored strategy either
    run = json.loads((tmp_path / "out" / "concat_independent.run.json").read_text())
    assert run["placement"]["strategy"] == "mirrored"
    assert run["placement"]["replicas"] == 2
    assert run["epochs_run"] == 2


# What a successful `mspec fit -q` prints: Keras' epoch lines and mspec's own.
OWN_LINE = re.compile(
    r"Epoch \d+/\d+|\d+/\d+ - .*step.*|balance of the input branches .*|wrote .*|trained .*"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_train_one_model(tmp_path: Path) -> None:
    data = tmp_path / "data.npz"
    write_npz(data, concat_independent(1024, seed=9))
    port = _free_port()
    processes = []
    for index in range(2):
        command = [
            sys.executable,
            "-m",
            "mspec",
            "fit",
            str(EXAMPLE_1),
            "--data",
            str(data),
            "-o",
            str(tmp_path / f"out{index}"),
            "--epochs",
            "2",
            "--batch-size",
            "32",
            "--seed",
            "3",
            "--distribute",
            "multi_worker",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(index),
            "-q",
        ]
        processes.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=240)[0])
    finally:
        for process in processes:
            process.kill()
    assert [p.returncode for p in processes] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    # mspec's lines and Keras' epoch lines only: no Gloo, XLA or absl line on stdout or stderr.
    strays = [line for output in outputs for line in output.splitlines() if not OWN_LINE.fullmatch(line)]
    assert not strays, strays
    run = json.loads((tmp_path / "out0" / "concat_independent.run.json").read_text())
    assert run["placement"] == {
        "strategy": "multi_worker",
        "backend": "jax",
        "replicas": 2,
        "process_id": 0,
        "num_processes": 2,
    }
    assert not (tmp_path / "out1").exists()  # only the chief writes
    # Both processes step one model: each epoch's logged loss is the same in both.
    losses = [
        [line.split("loss: ")[1].split()[0] for line in o.splitlines() if " - loss: " in line]
        for o in outputs
    ]
    assert len(losses[0]) == 2 and losses[0] == losses[1]
    # The branches' balance is measured on JAX too: two shares per epoch, adding up to 1.
    history = json.loads((tmp_path / "out0" / "concat_independent.history.json").read_text())
    shares = [values for key, values in history.items() if key.startswith("balance/")]
    assert len(shares) == 2 and all(len(values) == 2 for values in shares)
    assert [round(a + b, 6) for a, b in zip(*shares, strict=True)] == [1.0, 1.0]
