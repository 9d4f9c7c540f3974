"""Hypothesis strategies for spec documents with one probe: a merge, shared use or step that is
either just valid or just invalid, decided here by Keras' rules.

`probe_specs()` draws a small model with known sizes only (on `spec_graphs.Builder`), plus one
probe: a merge (MS301), a second use of a shared layer (MS302) or a step (MS303).
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from support.layer_strategies import KINDS
from support.layer_strategies.drawing import pick
from support.layer_strategies.fitting import factorize
from support.layer_strategies.merge import ELEMENTWISE, broadcast
from support.layer_strategies.merge import KINDS as MERGES
from support.spec_graphs import Builder, Generated, Tensor


@st.composite
def probe_specs(draw) -> Generated:
    """Draw a small model of known sizes plus one probe; `expected` says whether Keras must refuse it."""
    builder = Builder(draw, unknown=False)
    count = draw(st.integers(1, 3))
    inputs = [builder.add_input(integer=i > 0 and draw(st.integers(0, 3)) == 0) for i in range(count)]
    for tensor in inputs:
        builder.random_branch(tensor, draw(st.integers(1, 2)))
    code = pick(draw, ["MS301", "MS302", "MS303"])
    probe = {"MS301": merge_probe, "MS302": shared_probe, "MS303": step_probe}[code]
    valid, what = probe(draw, builder)
    builder.finish()
    return builder.result(None if valid else code, what)


def shaped(draw, builder: Builder, dims: list[int]) -> Tensor:
    """Add a branch from some tensor to exactly (batch, *dims): Flatten, Dense, Reshape."""
    source = pick(draw, builder.usable())
    steps = [] if len(source.shape) == 2 else [{"type": "Flatten"}]
    steps.append({"type": "Dense", "units": math.prod(dims)})
    if len(dims) > 1:
        steps.append({"type": "Reshape", "target_shape": dims})
    return builder.branch(source, steps)


def dims_of(draw, rank: int, low: int = 1, high: int = 6) -> list[int]:
    return draw(st.lists(st.integers(low, high), min_size=rank - 1, max_size=rank - 1))


def near(draw, size: int, low: int = 1) -> int:
    """Draw the same size, or (as often) a nearby one."""
    return size if draw(st.booleans()) else pick(draw, [size + 1] if size - 1 < low else [size - 1, size + 1])


def merge_probe(draw, builder: Builder) -> tuple[bool, str]:
    kind = pick(draw, list(MERGES))
    if kind in ELEMENTWISE or kind == "Concatenate":
        rank = draw(st.integers(2, 4))
        first = shaped(draw, builder, dims_of(draw, rank, 1, 4))
        other_dims = list(first.shape[1:])
        changed = draw(st.integers(0, rank - 2))
        other_dims[changed] = near(draw, other_dims[changed])
        if draw(st.booleans()) and rank > 2:
            other_dims = other_dims[draw(st.integers(0, 1)) :]  # a lower rank, broadcast or refused
        second = shaped(draw, builder, other_dims)
        if kind == "Concatenate":
            axis = draw(st.integers(1, rank - 1))
            reduced = [list(t.shape) for t in (first, second)]
            for r in reduced:
                del r[axis if axis < len(r) else -1]
            valid = len(second.shape) == rank and reduced[0] == reduced[1]
            written = axis if draw(st.booleans()) else axis - rank
            builder.merge(kind, [first, second], axis=written)
            return valid, f"Concatenate axis {written} of {first.shape} and {second.shape}"
        builder.merge(kind, [first, second])
        valid = broadcast(first.shape[1:], second.shape[1:]) is not None
        return valid, f"{kind} of {first.shape} and {second.shape}"
    if kind == "Dot":
        first = shaped(draw, builder, dims_of(draw, draw(st.integers(2, 3))))
        second_dims = dims_of(draw, draw(st.integers(2, 3)))
        # Axes from the batch axis (0) to one past the last: both ends are invalid.
        axes = [draw(st.integers(0, len(first.shape))), draw(st.integers(0, len(second_dims) + 1))]
        if 0 < axes[0] < len(first.shape) and 0 < axes[1] <= len(second_dims):
            second_dims[axes[1] - 1] = near(draw, first.shape[axes[0]])
        second = shaped(draw, builder, second_dims)
        in_range = 0 < axes[0] < len(first.shape) and 0 < axes[1] < len(second.shape)
        valid = in_range and first.shape[axes[0]] == second.shape[axes[1]]
        builder.merge(kind, [first, second], axes=axes)
        return valid, f"Dot axes {axes} of {first.shape} and {second.shape}"
    query = shaped(draw, builder, dims_of(draw, 3))
    value = shaped(draw, builder, dims_of(draw, 3))
    if kind == "Attention":
        key_size = near(draw, query.shape[-1])
        if draw(st.booleans()):
            key = builder.project(value, key_size)
            builder.merge(kind, [query, value, key])
        else:
            value = builder.project(value, key_size)
            builder.merge(kind, [query, value])
        return key_size == query.shape[-1], f"Attention query {query.shape}, key size {key_size}"
    heads, key_dim = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        return attention_axes_probe(draw, builder, heads, key_dim)
    key = shaped(draw, builder, [near(draw, value.shape[1]), draw(st.integers(1, 6))])
    builder.merge(kind, [query, value, key], num_heads=heads, key_dim=key_dim)
    return key.shape[1] == value.shape[1], f"MultiHeadAttention value {value.shape}, key {key.shape}"


# Written attention_axes for rank-4 inputs, valid or not: Keras numbers them in the projected tensors
# (batch, steps, steps, heads, channels), so -1 is the heads axis and 4 the channels.
ATTENTION_AXES = [1, 2, [1], [-2], [1, 2], [2, 1], 0, 3, -1, -3, 4, -5, [], [1, 1], [2, -2], [0, 1, 2]]


def attention_axes_probe(draw, builder: Builder, heads: int, key_dim: int) -> tuple[bool, str]:
    """MultiHeadAttention of rank-4 inputs over some axes; the others must agree as batch axes."""
    query = shaped(draw, builder, dims_of(draw, 4, 1, 4))
    steps = [near(draw, query.shape[1]), near(draw, query.shape[2])]
    value = shaped(draw, builder, [*steps, draw(st.integers(1, 4))])
    axes = pick(draw, ATTENTION_AXES)
    written = axes if isinstance(axes, list) else [axes]
    attended = [a if a >= 0 else 4 + a for a in written]
    valid = bool(attended) and all(0 <= a < 4 for a in attended) and len(set(attended)) == len(attended)
    valid = valid and all(query.shape[a] == value.shape[a] for a in (1, 2) if a not in attended)
    builder.merge("MultiHeadAttention", [query, value], num_heads=heads, key_dim=key_dim, attention_axes=axes)
    return valid, f"MultiHeadAttention attention_axes {axes} of {query.shape} and {value.shape}"


# Shared kinds probed with a second use of another size on the axis the layer is built on (the last).
PROBE_SHARED = ["Dense", "Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "SimpleRNN", "LSTM", "GRU",
                "Bidirectional", "TimeDistributed", "BatchNormalization", "LayerNormalization"]  # fmt: skip


def shared_probe(draw, builder: Builder) -> tuple[bool, str]:
    kind = pick(draw, PROBE_SHARED)
    low, high = KINDS[kind].ranks
    rank = draw(st.integers(low, min(high, 4)))
    # Sizes from 2: a shared LayerNormalization built on size 1 is refused on purpose (DELIBERATE_SHARED in
    # the core tests).
    first = shaped(draw, builder, dims_of(draw, rank, 2, 6))
    size = near(draw, first.shape[-1], low=2)
    second = shaped(draw, builder, [*dims_of(draw, rank - 1, 2, 6), size] if rank > 2 else [size])
    if kind == "TimeDistributed":
        # A wrapped layer without weights takes any size, and a wrapped convolution fed more channels
        # runs as a grouped one (deliberate in mspec, see DELIBERATE_SHARED in the rnn tests).
        step = {"type": kind, "layer": KINDS["Dense"].step(draw, [], fit=True)}
    else:
        # The step fits both uses everywhere but on the last axis, where the layer is built.
        shapes = [first.shape, (*second.shape[:-1], first.shape[-1])]
        step = builder.pick_step(shapes, [kind], plain=True) or {"type": "Dense", "units": 2}
        # Grouped channels would make another channel count a step error (MS303) before a clash.
        step.pop("groups", None)
        if step.get("center") is False and step.get("scale") is False and kind == "LayerNormalization":
            del step["scale"]  # without weights a LayerNormalization takes any size: no clash to probe
    name = builder.fresh("s")
    builder.doc["shared"][name] = step
    builder.branch(first, [{"shared": name}])
    builder.branch(second, [{"shared": name}])
    return size == first.shape[-1], f"shared {step} on {first.shape} then {second.shape}"


def step_probe(draw, builder: Builder) -> tuple[bool, str]:
    way = pick(draw, ["window", "rank", "reshape", "axis", "groups"])
    if way == "window":
        name = pick(draw, ["Conv1D", "Conv2D", "DepthwiseConv1D", "MaxPooling1D", "AveragePooling2D",
                           "Cropping1D", "Cropping2D"])  # fmt: skip
        spatial = 2 if name.endswith("2D") else 1
        source = shaped(draw, builder, dims_of(draw, spatial + 2, 1, 5))
        sizes = source.shape[1:-1]
        windows = [near(draw, n, low=1) for n in sizes]
        if name.startswith("Cropping"):
            # Remove `window` positions: at least one must be left.
            cropping = [[w // 2, w - w // 2] for w in windows]
            step = {"type": name, "cropping": cropping[0] if spatial == 1 else cropping}
            valid = all(w < n for w, n in zip(windows, sizes, strict=True))
        else:
            key = "kernel_size" if name.startswith(("Conv", "Depthwise")) else "pool_size"
            step = {"type": name, key: windows} | ({"filters": 2} if name.startswith("Conv") else {})
            valid = all(w <= n for w, n in zip(windows, sizes, strict=True))
    elif way == "rank":
        name = pick(draw, ["Conv1D", "Conv2D", "LSTM", "GRU", "RepeatVector", "GlobalMaxPooling1D",
                           "GlobalAveragePooling2D", "UpSampling1D", "ZeroPadding2D", "Bidirectional",
                           "TimeDistributed", "SpatialDropout1D", "MaxPooling1D"])  # fmt: skip
        low, high = KINDS[name].ranks
        rank = pick(draw, sorted({max(2, low - 1), low, high, min(5, high + 1)}))
        source = shaped(draw, builder, dims_of(draw, rank, 3, 4))
        step = {
            "Conv1D": {"type": "Conv1D", "filters": 2, "kernel_size": 1},
            "Conv2D": {"type": "Conv2D", "filters": 2, "kernel_size": 1},
            "LSTM": {"type": "LSTM", "units": 2},
            "GRU": {"type": "GRU", "units": 2},
            "Bidirectional": {"type": "Bidirectional", "layer": {"type": "SimpleRNN", "units": 2}},
            "TimeDistributed": {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}},
            "RepeatVector": {"type": "RepeatVector", "n": 2},
            "SpatialDropout1D": {"type": "SpatialDropout1D", "rate": 0.5},
        }.get(name, {"type": name})
        valid = low <= rank <= high
    elif way == "reshape":
        source = shaped(draw, builder, dims_of(draw, draw(st.integers(2, 4)), 1, 4))
        total = math.prod(source.shape[1:])
        target = factorize(draw, near(draw, total), draw(st.integers(1, 3)))
        step = {"type": "Reshape", "target_shape": target}
        valid = math.prod(target) == total
    elif way == "axis":
        rank = draw(st.integers(2, 4))
        source = shaped(draw, builder, dims_of(draw, rank))
        axis = draw(st.integers(-rank - 1, rank))
        name = pick(draw, ["BatchNormalization", "LayerNormalization"])
        step = {"type": name, "axis": axis}
        valid = -rank <= axis < rank and axis % rank != 0  # in range, and not the batch axis
    else:
        name = pick(draw, ["Conv1D", "Conv2D"])
        source = shaped(draw, builder, [*dims_of(draw, 2 if name == "Conv1D" else 3, 2, 4),
                                        draw(st.integers(1, 6))])  # fmt: skip
        groups = draw(st.integers(2, 3))
        step = {"type": name, "filters": 2 * groups, "kernel_size": 1, "groups": groups}
        valid = source.shape[-1] % groups == 0
    builder.branch(source, [step])
    return valid, f"{step} on {source.shape}"
