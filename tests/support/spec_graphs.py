"""Hypothesis strategies for whole spec documents that Keras accepts, and how they are assembled.

`valid_specs()` draws documents that Keras accepts: 1-4 inputs (float, or
int32 ones read by an Embedding or a CategoryEncoding), chains of 1-4 layers,
shared layers used 2-3 times, merges of every kind and 1-3 outputs with
losses. While a document is drawn, every tensor's shape is tracked: its
static shape (batch first, with unknown and named sizes) and the concrete
shape it has on a forward pass (batch 2, unknown sizes 3). Each step is drawn
for the current shape by its kind's strategy (`support.layer_strategies`,
fitted to the shape); the shape a step produces is then read from mspec's own
registry rules, as the test compares those with Keras afterwards anyway.

Two invariants keep the choice of steps simple: every tensor other than an
integer input has a known last (feature) axis and a rank of 2 to 5. A step
or merge whose output would break them is drawn again.

`support.spec_probes` builds on the same `Builder` for documents with one
probe that is just valid or just invalid.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from mspec.diagnostics.selection import Selection, codes
from mspec.layers import ShapeError
from mspec.layers.call import make_call

from support.keras_oracle import RUN_BATCH, RUN_SIZE
from support.layer_strategies import KINDS
from support.layer_strategies.core import INTEGER_KINDS
from support.layer_strategies.drawing import Shape, all_known, known, pick, some
from support.layer_strategies.merge import KINDS as MERGES

# Random heads pair any loss with any activation: a training hazard (MS7xx: softmax on one unit,
# a sigmoid with categorical cross-entropy ...) says the model trains badly, not that Keras cannot
# build it. The differential tests judge structure, so they check drawn specs with these off.
STRUCTURE_ONLY = Selection(ignore=codes(["MS7"]))

# Loosely bounded tensors: a Flatten and a Dense on more values than this make slow, heavy models.
MAX_VALUES = 4096
LOSSES = ["mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy", "cosine_similarity"]
DIM_NAMES = ["T", "S"]

# Kinds a chain draws from (integer inputs start with one of INTEGER_KINDS), and kinds of shared layers.
CHAIN_KINDS = [name for name, kind in KINDS.items() if kind.step is not None and name not in INTEGER_KINDS]
SHARED_KINDS = ["Dense", "Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "SimpleRNN", "LSTM",
                "GRU", "Bidirectional", "TimeDistributed", "BatchNormalization", "LayerNormalization",
                "Embedding"]  # fmt: skip


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


def concrete(shape: Shape) -> Shape:
    """Return the shape on a forward pass: batch RUN_BATCH, every unknown or named size RUN_SIZE."""
    return (RUN_BATCH, *(d if known(d) else RUN_SIZE for d in shape[1:]))


def usable(shape: Shape | None) -> bool:
    """Tell whether later steps may read this shape: rank 2-5, a known last axis, not too many values."""
    if shape is None or not 2 <= len(shape) <= 5 or not known(shape[-1]):
        return False
    return math.prod(d for d in shape[1:] if known(d)) <= MAX_VALUES


def fits_rank(name: str, rank: int) -> bool:
    return KINDS[name].fits_rank(rank)


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
            step = KINDS[pick(self.draw, names)].step(self.draw, shapes, fit=True, plain=plain)
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
            steps.append(KINDS[pick(self.draw, names)].step(self.draw, [shape], fit=True))
            shape, run = self.apply(steps[0], shape, run)
        while len(steps) < length and usable(shape):
            step = self.pick_step([shape])
            if step is None:
                break
            steps.append(step)
            shape, run = self.apply(step, shape, run)
        return self.branch(source, steps or [KINDS["Dropout"].step(self.draw, [shape], fit=True)])

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
            step = KINDS["Embedding"].step(draw, shapes, fit=True)
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
            kind = pick(draw, list(MERGES))
            if MERGES[kind].join(self, kind) is not None:
                return
        base = pick(draw, self.usable())
        self.merge("Concatenate", [base, base])

    def keeps_invariant(self, kind: str, sources: list[Tensor], params: dict) -> bool:
        shape = infer({"type": kind, **params}, [s.shape for s in sources])
        return shape is None or usable(shape)

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
