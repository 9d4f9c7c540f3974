"""mspec explain and the balance fit records: planted signals must be found, and only when planted.

Every Keras test trains a small model with `mspec fit` on synthetic data
whose signal is known, then checks what `explain` (or the balance warning)
says about it; each runs twice, with the signal planted and removed, and
the finding must hold in the first case and not in the second.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mspec import check_text
from mspec.cli import main
from mspec.explain.output import to_json, to_text
from mspec.graph.merge_points import balance_points

ROWS = 3000


# --- where balance is measured (no Keras) -------------------------------------


def test_balance_points_are_the_first_merges_of_the_inputs() -> None:
    result = check_text(INTERACTION.format(epochs=1))
    points = balance_points(result.graph)
    assert [p.merge for p in points] == ["product", "joined"]
    product, joined = points
    assert product.labels == ("xa", "xb") and product.first_of == ("a", "b")
    assert joined.labels == ("product", "xc") and joined.first_of == ("c",)
    assert joined.inputs == (("a", "b"), ("c",))
    assert product.keys == ["balance/product/xa", "balance/product/xb"]


def test_a_merge_of_one_input_is_not_measured_and_shared_layers_count_per_use() -> None:
    text = """
[model]
name = "m"
[inputs.a]
shape = [4]
[inputs.b]
shape = [4]
[shared.enc]
type = "Dense"
units = 3
[branches.ea]
from = "a"
layers = [{ shared = "enc" }]
[branches.ea2]
from = "a"
layers = [{ type = "Dense", units = 3 }]
[branches.eb]
from = "b"
layers = [{ shared = "enc" }]
[merges.self_sum]
type = "Add"
from = ["ea", "ea2"]
[merges.pair]
type = "Concatenate"
from = ["self_sum", "eb", "eb"]
[outputs.y]
from = "pair"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""
    result = check_text(text)
    assert result.ok, [d.format() for d in result.diagnostics]
    (point,) = balance_points(result.graph)
    assert point.merge == "pair" and point.labels == ("self_sum", "eb", "eb#2")


# --- training and explaining --------------------------------------------------


# Each finding is tested with its signal planted and with it removed: it must hold only in the first case.
PLANTED_OR_REMOVED = pytest.mark.parametrize("planted", [True, False], ids=["planted", "removed"])


def fit_and_explain(tmp_path: Path, spec: str, train: dict, held_out: dict, **options):
    """Train `spec` on `train` with `mspec fit`, explain the model on `held_out`; print the report.

    The printed report is what pytest shows of a failing test: the numbers behind the finding.
    """
    pytest.importorskip("keras")
    from mspec.explain import explain
    from mspec.training import fit

    (tmp_path / "spec.toml").write_text(spec)
    np.savez(tmp_path / "train.npz", **train)
    np.savez(tmp_path / "test.npz", **held_out)
    fitted = fit(tmp_path / "spec.toml", tmp_path / "train.npz", output_dir=tmp_path, verbose=0, log=_quiet)
    name = fitted.run["model"]
    explanation = explain(
        tmp_path / "spec.toml", tmp_path / f"{name}.keras", tmp_path / "test.npz", seed=3, **options
    )
    print(to_text(explanation))
    return fitted, explanation


def _quiet(_: str) -> None:
    pass


THREE_INPUTS = """
[model]
name = "three"
[inputs.a]
shape = [4]
[inputs.b]
shape = [4]
[inputs.c]
shape = [4]
[branches.xa]
from = "a"
layers = [{{ type = "Dense", units = 8, activation = "relu" }}]
[branches.xb]
from = "b"
layers = [{{ type = "Dense", units = 8, activation = "relu" }}]
[branches.xc]
from = "c"
layers = [{{ type = "Dense", units = 8, activation = "relu" }}]
[merges.joined]
type = "Concatenate"
from = ["xa", "xb", "xc"]
[outputs.label]
from = "joined"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
metrics = ["accuracy"]
[train]
epochs = {epochs}
batch_size = 64
seed = 5
"""


