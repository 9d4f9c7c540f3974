"""Layer differential cases: how they are written and named, and the checks every such test runs.

A case is a step, its input shapes and what Keras does with it (accepts or
refuses): the last guards the case against drifting away from its purpose.
Cases marked `run` also call the layer on arrays and are marked `kernels`,
as their outcome may depend on the backend's kernels: `make test` runs them
a second time under the oneDNN setting that is not the machine's default.

Where mspec and Keras part ways, the test modules say so: their `DELIBERATE`
and `DELIBERATE_SHARED` lists hold what mspec refuses on purpose (with the
reason), and `bug()` marks disagreements in modules the tests do not own as
strict xfails, which fail once fixed so that the mark gets removed. Generated
cases stay clear of both, as the comments in the strategies say.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from support.keras_build import as_keras
from support.keras_oracle import keras_apply, keras_shared
from support.layer_agreement import check_agreement, compare, mspec_apply, mspec_shared

N = None  # unknown size, as Keras prints it


def L(type_: str, **params) -> dict:
    """A step table, as a spec writes it."""
    return {"type": type_, **params}


@dataclass(frozen=True)
class Case:
    step: dict
    shapes: list
    accepted: bool  # what Keras does: guards the case against drifting away from its purpose
    run: bool = False
    marks: tuple = field(default=())


def ok(step: dict, *shapes, run: bool = False) -> Case:
    return Case(step, list(shapes), True, run)


def no(step: dict, *shapes, run: bool = False) -> Case:
    return Case(step, list(shapes), False, run)


def bug(reason: str, case: Case) -> Case:
    """A known disagreement in a module the tests do not own: expected to fail until fixed."""
    return Case(
        case.step, case.shapes, case.accepted, case.run, (pytest.mark.xfail(reason=reason, strict=True),)
    )


def case_id(case: Case) -> str:
    """Name a case by its kind (and wrapped kind), Keras' verdict and its input shapes."""
    inner = case.step.get("layer")
    kind = case.step["type"] + (f"({inner['type']})" if inner else "")
    shapes = "+".join("x".join("N" if d is None else str(d) for d in s) for s in case.shapes)
    return f"{kind}-{'ok' if case.accepted else 'no'}-{shapes}"


def param(case: Case, *values):
    """A pytest parameter for a case: marked `kernels` when it runs, as its outcome may depend on them."""
    marks = case.marks + ((pytest.mark.kernels,) if case.run else ())
    return pytest.param(*values, case, id=case_id(case), marks=marks)


def examples(variable: str, default: int) -> settings:
    """Hypothesis settings for generated cases: `default` of them per test, or as many as `variable` says."""
    return settings(
        max_examples=int(os.environ.get(variable, str(default))),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


# MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind where a module sets none of its own.
HYPOTHESIS = examples("MSPEC_DIFF_EXAMPLES", 15)


# --- The checks ---------------------------------------------------------------


def check_explicit_case(case: Case) -> None:
    """mspec agrees with Keras on the case, and Keras still does what the case says."""
    truth = compare(case.step, case.shapes, run=case.run)
    verdict = "accepts" if case.accepted else "refuses"
    assert truth.ok == case.accepted, (
        f"Keras no longer {verdict} this case: {truth.error or truth.output_shape}"
    )


def check_deliberate_refusal(reason: str, case: Case) -> None:
    """mspec refuses what Keras accepts, for the reason given; a change in Keras shows up."""
    truth = keras_apply(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok, f"Keras now refuses this case ({truth.error}): mspec's refusal needs no reason"
    assert not mspec_apply(case.step, case.shapes).ok, reason


def check_every_kind_has_accepted_and_refused(kinds, cases: list[Case], kinds_of=None) -> None:
    """Each kind of a family has at least one accepted and one refused hand-written case.

    `kinds_of(step)` gives the kinds a case's step uses (default: its `type`; nested
    steps such as an RNN's cells name several).
    """
    kinds_of = kinds_of or (lambda step: {step["type"]})
    accepted = set().union(*(kinds_of(c.step) for c in cases if c.accepted))
    refused = set().union(*(kinds_of(c.step) for c in cases if not c.accepted))
    assert not set(kinds) - accepted, sorted(set(kinds) - accepted)
    assert not set(kinds) - refused, sorted(set(kinds) - refused)


def check_shared_case(case: Case) -> None:
    """One layer used on each shape in turn: mspec agrees with Keras, which still does what the case says."""
    truth = keras_shared(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok == case.accepted, f"Keras no longer {'accepts' if case.accepted else 'refuses'} this case"
    check_agreement(case.step, case.shapes, truth, mspec_shared(case.step, case.shapes))


def check_deliberate_shared_refusal(reason: str, case: Case) -> None:
    """mspec refuses a shared use Keras runs, for the reason given."""
    truth = keras_shared(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok, f"Keras now refuses this case ({truth.error}): mspec's refusal needs no reason"
    assert not mspec_shared(case.step, case.shapes).ok, reason


def check_generated_cases(cases: SearchStrategy, hypothesis: settings = HYPOTHESIS) -> None:
    """mspec agrees with Keras on every drawn (step, input shapes, run) case."""

    @hypothesis
    @given(case=cases)
    def check(case) -> None:
        step, shapes, run = case
        compare(step, shapes, run=run)

    check()


def check_generated_shared_layers(cases: SearchStrategy, hypothesis: settings = HYPOTHESIS) -> None:
    """mspec agrees with Keras on every drawn (step, shapes of each use) case; each one runs."""

    @hypothesis
    @given(case=cases)
    def check(case) -> None:
        step, shapes = case
        truth = keras_shared(step, shapes, run=True)
        check_agreement(step, shapes, truth, mspec_shared(step, shapes))

    check()
