"""Strategies of the merge kinds (`mspec.layers.merging`) and attention (`mspec.layers.attention`):
element-wise, Concatenate, Dot, Attention and MultiHeadAttention.

A merge reads several tensors. Its case of its own draws them all, sizes that
match or clash; in a graph it joins tensors of the graph being built
(`join(builder, kind)`), adding branches that give them the sizes it needs,
so that Keras accepts the merge. The parameters come from one place for both:
`arity`, `concatenate_axis`, `DOT_OPTIONS`, `ATTENTION_OPTIONS` and
`multi_head_attention_params`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from support.layer_strategies.drawing import known, pick, shape, some
from support.layer_strategies.kind import Kind
from support.layer_strategies.reshaping import KINDS as RESHAPING

if TYPE_CHECKING:
    from support.spec_graphs import Builder, Tensor

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
DOT_OPTIONS = {"normalize": st.booleans()}
ATTENTION_OPTIONS = {"use_scale": st.booleans(), "score_mode": st.sampled_from(["dot", "concat"])}


def arity(draw, name: str) -> int:
    """How many tensors an element-wise merge reads: Subtract two, the others one to three."""
    return 2 if name == "Subtract" else draw(st.integers(1, 3))


def broadcast(first: tuple, second: tuple) -> tuple | None:
    """Apply Keras' element-wise merge rule (no batch, right-aligned, size 1 stretches); None on a clash."""
    if len(first) < len(second):
        first, second = second, first
    out = list(first[: len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second) :], second, strict=True):
        if not known(a) or not known(b):
            out.append(a if a == b else None)
        elif a == 1 or b == 1 or a == b:
            out.append(max(a, b))
        else:
            return None
    return tuple(out)


def concatenate_axis(draw, rank: int, *, fit: bool) -> int:
    """An axis to join along, written from the front or the back; not fitted, sometimes the batch axis."""
    axis = 0 if not fit and draw(st.integers(0, 4)) == 0 else draw(st.integers(1, rank - 1))
    return axis if draw(st.booleans()) else axis - rank


def multi_head_attention_params(draw, rank: int, *, fit: bool) -> dict:
    """MultiHeadAttention's parameters for query and value of `rank` axes.

    Fitted, attention_axes only for rank 4 and only valid ones (the unattended axis must then agree,
    which the join sees to). Not fitted, also dropout, and attention_axes in or out of range.
    """
    params = {"num_heads": draw(st.integers(1, 3)), "key_dim": draw(st.integers(1, 4))}
    output_shape = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1, max_size=2))
    options = {"value_dim": st.integers(1, 4), "use_bias": st.booleans(), "output_shape": output_shape}
    if not fit:
        options["dropout"] = st.sampled_from([0.0, 0.5])
        options["attention_axes"] = st.one_of(
            st.integers(-rank - 5, rank + 1), st.lists(st.integers(-rank - 3, rank), max_size=3)
        )
    params |= some(draw, options)
    if fit and rank == 4 and draw(st.booleans()):
        params["attention_axes"] = pick(draw, [1, 2, [1], [-2], [1, 2]])
    return params


# --- Cases of their own: (step, input shapes, run) ------------------------------


@st.composite
def elementwise_case(draw, name: str):
    """Inputs that broadcast or clash: a base shape with some axes set to 1 or changed."""
    count = arity(draw, name)
    # Mostly one batch size, sometimes unknown in some inputs, rarely another one.
    batch = draw(st.sampled_from([None, 2]))
    base = draw(shape(draw(st.integers(2, 4)), exact=True, batch=st.just(batch)))
    inputs = []
    for _ in range(count):
        s = list(base)
        s[0] = draw(st.sampled_from([batch] * 4 + [None, 3]))
        for axis in range(1, len(s)):
            s[axis] = draw(st.sampled_from([s[axis]] * 4 + [1, 3]))
        if draw(st.integers(0, 5)) == 0 and len(s) > 2:
            del s[1]
        inputs.append(tuple(s))
    return {"type": name}, inputs, False


