"""Attention and projection layers: EinsumDense, AdditiveAttention and GroupQueryAttention."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from .base import (
    Activation,
    Constraint,
    Dim,
    Initializer,
    LayerKind,
    LayerParams,
    PositiveInt,
    Regularizer,
    Shape,
    ShapeError,
    known,
    product,
    register,
    require_known,
)
from .core import UnknownDim, names_for_nulls
from .merge import QUERY_VALUE_KEY, as_keras, attention_shape, projection_weight_ranks

# --- EinsumDense ------------------------------------------------------------

# The three forms Keras reads: "ab,bc->ac", "...b,bc->...c" and "ab...,bc->ac...".
_EQUATIONS = {
    "plain": re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"),
    "left": re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"),
    "right": re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."),
}


def _parse(equation: str) -> tuple[str, str, str, str]:
    """Return (form, input letters, kernel letters, output letters) of a valid equation."""
    for form, pattern in _EQUATIONS.items():
        match = pattern.fullmatch(equation)
        if match:
            return (form, *match.groups())
    raise ValueError(
        f"equation {equation!r} is not one of the forms ab,bc->ac  ...b,bc->...c  ab...,bc->ac..."
    )


class EinsumDenseParams(LayerParams):
    equation: str
    output_shape: PositiveInt | list[UnknownDim]
    activation: Activation = None
    bias_axes: str | None = None
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"
    kernel_regularizer: Regularizer = None
    bias_regularizer: Regularizer = None
    activity_regularizer: Regularizer = None
    kernel_constraint: Constraint = None
    bias_constraint: Constraint = None

    @field_validator("equation")
    @classmethod
    def _equation_form(cls, equation: str) -> str:
        _, *terms = _parse(equation)
        for term in terms:
            if len(set(term)) < len(term):
                # Keras maps a repeated letter to one axis only: the kernel it builds does not fit.
                raise ValueError(f"equation {equation!r} repeats a letter in {term!r}")
        return equation

    @field_validator("output_shape")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if isinstance(value, list) and any(d is not None and d <= 0 for d in value):
            raise ValueError("output_shape sizes must be positive (or null for a size taken from the input)")
        return value


def _einsum_analysis(p: EinsumDenseParams, shape: Shape) -> tuple[list[Dim], list[Dim], list[Dim] | None]:
    """Keras' reading of the equation for this input: (declared output, kernel shape, bias shape).

    Mirrors Keras' EinsumDense build and compute_output_shape, refusing where they raise; then
    refuses where running the equation gives another shape than the one Keras declares.
    """
    form, given, weights, result = _parse(p.equation)
    rank, left = len(shape), form == "left"
    elided = rank - len(given)
    if elided < 0 or (form == "plain" and elided > 0):
        raise ShapeError(
            f"EinsumDense equation {p.equation!r} needs an input of rank {len(given)}"
            f"{' or more' if form != 'plain' else ''} (batch included), got {{0}}",
        )
    partial = [p.output_shape] if isinstance(p.output_shape, int) else list(p.output_shape)
    declared: list[Dim] = [shape[0], *partial]
    if left:
        for i in range(1, elided):
            declared.insert(1, shape[i])  # Keras inserts them one by one at the front: reversed
    else:
        declared.extend(shape[rank - elided :])
    offset = elided if left else 0
    inputs = {d: (i + offset) for i, d in enumerate(given)}
    outputs = {d: (i + offset) for i, d in enumerate(result)}

    def declared_at(letter: str) -> Dim:
        index = outputs[letter]
        if index >= len(declared):
            raise ShapeError(
                f"EinsumDense output_shape {p.output_shape} gives too few sizes for {result!r} in "
                f"{p.equation!r}, got {{0}}",
                hint="output_shape lists the output's sizes after the batch (and after '...')",
            )
        return declared[index]

    for letter in given:
        if letter in outputs:
            wanted = as_keras((declared_at(letter),))[0]
            if wanted is not None and wanted != as_keras((shape[inputs[letter]],))[0]:
                raise ShapeError(
                    f"EinsumDense output_shape gives {letter!r} size {wanted}, but the input has "
                    f"{shape[inputs[letter]]} there, got {{0}}",
                )
    for letter in result:
        if letter not in given and letter not in weights:
            raise ShapeError(f"EinsumDense output letter {letter!r} of {p.equation!r} is in no input")
    kernel: list[Dim] = []
    for letter in weights:
        if letter in outputs:
            kernel.append(declared_at(letter))
        elif letter in inputs:
            kernel.append(shape[inputs[letter]])
        else:
            raise ShapeError(f"EinsumDense kernel letter {letter!r} of {p.equation!r} is in neither side")
    for size, letter in zip(kernel, weights, strict=True):
        if size is None or not known(size):
            require_known(None, f"size for kernel axis {letter!r}", shape, "EinsumDense")
    bias: list[Dim] | None = None
    if p.bias_axes is not None:
        sizes = {c: declared_at(c) for c in result}
        missing = [c for c in p.bias_axes if c not in result]
        if missing or not p.bias_axes:
            raise ShapeError(
                f"EinsumDense bias_axes {p.bias_axes!r} must be letters of the output {result!r}"
            )
        first = min(result.find(c) for c in p.bias_axes)
        bias = [sizes[c] if c in p.bias_axes else 1 for c in result[first:]]
        if not left:
            bias.extend([1] * elided)
        for size in bias:
            if not known(size):
                require_known(None, "size on the bias axes", shape, "EinsumDense")
    # What running the equation gives: the letters' sizes, with the axes under '...' in place.
    size = {d: shape[inputs[d]] for d in given}
    size.update({d: k for d, k in zip(weights, kernel, strict=True) if d not in size})
    core = [size[d] for d in result]
    if form == "left":
        computed = [*shape[:elided], *core]
    elif form == "right":
        computed = [*core, *shape[len(given) :]]
    else:
        computed = core
    clash = len(computed) != len(declared) or any(
        a is not None and b is not None and a != b for a, b in zip(computed, declared, strict=False)
    )
    if clash:
        raise ShapeError(
            f"EinsumDense {p.equation!r} with output_shape {p.output_shape} declares "
            f"{_format(declared)} for {{0}}, but computes {_format(computed)}",
            hint="give output_shape the sizes of the output letters after the batch axis (and '...')",
        )
    return declared, kernel, bias


def _format(dims: list[Dim]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def _einsum_shape(p: EinsumDenseParams, shapes) -> Shape:
    declared, _, _ = _einsum_analysis(p, shapes[0])
    return tuple(declared)


def _einsum_count(p: EinsumDenseParams, shapes) -> int:
    _, kernel, bias = _einsum_analysis(p, shapes[0])
    return int(product(kernel)) + (int(product(bias)) if bias is not None else 0)  # type: ignore[arg-type]


def _einsum_build_axes(p: EinsumDenseParams, shapes) -> dict[tuple[int, int], Dim]:
    """The input axes whose sizes the kernel takes: fixed by the first build."""
    form, given, weights, result = _parse(p.equation)
    rank = len(shapes[0])
    offset = rank - len(given) if form == "left" else 0
    return {
        (0, i + offset): shapes[0][i + offset]
        for i, d in enumerate(given)
        if d in weights and d not in result and 0 <= i + offset < rank
    }


def _einsum_weight_ranks(weight: str, params: EinsumDenseParams) -> frozenset[int]:
    _, _, weights, result = _parse(params.equation)
    if weight == "kernel":
        return frozenset({len(weights)})
    # The bias covers the output from its first bias letter on (and the axes under a right '...').
    return frozenset(range(1, len(result) + 8))


register(
    LayerKind(
        "EinsumDense",
        EinsumDenseParams,
        _einsum_shape,
        _einsum_count,
        "core",
        "A dense layer written as an einsum `equation` of the input and a kernel; `output_shape` gives "
        "the output's sizes after the batch axis (and the axes under `...`), null where the input's size "
        "carries over.",
        build_rank=True,
        build_axes=_einsum_build_axes,
        key_params=("equation", "output_shape"),
        positional=("equation", "output_shape"),
        weight_ranks=_einsum_weight_ranks,
        import_values={"output_shape": names_for_nulls(lambda n: [f"size{i}" for i in range(1, n + 1)])},
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
    kernel_initializer: Initializer = "glorot_uniform"
    bias_initializer: Initializer = "zeros"
    kernel_regularizer: Regularizer = None
    bias_regularizer: Regularizer = None
    activity_regularizer: Regularizer = None
    kernel_constraint: Constraint = None
    bias_constraint: Constraint = None
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
        weight_ranks=projection_weight_ranks,
    )
)
