"""Hypothesis strategies for whole spec documents: valid models, and models with one probe.

`valid_specs()` draws documents that Keras accepts: 1-4 inputs (float, or
int32 ones read by an Embedding or a CategoryEncoding), chains of 1-4 layers,
shared layers used 2-3 times, merges of every kind and 1-3 outputs with
losses. While a document is drawn, every tensor's shape is tracked: its
static shape (batch first, with unknown and named sizes) and the concrete
shape it has on a forward pass (batch 2, unknown sizes 3). Steps are chosen for the current shape by the
rules written here; the shape a step produces is then read from mspec's own
registry rules, as the test compares those with Keras afterwards anyway.

Two invariants keep the choice of steps simple: every tensor other than an
integer input has a known last (feature) axis and a rank of 2 to 5. A step
or merge whose output would break them is drawn again.

`probe_specs()` draws a small model with known sizes only, plus one probe:
a merge (MS301), a second use of a shared layer (MS302) or a step (MS303)
that is either just valid or just invalid, decided here by Keras' rules.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from mspec.diagnostics.selection import Selection, codes
from mspec.layers import ShapeError
from mspec.layers.call import make_call

from keras_oracle import RUN_BATCH, RUN_SIZE

# Random heads pair any loss with any activation: a training hazard (MS7xx: softmax on one unit,
# a sigmoid with categorical cross-entropy ...) says the model trains badly, not that Keras cannot
# build it. The differential tests judge structure, so they check drawn specs with these off.
STRUCTURE_ONLY = Selection(ignore=codes(["MS7"]))

Shape = tuple

# Loosely bounded tensors: a Flatten and a Dense on more values than this make slow, heavy models.
MAX_VALUES = 4096
ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "softmax", "linear", "gelu", "swish"]
LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy", "cosine_similarity"]
DIM_NAMES = ["T", "S"]
ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
MERGE_KINDS = [*ELEMENTWISE, "Concatenate", "Dot", "Attention", "MultiHeadAttention"]


@dataclass(frozen=True)
class Tensor:
    """Name a node of the document being drawn, with its static and run-time shapes."""

    name: str
    # None when mspec refused the step that makes it: the test then reports that.
    shape: Shape | None
    # None when a forward pass would fail: unknown sizes run as 3 may not fit a window, or clash in a merge.
    run: Shape | None
    integer: bool = False


@dataclass
class Generated:
    """Hold a drawn document and what is known about it before mspec reads it."""

    doc: dict
    runnable: bool
    # Output name -> the shape its forward pass returns (batch included).
    output_runs: dict[str, Shape]
    # For a probe: the diagnostic code mspec must report (None: the probe is valid) and what it is.
    expected: str | None = None
    probe: str = ""


def infer(step: dict, shapes: list[Shape]) -> Shape | None:
    """Return the output shape mspec's rule gives, or None if the rule refuses the inputs."""
    call = make_call(step)
    try:
        return call.kind.output_shape(call.params, shapes)
    except ShapeError:
        return None


def known(dim) -> bool:
    return isinstance(dim, int)


def concrete(shape: Shape) -> Shape:
    """Return the shape on a forward pass: batch RUN_BATCH, every unknown or named size RUN_SIZE."""
    return (RUN_BATCH, *(d if known(d) else RUN_SIZE for d in shape[1:]))


def usable(shape: Shape | None) -> bool:
    """Tell whether later steps may read this shape: rank 2-5, a known last axis, not too many values."""
    if shape is None or not 2 <= len(shape) <= 5 or not known(shape[-1]):
        return False
    return math.prod(d for d in shape[1:] if known(d)) <= MAX_VALUES


def all_known(shape: Shape) -> bool:
    return all(known(d) for d in shape[1:])


def broadcast(first: Shape, second: Shape) -> Shape | None:
    """Apply Keras' element-wise merge rule (no batch, right-aligned, size 1 stretches); None on a clash."""
    if len(first) < len(second):
        first, second = second, first
    out = list(first[: len(first) - len(second)])
    for a, b in zip(first[len(first) - len(second) :], second, strict=True):
        if not known(a) or not known(b):
            out.append(a if a == b else None)
        elif a == 1 or b == 1 or a == b:
            out.append(max(a, b))
        else:
            return None
    return tuple(out)


def pick(draw, values: list):
    return draw(st.sampled_from(values))


def some(draw, options: dict) -> dict:
    """Draw a subset of optional parameters (each a strategy)."""
    return draw(st.fixed_dictionaries({}, optional=options))


