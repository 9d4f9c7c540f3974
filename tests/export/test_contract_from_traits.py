"""What the manifest says an input expects, read from the layer kinds' traits (no framework).

The layers that take raw values are the kinds with the scaler or the category-encoding trait;
HashedCrossing, left out of a list of names once, said its inputs were "as in the training data"
though the model hashes them itself. The layers that read ids are the kinds taking ids: a
ReversibleEmbedding's ids are bounded by its input_dim, as an Embedding's are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mspec import check, check_text
from mspec.artifacts.manifest import _RAW_VALUE_LAYERS, _RAW_VALUES, contract
from mspec.artifacts.verify import generated_rows
from mspec.layers import KindsWith
from mspec.layers.base import Trait

CROSSED = """
[model]
name = "crossed"

[inputs.city]
shape = [1]
dtype = "string"

[inputs.day]
shape = [1]
dtype = "int64"

[inputs.words]
shape = [6]
dtype = "int32"

[merges.pair]
type = "HashedCrossing"
from = ["city", "day"]
num_bins = 16
output_mode = "one_hot"

[branches.w]
from = "words"
layers = [
    { type = "ReversibleEmbedding", input_dim = 40, output_dim = 4, mask_zero = true },
    { type = "GlobalAveragePooling1D" },
]

[merges.joined]
type = "Concatenate"
from = ["pair", "w"]

[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def _crossed():
    result = check_text(CROSSED)
    assert result.ok, [d.format() for d in result.diagnostics]
    return result


def test_every_kind_taking_raw_values_is_described() -> None:
    assert set(_RAW_VALUE_LAYERS) == set(KindsWith(Trait.SCALER)) | set(KindsWith(Trait.ENCODES_CATEGORIES))
    assert set(_RAW_VALUE_LAYERS) == set(_RAW_VALUES)


def test_the_inputs_of_a_hashed_crossing_are_raw_values() -> None:
    city, day, _ = (t.expects for t in contract(_crossed()).inputs)
    for expects in (city, day):
        assert expects["layer"] == "HashedCrossing in pair" and expects["values"].startswith("raw values")
        assert "ids" not in expects


def test_the_ids_of_a_reversible_embedding_are_bounded_by_its_input_dim() -> None:
    words = contract(_crossed()).input("words").expects
    assert words == {
        "values": "whole-number ids in [0, 40)",
        "layer": "ReversibleEmbedding in w step 1",
        "ids": [0, 40],
        "padding": 0,
    }
    rows = generated_rows(contract(_crossed()), _crossed(), rows=64)
    assert rows["words"].min() >= 0 and rows["words"].max() < 40


def test_every_kind_taking_ids_has_one_parameter_bounding_them() -> None:
    from mspec.layers import REGISTRY

    for name in KindsWith(Trait.TAKES_IDS):
        fields = set(REGISTRY[name].params.model_fields) & {"input_dim", "num_tokens"}
        assert len(fields) == 1, name


TEXT = """
[model]
name = "texts"

[inputs.review]
shape = []
dtype = "string"

[inputs.colour]
shape = [1]
dtype = "string"

[branches.r]
from = "review"
layers = [
    { type = "TextVectorization", vocabulary = ["good", "bad", "fine"], output_mode = "multi_hot" },
]

[branches.c]
from = "colour"
layers = [{ type = "StringLookup", vocabulary_file = "colours.txt", output_mode = "one_hot" }]

[merges.joined]
type = "Concatenate"
from = ["r", "c"]

[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def test_generated_strings_come_from_the_vocabulary_a_spec_gives(tmp_path: Path) -> None:
    """TextVectorization's vocabulary and a StringLookup's vocabulary file, not only unknown strings."""
    (tmp_path / "colours.txt").write_text("red\ngreen\nblue\n", encoding="utf-8")
    spec = tmp_path / "texts.toml"
    spec.write_text(TEXT, encoding="utf-8")
    result = check(spec)
    assert result.ok, [d.format() for d in result.diagnostics]
    rows = generated_rows(contract(result), result, rows=200, seed=0)
    assert set(np.unique(rows["review"])) == {"good", "bad", "fine", "not in the vocabulary"}
    assert set(np.unique(rows["colour"])) == {"red", "green", "blue", "not in the vocabulary"}


@pytest.mark.keras
def test_the_keras_model_takes_the_raw_values_the_manifest_announces() -> None:
    """Raw strings and integers into the HashedCrossing, ids below input_dim into the ReversibleEmbedding."""
    pytest.importorskip("keras")
    import mspec
    from mspec.artifacts.verify import keras_outputs

    result = _crossed()
    found = contract(result)
    rows = generated_rows(found, result, rows=16)
    assert rows["city"].dtype == object and rows["day"].dtype == np.int64
    predicted = keras_outputs(mspec.build_model(result), found, rows)
    assert predicted["y"].shape == (16, 1) and np.isfinite(predicted["y"]).all()
