"""Layers that combine several tensors: element-wise merges, Concatenate, Dot, attention."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import (
    Constraint,
    Dim,
    Initializer,
    LayerKind,
    LayerParams,
    PositiveInt,
    Regularizer,
    Shape,
    ShapeError,
    format_shape,
    known,
    normalize_axis,
    register,
    require_known,
)


def as_keras(shape: Shape) -> Shape:
    """Forget dimension names: Keras only sees sizes and None."""
    return tuple(d if known(d) else None for d in shape)


# --- Element-wise merges ----------------------------------------------------


class MergeParams(LayerParams):
    pass


def _broadcast(first: Shape, second: Shape) -> Shape | None:
    """Broadcast two shapes (batch excluded) as Keras' merge layers do; None if they clash."""
    if len(first) < len(second):
        first, second = second, first
    if not second:
        return first
    out = list(first[: len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second) :], second, strict=True):
        if not known(a) or not known(b):
            # Keras can only say "unknown"; keep a name both sides agree on.
            out.append(a if a == b else None)
        elif a == 1 or b == 1:
            out.append(b if a == 1 else a)
        elif a != b:
            return None
        else:
            out.append(a)
    return tuple(out)


def _elementwise_shape(layer: str):
    def rule(p, shapes) -> Shape:
        batch_sizes = {s[0] for s in shapes if known(s[0])}
        if len(batch_sizes) > 1:
            raise ShapeError(
                f"{layer} cannot merge tensors with different batch sizes: {sorted(batch_sizes)}"
            )
        result = shapes[0][1:]
        for index, shape in enumerate(shapes[1:], start=1):
            merged = _broadcast(result, shape[1:])
            if merged is None:
                # Name the earliest input that clashes with this one on its own.
                other = next((j for j in range(index) if _broadcast(shapes[j][1:], shape[1:]) is None), 0)
                raise ShapeError(f"{layer} needs equal shapes, got {{{other}}} and {{{index}}}")
            result = merged
        return (_merged_batch(shapes), *result)

    return rule


def _merged_batch(shapes) -> Dim:
    """Return the batch size Keras gives a merge: the known one of any input, else unknown."""
    known_sizes = [s[0] for s in shapes if known(s[0])]
    if known_sizes:
        return known_sizes[0]
    # Keras only has None here; keep a name that every input shares.
    first = shapes[0][0]
    return first if all(s[0] == first for s in shapes) else None


ELEMENTWISE_DOCS = {
    "Add": "Adds its inputs element-wise (with broadcasting of size-1 axes).",
    "Subtract": "Computes `from[0] - from[1]` element-wise.",
    "Multiply": "Multiplies its inputs element-wise.",
    "Average": "Averages its inputs element-wise.",
    "Maximum": "Element-wise maximum of its inputs.",
    "Minimum": "Element-wise minimum of its inputs.",
}

for _name, _doc in ELEMENTWISE_DOCS.items():
    _arity = 2 if _name == "Subtract" else None
    register(
        LayerKind(
            _name,
            MergeParams,
            _elementwise_shape(_name),
            lambda p, s: 0,
            "merging",
            _doc,
            min_inputs=2 if _name == "Subtract" else 1,
            max_inputs=_arity,
        )
    )


# --- Concatenate ------------------------------------------------------------


class ConcatenateParams(LayerParams):
    axis: int = -1


def _all_inputs(count: int) -> str:
    """Placeholders naming every input: "{0} and {1} and {2}"."""
    return " and ".join(f"{{{i}}}" for i in range(count))


def _concatenate_shape(p: ConcatenateParams, shapes) -> Shape:
    first = shapes[0]
    normalize_axis(p.axis, len(first), "Concatenate", first)
    # Keras compares every axis but the concatenation axis, batch included,
    # ignoring unknown sizes.
    reduced = []
    for shape in shapes:
        if not -len(shape) <= p.axis < len(shape):
            raise ShapeError(f"Concatenate axis {p.axis} is out of range for input {format_shape(shape)}")
        rest = list(shape)
        del rest[p.axis]
        reduced.append(rest)
    if len({len(r) for r in reduced}) > 1:
        raise ShapeError(
            "Concatenate needs inputs of the same rank, got " + _all_inputs(len(shapes)),
        )
    for position in range(len(reduced[0])):
        sizes = {r[position] for r in reduced if known(r[position])}
        if len(sizes) > 1:
            raise ShapeError(
                f"Concatenate needs equal sizes on every axis but axis {p.axis}, got "
                + _all_inputs(len(shapes)),
            )
    out = list(first)
    total = 0
    for shape in shapes:
        if not known(shape[p.axis]):
            total = None
            break
        total += shape[p.axis]
    out[p.axis] = total
    return tuple(out)