@st.composite
def concatenate_case(draw):
    rank = draw(st.integers(2, 4))
    axis = concatenate_axis(draw, rank, fit=False)
    base = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    inputs = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        for position in range(1, rank):
            s[position] = draw(st.sampled_from([s[position]] * 5 + [1, 2]))
        inputs.append(tuple(s))
    return {"type": "Concatenate", "axis": axis}, inputs, True


@st.composite
def dot_case(draw):
    first = draw(shape(draw(st.integers(2, 4)), exact=True, known_only=True, batch=st.none()))
    second = draw(shape(draw(st.integers(2, 4)), exact=True, known_only=True, batch=st.none()))
    # Mostly copy the first input's sizes, so that contracted axes often match.
    copied = [draw(st.sampled_from([a, a, b])) for a, b in zip(first[1:], second[1:], strict=False)]
    second = (None, *copied, *second[len(first) :])
    # Listed axes are sometimes just out of range.
    pair = st.tuples(st.integers(-len(first) - 1, len(first)), st.integers(-len(second) - 1, len(second)))
    axes = draw(st.one_of(st.integers(-2, 3), pair.map(list)))
    return {"type": "Dot", "axes": axes} | some(draw, DOT_OPTIONS), [first, second], True


@st.composite
def attention_case(draw, name: str):
    # Inputs of different ranks only run by chance (see DELIBERATE in the merge tests): one rank for all.
    rank = draw(st.sampled_from([3, 3, 4]))
    query = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    value = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    inputs = [query, value]
    if draw(st.booleans()):
        key = tuple(draw(st.sampled_from([d, d, d, 2])) if i else d for i, d in enumerate(value))
        inputs.append(key)
    if name == "Attention":
        if draw(st.booleans()):
            # Mostly matching feature sizes, so that some cases are accepted.
            inputs = [(*s[:-1], query[-1]) if i != 1 else s for i, s in enumerate(inputs)]
        step = some(draw, ATTENTION_OPTIONS)
    else:
        step = multi_head_attention_params(draw, rank, fit=False)
        if "attention_axes" in step and draw(st.booleans()):
            # Values that agree on every steps axis, so that the attended axes decide.
            inputs[1:] = [(*query[:-1], s[-1]) for s in inputs[1:]]
    return {"type": name, **step}, inputs, True


# --- Joins in a graph being built -------------------------------------------------


def join_elementwise(builder: Builder, kind: str) -> Tensor:
    draw = builder.draw
    base = pick(draw, builder.usable())
    sources, merged = [base], base.shape[1:]
    for _ in range(arity(draw, kind) - 1):
        fitting = [t for t in builder.usable() if broadcast(merged, t.shape[1:]) is not None]
        way = pick(draw, ["pool", "same", "one"])
        if way == "pool":
            other = pick(draw, fitting)  # never empty: base itself fits
        else:
            other = builder.project(base, base.shape[-1] if way == "same" else 1)
        sources.append(other)
        merged = broadcast(merged, other.shape[1:])
    return builder.merge(kind, sources)


def join_concatenate(builder: Builder, kind: str) -> Tensor:
    draw = builder.draw
    base = pick(draw, builder.usable())
    rank = len(base.shape)
    written = concatenate_axis(draw, rank, fit=True)
    axis = written % rank

    def fits(t: Tensor) -> bool:
        # Keras compares every other axis, ignoring unknown sizes.
        return len(t.shape) == rank and all(
            a == b or not known(a) or not known(b)
            for i, (a, b) in enumerate(zip(base.shape, t.shape, strict=True))
            if i not in (0, axis)
        )

    sources = [base]
    for _ in range(draw(st.integers(1, 2))):
        way = pick(draw, ["pool", "grow"])
        if way == "grow" and axis == rank - 1:
            sources.append(builder.project(base, draw(st.integers(1, 6))))
        elif way == "grow" and rank == 3 and axis == 1:
            # Grow the steps axis: channels last, so that the padding goes there.
            grow = RESHAPING[pick(draw, ["UpSampling1D", "ZeroPadding1D"])]
            sources.append(builder.branch(base, [grow.step(draw, [base.shape], fit=True, plain=True)]))
        else:
            sources.append(pick(draw, [t for t in builder.usable() if fits(t)]))
    return builder.merge("Concatenate", sources, **({"axis": written} if written != -1 else {}))