def compact(draw, values: list[int]):
    """Write per-axis values as Keras allows: one int when all are equal (sometimes), else a list."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


# --- Steps valid for given shapes --------------------------------------------
#
# Each proposal takes a list of shapes of one rank (several for a shared
# layer, which must fit every use) and returns a step valid for all of them,
# or None when the kind does not apply. `plain` asks for a layer built on the
# last axis (channels_last, normalization axis -1), as MS302 probes need.


def smallest_known(shapes: list[Shape], axis: int) -> int | None:
    sizes = [s[axis] for s in shapes if known(s[axis])]
    return min(sizes) if sizes else None


def same_known(shapes: list[Shape], axis: int) -> bool:
    """Tell whether every shape has one known size on `axis` (a size weights may depend on)."""
    return known(shapes[0][axis]) and all(s[axis] == shapes[0][axis] for s in shapes)


def window(draw, limits: list[int | None], *, paddings=("valid", "same"), transpose=False):
    """Draw kernel_size, strides, dilation_rate and padding fitting axes of the given smallest sizes."""
    padding = pick(draw, list(paddings))
    # Keras refuses strides > 1 together with dilation_rate > 1.
    mode = pick(draw, ["plain", "strided", "dilated"])
    kernels, strides, dilations = [], [], []
    for limit in limits:
        dilation = draw(st.integers(1, 2)) if mode == "dilated" else 1
        high = 4
        if padding == "valid" and limit is not None and not transpose:
            high = min(high, (limit - 1) // dilation + 1)
        kernels.append(draw(st.integers(1, high)))
        strides.append(draw(st.integers(1, 3)) if mode == "strided" else 1)
        dilations.append(dilation)
    params = {"kernel_size": compact(draw, kernels)}
    if padding != "valid" or draw(st.booleans()):
        params["padding"] = padding
    if mode == "strided":
        params["strides"] = compact(draw, strides)
    if mode == "dilated":
        params["dilation_rate"] = compact(draw, dilations)
    return params


def layout(draw, shapes: list[Shape], spatial_rank: int, plain: bool):
    """Pick a data_format (channels_first where axis 1 is a known common size) and the spatial limits."""
    rank = spatial_rank + 2
    formats = [None, "channels_last"]
    if not plain and same_known(shapes, 1):
        formats.append("channels_first")
    data_format = pick(draw, formats)
    first = data_format == "channels_first"
    axes = range(2, rank) if first else range(1, rank - 1)
    channels = shapes[0][1] if first else shapes[0][-1]
    params = {"data_format": data_format} if data_format else {}
    return params, [smallest_known(shapes, a) for a in axes], channels


def conv(name: str, spatial_rank: int):
    def propose(draw, shapes, plain=False):
        params, limits, channels = layout(draw, shapes, spatial_rank, plain)
        transpose = "Transpose" in name
        paddings = ("valid", "same", "causal") if name == "Conv1D" else ("valid", "same")
        step = {"type": name, **params, **window(draw, limits, paddings=paddings, transpose=transpose)}
        if not name.startswith("Depthwise"):
            step["filters"] = draw(st.integers(1, 6))
        if name.startswith("Conv") and not transpose:
            groups = pick(draw, [g for g in (1, 1, 2, 3) if channels % g == 0])
            if groups > 1:
                step["groups"] = groups
                step["filters"] = groups * draw(st.integers(1, 3))
        if name.startswith(("Separable", "Depthwise")) and draw(st.booleans()):
            step["depth_multiplier"] = draw(st.integers(1, 3))
        return step | some(draw, {"activation": st.sampled_from(ACTIVATIONS), "use_bias": st.booleans()})

    return propose


def pooling(name: str, spatial_rank: int):
    def propose(draw, shapes, plain=False):
        params, limits, _ = layout(draw, shapes, spatial_rank, plain)
        padding = pick(draw, ["valid", "same"])
        highs = [3 if limit is None or padding == "same" else min(3, limit) for limit in limits]
        pools = [draw(st.integers(1, high)) for high in highs]
        step = {"type": name, **params, "pool_size": compact(draw, pools), "padding": padding}
        if draw(st.booleans()):
            step["strides"] = compact(draw, [draw(st.integers(1, 3)) for _ in limits])
        return step

    return propose


def global_pooling(name: str, spatial_rank: int):
    def propose(draw, shapes, plain=False):
        params, _, _ = layout(draw, shapes, spatial_rank, plain)
        return {"type": name, **params} | some(draw, {"keepdims": st.booleans()})

    return propose


def dense(draw, shapes, plain=False):
    options = {"activation": st.sampled_from(ACTIVATIONS), "use_bias": st.booleans()}
    return {"type": "Dense", "units": draw(st.integers(1, 8))} | some(draw, options)


def dropout(draw, shapes, plain=False):
    return {"type": "Dropout", "rate": pick(draw, [0.0, 0.1, 0.5])} | some(draw, {"seed": st.integers(0, 9)})


def activation(draw, shapes, plain=False):
    return {"type": "Activation", "activation": pick(draw, ACTIVATIONS)}


def noise(draw, shapes, plain=False):
    # Keras takes a GaussianNoise stddev in [0, 1].
    return pick(draw, [
        {"type": "GaussianNoise", "stddev": pick(draw, [0.1, 1.0])},
        {"type": "GaussianDropout", "rate": pick(draw, [0.2, 0.5])},
        {"type": "Rescaling", "scale": pick(draw, [0.5, 2.0])} | some(draw, {"offset": st.just(-1.0)}),
        {"type": "Identity"},
    ])  # fmt: skip


def spatial_dropout(draw, shapes, plain=False):
    return {"type": "SpatialDropout1D", "rate": pick(draw, [0.1, 0.5])}


def normalized_axes(shapes: list[Shape], plain: bool) -> list[int]:
    rank = len(shapes[0])
    if plain:
        return [rank - 1]
    return [a for a in range(1, rank) if same_known(shapes, a)]


def write_axis(draw, axis: int, rank: int) -> int:
    return axis if draw(st.booleans()) else axis - rank


def batch_normalization(draw, shapes, plain=False):
    step = {"type": "BatchNormalization"} | some(draw, {"center": st.booleans(), "scale": st.booleans()})
    axis = pick(draw, normalized_axes(shapes, plain))
    if axis != len(shapes[0]) - 1 or draw(st.booleans()):
        step["axis"] = write_axis(draw, axis, len(shapes[0]))
    return step


def layer_normalization(draw, shapes, plain=False):
    step = {"type": "LayerNormalization"} | some(draw, {"center": st.booleans(), "scale": st.booleans()})
    choices = normalized_axes(shapes, plain)
    axes = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=2, unique=True))
    written = [write_axis(draw, a, len(shapes[0])) for a in axes]
    if written != [-1] or draw(st.booleans()):
        step["axis"] = written[0] if len(written) == 1 and draw(st.booleans()) else written
    return step


def flatten(draw, shapes, plain=False):
    if not all(all_known(s) for s in shapes):
        return None
    formats = st.sampled_from(["channels_last", "channels_first"])
    return {"type": "Flatten"} | some(draw, {"data_format": formats})


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def factorize(draw, total: int, parts: int) -> list[int]:
    """Draw `parts` sizes whose product is `total`."""
    sizes = []
    for _ in range(parts - 1):
        size = pick(draw, divisors(total))
        sizes.append(size)
        total //= size
    return [*sizes, total]


def reshape(draw, shapes, plain=False):
    if len(shapes) > 1 or not all_known(shapes[0]):
        return None
    target = factorize(draw, math.prod(shapes[0][1:]), draw(st.integers(1, 3)))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return {"type": "Reshape", "target_shape": target}


def repeat_vector(draw, shapes, plain=False):
    return {"type": "RepeatVector", "n": draw(st.integers(1, 4))}


def permute(draw, shapes, plain=False):
    rank = len(shapes[0])
    dims = draw(st.permutations(range(1, rank)))
    # The last axis after the permutation must be known (the module's invariant).
    if not all(known(s[dims[-1]]) for s in shapes):
        return None
    return {"type": "Permute", "dims": list(dims)}


def embedding(draw, shapes, plain=False):
    step = {"type": "Embedding", "input_dim": draw(st.integers(1, 20)), "output_dim": draw(st.integers(1, 8))}
    return step | some(draw, {"mask_zero": st.booleans()})


def category_encoding(draw, shapes, plain=False):
    # multi_hot and count on a rank-3 input are refused on purpose (DELIBERATE in test_layers_vs_keras.py).
    step = {"type": "CategoryEncoding", "num_tokens": draw(st.integers(1, 6))}
    if len(shapes[0]) > 2:
        return step | {"output_mode": "one_hot"}
    return step | some(draw, {"output_mode": st.sampled_from(["multi_hot", "one_hot", "count"])})


def normalization(draw, shapes, plain=False):
    # The default axis (-1, always known here) and scalar statistics; test_layers_vs_keras covers the rest.
    step = {"type": "Normalization"}
    if draw(st.booleans()):
        step |= {"mean": 0.5, "variance": 2.0}
    return step | some(draw, {"invert": st.booleans()})


def resize1d(name: str):
    def propose(draw, shapes, plain=False):
        if name == "UpSampling1D":
            return {"type": name} | some(draw, {"size": st.integers(1, 3)})
        if name == "ZeroPadding1D":
            padding = st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2))
            return {"type": name} | some(draw, {"padding": padding})
        return {"type": name, "cropping": crop(draw, smallest_known(shapes, 1))}

    return propose


def crop(draw, limit: int | None):
    """Draw an int or [before, after] that leaves a position on an axis of smallest size `limit`."""
    before = draw(st.integers(0, 2 if limit is None else min(2, limit - 1)))
    after = draw(st.integers(0, 2 if limit is None else min(2, limit - 1 - before)))
    return before if before == after and draw(st.booleans()) else [before, after]


def resize2d(name: str):
    def propose(draw, shapes, plain=False):
        params, limits, _ = layout(draw, shapes, 2, plain)
        step = {"type": name, **params}
        if name == "UpSampling2D":
            interpolation = st.sampled_from(["nearest", "bilinear"])
            return step | some(draw, {"size": st.integers(1, 3), "interpolation": interpolation})
        if name == "ZeroPadding2D":
            step["padding"] = [[draw(st.integers(0, 2)), draw(st.integers(0, 2))] for _ in limits]
        else:
            step["cropping"] = [crop(draw, limit) for limit in limits]
        return step

    return propose


def recurrent(name: str, *, backwards: bool = True):
    def propose(draw, shapes, plain=False):
        options = {
            "return_sequences": st.booleans(),
            "activation": st.sampled_from(["tanh", "relu"]),
            "use_bias": st.booleans(),
            "dropout": st.sampled_from([0.0, 0.2]),
            "unroll": st.booleans(),
        }
        if backwards:
            options["go_backwards"] = st.booleans()
        if name == "GRU":
            options["reset_after"] = st.booleans()
        if name == "LSTM":
            options["unit_forget_bias"] = st.booleans()
        return {"type": name, "units": draw(st.integers(1, 6))} | some(draw, options)

    return propose


def bidirectional(draw, shapes, plain=False):
    # Bidirectional makes the backward copy itself: the wrapped layer keeps go_backwards False.
    inner = recurrent(pick(draw, ["SimpleRNN", "LSTM", "GRU"]), backwards=False)(draw, shapes)
    return {"type": "Bidirectional", "layer": inner} | some(
        draw, {"merge_mode": st.sampled_from(["concat", "sum", "mul", "ave"])}
    )


# What TimeDistributed may wrap; the wrapped layer sees one time step.
TIME_DISTRIBUTED = ["Dense", "Dropout", "Flatten", "Conv1D", "MaxPooling1D", "GlobalAveragePooling1D", "LSTM",
                    "Conv2D", "BatchNormalization"]  # fmt: skip


def time_distributed(draw, shapes, plain=False):
    steps = [(s[0], *s[2:]) for s in shapes]
    names = [n for n in TIME_DISTRIBUTED if fits_rank(n, len(steps[0]))]
    inner = PROPOSALS[pick(draw, names)](draw, steps, plain)
    return None if inner is None else {"type": "TimeDistributed", "layer": inner}


PROPOSALS = {
    "Dense": dense,
    "Dropout": dropout,
    "Activation": activation,
    "Noise": noise,
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "Flatten": flatten,
    "Reshape": reshape,
    "RepeatVector": repeat_vector,
    "Permute": permute,
    "SpatialDropout1D": spatial_dropout,
    "Conv1D": conv("Conv1D", 1),
    "SeparableConv1D": conv("SeparableConv1D", 1),
    "DepthwiseConv1D": conv("DepthwiseConv1D", 1),
    "Conv1DTranspose": conv("Conv1DTranspose", 1),
    "Conv2D": conv("Conv2D", 2),
    "SeparableConv2D": conv("SeparableConv2D", 2),
    "DepthwiseConv2D": conv("DepthwiseConv2D", 2),
    "Conv2DTranspose": conv("Conv2DTranspose", 2),
    "Conv3D": conv("Conv3D", 3),
    "MaxPooling1D": pooling("MaxPooling1D", 1),
    "AveragePooling1D": pooling("AveragePooling1D", 1),
    "MaxPooling2D": pooling("MaxPooling2D", 2),
    "AveragePooling2D": pooling("AveragePooling2D", 2),
    "MaxPooling3D": pooling("MaxPooling3D", 3),
    "GlobalAveragePooling1D": global_pooling("GlobalAveragePooling1D", 1),
    "GlobalMaxPooling1D": global_pooling("GlobalMaxPooling1D", 1),
    "GlobalAveragePooling2D": global_pooling("GlobalAveragePooling2D", 2),
    "GlobalMaxPooling2D": global_pooling("GlobalMaxPooling2D", 2),
    "GlobalAveragePooling3D": global_pooling("GlobalAveragePooling3D", 3),
    "UpSampling1D": resize1d("UpSampling1D"),
    "ZeroPadding1D": resize1d("ZeroPadding1D"),
    "Cropping1D": resize1d("Cropping1D"),
    "UpSampling2D": resize2d("UpSampling2D"),
    "ZeroPadding2D": resize2d("ZeroPadding2D"),
    "Cropping2D": resize2d("Cropping2D"),
    "SimpleRNN": recurrent("SimpleRNN"),
    "LSTM": recurrent("LSTM"),
    "GRU": recurrent("GRU"),
    "Bidirectional": bidirectional,
    "TimeDistributed": time_distributed,
    "Normalization": normalization,
    "AveragePooling3D": pooling("AveragePooling3D", 3),
    "GlobalMaxPooling3D": global_pooling("GlobalMaxPooling3D", 3),
    "Embedding": embedding,
    "CategoryEncoding": category_encoding,
}

# Input ranks (batch included) each proposal is for.
RANKS = {
    "Dense": (2, 5), "Dropout": (2, 5), "Activation": (2, 5), "Noise": (2, 5), "BatchNormalization": (2, 5),
    "LayerNormalization": (2, 5), "Flatten": (2, 5), "Reshape": (2, 5), "RepeatVector": (2, 2),
    "Permute": (3, 5), "SpatialDropout1D": (3, 3), "TimeDistributed": (3, 5), "Embedding": (2, 4),
    "Normalization": (2, 5), "CategoryEncoding": (2, 3),
    # Convolutions, pooling and resizing: the spatial rank in the name, plus batch and channels.
    **{n: (int(m[1]) + 2,) * 2 for n in PROPOSALS if (m := re.search(r"(\d)D", n))},
    "SimpleRNN": (3, 3), "LSTM": (3, 3), "GRU": (3, 3), "Bidirectional": (3, 3),
}  # fmt: skip

# Kinds a chain draws from (integer inputs start with one of INTEGER_KINDS), and kinds of shared layers.
INTEGER_KINDS = ["Embedding", "CategoryEncoding"]
CHAIN_KINDS = [n for n in PROPOSALS if n not in INTEGER_KINDS]
SHARED_KINDS = ["Dense", "Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "SimpleRNN", "LSTM",
                "GRU", "Bidirectional", "TimeDistributed", "BatchNormalization", "LayerNormalization",
                "Embedding"]  # fmt: skip


def unattended_fit(query: Tensor, value: Tensor, axes: list[int]) -> Iterator[bool]:
    """Tell, per axis MultiHeadAttention does not attend over, whether query and value have one size there."""
    # Keras runs these axes as extra batch axes: the sizes must be equal, statically and on the forward
    # pass (where mspec cannot see unknown sizes).
    for axis in axes:
        static = (query.shape[axis], value.shape[axis])
        run = (query.run[axis], value.run[axis]) if query.run and value.run else (0, 0)
        yield (not all(known(d) for d in static) or static[0] == static[1]) and run[0] == run[1]


def fits_rank(name: str, rank: int) -> bool:
    low, high = RANKS[name]
    return low <= rank <= high


def reducer(draw, shape: Shape) -> dict | None:
    """Draw a step taking a tensor to (batch, features), or None if it is there already."""
    rank = len(shape)
    if rank == 2:
        return None
    choices = [{"type": f"Global{mode}Pooling{rank - 2}D"} for mode in ("Average", "Max")]
    if all_known(shape):
        choices.append({"type": "Flatten"})
    return pick(draw, choices)


# --- Building a document ----------------------------------------------------


class Builder:
    """Accumulate one document while tracking every tensor's shapes."""

    def __init__(self, draw, *, unknown: bool):
        self.draw = draw
        self.unknown = unknown  # whether inputs may have unknown and named sizes
        self.doc: dict[str, Any] = {
            "model": {"name": "random_model"},
            "inputs": {},
            "shared": {},
            "branches": {},
            "merges": {},
            "outputs": {},
        }
        self.pool: list[Tensor] = []  # inputs, branches and merges, in creation order
        self.consumed: set[str] = set()
        self.output_runs: dict[str, Shape] = {}
        self.runnable = True
        self._ids = itertools.count(1)

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def usable(self, rank: tuple[int, int] = (2, 5)) -> list[Tensor]:
        """List the float tensors later steps may read, of a rank in the given range."""
        low, high = rank
        return [t for t in self.pool if not t.integer and usable(t.shape) and low <= len(t.shape) <= high]

    def register(self, tensor: Tensor) -> Tensor:
        self.pool.append(tensor)
        if tensor.run is None:
            self.runnable = False
        return tensor

    # Inputs, chains and merges.

    def add_input(self, *, integer: bool) -> Tensor:
        draw = self.draw
        sizes = st.integers(1, 12)
        dim = st.one_of(sizes, sizes, sizes, st.none(), st.sampled_from(DIM_NAMES)) if self.unknown else sizes
        dims = draw(st.lists(dim, min_size=1, max_size=3))
        if not integer and not known(dims[-1]):
            dims[-1] = draw(sizes)  # the module's invariant: float tensors have a known last axis
        name = self.fresh("in")
        self.doc["inputs"][name] = {"shape": dims} | ({"dtype": "int32"} if integer else {})
        shape = (None, *dims)
        return self.register(Tensor(name, shape, concrete(shape), integer))

    def apply(self, step: dict, shape: Shape | None, run: Shape | None) -> tuple:
        call = self.doc["shared"][step["shared"]] if "shared" in step else step
        shape = infer(call, [shape]) if shape is not None else None
        run = infer(call, [run]) if run is not None else None
        return shape, run

    def branch(self, source: Tensor, steps: list[dict]) -> Tensor:
        """Add a branch applying `steps` to `source` and return its tensor."""
        shape, run = source.shape, source.run
        for step in steps:
            shape, run = self.apply(step, shape, run)
        name = self.fresh("b")
        self.doc["branches"][name] = {"from": source.name, "layers": steps}
        self.consumed.add(source.name)
        return self.register(Tensor(name, shape, run))

    def merge(self, kind: str, sources: list[Tensor], **params) -> Tensor:
        step = {"type": kind, **params}
        shape = infer(step, [s.shape for s in sources]) if all(s.shape for s in sources) else None
        run = infer(step, [s.run for s in sources]) if all(s.run for s in sources) else None
        name = self.fresh("m")
        self.doc["merges"][name] = {"type": kind, "from": [s.name for s in sources], **params}
        self.consumed.update(s.name for s in sources)
        return self.register(Tensor(name, shape, run))

    def pick_step(
        self, shapes: list[Shape], kinds: list[str] = CHAIN_KINDS, plain: bool = False
    ) -> dict | None:
        """Draw a step valid for every shape whose outputs keep the invariants (None: no kind fits)."""
        names = [n for n in kinds if fits_rank(n, len(shapes[0]))]
        for _ in range(6 if names else 0):
            step = PROPOSALS[pick(self.draw, names)](self.draw, shapes, plain)
            if step is None:
                continue
            outputs = [infer(step, [s]) for s in shapes]
            # A refusal is kept: it is mspec refusing a valid step, which the test reports.
            if any(o is None for o in outputs) or all(usable(o) for o in outputs):
                return step
        return None

    def random_branch(self, source: Tensor, length: int) -> Tensor:
        steps, shape, run = [], source.shape, source.run
        if source.integer:
            names = [n for n in INTEGER_KINDS if fits_rank(n, len(shape))]
            steps.append(PROPOSALS[pick(self.draw, names)](self.draw, [shape]))
            shape, run = self.apply(steps[0], shape, run)
        while len(steps) < length and usable(shape):
            step = self.pick_step([shape])
            if step is None:
                break
            steps.append(step)
            shape, run = self.apply(step, shape, run)
        return self.branch(source, steps or [dropout(self.draw, [shape])])

    def project(self, source: Tensor, units: int) -> Tensor:
        """Add a branch giving `source` a last axis of `units`."""
        return self.branch(source, [{"type": "Dense", "units": units}])

    # Shared layers.

    def shared_layer(self) -> None:
        draw = self.draw
        kind = pick(draw, SHARED_KINDS)
        if kind == "Embedding":
            candidates = [t for t in self.pool if t.integer]
        else:
            candidates = [t for t in self.usable() if fits_rank(kind, len(t.shape))]
        if not candidates:
            return
        first = pick(draw, candidates)
        others = [t for t in candidates if len(t.shape) == len(first.shape)]
        uses = [first, *draw(st.lists(st.sampled_from(others), min_size=1, max_size=2))]
        # A Dense in front of a use gives it the first use's last axis, which most kinds are built on.
        adapt = [not t.integer and t.shape[-1] != first.shape[-1] for t in uses]
        shapes = [(*t.shape[:-1], first.shape[-1]) if not t.integer else t.shape for t in uses]
        if kind == "Embedding":
            step = embedding(draw, shapes)
        else:
            step = self.pick_step(shapes, [kind])
            if step is None:
                return
        name = self.fresh("s")
        self.doc["shared"][name] = step
        for tensor, adapted in zip(uses, adapt, strict=True):
            steps = [{"type": "Dense", "units": first.shape[-1]}] if adapted else []
            self.branch(tensor, [*steps, {"shared": name}])

    # Merges of every kind.

    def random_merge(self) -> None:
        draw = self.draw
        for _ in range(4):
            kind = pick(draw, MERGE_KINDS)
            make = self.merge_elementwise if kind in ELEMENTWISE else getattr(self, "merge_" + kind.lower())
            if make(kind) is not None:
                return
        base = pick(draw, self.usable())
        self.merge("Concatenate", [base, base])

    def keeps_invariant(self, kind: str, sources: list[Tensor], params: dict) -> bool:
        shape = infer({"type": kind, **params}, [s.shape for s in sources])
        return shape is None or usable(shape)

    def merge_elementwise(self, kind: str):
        draw = self.draw
        base = pick(draw, self.usable())
        count = 2 if kind == "Subtract" else draw(st.integers(1, 3))
        sources, merged = [base], base.shape[1:]
        for _ in range(count - 1):
            fitting = [t for t in self.usable() if broadcast(merged, t.shape[1:]) is not None]
            way = pick(draw, ["pool", "same", "one"])
            if way == "pool":
                other = pick(draw, fitting)  # never empty: base itself fits
            else:
                other = self.project(base, base.shape[-1] if way == "same" else 1)
            sources.append(other)
            merged = broadcast(merged, other.shape[1:])
        return self.merge(kind, sources)

    def merge_concatenate(self, kind: str):
        draw = self.draw
        base = pick(draw, self.usable())
        rank = len(base.shape)
        axis = draw(st.integers(1, rank - 1))

        def fits(t: Tensor) -> bool:
            # Keras compares every other axis, ignoring unknown sizes.
            return len(t.shape) == rank and all(
                a == b or not known(a) or not known(b)
                for i, (a, b) in enumerate(zip(base.shape, t.shape, strict=True))
                if i not in (0, axis)
            )

        sources = [base]
        for _ in range(draw(st.integers(1, 2))):
            way = pick(draw, ["pool", "grow"])
            if way == "grow" and axis == rank - 1:
                sources.append(self.project(base, draw(st.integers(1, 6))))
            elif way == "grow" and rank == 3 and axis == 1:
                grow = resize1d(pick(draw, ["UpSampling1D", "ZeroPadding1D"]))
                sources.append(self.branch(base, [grow(draw, [base.shape])]))
            else:
                sources.append(pick(draw, [t for t in self.usable() if fits(t)]))
        written = axis if draw(st.booleans()) else axis - rank
        return self.merge("Concatenate", sources, **({"axis": written} if written != -1 else {}))

    def merge_dot(self, kind: str):
        draw = self.draw
        firsts = [t for t in self.usable((2, 3)) if any(known(d) for d in t.shape[1:])]
        if not firsts:
            return None
        first = pick(draw, firsts)
        axis = pick(draw, [a for a in range(1, len(first.shape)) if known(first.shape[a])])
        size = first.shape[axis]
        if draw(st.booleans()):
            second, other_axis = first, axis
        else:
            second = self.project(pick(draw, self.usable((2, 3))), size)
            other_axis = len(second.shape) - 1
        if other_axis == axis and draw(st.booleans()):
            # One negative axis counts from the end of each input: the same axis only at the same rank.
            same_rank = len(second.shape) == len(first.shape)
            axes = axis - len(first.shape) if same_rank and draw(st.booleans()) else axis
        else:
            axes = [axis, other_axis]
        params = {"axes": axes} | some(draw, {"normalize": st.booleans()})
        if not self.keeps_invariant("Dot", [first, second], params):
            return None
        return self.merge("Dot", [first, second], **params)

    def merge_attention(self, kind: str):
        draw = self.draw
        queries = self.usable((3, 3))
        if not queries:
            return None
        query = pick(draw, queries)
        value = pick(draw, queries)
        options = {"use_scale": st.booleans(), "score_mode": st.sampled_from(["dot", "concat"])}
        if draw(st.booleans()):
            # A key made from the value: as long as the value, with the query's last axis.
            key = self.project(value, query.shape[-1])
            return self.merge(kind, [query, value, key], **some(draw, options))
        if value.shape[-1] != query.shape[-1]:
            value = self.project(value, query.shape[-1])
        return self.merge(kind, [query, value], **some(draw, options))

    def merge_multiheadattention(self, kind: str):
        draw = self.draw
        # Query and value of one rank, 3 or 4: Keras fails to run other ranks.
        queries = self.usable((3, 4))
        if not queries:
            return None
        query = pick(draw, queries)
        rank = len(query.shape)
        output_shape = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1, max_size=2))
        options = {"value_dim": st.integers(1, 4), "use_bias": st.booleans(), "output_shape": output_shape}
        params = {"num_heads": draw(st.integers(1, 3)), "key_dim": draw(st.integers(1, 4))}
        params |= some(draw, options)
        unattended: list[int] = []
        if rank == 4 and draw(st.booleans()):
            axes = params["attention_axes"] = pick(draw, [1, 2, [1], [-2], [1, 2]])
            attended = {a % rank for a in (axes if isinstance(axes, list) else [axes])}
            unattended = [a for a in (1, 2) if a not in attended]
        fitting = [t for t in queries if len(t.shape) == rank and all(unattended_fit(query, t, unattended))]
        value = pick(draw, fitting)  # the query itself always fits
        sources = [query, value]
        if draw(st.booleans()):
            sources.append(self.project(value, draw(st.integers(1, 6))))
        if not self.keeps_invariant(kind, sources, params):
            return None
        return self.merge(kind, sources, **params)

    # Outputs.

    def finish(self) -> None:
        """Route every tensor nothing reads to one of 1-3 outputs, so that every layer is in the model."""
        draw = self.draw
        leaves = [t for t in self.pool if t.name not in self.consumed]
        for tensor in [t for t in leaves if not usable(t.shape)]:
            self.output(tensor, [])
        leaves = [t for t in leaves if usable(t.shape)]
        if not leaves:
            return
        order = draw(st.permutations(leaves))
        count = draw(st.integers(1, min(3, len(order))))
        cuts = []
        if count > 1:
            positions = st.sets(st.integers(1, len(order) - 1), min_size=count - 1, max_size=count - 1)
            cuts = sorted(draw(positions))
        for group in (order[i:j] for i, j in zip([0, *cuts], [*cuts, len(order)], strict=True)):
            if len(group) == 1:
                source = group[0]
            else:
                vectors = []
                for tensor in group:
                    step = reducer(draw, tensor.shape)
                    vectors.append(tensor if step is None else self.branch(tensor, [step]))
                source = self.merge("Concatenate", vectors)
            self.output(source, self.head(source.shape))

    def head(self, shape: Shape) -> list[dict]:
        draw = self.draw
        way = pick(draw, ["dense", "none", "reduce"])
        if way == "none":
            return []
        dense_step = {"type": "Dense", "units": draw(st.integers(1, 4))} | some(
            draw, {"activation": st.sampled_from(["sigmoid", "softmax", "linear", None])}
        )
        step = reducer(draw, shape) if way == "reduce" else None
        return [dense_step] if step is None else [step, dense_step]

    def output(self, source: Tensor, steps: list[dict]) -> None:
        draw = self.draw
        shape, run = source.shape, source.run
        for step in steps:
            shape, run = self.apply(step, shape, run)
        name = self.fresh("out")
        entry = {"from": source.name} | ({"layers": steps} if steps or draw(st.booleans()) else {})
        entry["loss"] = pick(draw, LOSSES)
        entry |= some(draw, {"loss_weight": st.sampled_from([0.5, 1.0]), "metrics": st.just(["mae"])})
        self.doc["outputs"][name] = entry
        self.consumed.add(source.name)
        self.output_runs[name] = run
        if run is None:
            self.runnable = False

    def result(self, expected: str | None = None, probe: str = "") -> Generated:
        doc = {key: value for key, value in self.doc.items() if value}
        if self.draw(st.booleans()):
            doc["compile"] = {"optimizer": pick(self.draw, ["adam", "sgd", "rmsprop"])}
        return Generated(doc, self.runnable, dict(self.output_runs), expected, probe)


