"""Strategies of the convolution kinds (`mspec.layers.convolutional`): plain, separable, depthwise,
transposed.

One function draws the step of each kind (see `kind.Kind`): in a graph, a window that fits the
inputs and groups that divide their channels; in a case of its own, any window and any groups.
"""

from __future__ import annotations

from hypothesis import strategies as st

from support.layer_strategies.drawing import ACTIVATION, pick, sizes, some
from support.layer_strategies.fitting import layout, window
from support.layer_strategies.kind import one_input_kind, rank_near

FILTERS = st.integers(1, 6)
GROUPS = [1, 1, 2, 3]
CONVOLUTIONS = {
    "Conv1D": 1,
    "Conv2D": 2,
    "Conv3D": 3,
    "SeparableConv1D": 1,
    "SeparableConv2D": 2,
    "DepthwiseConv1D": 1,
    "DepthwiseConv2D": 2,
    "Conv1DTranspose": 1,
    "Conv2DTranspose": 2,
}


def conv(name: str, spatial_rank: int):
    transpose = "Transpose" in name
    paddings = ("valid", "same", "causal") if name == "Conv1D" else ("valid", "same")

    def step(draw, shapes, *, fit, plain=False):
        params, limits, channels = layout(draw, shapes, spatial_rank, fit=fit, plain=plain)
        windows = window(draw, limits, fit=fit, paddings=paddings, transpose=transpose)
        step = {"type": name, **params, **windows}
        if not name.startswith("Depthwise"):
            step["filters"] = draw(FILTERS)
        if name.startswith("Conv") and not transpose:
            groups = pick(draw, [g for g in GROUPS if not fit or channels % g == 0])
            if groups > 1:
                step["groups"] = groups
                if fit:  # filters divisible by groups, as Keras requires
                    step["filters"] = groups * draw(st.integers(1, 3))
        if name.startswith(("Separable", "Depthwise")) and draw(st.booleans()):
            step["depth_multiplier"] = draw(st.integers(1, 3))
        if transpose and not fit and draw(st.booleans()):
            # Some output_padding values only fail when run (see the conv cases): such cases run.
            step["output_padding"] = draw(st.one_of(st.none(), sizes(spatial_rank, 0, 2)))
        return step | some(draw, {"activation": ACTIVATION, "use_bias": st.booleans()})

    return step


def _not_empty_transpose(case) -> bool:
    # A length-1 input with 'same' and output_padding may give an empty output: see DELIBERATE.
    step, (input_shape,), _ = case
    return not (step.get("padding") == "same" and step.get("output_padding") is not None and 1 in input_shape)


def _kind(name: str, spatial_rank: int):
    rank = spatial_rank + 2
    if "Transpose" in name:
        # Transposed cases run, on known sizes: an output_padding may only fail then.
        inputs = rank_near(rank, known_only=True, batch=st.none())
        return one_input_kind(name, conv(name, spatial_rank), (rank, rank), inputs, run=True,
                              keep=_not_empty_transpose)  # fmt: skip
    return one_input_kind(name, conv(name, spatial_rank), (rank, rank), rank_near(rank))


KINDS = {name: _kind(name, spatial_rank) for name, spatial_rank in CONVOLUTIONS.items()}
