"""The values and shapes layer strategies draw from, and small helpers to draw them."""

from __future__ import annotations

from hypothesis import strategies as st

Shape = tuple

# Activations keep the shape, so any of them fits any layer that takes one.
ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "softmax", "linear", "gelu", "swish"]
ACTIVATION = st.sampled_from(ACTIVATIONS)
FORMATS = [None, "channels_last", "channels_first"]
FORMAT = st.sampled_from(FORMATS)
# A dropout rate: Keras takes any from 0 to 1.
RATE = st.floats(0, 1)
# The batch size of a drawn input: mostly unknown, sometimes known.
BATCH = st.sampled_from([None, None, 2])


def pick(draw, values: list):
    return draw(st.sampled_from(values))


def some(draw, options: dict) -> dict:
    """Draw a subset of optional parameters (each a strategy)."""
    return draw(st.fixed_dictionaries({}, optional=options))


def compact(draw, values: list[int]):
    """Write per-axis values as Keras allows: one int when all are equal (sometimes), else a list."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


def sizes(n: int, low: int = 1, high: int = 4):
    """An int or a list of n ints, as kernel_size or strides are written."""
    return st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=n, max_size=n))


def known(dim) -> bool:
    return isinstance(dim, int)


def all_known(shape: Shape) -> bool:
    return all(known(d) for d in shape[1:])


def dims(known_only: bool = False, high: int = 9):
    """One axis of a drawn shape: a size, or (unless `known_only`) unknown or named."""
    sizes_ = st.integers(1, high)
    return sizes_ if known_only else st.one_of(sizes_, sizes_, st.none(), st.just("T"))


@st.composite
def shape(draw, rank: int, *, known_only: bool = False, exact: bool = False, batch=BATCH, high: int = 9):
    """Draw a shape of `rank` axes, batch included (without `exact`, sometimes one more or one fewer)."""
    if not exact:
        rank = max(1, draw(st.sampled_from([rank] * 6 + [rank - 1, rank + 1])))
    return (draw(batch), *(draw(dims(known_only, high)) for _ in range(rank - 1)))


def any_rank(low: int = 1, high: int = 4, **options):
    """A shape of any rank from `low` to `high` (batch included): for kinds that take any rank."""
    return st.integers(low, high).flatmap(lambda rank: shape(rank, exact=True, **options))


def one_input(shapes) -> st.SearchStrategy:
    """The input shapes of a one-input case: a list of one shape."""
    return st.tuples(shapes).map(list)


def one_input_case(name: str, params: dict, optional: dict, shapes, *, run: bool = False):
    """A case of (step, input shapes, run): the given parameters, the optional ones sometimes, one shape."""
    steps = st.fixed_dictionaries(params, optional=optional).map(lambda p: {"type": name, **p})
    return st.tuples(steps, one_input(shapes), st.just(run))
