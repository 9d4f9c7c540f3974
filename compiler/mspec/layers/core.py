"""Keras' core layers: Dense, EinsumDense, Embedding, ReversibleEmbedding, Identity and Masking."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import field_validator

from . import dtypes as dt
from .base import (
    Activation,
    Dim,
    FieldGroup,
    LayerKind,
    LayerParams,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    UnknownDim,
    as_keras,
    known,
    names_for_nulls,
    product,
    register,
    require_known,
    require_rank,
)
from .weights import BIAS, EMBEDDINGS, KERNEL, Weight, Weights


def _same_shape(p, shapes) -> Shape:
    return shapes[0]


def _no_weights(p, shapes) -> int:
    return 0


# --- Dense ------------------------------------------------------------------


class DenseParams(LayerParams):
    activation: Activation = None
    use_bias: bool = True
    weights: FieldGroup = Weights(KERNEL, BIAS, activity=True)
    units: PositiveInt  # listed last (docs/layers.md); generated code writes it first, as Keras does


def _dense_shape(p: DenseParams, shapes) -> Shape:
    (shape,) = shapes
    require_rank(shape, "Dense", minimum=2)
    require_known(shape[-1], "last dimension", shape, "Dense")
    return (*shape[:-1], p.units)


def _dense_count(p: DenseParams, shapes) -> int:
    fan_in = shapes[0][-1]
    return fan_in * p.units + (p.units if p.use_bias else 0)


register(
    LayerKind(
        "Dense",
        DenseParams,
        _dense_shape,
        _dense_count,
        "core",
        "Fully connected layer applied to the last axis.",
        build_axes=lambda p, shapes: {(0, -1): shapes[0][-1]},
        key_params=("units", "activation"),
        positional=("units",),
        traits=frozenset({Trait.KEEPS_MASK}),
        dtypes=dt.PROMOTES,
    )
)


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
    weights: FieldGroup = Weights(
        Weight("kernel", "glorot_uniform", ranks=lambda p: frozenset({len(_parse(p.equation)[2])})),
        # The bias covers the output from its first bias letter on (and the axes under a right '...').
        Weight(
            "bias",
            "zeros",
            ranks=lambda p: frozenset(range(1, len(_parse(p.equation)[3]) + 8)),
            present=lambda p: p.bias_axes is not None,
        ),
        activity=True,
    )

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
        import_values={"output_shape": names_for_nulls(lambda n: [f"size{i}" for i in range(1, n + 1)])},
        traits=frozenset(),
        dtypes=dt.PROMOTES,
    )
)


# --- Embedding and ReversibleEmbedding --------------------------------------


class EmbeddingParams(LayerParams):
    input_dim: PositiveInt
    output_dim: PositiveInt
    weights: FieldGroup = Weights(EMBEDDINGS)
    mask_zero: bool = False


def _embedding_shape(p: EmbeddingParams, shapes) -> Shape:
    return (*shapes[0], p.output_dim)


register(
    LayerKind(
        "Embedding",
        EmbeddingParams,
        _embedding_shape,
        lambda p, s: p.input_dim * p.output_dim,
        "core",
        "Maps integer indexes in [0, input_dim) to dense vectors of size output_dim.",
        key_params=("input_dim", "output_dim"),
        positional=("input_dim", "output_dim"),
        makes_mask=lambda config: config.get("mask_zero") is True,
        traits=frozenset({Trait.MAKES_MASK, Trait.TAKES_IDS}),
        dtypes=dt.IDS_TO_VECTORS,
    )
)


class ReversibleEmbeddingParams(LayerParams):
    input_dim: PositiveInt
    output_dim: PositiveInt
    tie_weights: bool = True
    weights: FieldGroup = Weights(EMBEDDINGS)
    mask_zero: bool = False
    reverse_dtype: Literal["float16", "bfloat16", "float32", "float64"] | None = None
    logit_soft_cap: float | None = None


def _reversible_shape(p: ReversibleEmbeddingParams, shapes) -> Shape:
    return (*shapes[0], p.output_dim)


def _reversible_count(p: ReversibleEmbeddingParams, shapes) -> int:
    # Untied, a second (output_dim, input_dim) table does the reverse projection.
    return p.input_dim * p.output_dim * (1 if p.tie_weights else 2)


register(
    LayerKind(
        "ReversibleEmbedding", ReversibleEmbeddingParams, _reversible_shape, _reversible_count, "core",
        "An Embedding of ids in [0, input_dim) whose table (tied) or a second one can also project back "
        "to logits.",
        key_params=("input_dim", "output_dim", "tie_weights"), positional=("input_dim", "output_dim"),
        makes_mask=lambda config: config.get("mask_zero") is True,
        traits=frozenset({Trait.MAKES_MASK, Trait.TAKES_IDS}), dtypes=dt.IDS_TO_VECTORS,
    )
)  # fmt: skip


# --- Identity and Masking ---------------------------------------------------


class IdentityParams(LayerParams):
    pass


class MaskingParams(LayerParams):
    mask_value: float = 0.0


register(
    LayerKind(
        "Identity", IdentityParams, _same_shape, _no_weights, "core", "Returns its input unchanged.",
        traits=frozenset({Trait.KEEPS_MASK, Trait.PASSES_IDS, Trait.PASSES_STRINGS, Trait.SHAPE_ONLY}),
        dtypes=dt.SHAPE_ONLY,
    )
)  # fmt: skip
register(
    LayerKind(
        "Masking", MaskingParams, _same_shape, _no_weights, "core",
        "Masks every timestep whose features all equal `mask_value`, for the layers after it.",
        key_params=("mask_value",),
        # Masking computes a mask Keras passes on by itself: the import leaves its operations out.
        makes_mask=lambda config: True,
        traits=frozenset({Trait.MAKES_MASK, Trait.PASSES_IDS}), dtypes=dt.MASKS_NUMBERS,
    )
)  # fmt: skip
