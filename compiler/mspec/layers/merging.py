"""Layers that combine several tensors: the element-wise merges, Concatenate and Dot."""

from __future__ import annotations

from . import dtypes as dt
from .base import (
    Dim,
    LayerKind,
    LayerParams,
    Shape,
    ShapeError,
    Trait,
    all_inputs,
    as_keras,
    format_shape,
    known,
    normalize_axis,
    register,
)

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


# Add, Subtract and Average OR their inputs' masks; Maximum, Minimum and Multiply fill the padding.
_OR_MASKS = frozenset({Trait.ELEMENTWISE_MERGE, Trait.MERGES_MASKS})
_FILL_MASKED = frozenset({Trait.ELEMENTWISE_MERGE, Trait.FILLS_MASKED})
ELEMENTWISE = {
    "Add": ("Adds its inputs element-wise (with broadcasting of size-1 axes).",
            _OR_MASKS | {Trait.PASSES_STRINGS}, dt.ADDS),
    "Subtract": ("Computes `from[0] - from[1]` element-wise.", _OR_MASKS, dt.SUBTRACTS),
    "Multiply": ("Multiplies its inputs element-wise.", _FILL_MASKED, dt.COMBINES),
    "Average": ("Averages its inputs element-wise.", _OR_MASKS, dt.AVERAGES_INPUTS),
    "Maximum": ("Element-wise maximum of its inputs.", _FILL_MASKED, dt.COMBINES),
    "Minimum": ("Element-wise minimum of its inputs.", _FILL_MASKED, dt.COMBINES),
}  # fmt: skip

for _name, (_doc, _traits, _dtypes) in ELEMENTWISE.items():
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
            traits=_traits,
            dtypes=_dtypes,
        )
    )


# --- Concatenate ------------------------------------------------------------


class ConcatenateParams(LayerParams):
    axis: int = -1


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
            "Concatenate needs inputs of the same rank, got " + all_inputs(len(shapes)),
        )
    for position in range(len(reduced[0])):
        sizes = {r[position] for r in reduced if known(r[position])}
        if len(sizes) > 1:
            raise ShapeError(
                f"Concatenate needs equal sizes on every axis but axis {p.axis}, got "
                + all_inputs(len(shapes)),
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
        traits=frozenset({Trait.ELEMENTWISE_MERGE, Trait.PASSES_STRINGS, Trait.SUPPORTS_MASKING}),
        dtypes=dt.CONCATENATES,
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
        traits=frozenset({Trait.SUPPORTS_MASKING}),
        dtypes=dt.DOTS,
    )
)