# Branch shares of one model with the same weights, measured in a child process on a backend.
SHARES_ON = """
import json, sys, numpy as np
from mspec.api import build_model, check_text
from mspec.training.balance import make_balance_callback
result = check_text(sys.stdin.read())
model = build_model(result)
rng = np.random.default_rng(0)
model.set_weights([rng.normal(scale=0.7, size=w.shape).astype("float32") for w in model.get_weights()])
data = np.random.default_rng(1)
x = {name: data.normal(size=(256, 1)).astype("float32") for name in ("a", "b", "c")}
y = {"label": (data.uniform(size=256) > 0.5).astype("float32")}
print(json.dumps(make_balance_callback(model, result.graph, x, y, 0.9).measure()))
"""


@pytest.mark.keras
@pytest.mark.slow
def test_balance_on_jax_measures_what_tensorflow_measures() -> None:
    pytest.importorskip("jax")
    import os
    import subprocess
    import sys

    shares = {}
    for backend in ("tensorflow", "jax"):
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run(
            [sys.executable, "-c", SHARES_ON], input=INTERACTION.format(epochs=1), env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        shares[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    tensorflow, jax = shares["tensorflow"], shares["jax"]
    # Both merges, the product nested in the concatenation, measured alike on both backends.
    assert sorted(tensorflow) == sorted(jax) == [
        "balance/joined/product", "balance/joined/xc", "balance/product/xa", "balance/product/xb"
    ]  # fmt: skip
    for key, value in tensorflow.items():
        assert jax[key] == pytest.approx(value, abs=1e-4), key
    assert abs(tensorflow["balance/joined/product"] - 0.5) > 0.01  # not a split the weights cannot move


def three_inputs(seed: int, planted: bool) -> dict:
    rng = np.random.default_rng(seed)
    a, b, c = (rng.normal(size=(ROWS, 4)).astype("float32") for _ in range(3))
    score = a @ np.array([1.0, -1.0, 0.5, 0.0]) if planted else rng.normal(size=ROWS)
    label = (score + 0.3 * rng.normal(size=ROWS) > 0).astype("float32")
    return {"a": a, "b": b, "c": c, "label": label}


def one_input_found(explanation) -> bool:
    scores = explanation.outputs["label"].inputs
    a = scores["a"]
    others = [scores["b"], scores["c"]]
    return (
        next(iter(scores)) == "a"
        and a.importance > 3 * a.std
        and all(a.importance >= 5 * abs(o.importance) for o in others)
        and all(abs(o.importance) <= 2 * o.std for o in others)
    )


@PLANTED_OR_REMOVED
@pytest.mark.keras
@pytest.mark.slow
def test_a_only_the_input_with_the_signal_matters(tmp_path: Path, planted: bool) -> None:
    _, explanation = fit_and_explain(
        tmp_path, THREE_INPUTS.format(epochs=6), three_inputs(1, planted), three_inputs(2, planted)
    )
    report = explanation.outputs["label"]
    assert one_input_found(explanation) is planted
    if planted:
        assert report.inputs["a"].metric_drop > 0.2
        assert report.inputs["a"].ablation > 5 * max(abs(report.inputs[n].ablation) for n in "bc")


INTERACTION = """
[model]
name = "interaction"
[inputs.a]
shape = [1]
[inputs.b]
shape = [1]
[inputs.c]
shape = [1]
[branches.xa]
from = "a"
layers = [{{ type = "Dense", units = 16, activation = "tanh" }}]
[branches.xb]
from = "b"
layers = [{{ type = "Dense", units = 16, activation = "tanh" }}]
[branches.xc]
from = "c"
layers = [{{ type = "Dense", units = 16, activation = "tanh" }}]
[merges.product]
type = "Multiply"
from = ["xa", "xb"]
[merges.joined]
type = "Concatenate"
from = ["product", "xc"]
[outputs.label]
from = "joined"
layers = [
  {{ type = "Dense", units = 16, activation = "relu" }},
  {{ type = "Dense", units = 1, activation = "sigmoid" }},
]
loss = "binary_crossentropy"
metrics = ["accuracy"]
[compile]
optimizer = {{ type = "Adam", learning_rate = 0.01 }}
[train]
epochs = {epochs}
batch_size = 64
seed = 5
"""


def product_data(seed: int, planted: bool) -> dict:
    rng = np.random.default_rng(seed)
    a, b, c = (rng.normal(size=(ROWS, 1)).astype("float32") for _ in range(3))
    score = (a * b)[:, 0] if planted else rng.normal(size=ROWS)
    return {"a": a, "b": b, "c": c, "label": (score > 0).astype("float32")}


def interaction_found(explanation) -> bool:
    scores = explanation.outputs["label"].inputs
    c = scores["c"]
    return all(
        scores[name].importance > c.importance + 3 * max(scores[name].std, c.std, 1e-3) for name in "ab"
    )


@PLANTED_OR_REMOVED
@pytest.mark.keras
@pytest.mark.slow
def test_b_both_inputs_of_a_product_rank_above_noise(tmp_path: Path, planted: bool) -> None:
    _, explanation = fit_and_explain(
        tmp_path, INTERACTION.format(epochs=8), product_data(1, planted), product_data(2, planted)
    )
    assert interaction_found(explanation) is planted


def duplicated(seed: int, planted: bool) -> dict:
    data = three_inputs(seed, True)
    rng = np.random.default_rng(seed + 100)
    # b is a copy of a (planted) or independent noise (removed); c is noise.
    data["b"] = data["a"].copy() if planted else rng.normal(size=(ROWS, 4)).astype("float32")
    return data


def group_recovers(explanation) -> bool:
    report = explanation.outputs["label"]
    group = report.groups["a+b"]
    alone = max(report.inputs["a"].importance, report.inputs["b"].importance)
    return group.importance > 1.5 * alone + 2 * group.std


@PLANTED_OR_REMOVED
@pytest.mark.keras
@pytest.mark.slow
def test_c_a_grouped_permutation_recovers_what_duplicates_hide(tmp_path: Path, planted: bool) -> None:
    _, explanation = fit_and_explain(
        tmp_path,
        THREE_INPUTS.format(epochs=6),
        duplicated(1, planted),
        duplicated(2, planted),
        groups=[("a", "b")],
    )
    assert group_recovers(explanation) is planted
    document = to_json(explanation)
    assert document["outputs"]["label"]["groups"]["a+b"]["importance"] > 0


WIDE = """
[model]
name = "wide"
[inputs.noise]
shape = [128]
[inputs.signal]
shape = [2]
[branches.wide]
from = "noise"
layers = [{{ type = "Dense", units = {width}, activation = "relu" }}]
[branches.narrow]
from = "signal"
layers = [{{ type = "Dense", units = 4, activation = "relu" }}]
[merges.joined]
type = "Concatenate"
from = ["wide", "narrow"]
[outputs.label]
from = "joined"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
metrics = ["accuracy"]
[train]
epochs = 6
batch_size = 64
seed = 1
"""


def wide_data(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(2000, 128)).astype("float32")
    signal = rng.normal(size=(2000, 2)).astype("float32")
    label = (signal.sum(axis=1) + rng.normal(size=2000) > 0).astype("float32")
    return {"noise": noise, "signal": signal, "label": label}


@PLANTED_OR_REMOVED
@pytest.mark.keras
@pytest.mark.slow
def test_d_a_wide_branch_of_noise_overwhelms_the_narrow_one(tmp_path: Path, planted: bool) -> None:
    spec = WIDE.format(width=1024 if planted else 4)
    fitted, explanation = fit_and_explain(tmp_path, spec, wide_data(1), wide_data(2))
    codes = [w.code for w in fitted.warnings]
    history = json.loads((tmp_path / "wide.history.json").read_text())
    shares = history["balance/joined/wide"]
    assert len(shares) == 6 and all(0 <= s <= 1 for s in shares)
    assert [round(a + b, 6) for a, b in zip(shares, history["balance/joined/narrow"], strict=True)] == [
        1.0
    ] * 6
    overwhelms = [w for w in fitted.warnings if w.code == "MS603"]
    assert bool(overwhelms) is planted, codes
    if planted:
        (warning,) = overwhelms
        assert (
            "'wide'" in warning.message
            and warning.line == spec.splitlines().index('from = ["wide", "narrow"]') + 1
        )
        # explain shows the final shares beside the importances
        assert explanation.balance["joined"]["wide"] == shares[-1]
        assert "joined: wide (noise)" in to_text(explanation)


# --- multi-output models, shared layers, the command line ----------------------

MULTI = """
[model]
name = "multi"
[inputs.a]
shape = [3]
[inputs.b]
shape = [3]
[inputs.ids]
shape = [2]
dtype = "int32"
[shared.proj]
type = "Dense"
units = 8
activation = "relu"
[branches.pa]
from = "a"
layers = [{ shared = "proj" }]
[branches.pb]
from = "b"
layers = [{ shared = "proj" }]
[branches.pid]
from = "ids"
layers = [
  { type = "Embedding", input_dim = 5, output_dim = 4 },
  { type = "Flatten" },
]
[merges.joined]
type = "Concatenate"
from = ["pa", "pb", "pid"]
[outputs.flag]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
metrics = ["auc"]
loss_weight = 1.0
[outputs.amount]
from = "joined"
layers = [{ type = "Dense", units = 1 }]
loss = "mean_squared_error"
metrics = ["mae"]
loss_weight = 0.5
[train]
epochs = 10
batch_size = 64
seed = 2
"""


def multi_data(seed: int, rows: int = 1500) -> dict:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, 3)).astype("float32")
    b = rng.normal(size=(rows, 3)).astype("float32")
    ids = rng.integers(0, 5, size=(rows, 2)).astype("int32")
    return {
        "a": a,
        "b": b,
        "ids": ids,
        "flag": (a[:, 0] > 0).astype("float32"),
        "amount": (2 * b[:, 1] + (ids[:, 0] == 3)).astype("float32"),
    }


