"""Differential tests of the recurrent kinds and wrappers (`mspec.layers.rnn`) against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.RNN_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.rnn`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import RNN_CASES
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
from support.layer_strategies.rnn import KINDS
from support.layer_strategies.sharing import keeps_deliberate_refusals, shared_case

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

# Where mspec refuses on purpose although Keras accepts: each entry says why.
# The test checks that Keras still accepts, so that a change in Keras shows up.
DELIBERATE = [
    ("a spec step has one output tensor; return_state adds the states",
     ok(L("LSTM", units=4, return_state=True), (N, 5, 3))),
    ("stateful layers need a fixed batch and state across batches",
     ok(L("GRU", units=4, stateful=True), (2, 5, 3))),
    ("merge_mode=None returns two tensors",
     ok(L("Bidirectional", layer=L("GRU", units=4), merge_mode=None), (N, 5, 3))),
    ("Keras clamps a dropout rate above 1 to 1; a spec must say what it means",
     ok(L("SimpleRNN", units=4, dropout=1.5), (N, 5, 3))),
    ("TimeDistributed skips the wrapped layer's input check; Keras then pools over 2 axes with a 1D layer",
     ok(L("TimeDistributed", layer=L("MaxPooling1D")), (N, 5, 8, 8, 3), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in RNN_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("LSTM", units=2), (N, 5, 3), (N, 9, 3), run=True),
    no(L("LSTM", units=2), (N, 5, 3), (N, 5, 4), run=True),
    no(L("Bidirectional", layer=L("GRU", units=2)), (N, 5, 3), (N, 5, 4), run=True),
    ok(L("TimeDistributed", layer=L("Dense", units=2)), (N, 5, 3), (N, 2, 3)),
    # TimeDistributed builds the wrapped layer without its input check: a wrong size fails when run.
    no(L("TimeDistributed", layer=L("Dense", units=2)), (N, 5, 3), (N, 5, 4), run=True),
    no(L("TimeDistributed", layer=L("BatchNormalization", axis=1)), (N, 5, 3, 2), (N, 5, 4, 2), run=True),
]  # fmt: skip

# Shared layers mspec refuses on purpose although Keras runs them.
DELIBERATE_SHARED = [
    ("TimeDistributed skips the wrapped layer's input check; TensorFlow then runs a 1-channel kernel on 2 "
     "channels as a grouped convolution, which the layer never declared",
     ok(L("TimeDistributed", layer=L("Conv2D", filters=2, kernel_size=1)), (N, 5, 5, 5, 1), (N, 5, 5, 5, 2),
        run=True)),
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
SHARED_KINDS = ["SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed"]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    cases = shared_case(KINDS[name].case(exact=True), keeps_deliberate_refusals)
    check_generated_shared_layers(cases)