@st.composite
def valid_specs(draw) -> Generated:
    """Draw a document Keras accepts: inputs, chains, shared layers, merges and outputs."""
    builder = Builder(draw, unknown=True)
    # The first input is a float one, so that merges always find a tensor to read.
    count = draw(st.integers(1, 4))
    inputs = [builder.add_input(integer=i > 0 and draw(st.integers(0, 2)) == 0) for i in range(count)]
    # Every input starts a chain, so that every input reaches an output.
    for tensor in inputs:
        builder.random_branch(tensor, draw(st.integers(1, 4)))
    for _ in range(draw(st.integers(0, 2))):
        builder.random_branch(pick(draw, builder.usable()), draw(st.integers(1, 4)))
    for _ in range(draw(st.integers(0, 2))):
        builder.shared_layer()
    for _ in range(draw(st.integers(1, 3))):
        builder.random_merge()
    builder.finish()
    return builder.result()


# --- Probes: one merge, shared use or step that is just valid or just invalid ---


@st.composite
def probe_specs(draw) -> Generated:
    """Draw a small model of known sizes plus one probe; `expected` says whether Keras must refuse it."""
    builder = Builder(draw, unknown=False)
    count = draw(st.integers(1, 3))
    inputs = [builder.add_input(integer=i > 0 and draw(st.integers(0, 3)) == 0) for i in range(count)]
    for tensor in inputs:
        builder.random_branch(tensor, draw(st.integers(1, 2)))
    code = pick(draw, ["MS301", "MS302", "MS303"])
    probe = {"MS301": merge_probe, "MS302": shared_probe, "MS303": step_probe}[code]
    valid, what = probe(draw, builder)
    builder.finish()
    return builder.result(None if valid else code, what)


