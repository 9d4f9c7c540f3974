"""Masks (MS307): where Keras' masks flow, and whether the layers that use one can.

Keras 3 attaches a boolean mask to the output of Embedding(mask_zero = true)
(the ids' shape) and of Masking (its input's shape without the last axis).
Every later layer that supports masking receives it: most hand it on
unchanged, a few make a new one (merges, attention, recurrent layers),
the others drop it (hazards' MS710). The layers that *use* it combine it with
their own tensors by broadcasting, assuming one sequence axis: a mask of
another rank (ids of rank 3, a Masking on rank-4 data) or attention over
several axes builds, and then fails on every call. Without the mask the same
model runs. Each rule below is what the layer's `call` does with its mask,
found by running the layer on TensorFlow and JAX (tests/graph/test_masks_vs_keras.py).

Shapes here keep the batch axis apart from the others: a mask whose batch
axis meets a steps axis matches only for a batch of exactly that size, so it
counts as a failure; an unknown size (None, a named size) meets anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CPU_KERNEL_PORTABILITY, MASK_SHAPE
from ...layers import REGISTRY
from ...layers.base import MASK_AWARE, Trait, format_shape
from ..model import ModelGraph, Node


class _Batch:
    """The batch axis of a mask or tensor shape."""

    def __repr__(self) -> str:
        return "None"


BATCH = _Batch()
Dims = tuple  # of int | None | BATCH

# Which rule below applies to a layer is declared with its kind, as its mask traits (`Trait`): the
# checks here read them, so that a new kind is described in its family module only.


@dataclass(frozen=True)
class Mask:
    """A mask on a node's output: its shape (batch first) and the layer that made it."""

    shape: Dims
    producer: str


@dataclass(frozen=True)
class MaskProblem:
    """A use of a mask that fails: on every backend, or on TensorFlow only (`everywhere` False)."""

    mask: Mask
    needed: str  # what the layer needed of the mask, in words
    everywhere: bool = True


def dims(shape: Sequence) -> Dims:
    """A node's shape as mask dimensions: the batch axis marked, unknown and named sizes as None."""
    return (BATCH, *(d if isinstance(d, int) else None for d in shape[1:]))


def show(shape: Dims) -> str:
    return format_shape([None if d is BATCH else d for d in shape])


def _conflict(mask_dim, dim) -> bool:
    """Whether a mask size cannot stand for a tensor size (the mask's 1 broadcasts)."""
    if mask_dim == dim or mask_dim == 1:
        return False
    if mask_dim is BATCH or dim is BATCH:
        return True
    return mask_dim is not None and dim is not None


def fits(mask: Dims, target: Dims) -> bool:
    """Whether a mask broadcasts onto a tensor of shape `target` without growing it."""
    if len(mask) > len(target):
        return False
    return not any(_conflict(m, t) for m, t in zip(reversed(mask), reversed(target), strict=False))


