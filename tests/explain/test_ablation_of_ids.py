"""Ablation of ids read by a ReversibleEmbedding: the same neutral values as for an Embedding.

ReversibleEmbedding subclasses Keras' Embedding (an id >= input_dim fails in both), so the ids it
reads are ids (`Trait.TAKES_IDS`): an id the data never uses, or the id whose row of its table is
nearest the average row. It once fell back to the most frequent value, said not to be neutral.
"""

from __future__ import annotations

import numpy as np
import pytest

from mspec import check_text
from mspec.explain.importance import ID_LAYERS, _neutral

SPEC = """
[model]
name = "reversible"
[inputs.words]
shape = [5]
dtype = "int32"
[branches.seq]
from = "words"
layers = [
  { type = "ReversibleEmbedding", input_dim = 4, output_dim = 2, mask_zero = true, tie_weights = false },
  { type = "GlobalAveragePooling1D" },
]
[outputs.y]
from = "seq"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""


def _graph():
    result = check_text(SPEC)
    assert result.ok, [d.format() for d in result.diagnostics]
    return result.graph


def test_the_layers_reading_ids_are_the_kinds_taking_ids() -> None:
    assert set(ID_LAYERS) == {"CategoryEncoding", "Embedding", "ReversibleEmbedding"}


def test_an_unused_id_replaces_ids_read_by_a_reversible_embedding() -> None:
    # Ids 1 and 2 of 4 are used: the highest unused one, never 0, the padding id (mask_zero).
    found = _neutral("words", np.array([[1, 2, 2, 0, 0]] * 4, dtype="int32"), _graph())
    assert found is not None and found.kind == "unused id" and found.neutral
    assert found.value.tolist() == [3] * 5
    assert "ReversibleEmbedding seq step 1" in found.reason


@pytest.mark.keras
def test_every_id_used_the_nearest_row_of_the_keras_table_replaces_them() -> None:
    """The table is the built Keras layer's first weight, untied as well as tied."""
    pytest.importorskip("keras")
    import mspec
    from mspec.graph.layer_names import layer_names

    graph = _graph()
    model = mspec.build_model(check_text(SPEC))
    layer = model.get_layer(layer_names(graph)["seq[0]"])
    rows = np.array([[9.0, 9.0], [2.0, 0.0], [-2.0, 0.0], [0.0, 0.5]], dtype="float32")
    weights = layer.get_weights()
    assert weights[0].shape == rows.shape  # the (input_dim, output_dim) table, then the reverse one
    layer.set_weights([rows, *weights[1:]])
    # Every id used, and a masked average follows (padding only would be 0 / 0): the average row is
    # (3 * [2, 0] + [-2, 0] + [0, 0.5]) / 5 = [0.8, 0.1], nearest id 3's row, not that of id 1.
    ids = np.array([[1, 1, 1, 2, 3]] * 4, dtype="int32")
    found = _neutral("words", ids, graph, model)
    assert found is not None and found.kind == "average id" and found.value.tolist() == [3] * 5