def shaped(draw, builder: Builder, dims: list[int]) -> Tensor:
    """Add a branch from some tensor to exactly (batch, *dims): Flatten, Dense, Reshape."""
    source = pick(draw, builder.usable())
    steps = [] if len(source.shape) == 2 else [{"type": "Flatten"}]
    steps.append({"type": "Dense", "units": math.prod(dims)})
    if len(dims) > 1:
        steps.append({"type": "Reshape", "target_shape": dims})
    return builder.branch(source, steps)


def dims_of(draw, rank: int, low: int = 1, high: int = 6) -> list[int]:
    return draw(st.lists(st.integers(low, high), min_size=rank - 1, max_size=rank - 1))


def near(draw, size: int, low: int = 1) -> int:
    """Draw the same size, or (as often) a nearby one."""
    return size if draw(st.booleans()) else pick(draw, [size + 1] if size - 1 < low else [size - 1, size + 1])


def merge_probe(draw, builder: Builder) -> tuple[bool, str]:
    kind = pick(draw, MERGE_KINDS)
    if kind in ELEMENTWISE or kind == "Concatenate":
        rank = draw(st.integers(2, 4))
        first = shaped(draw, builder, dims_of(draw, rank, 1, 4))
        other_dims = list(first.shape[1:])
        changed = draw(st.integers(0, rank - 2))
        other_dims[changed] = near(draw, other_dims[changed])
        if draw(st.booleans()) and rank > 2:
            other_dims = other_dims[draw(st.integers(0, 1)) :]  # a lower rank, broadcast or refused
        second = shaped(draw, builder, other_dims)
        if kind == "Concatenate":
            axis = draw(st.integers(1, rank - 1))
            reduced = [list(t.shape) for t in (first, second)]
            for r in reduced:
                del r[axis if axis < len(r) else -1]
            valid = len(second.shape) == rank and reduced[0] == reduced[1]
            written = axis if draw(st.booleans()) else axis - rank
            builder.merge(kind, [first, second], axis=written)
            return valid, f"Concatenate axis {written} of {first.shape} and {second.shape}"
        builder.merge(kind, [first, second])
        valid = broadcast(first.shape[1:], second.shape[1:]) is not None
        return valid, f"{kind} of {first.shape} and {second.shape}"
    if kind == "Dot":
        first = shaped(draw, builder, dims_of(draw, draw(st.integers(2, 3))))
        second_dims = dims_of(draw, draw(st.integers(2, 3)))
        # Axes from the batch axis (0) to one past the last: both ends are invalid.
        axes = [draw(st.integers(0, len(first.shape))), draw(st.integers(0, len(second_dims) + 1))]
        if 0 < axes[0] < len(first.shape) and 0 < axes[1] <= len(second_dims):
            second_dims[axes[1] - 1] = near(draw, first.shape[axes[0]])
        second = shaped(draw, builder, second_dims)
        in_range = 0 < axes[0] < len(first.shape) and 0 < axes[1] < len(second.shape)
        valid = in_range and first.shape[axes[0]] == second.shape[axes[1]]
        builder.merge(kind, [first, second], axes=axes)
        return valid, f"Dot axes {axes} of {first.shape} and {second.shape}"
    query = shaped(draw, builder, dims_of(draw, 3))
    value = shaped(draw, builder, dims_of(draw, 3))
    if kind == "Attention":
        key_size = near(draw, query.shape[-1])
        if draw(st.booleans()):
            key = builder.project(value, key_size)
            builder.merge(kind, [query, value, key])
        else:
            value = builder.project(value, key_size)
            builder.merge(kind, [query, value])
        return key_size == query.shape[-1], f"Attention query {query.shape}, key size {key_size}"
    heads, key_dim = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        return attention_axes_probe(draw, builder, heads, key_dim)
    key = shaped(draw, builder, [near(draw, value.shape[1]), draw(st.integers(1, 6))])
    builder.merge(kind, [query, value, key], num_heads=heads, key_dim=key_dim)
    return key.shape[1] == value.shape[1], f"MultiHeadAttention value {value.shape}, key {key.shape}"