def broadcast(a: Dims, b: Dims) -> Dims | None:
    """The shape of an element-wise operation on both (NumPy's rules), or None where it fails."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if x == 1 or x == y:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is BATCH or y is BATCH:
            return None
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            return None
    return tuple(out)


def expand(shape: Dims, axis: int) -> Dims | None:
    """keras.ops.expand_dims: a new axis of size 1 at `axis` (None where the axis is out of range)."""
    position = axis if axis >= 0 else axis + len(shape) + 1
    if not 0 <= position <= len(shape):
        return None
    return (*shape[:position], 1, *shape[position:])


# --- The flow --------------------------------------------------------------------


def mask_flow(graph: ModelGraph) -> tuple[dict[str, Mask | None], dict[str, list[MaskProblem]]]:
    """Each node's output mask (None: no mask), and the mask uses that fail, by node.

    A node whose use of a mask fails hands no mask on, so that one failure is reported once.
    """
    masks: dict[str, Mask | None] = {}
    problems: dict[str, list[MaskProblem]] = {}
    for node in graph.topological_order():
        if node.shape is None or node.call is None or any(graph.nodes[i].shape is None for i in node.inputs):
            masks[node.id] = None
            continue
        incoming = [masks.get(i) for i in node.inputs]
        shapes = [dims(graph.nodes[i].shape) for i in node.inputs]
        found: list[MaskProblem] = []
        masks[node.id] = _step(node, incoming, shapes, dims(node.shape), found)
        if found:
            problems[node.id] = found
            if any(p.everywhere for p in found):
                masks[node.id] = None
    return masks, problems


def _step(node: Node, incoming: list, shapes: list[Dims], out: Dims, found: list) -> Mask | None:
    """The mask of one node's output; appends the failing uses of its inputs' masks to `found`."""
    name, params, traits = node.call.kind.name, node.call.params, node.call.kind.traits
    first = incoming[0]
    if Trait.MAKES_MASK in traits:
        if name == "Masking":
            return Mask(out[:-1], node.id)
        return Mask(shapes[0], node.id) if getattr(params, "mask_zero", False) else None
    if Trait.ATTENTION in traits:
        found += _attention(incoming, shapes, out)
        return first
    if Trait.MULTI_HEAD_ATTENTION in traits:
        found += _multi_head(name, params, incoming, shapes)
        return first
    if Trait.MERGES_MASKS in traits:
        return _or_merge(incoming)
    if Trait.FILLS_MASKED in traits:
        return _filling_merge(incoming, shapes, out, found)
    if name == "Concatenate":
        return _concatenate(params.axis, incoming, shapes, found)
    if first is None:
        return None
    if name == "TimeDistributed":
        found += _time_distributed(params.layer, first, shapes[0], out)
        return first
    if Trait.RECURRENT in traits:
        found += _recurrent(name, params, first, shapes[0], out)
        return first if _returns_sequences(name, params) else None
    if Trait.CALL_TAKES_MASK in traits:
        found += _uses(name, params, first, shapes[0])
        return None if name == "GlobalAveragePooling1D" else first
    return first if Trait.KEEPS_MASK in traits else None


def _uses(name: str, params, mask: Mask, shape: Dims) -> list[MaskProblem]:
    """Softmax, BatchNormalization and GlobalAveragePooling1D, given `mask` for an input of `shape`."""
    if name == "Softmax" and not fits(mask.shape, shape):
        return [
            MaskProblem(
                mask, f"a mask that broadcasts onto its input {show(shape)}, axis for axis from the last"
            )
        ]
    if name == "BatchNormalization" and len(mask.shape) != len(shape) - 1:
        return [MaskProblem(mask, f"a mask of rank {len(shape) - 1}, one less than its input {show(shape)}")]
    if name == "GlobalAveragePooling1D":
        expanded = expand(mask.shape, 1 if getattr(params, "data_format", None) == "channels_first" else 2)
        if expanded is None or not fits(expanded, shape):
            return [MaskProblem(mask, f"a (batch, steps) mask for its input {show(shape)}")]
    return []


def _attention(incoming: list, shapes: list[Dims], out: Dims) -> list[MaskProblem]:
    """Attention and AdditiveAttention: the value's mask hides keys, the query's zeroes outputs."""
    query_mask, value_mask = incoming[0], incoming[1]
    query, key = shapes[0], shapes[-1]
    scores = (*query[:-1], key[-2])
    found = []
    if value_mask is not None:
        # Only a (batch, steps) mask is given its query axis; any other meets the scores as it is.
        padding = expand(value_mask.shape, -2) if len(value_mask.shape) == 2 else value_mask.shape
        if not fits(padding, scores):
            found.append(
                MaskProblem(
                    value_mask,
                    f"the value's mask as (batch, 1, steps) against the attention scores {show(scores)}",
                )
            )
    if query_mask is not None and not fits(expand(query_mask.shape, -1), out):
        found.append(MaskProblem(query_mask, f"the query's mask along the output {show(out)}"))
    return found


def _multi_head(name: str, params, incoming: list, shapes: list[Dims]) -> list[MaskProblem]:
    """MultiHeadAttention and GroupQueryAttention: the query's, value's and key's masks combined.

    The query's mask becomes (batch, query steps, 1), the value's and key's (batch, 1, steps);
    their AND then meets the scores, (batch axes..., heads, query steps..., key steps...),
    as a Softmax mask after new axes are put before the steps.
    """
    roles = [(incoming[0], "query"), (incoming[1], "value")]
    if len(incoming) > 2:
        roles.append((incoming[2], "key"))
    masks = [(mask, role) for mask, role in roles if mask is not None]
    if not masks:
        return []
    combined: Dims | None = None
    for mask, role in masks:
        shaped = expand(mask.shape, -1) if role == "query" else expand(mask.shape, -2)
        merged = shaped if combined is None else broadcast(combined, shaped)
        if shaped is None or merged is None:
            return [MaskProblem(mask, f"the {role}'s mask to combine with the other inputs' masks")]
        combined = merged
    query, key = shapes[0], shapes[-1]
    axes = _attended_axes(name, params, len(query))
    kept = [i for i in range(len(query) - 1) if i not in axes]
    heads = params.num_heads if name == "MultiHeadAttention" else params.num_query_heads
    scores = (*(query[i] for i in kept), heads, *(query[i] for i in axes), *(key[i] for i in axes))
    insert_at = -2 * len(axes) - 1
    while combined is not None and len(combined) < len(scores):
        combined = expand(combined, insert_at)
    if combined is None or not fits(combined, scores):
        mask = next((m for m, role in masks if role == "value"), masks[0][0])
        steps = "steps axis" if len(axes) == 1 else f"{len(axes)} attended axes"
        return [
            MaskProblem(
                mask,
                f"a mask of (batch, query steps, key steps) for its attention scores {show(scores)} "
                f"(batch axes, heads, query and key steps; {steps})",
            )
        ]
    return []


def _attended_axes(name: str, params, rank: int) -> tuple[int, ...]:
    """The axes of the inputs {name} attends over (see layers.attention._attention_axes)."""
    if name == "GroupQueryAttention" or (rank == 3 and getattr(params, "dropout", 0) == 0):
        return (1,)  # one steps axis (Keras' fused attention on rank 3 ignores attention_axes)
    chosen = params.attention_axes
    if chosen is None:
        return tuple(range(1, rank - 1))
    listed = [chosen] if isinstance(chosen, int) else list(chosen)
    return tuple(a % rank for a in listed)


def _or_merge(incoming: list) -> Mask | None:
    if any(m is None for m in incoming):
        return None
    shape = incoming[0].shape
    for mask in incoming[1:]:
        shape = broadcast(shape, mask.shape) or shape  # the inputs broadcast, and so do their masks
    return Mask(shape, incoming[0].producer)


def _filling_merge(incoming: list, shapes: list[Dims], out: Dims, found: list) -> Mask | None:
    for mask, shape in zip(incoming, shapes, strict=True):
        if mask is not None and not fits(expand(mask.shape, -1), shape):
            found.append(MaskProblem(mask, f"a mask that broadcasts onto its input {show(shape)} by steps"))
    if any(m is None for m in incoming):
        return None
    return Mask(out[:-1], incoming[0].producer)


def _concatenate(axis: int, incoming: list, shapes: list[Dims], found: list) -> Mask | None:
    """Concatenate joins its inputs' masks (all true for an unmasked input) along its axis."""
    carried = next((m for m in incoming if m is not None), None)
    if carried is None:
        return None
    parts = []
    for mask, shape in zip(incoming, shapes, strict=True):
        if mask is None:
            parts.append(shape)
        elif len(mask.shape) < len(shape):
            part = broadcast(expand(mask.shape, -1), shape)
            if part is None:
                found.append(MaskProblem(mask, f"a mask that broadcasts onto its input {show(shape)}"))
                return None
            parts.append(part)
        else:
            parts.append(mask.shape)
    rank = len(parts[0])
    if any(len(p) != rank for p in parts) or not -rank <= axis < rank:
        found.append(MaskProblem(carried, "masks of its inputs' rank, to join along its axis"))
        return None
    position = axis % rank
    joined = list(parts[0])
    for part in parts[1:]:
        for i, (a, b) in enumerate(zip(joined, part, strict=True)):
            if i == position:
                joined[i] = a + b if isinstance(a, int) and isinstance(b, int) else None
            elif (a is BATCH) != (b is BATCH) or (isinstance(a, int) and isinstance(b, int) and a != b):
                found.append(MaskProblem(carried, f"masks that agree on every axis but axis {axis}"))
                return None
            elif a is None:
                joined[i] = b
    return Mask(tuple(joined[:-1]), carried.producer)


