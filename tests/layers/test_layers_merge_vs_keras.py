"""Differential tests of the merge kinds (`mspec.layers.merging`), Attention and MultiHeadAttention
against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.MERGE_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.merge`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import MERGE_CASES
from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_explicit_case,
    check_generated_cases,
    ok,
    param,
)
from support.layer_strategies.merge import KINDS

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

# Where mspec refuses on purpose although Keras accepts: each entry says why.
# The test checks that Keras still accepts, so that a change in Keras shows up.
DELIBERATE = [
    ("on rank-2 inputs Attention scores every sample against the other samples of its batch",
     ok(L("Attention"), (N, 4), (N, 4), run=True)),
    ("a value of lower rank than the query is broadcast with its batch axis taken as a time axis",
     ok(L("Attention"), (N, 3, 4), (N, 4), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in MERGE_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


# --- Generated cases --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_generated_cases(name: str) -> None:
    check_generated_cases(KINDS[name].case())
