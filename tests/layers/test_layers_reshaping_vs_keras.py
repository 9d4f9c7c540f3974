"""Differential tests of the resizing kinds (`mspec.layers.reshaping`) against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.RESHAPING_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.reshaping`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import RESHAPING_CASES
from support.layer_cases import (
    Case,
    check_explicit_case,
    check_generated_cases,
    check_generated_shared_layers,
    param,
)
from support.layer_strategies.reshaping import KINDS
from support.layer_strategies.sharing import keeps_deliberate_refusals, shared_case

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]


@pytest.mark.parametrize("case", [param(c) for c in RESHAPING_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


# --- Generated cases --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_generated_cases(name: str) -> None:
    check_generated_cases(KINDS[name].case())


# Kinds tried as shared layers: a second use changes one size (or none) of the first use's.
SHARED_KINDS = ["UpSampling1D"]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    cases = shared_case(KINDS[name].case(exact=True), keeps_deliberate_refusals)
    check_generated_shared_layers(cases)
