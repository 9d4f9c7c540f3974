"""Differential tests of the convolution kinds (`mspec.layers.convolutional`) against Keras itself.

The contract is `support.layer_agreement`'s. The hand-written cases are
`support.explicit_cases.CONV_CASES` (the coverage tests read them too); the
generated ones come from `support.layer_strategies.conv`.
MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import pytest

pytest.importorskip("keras")

from support.explicit_cases import CONV_CASES
from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_explicit_case,
    check_generated_cases,
    check_generated_shared_layers,
    check_shared_case,
    no,
    ok,
    param,
)
from support.layer_strategies.conv import KINDS
from support.layer_strategies.sharing import keeps_deliberate_refusals, shared_case

pytestmark = [
    pytest.mark.keras,
    # A softmax over an axis of size 1 (one unit, one key to attend to): Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

# Where mspec refuses on purpose although Keras accepts: each entry says why.
# The test checks that Keras still accepts, so that a change in Keras shows up.
DELIBERATE = [
    ("'same', an even kernel and output_padding 0 on a length-1 input give an empty output: a spec cannot "
     "mean that",
     ok(L("Conv1DTranspose", filters=4, kernel_size=2, padding="same", output_padding=0), (N, 1, 3),
        run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in CONV_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("Conv2D", filters=2, kernel_size=3), (N, 8, 8, 3), (N, 5, 9, 3)),
    no(L("Conv2D", filters=2, kernel_size=3), (N, 8, 8, 3), (N, 8, 8, 4)),
    no(L("Conv1D", filters=2, kernel_size=3, data_format="channels_first"), (N, 3, 8), (N, 4, 8)),
    ok(L("DepthwiseConv1D", kernel_size=3), (N, 8, 3), (N, 4, 3)),
    no(L("SeparableConv1D", filters=2, kernel_size=3), (N, 8, 3), (N, 8, 2)),
    no(L("Conv1DTranspose", filters=2, kernel_size=3), (N, 8, 3), (N, 8, 2)),
    # A later use on unknown channels: the kernel exists, and the output has the filters (found by the
    # shared-layer generator: 3 filters in 3 groups on 3 channels only look like handing them on) ...
    ok(L("Conv2D", filters=2, kernel_size=3), (N, 8, 8, 3), (N, N, 8, N)),
    ok(L("Conv1D", filters=3, kernel_size=1, groups=3), (N, 5, 3), (N, 5, N)),
    ok(L("SeparableConv1D", filters=2, kernel_size=3), (N, 8, 3), (N, 8, N)),
    ok(L("Conv2DTranspose", filters=2, kernel_size=1, data_format="channels_first"), (N, 3, 5, 5),
       (N, N, 5, 5)),
    # ... but a depthwise convolution multiplies the channels it gets, and an unknown number fails.
    no(L("DepthwiseConv2D", kernel_size=1, data_format="channels_first"), (N, 3, 5, 5), (N, N, 5, 5)),
    no(L("DepthwiseConv1D", kernel_size=3), (N, 8, 3), (N, 8, N)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


# --- Generated cases --------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KINDS))
def test_generated_cases(name: str) -> None:
    check_generated_cases(KINDS[name].case())


# Kinds tried as shared layers: a second use changes one size (or none) of the first use's.
SHARED_KINDS = ["Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "Conv2DTranspose"]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    cases = shared_case(KINDS[name].case(exact=True), keeps_deliberate_refusals)
    check_generated_shared_layers(cases)
