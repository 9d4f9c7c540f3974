"""Attention layers: Attention, AdditiveAttention, MultiHeadAttention and GroupQueryAttention."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field, model_validator

from . import dtypes as dt
from .base import (
    FieldGroup,
    LayerKind,
    LayerParams,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    all_inputs,
    as_keras,
    known,
    register,
    require_known,
)
from .weights import BIAS, Weight, Weights

# --- Attention --------------------------------------------------------------


class AttentionParams(LayerParams):
    use_scale: bool = False
    score_mode: Literal["dot", "concat"] = "dot"
    dropout: float = Field(0.0, ge=0, le=1)
    seed: int | None = None


def _same_rank(shapes, layer: str) -> None:
    """Refuse inputs below rank 3 or of different ranks (batch, steps..., features)."""
    ranks = {len(shape) for shape in shapes}
    if len(ranks) > 1:
        raise ShapeError(
            f"{layer} needs query, value (and key) of the same rank, got " + all_inputs(len(shapes)),
            hint="every input is (batch, steps..., features)",
        )
    if min(ranks) < 3:
        raise ShapeError(
            f"{layer} needs inputs of rank 3 or more (batch, steps, features), got "
            + all_inputs(len(shapes)),
            hint="a (batch, features) input has no steps to attend over: add one, e.g. with Reshape",
        )


def _attention_shape(p: AttentionParams, shapes) -> Shape:
    return attention_shape(shapes, "Attention", broadcast_scores=p.score_mode == "concat")


def attention_shape(shapes, layer: str, *, broadcast_scores: bool) -> Shape:
    """The output of Luong- or Bahdanau-style attention on [query, value(, key)], or raise.

    `broadcast_scores`: the scores add query and key (rather than multiply them), so a last
    dimension of 1 broadcasts.
    """
    # Keras checks nothing when building; these are what the matrix products need when run
    # (with Keras' unchecked ranks, a lower-rank input would mix samples of the batch).
    _same_rank(shapes, layer)
    query, value = shapes[0], shapes[1]
    key_index = len(shapes) - 1
    key = shapes[key_index]
    if known(key[-2]) and known(value[-2]) and key[-2] != value[-2]:
        raise ShapeError(
            f"{layer} needs key and value of the same length (axis -2), got {{{key_index}}} and {{1}}",
        )
    q, k = query[-1], key[-1]
    # 'dot' scores are query @ key^T; 'concat' scores add them, so a size of 1 broadcasts.
    if known(q) and known(k) and q != k and (not broadcast_scores or 1 not in (q, k)):
        raise ShapeError(
            f"{layer} needs query and key of the same last dimension, got {{0}} and {{{key_index}}}",
        )
    # Axes between the batch and the steps broadcast; the output keeps the query's.
    for axis in range(1, len(query) - 2):
        others = {s[axis] for s in (key, value) if known(s[axis]) and s[axis] != 1}
        expected = {query[axis]} if known(query[axis]) else set()
        if len(others | expected) > 1:
            raise ShapeError(
                f"{layer} needs equal sizes (or 1 in key and value) on axis {axis}, got "
                + all_inputs(len(shapes)),
            )
    return (*query[:-1], value[-1])


def _attention_count(p: AttentionParams, shapes) -> int:
    return int(p.use_scale) + int(p.score_mode == "concat")


register(
    LayerKind(
        "Attention",
        AttentionParams,
        _attention_shape,
        _attention_count,
        "attention",
        "Dot-product (Luong-style) attention; `from` is [query, value] or [query, value, key].",
        min_inputs=2,
        max_inputs=3,
        key_params=("score_mode",),
        traits=frozenset({Trait.ATTENTION}),
        dtypes=dt.ATTENDS,
    )
)


# Query, key and value kernels are (dim, heads, key_dim), the output kernel (heads, key_dim, dim);
# their biases are (heads, key_dim), the output bias a vector.
PROJECTION_KERNEL = Weight("kernel", "glorot_uniform", ranks=lambda params: frozenset({3}))
PROJECTION_BIAS = replace(BIAS, ranks=lambda params: frozenset({1, 2}))


class MultiHeadAttentionParams(LayerParams):
    num_heads: PositiveInt
    key_dim: PositiveInt
    value_dim: PositiveInt | None = None
    dropout: float = Field(0.0, ge=0, le=1)
    use_bias: bool = True
    output_shape: PositiveInt | list[PositiveInt] | None = None
    attention_axes: int | list[int] | None = None
    weights: FieldGroup = Weights(PROJECTION_KERNEL, PROJECTION_BIAS, activity=True)
    seed: int | None = None

    @property
    def output_dims(self) -> list[int] | None:
        if self.output_shape is None:
            return None
        return [self.output_shape] if isinstance(self.output_shape, int) else list(self.output_shape)


def _mha_shape(p: MultiHeadAttentionParams, shapes) -> Shape:
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    if as_keras(value)[1:-1] != as_keras(key)[1:-1]:
        raise ShapeError(
            "MultiHeadAttention needs value and key equal on every axis but the last, got {1} and {2}",
        )
    # Keras builds the attention for the value's rank; another query rank or no step axis fails when run.
    _same_rank(shapes, "MultiHeadAttention")
    for shape, role in ((query, "query"), (value, "value"), (key, "key")):
        require_known(shape[-1], f"last dimension of the {role}", shape, "MultiHeadAttention")
    _check_unattended_axes(query, value, _attention_axes(p, len(query)))
    if p.output_dims is not None:
        return (*query[:-1], *p.output_dims)
    return query


def _projected_axis(axis: int, rank: int) -> int | None:
    """Where an attention axis lands in Keras' projected tensors, None where they have no such axis.

    Keras projects the inputs to (batch, steps..., heads, channels), one rank
    more, and turns a negative axis `a` into `rank + a`: so -1 is the heads
    axis, not the features. A result still negative indexes from the end.
    """
    position = axis if axis >= 0 else rank + axis
    if position < 0:
        position += rank + 1
    return position if 0 <= position <= rank else None


def _attention_axes(p: MultiHeadAttentionParams, rank: int) -> tuple[int, ...]:
    """The axes MultiHeadAttention attends over, or raise where Keras fails.

    An axis outside the projected tensors fails when the layer is built.
    Inputs of rank 3 without dropout then take Keras' fused dot-product
    attention, which attends over the steps and ignores attention_axes.
    Otherwise attending over the batch or the heads axis runs, while the
    channels, a repeated axis or no axis at all fails on the first call.
    """
    if p.attention_axes is None:
        return tuple(range(1, rank - 1))
    axes = [p.attention_axes] if isinstance(p.attention_axes, int) else list(p.attention_axes)
    usable = f"for inputs of rank {rank} use axes 1 to {rank - 2} (or {1 - rank} to -2)"
    positions = [_projected_axis(axis, rank) for axis in axes]
    for axis, position in zip(axes, positions, strict=True):
        if position is None:
            raise ShapeError(
                f"MultiHeadAttention attention_axes {axis} is outside its inputs' axes, got {{0}}",
                hint=usable,
            )
    if rank == 3 and p.dropout == 0:
        return (1,)
    if not axes:
        raise ShapeError("MultiHeadAttention attention_axes names no axis", hint=usable)
    if rank in positions:
        raise ShapeError(
            f"MultiHeadAttention attention_axes {axes} attends over the channels Keras projects to, "
            "got {0}",
            hint=usable,
        )
    if len(set(positions)) < len(positions):
        raise ShapeError(f"MultiHeadAttention attention_axes {axes} names an axis twice", hint=usable)
    return tuple(positions)


def broadcast_batch_axes(p: MultiHeadAttentionParams, shapes) -> list[int]:
    """Unattended axes where the value has size 1 and the query does not.

    Keras' einsum broadcasts them on JAX (the output keeps the query's shape);
    TensorFlow's refuses them (InvalidArgument): a portability warning.
    """
    query, value = shapes[0], shapes[1]
    attended = _attention_axes(p, len(query))
    return [
        axis
        for axis in range(1, len(query) - 1)
        if axis not in attended and value[axis] == 1 and known(query[axis]) and query[axis] != 1
    ]


def _check_unattended_axes(query: Shape, value: Shape, attended: tuple[int, ...]) -> None:
    """Steps axes that are not attended over act as batch axes: query and value must agree there.

    A value of size 1 there is broadcast (on JAX; see broadcast_batch_axes).
    """
    for axis in range(1, len(query) - 1):
        if axis in attended or value[axis] == 1:
            continue
        if known(query[axis]) and known(value[axis]) and query[axis] != value[axis]:
            raise ShapeError(
                f"MultiHeadAttention attends over axes {list(attended)} only, so axis {axis} is a batch "
                "axis where query and value must be equal, got {0} and {1}",
                hint=f"add axis {axis} to attention_axes, or give query and value the same size there",
            )


def _mha_count(p: MultiHeadAttentionParams, shapes) -> int:
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    heads, key_dim = p.num_heads, p.key_dim
    value_dim = p.value_dim or key_dim
    output_size = 1
    for d in p.output_dims or [query[-1]]:
        output_size *= d
    bias = int(p.use_bias)
    projections = (
        (query[-1] + bias) * heads * key_dim
        + (key[-1] + bias) * heads * key_dim
        + (value[-1] + bias) * heads * value_dim
    )
    return projections + heads * value_dim * output_size + bias * output_size


def default_attention_axes(config, build_config) -> list[int] | None:
    """The attention axes MultiHeadAttention picks by itself for the query it was built on (saved so)."""
    shapes = build_config.get("shapes_dict") if isinstance(build_config, dict) else None
    query = shapes.get("query_shape") if isinstance(shapes, dict) else None
    return list(range(1, len(query) - 1)) if isinstance(query, list) else None


# Attention layers called as `layer(query, value)` or `layer(query, value, key)`.
QUERY_VALUE_KEY = ("query", "value", "key")

register(
    LayerKind(
        "MultiHeadAttention",
        MultiHeadAttentionParams,
        _mha_shape,
        _mha_count,
        "attention",
        "Multi-head attention; `from` is [query, value] or [query, value, key], all of one rank. "
        "The steps axes not in `attention_axes` (default: all of them) are batch axes, where query "
        "and value must have equal sizes; Keras counts a negative axis from its projected tensors, "
        "so -1 is the heads axis: write axes as positive numbers.",
        min_inputs=2,
        max_inputs=3,
        key_params=("num_heads", "key_dim"),
        build_axes=lambda p, shapes: {(i, -1): shape[-1] for i, shape in enumerate(shapes)},
        call_arguments=QUERY_VALUE_KEY,
        import_defaults={
            "value_dim": lambda config, build_config: config.get("key_dim"),  # value_dim defaults to key_dim
            "attention_axes": default_attention_axes,  # Keras saves the axes it chose
        },
        traits=frozenset({Trait.KEEPS_MASK, Trait.MULTI_HEAD_ATTENTION}),
        dtypes=dt.PROJECTS,
    )
)


# --- AdditiveAttention ------------------------------------------------------


class AdditiveAttentionParams(LayerParams):
    use_scale: bool = True
    dropout: float = Field(0.0, ge=0, le=1)
    seed: int | None = None


def _additive_shape(p: AdditiveAttentionParams, shapes) -> Shape:
    # Scores are sums of tanh(query + key): last dimensions of 1 broadcast, as in Attention's 'concat'.
    shape = attention_shape(shapes, "AdditiveAttention", broadcast_scores=True)
    if p.use_scale:
        require_known(shapes[0][-1], "last dimension of the query", shapes[0], "AdditiveAttention")
    return shape


register(
    LayerKind(
        "AdditiveAttention",
        AdditiveAttentionParams,
        _additive_shape,
        lambda p, shapes: shapes[0][-1] if p.use_scale else 0,
        "attention",
        "Additive (Bahdanau-style) attention; `from` is [query, value] or [query, value, key]; with "
        "`use_scale` it learns one scale per query feature.",
        min_inputs=2,
        max_inputs=3,
        key_params=("use_scale",),
        build_axes=lambda p, shapes: {(0, -1): shapes[0][-1]} if p.use_scale else {},
        traits=frozenset({Trait.ATTENTION}),
        dtypes=dt.ATTENDS_ADDITIVELY,
    )
)


# --- GroupQueryAttention ----------------------------------------------------


class GroupQueryAttentionParams(LayerParams):
    head_dim: PositiveInt
    num_query_heads: PositiveInt
    num_key_value_heads: PositiveInt
    dropout: float = Field(0.0, ge=0, le=1)
    use_bias: bool = True
    sliding_window: PositiveInt | None = None
    weights: FieldGroup = Weights(PROJECTION_KERNEL, PROJECTION_BIAS, activity=True)
    use_gate: bool = False
    seed: int | None = None

    @model_validator(mode="after")
    def _heads_group(self) -> GroupQueryAttentionParams:
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_query_heads ({self.num_query_heads}) must be a multiple of num_key_value_heads "
                f"({self.num_key_value_heads}): each key/value head serves a group of query heads"
            )
        return self


def _gqa_shape(p: GroupQueryAttentionParams, shapes) -> Shape:
    query, value = shapes[0], shapes[1]
    key = shapes[2] if len(shapes) == 3 else value
    if as_keras((query[-1],)) != as_keras((value[-1],)):
        raise ShapeError(
            "GroupQueryAttention needs query and value of the same last dimension, got {0} and {1}"
        )
    if as_keras(value)[1:-1] != as_keras(key)[1:-1]:
        raise ShapeError(
            "GroupQueryAttention needs value and key equal on every axis but the last, got {1} and {2}"
        )
    # Its projections are einsums of (batch, steps, features) inputs.
    for index, shape in enumerate(shapes):
        if len(shape) != 3:
            raise ShapeError(
                f"GroupQueryAttention needs (batch, steps, features) inputs, got {{{index}}}",
                hint="reshape the input to rank 3",
            )
    for shape, role in ((query, "query"), (value, "value"), (key, "key")):
        require_known(shape[-1], f"last dimension of the {role}", shape, "GroupQueryAttention")
    return query


def _gqa_count(p: GroupQueryAttentionParams, shapes) -> int:
    query = shapes[0]
    key = shapes[2] if len(shapes) == 3 else shapes[1]
    features, key_features, bias = query[-1], key[-1], int(p.use_bias)
    query_heads = p.num_query_heads * p.head_dim
    value_heads = p.num_key_value_heads * p.head_dim
    query_projection = (features + bias) * query_heads
    total = query_projection * (2 if p.use_gate else 1)
    total += (key_features + bias) * value_heads + (features + bias) * value_heads
    return total + query_heads * features + bias * features


register(
    LayerKind(
        "GroupQueryAttention",
        GroupQueryAttentionParams,
        _gqa_shape,
        _gqa_count,
        "attention",
        "Grouped-query attention: `num_query_heads` query heads share `num_key_value_heads` key and value "
        "heads; `from` is [query, value] or [query, value, key], each (batch, steps, features), query and "
        "value with the same features.",
        min_inputs=2,
        max_inputs=3,
        key_params=("num_query_heads", "num_key_value_heads", "head_dim"),
        positional=("head_dim", "num_query_heads", "num_key_value_heads"),
        build_axes=lambda p, shapes: {(i, -1): shape[-1] for i, shape in enumerate(shapes)},
        call_arguments=QUERY_VALUE_KEY,
        traits=frozenset({Trait.KEEPS_MASK, Trait.MULTI_HEAD_ATTENTION}),
        dtypes=dt.PROJECTS,
    )
)
