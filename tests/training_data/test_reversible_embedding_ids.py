"""Ids read by a ReversibleEmbedding are range-checked against its input_dim, as an Embedding's are.

Keras' ReversibleEmbedding subclasses Embedding: an id >= input_dim fails the lookup in both
(checked against Keras below), so `mspec lint --data` (and `mspec fit`, which checks the same way)
reports it before training (MS508) instead of letting the first batch fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

from click.testing import CliRunner  # noqa: E402

from mspec.cli import main  # noqa: E402

INPUT_DIM = 50
SPEC = f"""\
[model]
name = "next_word"

[inputs.words]
shape = [4]
dtype = "int32"
columns = ["w0", "w1", "w2", "w3"]

[branches.seq]
from = "words"
layers = [
  {{ type = "ReversibleEmbedding", input_dim = {INPUT_DIM}, output_dim = 8 }},
  {{ type = "GlobalAveragePooling1D" }},
]

[outputs.label]
from = "seq"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"
"""


def _lint(tmp_path: Path, ids: np.ndarray):
    spec, data = tmp_path / "spec.toml", tmp_path / "data.npz"
    spec.write_text(SPEC)
    columns = {f"w{i}": ids[:, i] for i in range(4)}
    columns["label"] = np.zeros(len(ids))
    np.savez(data, **columns)
    return CliRunner().invoke(main, ["lint", str(spec), "--data", str(data)])


def test_ids_in_range_pass(tmp_path: Path) -> None:
    ids = np.random.default_rng(0).integers(0, INPUT_DIM, size=(40, 4))
    result = _lint(tmp_path, ids)
    assert result.exit_code == 0, result.output


def test_an_id_at_input_dim_is_reported(tmp_path: Path) -> None:
    ids = np.random.default_rng(0).integers(0, INPUT_DIM, size=(40, 4))
    ids[6, 2] = INPUT_DIM
    result = _lint(tmp_path, ids)
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.output.splitlines() if " MS508 error: " in x]
    assert "'w2'" in line and "row 6" in line and f"ids up to {INPUT_DIM}" in line
    assert "ReversibleEmbedding" in line and f"input_dim = {INPUT_DIM}" in line


@pytest.mark.keras
def test_keras_fails_on_an_id_at_input_dim_and_takes_the_one_below() -> None:
    pytest.importorskip("keras")
    import keras

    layer = keras.layers.ReversibleEmbedding(INPUT_DIM, 8)
    assert layer(np.array([[INPUT_DIM - 1]])).shape == (1, 1, 8)
    with pytest.raises(Exception, match=f"{INPUT_DIM} is not in \\[0, {INPUT_DIM}\\)"):
        layer(np.array([[INPUT_DIM]]))