@pytest.mark.keras
@pytest.mark.slow
def test_multi_output_shared_layers_and_the_command(tmp_path: Path) -> None:
    _, explanation = fit_and_explain(tmp_path, MULTI, multi_data(1), multi_data(2))
    flag, amount = explanation.outputs["flag"], explanation.outputs["amount"]
    assert next(iter(flag.inputs)) == "a" and flag.metric == "auc" and flag.metric_higher_is_better
    assert next(iter(amount.inputs)) == "b" and amount.metric == "mae" and not amount.metric_higher_is_better
    assert flag.inputs["a"].metric_drop > 0.1 and amount.inputs["b"].metric_drop > 0.1
    assert set(explanation.balance["joined"]) == {"pa", "pb", "pid"}

    # The same through the command line, streamed in chunks smaller than the file.
    from mspec.explain import importance

    runner = CliRunner()
    arguments = ["explain", str(tmp_path / "spec.toml"), "--model", str(tmp_path / "multi.keras")]
    arguments += ["--data", str(tmp_path / "test.npz"), "--repeats", "2", "--format", "json"]
    arguments += ["--group", "a,b", "-o", str(tmp_path / "report.png")]
    chunk = importance.CHUNK_ROWS
    importance.CHUNK_ROWS = 400
    try:
        done = runner.invoke(main, arguments)
    finally:
        importance.CHUNK_ROWS = chunk
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    for output in ("flag", "amount"):
        entry = document["outputs"][output]
        assert isinstance(entry["baseline"]["loss"], float)
        assert {"a", "b", "ids"} == set(entry["inputs"])
        assert all(
            isinstance(v["importance"], float) and isinstance(v["std"], float)
            for v in entry["inputs"].values()
        )
        assert "a+b" in entry["groups"]
    assert document["outputs"]["flag"]["inputs"]["a"]["rank"] == 1
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_explain_stops_on_bad_data_before_keras(tmp_path: Path) -> None:
    (tmp_path / "spec.toml").write_text(THREE_INPUTS.format(epochs=1))
    np.savez(tmp_path / "data.npz", a=np.zeros((4, 4), "float32"), label=np.zeros(4, "float32"))
    (tmp_path / "model.keras").write_bytes(b"not read")
    done = CliRunner().invoke(
        main,
        [
            "explain",
            str(tmp_path / "spec.toml"),
            "--model",
            str(tmp_path / "model.keras"),
            "--data",
            str(tmp_path / "data.npz"),
        ],
    )
    assert done.exit_code == 1
    assert "'b'" in done.output and "not explained" in done.output