def join_dot(builder: Builder, kind: str) -> Tensor | None:
    draw = builder.draw
    firsts = [t for t in builder.usable((2, 3)) if any(known(d) for d in t.shape[1:])]
    if not firsts:
        return None
    first = pick(draw, firsts)
    axis = pick(draw, [a for a in range(1, len(first.shape)) if known(first.shape[a])])
    size = first.shape[axis]
    if draw(st.booleans()):
        second, other_axis = first, axis
    else:
        second = builder.project(pick(draw, builder.usable((2, 3))), size)
        other_axis = len(second.shape) - 1
    if other_axis == axis and draw(st.booleans()):
        # One negative axis counts from the end of each input: the same axis only at the same rank.
        same_rank = len(second.shape) == len(first.shape)
        axes = axis - len(first.shape) if same_rank and draw(st.booleans()) else axis
    else:
        axes = [axis, other_axis]
    params = {"axes": axes} | some(draw, DOT_OPTIONS)
    if not builder.keeps_invariant("Dot", [first, second], params):
        return None
    return builder.merge("Dot", [first, second], **params)


def join_attention(builder: Builder, kind: str) -> Tensor | None:
    draw = builder.draw
    queries = builder.usable((3, 3))
    if not queries:
        return None
    query = pick(draw, queries)
    value = pick(draw, queries)
    if draw(st.booleans()):
        # A key made from the value: as long as the value, with the query's last axis.
        key = builder.project(value, query.shape[-1])
        return builder.merge(kind, [query, value, key], **some(draw, ATTENTION_OPTIONS))
    if value.shape[-1] != query.shape[-1]:
        value = builder.project(value, query.shape[-1])
    return builder.merge(kind, [query, value], **some(draw, ATTENTION_OPTIONS))


def unattended_fit(query: Tensor, value: Tensor, axes: list[int]) -> Iterator[bool]:
    """Tell, per axis MultiHeadAttention does not attend over, whether query and value have one size there."""
    # Keras runs these axes as extra batch axes: the sizes must be equal, statically and on the forward
    # pass (where mspec cannot see unknown sizes).
    for axis in axes:
        static = (query.shape[axis], value.shape[axis])
        run = (query.run[axis], value.run[axis]) if query.run and value.run else (0, 0)
        yield (not all(known(d) for d in static) or static[0] == static[1]) and run[0] == run[1]


def join_multi_head_attention(builder: Builder, kind: str) -> Tensor | None:
    draw = builder.draw
    # Query and value of one rank, 3 or 4: Keras fails to run other ranks.
    queries = builder.usable((3, 4))
    if not queries:
        return None
    query = pick(draw, queries)
    rank = len(query.shape)
    params = multi_head_attention_params(draw, rank, fit=True)
    unattended: list[int] = []
    if "attention_axes" in params:
        axes = params["attention_axes"]
        attended = {a % rank for a in (axes if isinstance(axes, list) else [axes])}
        unattended = [a for a in (1, 2) if a not in attended]
    fitting = [t for t in queries if len(t.shape) == rank and all(unattended_fit(query, t, unattended))]
    value = pick(draw, fitting)  # the query itself always fits
    sources = [query, value]
    if draw(st.booleans()):
        sources.append(builder.project(value, draw(st.integers(1, 6))))
    if not builder.keeps_invariant(kind, sources, params):
        return None
    return builder.merge(kind, sources, **params)


KINDS = {
    **{
        name: Kind(name, lambda exact=False, name=name: elementwise_case(name), join=join_elementwise)
        for name in ELEMENTWISE
    },
    "Concatenate": Kind("Concatenate", lambda exact=False: concatenate_case(), join=join_concatenate),
    "Dot": Kind("Dot", lambda exact=False: dot_case(), join=join_dot),
    "Attention": Kind("Attention", lambda exact=False: attention_case("Attention"), join=join_attention),
    "MultiHeadAttention": Kind(
        "MultiHeadAttention",
        lambda exact=False: attention_case("MultiHeadAttention"),
        join=join_multi_head_attention,
    ),
}