# Written attention_axes for rank-4 inputs, valid or not: Keras numbers them in the projected tensors
# (batch, steps, steps, heads, channels), so -1 is the heads axis and 4 the channels.
ATTENTION_AXES = [1, 2, [1], [-2], [1, 2], [2, 1], 0, 3, -1, -3, 4, -5, [], [1, 1], [2, -2], [0, 1, 2]]


def attention_axes_probe(draw, builder: Builder, heads: int, key_dim: int) -> tuple[bool, str]:
    """MultiHeadAttention of rank-4 inputs over some axes; the others must agree as batch axes."""
    query = shaped(draw, builder, dims_of(draw, 4, 1, 4))
    steps = [near(draw, query.shape[1]), near(draw, query.shape[2])]
    value = shaped(draw, builder, [*steps, draw(st.integers(1, 4))])
    axes = pick(draw, ATTENTION_AXES)
    written = axes if isinstance(axes, list) else [axes]
    attended = [a if a >= 0 else 4 + a for a in written]
    valid = bool(attended) and all(0 <= a < 4 for a in attended) and len(set(attended)) == len(attended)
    valid = valid and all(query.shape[a] == value.shape[a] for a in (1, 2) if a not in attended)
    builder.merge("MultiHeadAttention", [query, value], num_heads=heads, key_dim=key_dim, attention_axes=axes)
    return valid, f"MultiHeadAttention attention_axes {axes} of {query.shape} and {value.shape}"


