"""Differential tests of the first layer kinds (dense, activation, dropout, reshapes, embeddings,
normalizations: `CORE_CASES`) against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.CORE_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.core`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import CORE_CASES
from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_deliberate_shared_refusal,
    check_explicit_case,
    check_generated_cases,
    check_generated_shared_layers,
    check_shared_case,
    no,
    ok,
    param,
)
from support.layer_strategies.core import KINDS
from support.layer_strategies.sharing import keeps_deliberate_refusals, shared_case

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

# Where mspec refuses on purpose although Keras accepts: each entry says why.
# The test checks that Keras still accepts, so that a change in Keras shows up.
DELIBERATE = [
    ("a rate of 1: Keras builds it, then divides by 1 - rate when training (ZeroDivisionError on every "
     "backend; found by the random dtype models)",
     ok(L("GaussianDropout", rate=1.0), (N, 4))),
    ("above rank 2, multi_hot and count reduce axis 1 instead of the last axis (Keras' docs support rank 2 "
     "at most): the run matches the declared shape only when both axes have the same size",
     ok(L("CategoryEncoding", num_tokens=5), (N, 3, 3), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in CORE_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("Dense", units=3), (N, 4), (N, 7, 4)),
    no(L("Dense", units=3), (N, 4), (N, 5)),
    ok(L("Embedding", input_dim=5, output_dim=2), (N, 4), (N, 3, 2)),
    no(L("BatchNormalization"), (N, 4), (N, 5)),
    no(L("BatchNormalization"), (N, 4), (N, 3, 4)),
    # Weights built for size 1 are reshaped to the new size when run, which fails (but see DELIBERATE_SHARED).
    no(L("LayerNormalization"), (N, 1), (N, 2), run=True),
    ok(L("LayerNormalization", center=False, scale=False), (N, 1), (N, 2), run=True),
    ok(L("BatchNormalization", axis=1), (N, 4, 3), (N, 4, 5), run=True),
    no(L("BatchNormalization", axis=1), (N, 4, 3), (N, 4), run=True),
    # A later use on an unknown size: Keras computes the output from it, and a size the layer hands on
    # stays unknown.
    ok(L("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0]), (N, 3), (N, N)),
    ok(L("Normalization"), (N, 5, 3), (N, N, N)),
    ok(L("BatchNormalization"), (N, 6, 3), (N, 6, N)),
    ok(L("LayerNormalization"), (N, 5, 3), (N, N, N)),
    ok(L("Dense", units=3), (N, 3), (N, N)),
    ok(L("Dense", units=3), (N, 4), (N, 2, N)),
]  # fmt: skip

# Shared layers mspec refuses on purpose although Keras runs them.
DELIBERATE_SHARED = [
    ("LayerNormalization weights built for size 1 broadcast to a later size only when the axis is written "
     "as the positive last index (Keras then skips a reshape); with axis=-1 the same model fails when run, "
     "and a spec should not depend on how an axis is spelled",
     ok(L("LayerNormalization", axis=2), (N, 3, 1), (N, 3, 2), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE_SHARED])
def test_deliberate_shared_refusal(reason: str, case: Case) -> None:
    check_deliberate_shared_refusal(reason, case)


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


# --- Generated cases --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_generated_cases(name: str) -> None:
    check_generated_cases(KINDS[name].case())


# Kinds tried as shared layers: a second use changes one size (or none) of the first use's.
SHARED_KINDS = ["Dense", "Embedding", "BatchNormalization", "LayerNormalization"]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    cases = shared_case(KINDS[name].case(exact=True), keeps_deliberate_refusals)
    check_generated_shared_layers(cases)