def _returns_sequences(name: str, params) -> bool:
    if name == "Bidirectional":
        params = params.layer.params
    return bool(getattr(params, "return_sequences", False))


def _recurrent(name: str, params, mask: Mask, shape: Dims, out: Dims) -> list[MaskProblem]:
    """A recurrent layer steps along axis 1 and, at each step, keeps the previous output where masked.

    TensorFlow tiles each step's mask over the step's output, axis for axis; JAX reduces
    its last axis first. A mask of more than (batch, steps) can thus fail on TensorFlow only.
    """
    if len(mask.shape) < 2 or _conflict(mask.shape[1], shape[1]) or _conflict(shape[1], mask.shape[1]):
        return [MaskProblem(mask, f"a (batch, steps) mask with the {show(shape[:2])} steps of its input")]
    step_mask = (mask.shape[0], *mask.shape[2:])
    if len(step_mask) == 1:
        return []
    step_out = _step_output(name, params, out)
    if step_out is None:
        return []
    tiled = (*step_mask, *step_out[len(step_mask) :])
    on_tensorflow = fits(tiled, step_out)
    on_jax = fits((*step_mask[:-1], 1), step_out)
    if on_tensorflow:
        return []
    needed = f"each step's mask {show(step_mask)} to match the step's output {show(step_out)}"
    return [MaskProblem(mask, needed, everywhere=not on_jax)]


