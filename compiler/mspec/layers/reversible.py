"""ReversibleEmbedding: an embedding whose table (or a second one) also projects vectors back to logits.

Called on integer ids, as a step does, it is an Embedding; the reverse
projection (`reverse=True`) is a call argument a spec does not pass.
"""

from __future__ import annotations

from typing import Literal

from .base import Constraint, Initializer, LayerKind, LayerParams, PositiveInt, Regularizer, Shape, register


class ReversibleEmbeddingParams(LayerParams):
    input_dim: PositiveInt
    output_dim: PositiveInt
    tie_weights: bool = True
    embeddings_initializer: Initializer = "uniform"
    embeddings_regularizer: Regularizer = None
    embeddings_constraint: Constraint = None
    mask_zero: bool = False
    reverse_dtype: Literal["float16", "bfloat16", "float32", "float64"] | None = None
    logit_soft_cap: float | None = None


def _shape(p: ReversibleEmbeddingParams, shapes) -> Shape:
    return (*shapes[0], p.output_dim)


def _count(p: ReversibleEmbeddingParams, shapes) -> int:
    # Untied, a second (output_dim, input_dim) table does the reverse projection.
    return p.input_dim * p.output_dim * (1 if p.tie_weights else 2)


register(
    LayerKind(
        "ReversibleEmbedding", ReversibleEmbeddingParams, _shape, _count, "core",
        "An Embedding of ids in [0, input_dim) whose table (tied) or a second one can also project back "
        "to logits.",
        key_params=("input_dim", "output_dim", "tie_weights"), positional=("input_dim", "output_dim"),
        makes_mask=lambda config: config.get("mask_zero") is True,
    )
)  # fmt: skip
