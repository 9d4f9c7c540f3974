"""Differential tests of the pooling kinds (`mspec.layers.pooling`) against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.POOLING_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.pooling`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import POOLING_CASES
from support.layer_cases import (
    Case,
    L,
    N,
    check_explicit_case,
    check_generated_cases,
    check_generated_shared_layers,
    check_shared_case,
    ok,
    param,
)
from support.layer_strategies.pooling import KINDS
from support.layer_strategies.sharing import keeps_deliberate_refusals, shared_case

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]


@pytest.mark.parametrize("case", [param(c) for c in POOLING_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("MaxPooling1D"), (N, 8, 3), (N, 4, 5)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


# --- Generated cases --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_generated_cases(name: str) -> None:
    check_generated_cases(KINDS[name].case())


# Kinds tried as shared layers: a second use changes one size (or none) of the first use's.
SHARED_KINDS = ["MaxPooling2D"]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    cases = shared_case(KINDS[name].case(exact=True), keeps_deliberate_refusals)
    check_generated_shared_layers(cases)