# Shared kinds probed with a second use of another size on the axis the layer is built on (the last).
PROBE_SHARED = ["Dense", "Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "SimpleRNN", "LSTM", "GRU",
                "Bidirectional", "TimeDistributed", "BatchNormalization", "LayerNormalization"]  # fmt: skip


def shared_probe(draw, builder: Builder) -> tuple[bool, str]:
    kind = pick(draw, PROBE_SHARED)
    low, high = RANKS[kind]
    rank = draw(st.integers(low, min(high, 4)))
    # Sizes from 2: a shared LayerNormalization built on size 1 is refused on purpose (DELIBERATE_SHARED).
    first = shaped(draw, builder, dims_of(draw, rank, 2, 6))
    size = near(draw, first.shape[-1], low=2)
    second = shaped(draw, builder, [*dims_of(draw, rank - 1, 2, 6), size] if rank > 2 else [size])
    if kind == "TimeDistributed":
        # A wrapped layer without weights takes any size, and a wrapped convolution fed more channels
        # runs as a grouped one (deliberate in mspec, see DELIBERATE_SHARED in test_layers_vs_keras.py).
        step = {"type": kind, "layer": dense(draw, [])}
    else:
        # The step fits both uses everywhere but on the last axis, where the layer is built.
        shapes = [first.shape, (*second.shape[:-1], first.shape[-1])]
        step = builder.pick_step(shapes, [kind], plain=True) or {"type": "Dense", "units": 2}
        # Grouped channels would make another channel count a step error (MS303) before a clash.
        step.pop("groups", None)
        if step.get("center") is False and step.get("scale") is False and kind == "LayerNormalization":
            del step["scale"]  # without weights a LayerNormalization takes any size: no clash to probe
    name = builder.fresh("s")
    builder.doc["shared"][name] = step
    builder.branch(first, [{"shared": name}])
    builder.branch(second, [{"shared": name}])
    return size == first.shape[-1], f"shared {step} on {first.shape} then {second.shape}"