# --- ablation: a value that carries no information ------------------------------

ID_SEQUENCES = """
[model]
name = "ids"
[inputs.signal_ids]
shape = [10]
dtype = "int32"
[inputs.noise_ids]
shape = [10]
dtype = "int32"
[branches.signal_seq]
from = "signal_ids"
layers = [
  {{ type = "Embedding", input_dim = {input_dim}, output_dim = 8, mask_zero = true }},
  {{ type = "GlobalAveragePooling1D" }},
]
[branches.noise_seq]
from = "noise_ids"
layers = [
  {{ type = "Embedding", input_dim = {input_dim}, output_dim = 8, mask_zero = true }},
  {{ type = "GlobalAveragePooling1D" }},
]
[merges.joined]
type = "Concatenate"
from = ["signal_seq", "noise_seq"]
[outputs.label]
from = "joined"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
[compile]
optimizer = {{ type = "Adam", learning_rate = 0.01 }}
[train]
epochs = 8
batch_size = 32
seed = 4
"""
# Ids 1 .. 39; 0 pads the shorter sequences.
VOCABULARY = 40


def id_sequences(seed: int, rows: int = 800) -> dict:
    """Two padded id sequences; the label is the share of ids under 20 in the first one."""
    rng = np.random.default_rng(seed)

    def padded() -> np.ndarray:
        ids = rng.integers(1, VOCABULARY, size=(rows, 10))
        lengths = rng.integers(3, 11, size=rows)
        return np.where(np.arange(10)[None, :] < lengths[:, None], ids, 0).astype("int32")

    signal, noise = padded(), padded()
    low = ((signal > 0) & (signal < VOCABULARY // 2)).sum(axis=1) / (signal > 0).sum(axis=1)
    score = (low - low.mean()) / low.std()
    label = (2 * score + rng.logistic(size=rows) > 0).astype("float32")
    return {"signal_ids": signal, "noise_ids": noise, "label": label}


@pytest.mark.keras
@pytest.mark.slow
def test_a_noise_id_sequence_ablates_to_nothing_and_a_signal_one_does_not(tmp_path: Path) -> None:
    # input_dim leaves ids 40 .. 43 unused: ablation puts one of them at every position. The most
    # frequent id at each position (what ablation used before) costs this noise input +0.045, five
    # times the spread of its shuffles.
    spec = ID_SEQUENCES.format(input_dim=VOCABULARY + 4)
    _, explanation = fit_and_explain(tmp_path, spec, id_sequences(1), id_sequences(2))
    scores = explanation.outputs["label"].inputs
    noise, signal = scores["noise_ids"], scores["signal_ids"]
    within = 3 * noise.std
    assert abs(noise.ablation) <= within, (noise.ablation, noise.std)
    assert signal.ablation > 5 * within and signal.importance > 5 * within
    for name in ("signal_ids", "noise_ids"):
        replacement = explanation.ablations[name]
        assert replacement.kind == "unused id" and replacement.neutral
        assert replacement.value.tolist() == [VOCABULARY + 3] * 10
    # The report says what ablation put in place of each input, in text and in JSON.
    assert "noise_ids   43 at every position (an id the data never uses" in to_text(explanation)
    stated = to_json(explanation)["ablated_with"]["noise_ids"]
    assert stated["kind"] == "unused id" and stated["value"] == 43 and stated["neutral"] is True


REPLACED = """
[model]
name = "replaced"
[inputs.city]
shape = [3]
dtype = "string"
[inputs.visits]
shape = [6]
dtype = "int32"
[inputs.basket]
shape = [5]
dtype = "int32"
[inputs.amount]
shape = [2]
[branches.city_seq]
from = "city"
layers = [
  { type = "StringLookup", vocabulary = ["paris", "lyon"] },
  { type = "Embedding", input_dim = 3, output_dim = 4 },
  { type = "Flatten" },
]
[branches.visit_seq]
from = "visits"
layers = [
  { type = "Embedding", input_dim = 5, output_dim = 4, mask_zero = true },
  { type = "LSTM", units = 3 },
]
[branches.basket_seq]
from = "basket"
layers = [
  { type = "Embedding", input_dim = 4, output_dim = 2, mask_zero = true },
  { type = "GlobalAveragePooling1D" },
]
[branches.spent]
from = "amount"
layers = [{ type = "Dense", units = 2 }]
[merges.joined]
type = "Concatenate"
from = ["city_seq", "visit_seq", "basket_seq", "spent"]
[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""


class _Table:
    """A stand-in for a Keras layer: only its weights are read."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def get_weights(self) -> list[np.ndarray]:
        return [self.rows]


class _Model:
    def __init__(self, layers: dict[str, _Table]) -> None:
        self.layers = layers

    def get_layer(self, name: str) -> _Table:
        return self.layers[name]


def test_ablation_replaces_ids_and_tokens_by_what_the_spec_says_reads_them() -> None:
    from mspec.explain.importance import _neutral

    result = check_text(REPLACED)
    assert result.ok, [d.format() for d in result.diagnostics]
    graph = result.graph
    city = _neutral("city", np.array([["paris", "lyon", "paris"]] * 4, dtype=object), graph)
    assert city.kind == "oov token" and city.value.tolist() == ["[UNK]"] * 3
    assert "StringLookup city_seq step 1" in city.reason
    # Ids 1 .. 3 of 5 are used: the highest unused one, never 0, the padding id (mask_zero).
    visits = _neutral("visits", np.array([[1, 2, 3, 0, 0, 0]] * 4, dtype="int32"), graph)
    assert visits.kind == "unused id" and visits.value.tolist() == [4] * 6
    # Every id used: a recurrent layer reads an all-padding sequence as empty, so padding will do ...
    every = np.array([[1, 2, 3, 4, 0, 0]] * 4, dtype="int32")
    padding = _neutral("visits", every, graph)
    assert padding.kind == "padding" and padding.value.tolist() == [0] * 6
    # ... but a masked average of nothing is 0 / 0: then the id whose row is nearest the average row
    # (weighted by how often each id occurs), found in the model's table; none without the model.
    basket = np.array([[1, 1, 1, 2, 3]] * 4, dtype="int32")
    assert _neutral("basket", basket, graph) is None  # the most frequent value, said not to be neutral
    # Rows of ids 0 .. 3: the average row is (3 * [2, 0] + [-2, 0] + [0, 0.5]) / 5 = [0.8, 0.1], nearest
    # id 3's row, not that of id 1, the most frequent.
    rows = np.array([[9.0, 9.0], [2.0, 0.0], [-2.0, 0.0], [0.0, 0.5]])
    nearest = _neutral("basket", basket, graph, _Model({"basket_seq_embedding": _Table(rows)}))
    assert nearest.kind == "average id" and nearest.value.tolist() == [3] * 5
    assert _neutral("amount", np.zeros((4, 2), "float32"), graph) is None  # a number: its mean
