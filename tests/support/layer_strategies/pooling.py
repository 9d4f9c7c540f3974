"""Strategies of the pooling kinds (`mspec.layers.pooling`): max and average, windowed and global.

One function draws the step of each kind (see `kind.Kind`): in a graph, a window that fits the
inputs; in a case of its own, any window.
"""

from __future__ import annotations

from hypothesis import strategies as st

from support.keras_oracle import RUN_SIZE
from support.layer_strategies.drawing import compact, pick, some
from support.layer_strategies.fitting import layout
from support.layer_strategies.kind import one_input_kind, rank_near


def pooling(name: str, spatial_rank: int):
    def step(draw, shapes, *, fit, plain=False):
        params, limits, _ = layout(draw, shapes, spatial_rank, fit=fit, plain=plain)
        padding = pick(draw, ["valid", "same"])
        step = {"type": name, **params}
        # Average pooling has no default window: it is always given.
        if fit or name.startswith("Average") or draw(st.booleans()):
            highs = [4] * spatial_rank
            if fit:
                # No larger than an axis, nor than RUN_SIZE, the size a graph's unknown axes run with.
                highs = [RUN_SIZE if n is None or padding == "same" else min(RUN_SIZE, n) for n in limits]
            step["pool_size"] = compact(draw, [draw(st.integers(1, high)) for high in highs])
        if fit or draw(st.booleans()):
            step["padding"] = padding
        if draw(st.booleans()):
            # strides=None means the window's size, which a case of its own also writes.
            strides = [draw(st.integers(1, 3)) for _ in limits]
            step["strides"] = compact(draw, strides) if fit or draw(st.booleans()) else None
        return step

    return step


def global_pooling(name: str, spatial_rank: int):
    def step(draw, shapes, *, fit, plain=False):
        params, _, _ = layout(draw, shapes, spatial_rank, fit=fit, plain=plain)
        return {"type": name, **params} | some(draw, {"keepdims": st.booleans()})

    return step


def _kinds():
    for spatial_rank in (1, 2, 3):
        rank = spatial_rank + 2
        for mode in ("Max", "Average"):
            name = f"{mode}Pooling{spatial_rank}D"
            yield one_input_kind(name, pooling(name, spatial_rank), (rank, rank), rank_near(rank))
            name = f"Global{mode}Pooling{spatial_rank}D"
            yield one_input_kind(name, global_pooling(name, spatial_rank), (rank, rank), rank_near(rank))


KINDS = {kind.name: kind for kind in _kinds()}