register(
    LayerKind(
        "Concatenate",
        ConcatenateParams,
        _concatenate_shape,
        lambda p, s: 0,
        "merging",
        "Joins its inputs along `axis`; all other axes must match.",
        min_inputs=1,
        max_inputs=None,
        key_params=("axis",),
    )
)


# --- Dot --------------------------------------------------------------------


class DotParams(LayerParams):
    axes: int | list[int]
    normalize: bool = False


def _size(dim) -> str:
    return "None" if dim is None else str(dim)


def _dot_axes(p: DotParams, first: Shape, second: Shape) -> list[int]:
    """Return the contracted axes made positive, as Keras resolves them."""
    if isinstance(p.axes, int):
        # Keras wraps one negative integer around each input's rank (even from far below it).
        axes = [p.axes % len(first), p.axes % len(second)] if p.axes < 0 else [p.axes, p.axes]
    else:
        if len(p.axes) != 2:
            raise ShapeError(f"Dot axes must be one integer or a pair, got {p.axes}")
        axes = list(p.axes)
    resolved = []
    for axis, shape in zip(axes, (first, second), strict=True):
        if not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
            raise ShapeError(
                f"Dot axis {axis} is out of range (or the batch axis) for input {format_shape(shape)}"
            )
        resolved.append(axis % len(shape))
    return resolved


def _dot_shape(p: DotParams, shapes) -> Shape:
    first, second = list(shapes[0]), list(shapes[1])
    axes = _dot_axes(p, shapes[0], shapes[1])
    a, b = first[axes[0]], second[axes[1]]
    # Keras compares the sizes with `!=`: a known size against an unknown one is refused.
    if as_keras((a,)) != as_keras((b,)):
        unknown = not (known(a) and known(b))
        raise ShapeError(
            f"Dot needs equal sizes on the contracted axes ({_size(a)} != {_size(b)}), got {{0}} and {{1}}",
            hint="Keras cannot check an unknown size against a known one: give both the same fixed size"
            if unknown
            else None,
        )
    first.pop(axes[0])
    second.pop(axes[1])
    second.pop(0)
    out = first + second
    if len(out) == 1:
        out.append(1)
    return tuple(out)


register(
    LayerKind(
        "Dot",
        DotParams,
        _dot_shape,
        lambda p, s: 0,
        "merging",
        "Dot product of two tensors along `axes` (one per input), optionally of L2-normalized inputs.",
        min_inputs=2,
        max_inputs=2,
        key_params=("axes", "normalize"),
    )
)


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
            f"{layer} needs query, value (and key) of the same rank, got " + _all_inputs(len(shapes)),
            hint="every input is (batch, steps..., features)",
        )
    if min(ranks) < 3:
        raise ShapeError(
            f"{layer} needs inputs of rank 3 or more (batch, steps, features), got "
            + _all_inputs(len(shapes)),
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
                + _all_inputs(len(shapes)),
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
    )
)


class MultiHeadAttentionParams(LayerParams):
    num_heads: PositiveInt
    key_dim: PositiveInt
    value_dim: PositiveInt | None = None
    dropout: float = Field(0.0, ge=0, le=1)
    use_bias: bool = True
    output_shape: PositiveInt | list[PositiveInt] | None = None
    attention_axes: int | list[int] | None = None
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"
    kernel_regularizer: Regularizer = None
    bias_regularizer: Regularizer = None
    activity_regularizer: Regularizer = None
    kernel_constraint: Constraint = None
    bias_constraint: Constraint = None
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


def projection_weight_ranks(weight: str, params) -> frozenset[int]:
    """Query, key and value kernels are (dim, heads, key_dim), the output kernel (heads, key_dim, dim);
    their biases are (heads, key_dim), the output bias a vector."""
    return frozenset({3}) if weight == "kernel" else frozenset({1, 2})


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
        weight_ranks=projection_weight_ranks,
        import_defaults={
            "value_dim": lambda config, build_config: config.get("key_dim"),  # value_dim defaults to key_dim
            "attention_axes": default_attention_axes,  # Keras saves the axes it chose
        },
    )
)
