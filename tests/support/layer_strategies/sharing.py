"""Cases of one layer used twice: a kind's own case, then a second use with one size changed, or none.

Shared cases are run (a wrong size often fails only then), so the first use's
sizes are known: unknown and named ones become 5. A second use may have an
unknown size where the first has one: the weights exist already, so Keras
builds the call, and computes its output shape from that unknown size. It
runs with the oracle's size for unknown ones (`keras_oracle.RUN_SIZE`), which
the first use then gets on that axis, so that the run is the same call.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from support.keras_oracle import RUN_SIZE


def concrete(shape: tuple) -> tuple:
    return (None, *(d if isinstance(d, int) else 5 for d in shape[1:]))


@st.composite
def shared_case(draw, case: SearchStrategy, keeps: Callable[[dict, tuple, int], bool], *, high: int = 9):
    """Draw (step, [first shape, second shape]); `keeps(step, first, axis)` leaves that axis' size alone."""
    step, (first,), _ = draw(case)
    first = concrete(first)
    second = list(first)
    if len(first) > 1:
        axis = draw(st.integers(1, len(first) - 1))
        if draw(st.integers(0, 3)) == 0:
            # Unknown in the second use, and the size the run gives it in the first.
            first = (*first[:axis], RUN_SIZE, *first[axis + 1 :])
            second = [*first[:axis], None, *first[axis + 1 :]]
        elif not keeps(step, first, axis):
            second[axis] = draw(st.integers(1, high))
    return step, [first, tuple(second)]


def keeps_deliberate_refusals(step: dict, first: tuple, axis: int) -> bool:
    """Leave the sizes whose change mspec refuses on purpose (DELIBERATE_SHARED in the core and rnn tests,
    DELIBERATE in the conv tests)."""
    # LayerNormalization weights of size 1 may broadcast, depending on the axis' spelling.
    last = len(first) - 1
    layer_norm = step["type"] == "LayerNormalization"
    broadcasts = layer_norm and first[axis] == 1 and step.get("axis") in (last, [last])
    # A wrapped convolution fed more channels runs as a grouped one.
    inner = step.get("layer", {})
    channels = 2 if inner.get("data_format") == "channels_first" else last
    wraps_conv = step["type"] == "TimeDistributed" and inner.get("type", "").startswith("Conv")
    regroups = wraps_conv and axis == channels
    # A transposed window with 'same' and output_padding may give an empty output on a spatial size of 1.
    spatial = axis != (1 if step.get("data_format") == "channels_first" else last)
    padded = step.get("padding") == "same" and step.get("output_padding") is not None
    empties = "Transpose" in step["type"] and padded and spatial
    return broadcasts or regroups or empties
