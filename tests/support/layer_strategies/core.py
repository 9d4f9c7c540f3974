"""Strategies of the first layer kinds: dense, activation, dropout and noise, reshapes, embeddings
and normalizations.

Each function draws the step of one kind for the shapes it reads (see `kind.Kind`): with `fit`, one
Keras accepts for every shape; without, parameters in or near their valid range.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from support.layer_strategies.drawing import (
    ACTIVATION,
    ACTIVATIONS,
    FORMAT,
    RATE,
    all_known,
    known,
    pick,
    some,
)
from support.layer_strategies.fitting import factorize, normalized_axes, write_axis
from support.layer_strategies.kind import one_input_kind, rank_between, rank_near

UNITS = st.integers(1, 8)
ON_OFF = {"center": st.booleans(), "scale": st.booleans()}


def dense(draw, shapes, *, fit, plain=False):
    options = {"activation": ACTIVATION, "use_bias": st.booleans()}
    return {"type": "Dense", "units": draw(UNITS)} | some(draw, options)


def activation(draw, shapes, *, fit, plain=False):
    return {"type": "Activation", "activation": pick(draw, ACTIVATIONS)}


def dropout(draw, shapes, *, fit, plain=False):
    return {"type": "Dropout", "rate": draw(RATE)} | some(draw, {"seed": st.integers(0, 9)})


def gaussian_noise(draw, shapes, *, fit, plain=False):
    # Keras takes a stddev up to 1; a case of its own also tries a little more, which it refuses.
    return {"type": "GaussianNoise", "stddev": draw(st.floats(0, 1 if fit else 1.5))}


def gaussian_dropout(draw, shapes, *, fit, plain=False):
    # A rate of 1 is refused on purpose (training divides by 1 - rate; see the deliberate refusals).
    return {"type": "GaussianDropout", "rate": draw(st.floats(0, 1, exclude_max=True))}


def rescaling(draw, shapes, *, fit, plain=False):
    return {"type": "Rescaling", "scale": draw(st.floats(-2, 2))} | some(draw, {"offset": st.floats(-1, 1)})


def identity(draw, shapes, *, fit, plain=False):
    return {"type": "Identity"}


def spatial_dropout(draw, shapes, *, fit, plain=False):
    return {"type": "SpatialDropout1D", "rate": draw(RATE)}


def flatten(draw, shapes, *, fit, plain=False):
    # In a graph the flattened axis is read later: every size it is made of must be known.
    if fit and not all(all_known(s) for s in shapes):
        return None
    return {"type": "Flatten"} | some(draw, {"data_format": FORMAT})


def reshape(draw, shapes, *, fit, plain=False):
    if fit:
        if len(shapes) > 1 or not all_known(shapes[0]):
            return None
        target = factorize(draw, math.prod(shapes[0][1:]), draw(st.integers(1, 3)))
    else:
        # Any sizes: mostly another number of values than the input's, which Keras refuses.
        target = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return {"type": "Reshape", "target_shape": target}


def repeat_vector(draw, shapes, *, fit, plain=False):
    return {"type": "RepeatVector", "n": draw(st.integers(1, 4))}


def permute(draw, shapes, *, fit, plain=False):
    rank = len(shapes[0])
    # Not fitted, sometimes the dims of a rank one off the input's: Keras refuses them.
    n = rank - 1 if fit else max(1, rank - 1 + pick(draw, [0] * 6 + [-1, 1]))
    dims = list(draw(st.permutations(range(1, n + 1))))
    # In a graph, the last axis after the permutation must be known (see `spec_graphs`).
    if fit and not all(known(s[dims[-1]]) for s in shapes):
        return None
    return {"type": "Permute", "dims": dims}


def embedding(draw, shapes, *, fit, plain=False):
    step = {"type": "Embedding", "input_dim": draw(st.integers(1, 20)), "output_dim": draw(st.integers(1, 8))}
    return step | some(draw, {"mask_zero": st.booleans()})


def category_encoding(draw, shapes, *, fit, plain=False):
    # multi_hot and count on a rank-3 input are refused on purpose (DELIBERATE in the core tests).
    step = {"type": "CategoryEncoding", "num_tokens": draw(st.integers(1, 6))}
    if len(shapes[0]) > 2:
        return step | {"output_mode": "one_hot"}
    return step | some(draw, {"output_mode": st.sampled_from(["multi_hot", "one_hot", "count"])})


def batch_normalization(draw, shapes, *, fit, plain=False):
    rank = len(shapes[0])
    step = {"type": "BatchNormalization"} | some(draw, ON_OFF)
    axis = pick(draw, normalized_axes(shapes, fit=fit, plain=plain))
    if axis != rank - 1 or draw(st.booleans()):
        step["axis"] = write_axis(draw, axis, rank)
    return step


def layer_normalization(draw, shapes, *, fit, plain=False):
    rank = len(shapes[0])
    step = {"type": "LayerNormalization"} | some(draw, ON_OFF)
    choices = normalized_axes(shapes, fit=fit, plain=plain)
    # Distinct axes once made positive: a repeat only fails when run (see the core cases).
    axes = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique=True))
    written = [write_axis(draw, a, rank) for a in axes]
    if written != [-1] or draw(st.booleans()):
        step["axis"] = written[0] if len(written) == 1 and draw(st.booleans()) else written
    return step


def normalization(draw, shapes, *, fit, plain=False):
    step = {"type": "Normalization"}
    if not fit:
        # A graph keeps the default axis (-1, always known there). [1, -1] names one axis twice on
        # rank 2, which Keras refuses unless mean and variance are given; 0 is the batch axis.
        step["axis"] = pick(draw, [-1, None, 1, [1, -1], 0])
    if draw(st.booleans()):
        # A list must fit the last kept axis (or have one value); axis=None keeps no axis for it.
        # A graph gives scalars, which fit any axis.
        values = st.just(0.5)
        if not fit:
            values = st.one_of(values, st.lists(values, min_size=1, max_size=4))
        mean = draw(values)
        step.update(mean=mean, variance=mean if draw(st.integers(0, 5)) else draw(values))
    return step | some(draw, {"invert": st.booleans()})


# Kinds that take any rank; in a graph, the tensors they read have a rank of 2 to 5.
ANY_RANK = rank_between(1, 4)

KINDS = {
    kind.name: kind
    for kind in [
        one_input_kind("Dense", dense, (2, 5), rank_near(3)),
        one_input_kind("Activation", activation, (2, 5), ANY_RANK),
        one_input_kind("Dropout", dropout, (2, 5), ANY_RANK),
        one_input_kind("GaussianNoise", gaussian_noise, (2, 5), ANY_RANK),
        one_input_kind("GaussianDropout", gaussian_dropout, (2, 5), ANY_RANK),
        one_input_kind("Rescaling", rescaling, (2, 5), ANY_RANK),
        one_input_kind("Identity", identity, (2, 5), ANY_RANK),
        one_input_kind("SpatialDropout1D", spatial_dropout, (3, 3), rank_near(3)),
        one_input_kind("Flatten", flatten, (2, 5), ANY_RANK),
        one_input_kind("Reshape", reshape, (2, 5), rank_between(2, 4)),
        one_input_kind("RepeatVector", repeat_vector, (2, 2), rank_near(2)),
        one_input_kind("Permute", permute, (3, 5), rank_between(2, 4)),
        one_input_kind("Embedding", embedding, (2, 4), rank_between(1, 3)),
        one_input_kind("CategoryEncoding", category_encoding, (2, 3), rank_between(1, 3)),
        one_input_kind("BatchNormalization", batch_normalization, (2, 5), rank_between(2, 4)),
        one_input_kind("LayerNormalization", layer_normalization, (2, 5), rank_between(2, 4)),
        one_input_kind("Normalization", normalization, (2, 5), rank_between(2, 4)),
    ]
}

# Kinds that read integer ids: in a graph, the first step after an integer input.
INTEGER_KINDS = ["Embedding", "CategoryEncoding"]