def _step_output(name: str, params, out: Dims) -> Dims | None:
    """The output of one step of a recurrent layer, from the layer's output (None: not known)."""
    layer = name
    if name == "Bidirectional":
        inner = params.layer
        layer, merge_mode = inner.kind.name, params.merge_mode
        if merge_mode == "concat":
            last = out[-1]
            out = (*out[:-1], last // 2 if isinstance(last, int) else None)
        params = inner.params
    if layer == "RNN":
        return None  # a cell's state sizes are its own
    return (out[0], *out[2:]) if getattr(params, "return_sequences", False) else out


def _time_distributed(layer, mask: Mask, shape: Dims, out: Dims) -> list[MaskProblem]:
    """TimeDistributed checks its mask's steps, then hands each step's slice to a layer that takes one."""
    if len(mask.shape) < 2 or _conflict(mask.shape[1], shape[1]) or _conflict(shape[1], mask.shape[1]):
        return [MaskProblem(mask, f"a mask with the {show(shape[:2])} steps of its input")]
    name, traits = layer.kind.name, layer.kind.traits
    if Trait.CALL_TAKES_MASK not in traits:
        return []
    inner_mask = Mask((mask.shape[0], *mask.shape[2:]), mask.producer)
    inner_in, inner_out = (shape[0], *shape[2:]), (out[0], *out[2:])
    if Trait.RECURRENT in traits:
        problems = _recurrent(name, layer.params, inner_mask, inner_in, inner_out)
    else:
        problems = _uses(name, layer.params, inner_mask, inner_in)
    return [
        MaskProblem(mask, f"{p.needed} (TimeDistributed hands {name} one step at a time)", p.everywhere)
        for p in problems
    ]


# --- Where a mask is destroyed (MS710) ---------------------------------------------


def destroys_mask(node: Node) -> bool:
    """Whether Keras drops a mask given to this layer with its warning ("does not support masking").

    The layers with a mask trait support masking (`layers.base.MASK_AWARE`), even those that hand
    no mask on (they consume it, or, for Dot, drop it on purpose): Keras does not warn there. An
    Embedding supports masking only when it makes a mask of its own (mask_zero); Masking always does.
    """
    traits = node.call.kind.traits
    if Trait.MAKES_MASK in traits:
        return not getattr(node.call.params, "mask_zero", True)
    return not traits & MASK_AWARE


# --- The check -------------------------------------------------------------------


def check_masks(graph: ModelGraph) -> list[Diagnostic]:
    """MS307 where a layer uses a mask it cannot broadcast on every backend; MS305 on TensorFlow only."""
    _, problems = mask_flow(graph)
    found = []
    for node_id, node_problems in problems.items():
        node = graph.nodes[node_id]
        path, at = node.path, "key" if node.role == "merge" else "value"
        layer = node.call.kind.name
        for problem in node_problems:
            producer = graph.nodes[problem.mask.producer]
            made_by = producer.call.kind.name
            setting = f"{made_by}(mask_zero = true)" if made_by != "Masking" else "Masking"
            where = (
                "every call fails, on TensorFlow and JAX alike"
                if problem.everywhere
                else "TensorFlow fails on every call; JAX runs it"
            )
            message = (
                f"{layer} in {graph.label(node_id)} uses the mask of {graph.label(producer.id)} "
                f"({setting}), of shape {show(problem.mask.shape)}, but needs {problem.needed}: "
                f"the model builds and {where}"
            )
            rule = MASK_SHAPE if problem.everywhere else CPU_KERNEL_PORTABILITY
            hint = _hint(layer, made_by, problem.mask)
            found.append(rule.at(graph.document, path, message, hint, at=at, node=node_id))
    return found


def _hint(layer: str, made_by: str, mask: Mask) -> str:
    """The fixes for a failing use of a mask: drop the mask, or give it one sequence axis."""
    undo = "set mask_zero = false" if made_by != "Masking" else "remove the Masking layer"
    what = "ids" if made_by != "Masking" else "input"
    if layer == "Softmax":
        return f'use {{ type = "Activation", activation = "softmax" }}, which leaves masks alone, or {undo}'
    if len(mask.shape) <= 2:
        return f"{undo}, or keep the layers between the {made_by} and the {layer} on one steps axis"
    one_axis = f"reshape the {what} to one sequence axis (batch, steps) before the {made_by}"
    if Trait.MULTI_HEAD_ATTENTION in REGISTRY[layer].traits:
        last = len(mask.shape) - 1
        return f"{undo}, {one_axis}, or attend over the last steps axis only (attention_axes = [{last}])"
    return f"{undo}, or {one_axis}"