def step_probe(draw, builder: Builder) -> tuple[bool, str]:
    way = pick(draw, ["window", "rank", "reshape", "axis", "groups"])
    if way == "window":
        name = pick(draw, ["Conv1D", "Conv2D", "DepthwiseConv1D", "MaxPooling1D", "AveragePooling2D",
                           "Cropping1D", "Cropping2D"])  # fmt: skip
        spatial = 2 if name.endswith("2D") else 1
        source = shaped(draw, builder, dims_of(draw, spatial + 2, 1, 5))
        sizes = source.shape[1:-1]
        windows = [near(draw, n, low=1) for n in sizes]
        if name.startswith("Cropping"):
            # Remove `window` positions: at least one must be left.
            cropping = [[w // 2, w - w // 2] for w in windows]
            step = {"type": name, "cropping": cropping[0] if spatial == 1 else cropping}
            valid = all(w < n for w, n in zip(windows, sizes, strict=True))
        else:
            key = "kernel_size" if name.startswith(("Conv", "Depthwise")) else "pool_size"
            step = {"type": name, key: windows} | ({"filters": 2} if name.startswith("Conv") else {})
            valid = all(w <= n for w, n in zip(windows, sizes, strict=True))
    elif way == "rank":
        name = pick(draw, ["Conv1D", "Conv2D", "LSTM", "GRU", "RepeatVector", "GlobalMaxPooling1D",
                           "GlobalAveragePooling2D", "UpSampling1D", "ZeroPadding2D", "Bidirectional",
                           "TimeDistributed", "SpatialDropout1D", "MaxPooling1D"])  # fmt: skip
        low, high = RANKS[name]
        rank = pick(draw, sorted({max(2, low - 1), low, high, min(5, high + 1)}))
        source = shaped(draw, builder, dims_of(draw, rank, 3, 4))
        step = {
            "Conv1D": {"type": "Conv1D", "filters": 2, "kernel_size": 1},
            "Conv2D": {"type": "Conv2D", "filters": 2, "kernel_size": 1},
            "LSTM": {"type": "LSTM", "units": 2},
            "GRU": {"type": "GRU", "units": 2},
            "Bidirectional": {"type": "Bidirectional", "layer": {"type": "SimpleRNN", "units": 2}},
            "TimeDistributed": {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}},
            "RepeatVector": {"type": "RepeatVector", "n": 2},
            "SpatialDropout1D": {"type": "SpatialDropout1D", "rate": 0.5},
        }.get(name, {"type": name})
        valid = low <= rank <= high
    elif way == "reshape":
        source = shaped(draw, builder, dims_of(draw, draw(st.integers(2, 4)), 1, 4))
        total = math.prod(source.shape[1:])
        target = factorize(draw, near(draw, total), draw(st.integers(1, 3)))
        step = {"type": "Reshape", "target_shape": target}
        valid = math.prod(target) == total
    elif way == "axis":
        rank = draw(st.integers(2, 4))
        source = shaped(draw, builder, dims_of(draw, rank))
        axis = draw(st.integers(-rank - 1, rank))
        name = pick(draw, ["BatchNormalization", "LayerNormalization"])
        step = {"type": name, "axis": axis}
        valid = -rank <= axis < rank and axis % rank != 0  # in range, and not the batch axis
    else:
        name = pick(draw, ["Conv1D", "Conv2D"])
        source = shaped(draw, builder, [*dims_of(draw, 2 if name == "Conv1D" else 3, 2, 4),
                                        draw(st.integers(1, 6))])  # fmt: skip
        groups = draw(st.integers(2, 3))
        step = {"type": name, "filters": 2 * groups, "kernel_size": 1, "groups": groups}
        valid = source.shape[-1] % groups == 0
    builder.branch(source, [step])
    return valid, f"{step} on {source.shape}"
