"""A layer kind as the tests draw it: a case of its own, and its place in a graph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from support.layer_strategies.drawing import any_rank, one_input, shape

# (draw, input shapes, *, fit, plain) -> a step for those shapes, or None when the kind does not apply.
StepDraw = Callable[..., dict | None]
# (exact) -> a strategy of cases (step, input shapes, run); `exact` keeps the rank the kind expects.
CaseDraw = Callable[[bool], SearchStrategy]


@dataclass(frozen=True)
class Kind:
    """One layer kind's strategy, for cases of its own (`case`) and for graphs (`step` or `join`).

    A one-input kind draws its step with `step(draw, shapes, fit=..., plain=...)`: fitted, a step
    Keras accepts for every shape, in a graph that reads tensors of `ranks` (batch included);
    not fitted, parameters in and near their valid range for a case of its own. A merge instead
    joins tensors of the graph being built (`join(builder, kind)`, see `merge`).
    """

    name: str
    case: CaseDraw
    step: StepDraw | None = None
    ranks: tuple[int, int] = (2, 5)
    join: Callable | None = None

    def fits_rank(self, rank: int) -> bool:
        low, high = self.ranks
        return self.step is not None and low <= rank <= high


def one_input_kind(
    name: str,
    step: StepDraw,
    ranks: tuple[int, int],
    inputs: Callable[[bool], SearchStrategy],
    *,
    run: bool = False,
    keep: Callable[[tuple], bool] | None = None,
) -> Kind:
    """A one-input kind whose case of its own draws `inputs(exact)` and then its step, not fitted.

    `run` marks its cases to be run on arrays (they use known sizes); `keep` leaves out cases the
    tests deliberately do not draw.
    """

    @st.composite
    def draw_case(draw, exact: bool):
        shapes = draw(inputs(exact))
        return step(draw, shapes, fit=False), shapes, run

    def case(exact: bool = False) -> SearchStrategy:
        cases = draw_case(exact)
        return cases if keep is None else cases.filter(keep)

    return Kind(name, case, step, ranks)


def rank_near(rank: int, **options) -> Callable[[bool], SearchStrategy]:
    """The input of a kind that expects `rank`: that rank (always, with `exact`), sometimes one off."""
    return lambda exact=False: one_input(shape(rank, exact=exact, **options))


def rank_between(low: int, high: int, **options) -> Callable[[bool], SearchStrategy]:
    """The input of a kind that takes any rank from `low` to `high`."""
    return lambda exact=False: one_input(any_rank(low, high, **options))
