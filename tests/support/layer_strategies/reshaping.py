"""Strategies of the resizing kinds (`mspec.layers.reshaping`): up-sampling, zero padding, cropping.

One function draws the step of each kind (see `kind.Kind`): in a graph, a cropping that leaves a
position on every axis; in a case of its own, any cropping.
"""

from __future__ import annotations

from hypothesis import strategies as st

from support.layer_strategies.drawing import sizes, some
from support.layer_strategies.fitting import crop, layout, smallest_known
from support.layer_strategies.kind import one_input_kind, rank_near


def margin():
    """Padding or cropping of one axis: the same on both sides, or [before, after]."""
    return st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=2, max_size=2))


def margins():
    """Padding or cropping of two axes: one int for all, or a margin per axis."""
    return st.one_of(st.integers(0, 3), st.lists(margin(), min_size=2, max_size=2))


def up_sampling_1d(draw, shapes, *, fit, plain=False):
    return {"type": "UpSampling1D"} | some(draw, {"size": st.integers(1, 3)})


def zero_padding_1d(draw, shapes, *, fit, plain=False):
    params, _, _ = layout(draw, shapes, 1, fit=fit, plain=plain)
    return {"type": "ZeroPadding1D", **params} | some(draw, {"padding": margin()})


def cropping_1d(draw, shapes, *, fit, plain=False):
    step = {"type": "Cropping1D"}
    if fit:
        step["cropping"] = crop(draw, smallest_known(shapes, 1))
    elif draw(st.booleans()):
        step["cropping"] = draw(margin())  # may crop every position, which Keras refuses
    return step


def up_sampling_2d(draw, shapes, *, fit, plain=False):
    params, _, _ = layout(draw, shapes, 2, fit=fit, plain=plain)
    options = {"size": sizes(2, 1, 3), "interpolation": st.sampled_from(["nearest", "bilinear", "area"])}
    return {"type": "UpSampling2D", **params} | some(draw, options)


def zero_padding_2d(draw, shapes, *, fit, plain=False):
    params, _, _ = layout(draw, shapes, 2, fit=fit, plain=plain)
    return {"type": "ZeroPadding2D", **params} | some(draw, {"padding": margins()})


def cropping_2d(draw, shapes, *, fit, plain=False):
    params, limits, _ = layout(draw, shapes, 2, fit=fit, plain=plain)
    step = {"type": "Cropping2D", **params}
    if fit:
        step["cropping"] = [crop(draw, limit) for limit in limits]
    elif draw(st.booleans()):
        step["cropping"] = draw(margins())  # may crop every position, which Keras refuses
    return step


KINDS = {
    kind.name: kind
    for kind in [
        one_input_kind("UpSampling1D", up_sampling_1d, (3, 3), rank_near(3)),
        one_input_kind("ZeroPadding1D", zero_padding_1d, (3, 3), rank_near(3)),
        one_input_kind("Cropping1D", cropping_1d, (3, 3), rank_near(3)),
        one_input_kind("UpSampling2D", up_sampling_2d, (4, 4), rank_near(4)),
        one_input_kind("ZeroPadding2D", zero_padding_2d, (4, 4), rank_near(4)),
        one_input_kind("Cropping2D", cropping_2d, (4, 4), rank_near(4)),
    ]
}
