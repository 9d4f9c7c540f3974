"""Differential tests: every registered layer kind against Keras itself.

For each case, Keras (through `keras_oracle`) is the ground truth: mspec must
refuse exactly what Keras refuses, and where both accept, give the same output
shape (named dimensions compared as None, as Keras sees them) and the same
`count_params()`. A refusal on the mspec side is a pydantic ValidationError
(bad parameters) or a ShapeError (bad input shapes); on the Keras side, any
exception from the constructor or the symbolic call.

Some mistakes pass Keras' symbolic call and only fail when the layer runs
(Attention with a key whose length differs from the value's, Concatenate
after Keras' lenient build check, a shared recurrent layer fed another
feature size). For those, build-time acceptance is not the ground truth: the
case is marked `run`, and the layer is also called on arrays (ones, or zeros
for integer inputs; batch 2, other unknown sizes 3, see
`keras_oracle.concrete_shape`). Such cases use known sizes only, so that the
concrete sizes cannot clash.

The oracle puts every Keras outcome in one of three classes
(`keras_oracle.Verdict`, described there):

* refused while building: Keras' own shape and argument checks, the same on
  every backend. Keras refuses.
* refused while running on every backend: the run fails (or contradicts the
  declared shape) here, on TensorFlow with oneDNN switched the other way, and
  on JAX. Keras refuses.
* a kernel limitation: the run fails here but works elsewhere (TensorFlow's
  CPU kernels without oneDNN refuse channels_first and dilated transposed
  convolutions, for one). Keras accepts: mspec must accept too, and warn
  (MS305, `mspec.graph.passes.portability`), which the run cases check.

So the truth does not depend on the host CPU. Cases that run are marked
`kernels`: `make test` runs them a second time under the oneDNN setting
that is not the machine's default.

Where mspec and Keras part ways, the cases say so: `DELIBERATE` and
`DELIBERATE_SHARED` list what mspec refuses on purpose (with the reason), and
`bug()` marks disagreements in modules this file does not own as strict
xfails, which fail once fixed so that the mark gets removed. Generated cases
stay clear of both, as the comments in the strategies say.

MSPEC_DIFF_EXAMPLES sets the number of generated cases per kind (default 15).
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field

import pytest

pytest.importorskip("keras")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mspec.graph.passes.portability import limitations
from mspec.layers import KIND_MODULES, REGISTRY, Shape, ShapeError
from mspec.layers.call import make_call

from keras_oracle import KerasResult, Verdict, keras_apply, keras_shared, onednn_enabled

pytestmark = [
    pytest.mark.keras,
    # Generated attention cases may score over a single key: Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

EXAMPLES = int(os.environ.get("MSPEC_DIFF_EXAMPLES", "15"))
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


# --- The mspec side ---------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    shape: Shape | None
    count: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def as_keras(shape: Shape) -> tuple:
    """Forget dimension names: Keras only has sizes and None."""
    return tuple(d if isinstance(d, int) else None for d in shape)


def _shape_error(error: ShapeError, n_inputs: int) -> str:
    # Messages are format strings naming inputs {0}, {1}...: they must format cleanly.
    text = error.message.format(*(f"<input {i}>" for i in range(n_inputs)))
    return f"ShapeError: {text}"


def mspec_apply(step: dict, shapes: list[Shape]) -> Outcome:
    """Validate the step and infer its output shape and weight count, as the compiler does."""
    try:
        call = make_call(step)
    except ValidationError as error:
        return Outcome(None, None, f"ValidationError: {error}")
    kind = call.kind
    if len(shapes) < kind.min_inputs or (kind.max_inputs is not None and len(shapes) > kind.max_inputs):
        return Outcome(None, None, f"{kind.name} cannot take {len(shapes)} inputs")
    try:
        shape = kind.output_shape(call.params, shapes)
    except ShapeError as error:
        return Outcome(None, None, _shape_error(error, len(shapes)))
    return Outcome(shape, kind.param_count(call.params, shapes))


def mspec_shared(step: dict, shapes: list[Shape]) -> Outcome:
    """Use one layer on each shape in turn: every use must fit the sizes fixed by the first one."""
    try:
        call = make_call(step)
    except ValidationError as error:
        return Outcome(None, None, f"ValidationError: {error}")
    kind, params = call.kind, call.params
    fixed: dict = {}
    shape = None
    for use, input_shape in enumerate(shapes):
        try:
            shape = kind.output_shape(params, [input_shape])
        except ShapeError as error:
            return Outcome(None, None, f"use {use}: {_shape_error(error, 1)}")
        if kind.build_rank and len(input_shape) != len(shapes[0]):
            return Outcome(
                None, None, f"use {use}: rank {len(input_shape)}, first built with {len(shapes[0])}"
            )
        for key, size in kind.build_axes(params, [input_shape]).items():
            first = fixed.setdefault(key, size)
            if isinstance(first, int) and isinstance(size, int) and first != size:
                return Outcome(None, None, f"use {use}: size {size} on {key}, first built with {first}")
    return Outcome(shape, kind.param_count(params, [shapes[0]]))


def check_agreement(step: dict, shapes: list[Shape], truth: KerasResult, mine: Outcome) -> None:
    """Assert that mspec accepts exactly when Keras does, with Keras' shape and count."""
    where = f"{step} on {shapes}"
    if not truth.ok:
        assert not mine.ok, f"Keras refuses {where} ({truth.error}) but mspec gives {mine.shape}"
        return
    assert mine.ok, f"Keras accepts {where} giving {truth.output_shape}, but mspec refuses: {mine.error}"
    assert as_keras(mine.shape) == truth.output_shape, (
        f"{where}: mspec {mine.shape}, Keras {truth.output_shape}"
    )
    assert mine.count == truth.param_count, f"{where}: mspec counts {mine.count}, Keras {truth.param_count}"


def check_portability(step: dict, shapes: list, mine, truth: KerasResult, *, run: bool) -> None:
    """A kernel limitation must be one mspec warns about, and a warning must name a real one."""
    try:
        warned = list(limitations(make_call(step), shapes if mine.ok else None))
    except ValidationError:
        return
    if truth.verdict is Verdict.KERNEL:
        where = ", ".join(truth.runs_on)
        assert warned, f"{step} runs only on {where} ({truth.error}), but mspec gives no MS305"
    elif warned and run and truth.ok and not onednn_enabled():
        # Without oneDNN every MS305 limitation shows: the warning must not be a false alarm.
        assert truth.verdict is Verdict.KERNEL, f"{step} runs here, yet mspec warns: {warned[0][0]}"


def compare(step: dict, shapes: list[Shape], *, run: bool = False) -> KerasResult:
    truth = keras_apply(step, [as_keras(s) for s in shapes], run=run)
    mine = mspec_apply(step, shapes)
    check_agreement(step, shapes, truth, mine)
    check_portability(step, shapes, mine, truth, run=run)
    return truth


# --- Explicit cases ---------------------------------------------------------


@dataclass(frozen=True)
class Case:
    step: dict
    shapes: list
    accepted: bool  # what Keras does: guards the case against drifting away from its purpose
    run: bool = False
    marks: tuple = field(default=())


def ok(step: dict, *shapes, run: bool = False) -> Case:
    return Case(step, list(shapes), True, run)


def no(step: dict, *shapes, run: bool = False) -> Case:
    return Case(step, list(shapes), False, run)


def bug(reason: str, case: Case) -> Case:
    """A known disagreement in a module this file does not own: expected to fail until fixed."""
    return Case(
        case.step, case.shapes, case.accepted, case.run, (pytest.mark.xfail(reason=reason, strict=True),)
    )


def param(case: Case, *values):
    """A pytest parameter for a case: marked `kernels` when it runs, as its outcome may depend on them."""
    marks = case.marks + ((pytest.mark.kernels,) if case.run else ())
    return pytest.param(*values, case, id=_case_id(case), marks=marks)


def L(type_: str, **params) -> dict:
    return {"type": type_, **params}


N = None  # unknown size, as Keras prints it

CORE_CASES = [
    ok(L("Dense", units=3), (N, 4)),
    ok(L("Dense", units=3, use_bias=False, activation="relu"), (N, "T", 5)),
    ok(L("Dense", units=2), (7, 2, 3, 4)),
    no(L("Dense", units=3), (N, N)),
    no(L("Dense", units=3), (N,)),
    no(L("Dense", units=0), (N, 4)),
    ok(L("Activation", activation="softmax"), (N, 3, 4)),
    ok(L("Activation", activation=None), (N,)),
    no(L("Activation", activation="nope"), (N, 3)),
    no(L("Activation", activation="glu"), (N, 3), run=True),
    no(L("Activation", activation="glu"), (N, 4), run=True),
    # As a layer's own activation, glu halves what runs but not what Keras declares.
    no(L("Dense", units=8, activation="glu"), (N, 4), run=True),
    no(L("Conv1D", filters=4, kernel_size=2, activation="glu"), (N, 5, 3), run=True),
    no(L("LSTM", units=4, recurrent_activation="glu"), (N, 5, 3), run=True),
    no(L("SimpleRNN", units=4, activation="glu"), (N, 5, 3), run=True),
    ok(L("Dropout", rate=0.5), (N, 3, 4)),
    ok(L("Dropout", rate=0.5, noise_shape=[N, 1, 4]), (N, 3, 4), run=True),
    no(L("Dropout", rate=1.5), (N, 3)),
    ok(L("SpatialDropout1D", rate=0.2), (N, "T", 4)),
    no(L("SpatialDropout1D", rate=0.2), (N, 4)),
    ok(L("GaussianNoise", stddev=0.3), (N, 4)),
    no(L("GaussianNoise", stddev=2.0), (N, 4)),
    ok(L("GaussianDropout", rate=0.3), (N, 4)),
    no(L("GaussianDropout", rate=1.3), (N, 4)),
    ok(L("Rescaling", scale=1 / 255, offset=-1.0), (N, 8, 8, 3)),
    ok(L("Identity"), (N, "T", 3)),
    ok(L("Flatten"), (N, 3, 4)),
    ok(L("Flatten"), (N, 3, N)),
    ok(L("Flatten"), (N,)),
    no(L("Flatten", data_format="channels_middle"), (N, 3)),
    ok(L("Flatten", data_format="channels_first"), (N, 2, 3, 4)),
    ok(L("Reshape", target_shape=[-1, 2]), (N, 3, 4)),
    ok(L("Reshape", target_shape=[4, 3]), (N, N, 4)),
    ok(L("Reshape", target_shape=[-1, 5]), (N, N, 4)),
    no(L("Reshape", target_shape=[-1, 5]), (N, 3, 4)),
    no(L("Reshape", target_shape=[5, 3]), (N, 3, 4)),
    no(L("Reshape", target_shape=[-1, -1]), (N, 3, 4)),
    ok(L("Permute", dims=[2, 1]), (N, 3, 4)),
    ok(L("Permute", dims=[3, 1, 2]), (N, "T", 4, 5)),
    no(L("Permute", dims=[2, 1]), (N, 3, 4, 5)),
    no(L("Permute", dims=[1, 3]), (N, 3, 4)),
    ok(L("RepeatVector", n=3), (N, 4)),
    no(L("RepeatVector", n=3), (N, 4, 2)),
    ok(L("Embedding", input_dim=10, output_dim=3), (N, 4)),
    ok(L("Embedding", input_dim=10, output_dim=3, mask_zero=True), (N,)),
    ok(L("Embedding", input_dim=10, output_dim=3), (N, "T", 2)),
    no(L("Embedding", input_dim=0, output_dim=3), (N, 4)),
    ok(L("CategoryEncoding", num_tokens=5), (N,)),
    ok(L("CategoryEncoding", num_tokens=5), (N, 3)),
    ok(L("CategoryEncoding", num_tokens=5, output_mode="count"), (N, 1)),
    ok(L("CategoryEncoding", num_tokens=5, output_mode="one_hot"), (N, 1)),
    ok(L("CategoryEncoding", num_tokens=5, output_mode="one_hot"), (N, 3, 2)),
    ok(L("CategoryEncoding", num_tokens=5, output_mode="one_hot"), (N,)),
    no(L("CategoryEncoding", num_tokens=5), (N, 3, 2), run=True),
    no(L("CategoryEncoding", num_tokens=5, output_mode="count"), (N, 2, 3, 1), run=True),
    ok(L("BatchNormalization"), (N, 4)),
    ok(L("BatchNormalization", axis=1, center=False), (N, 3, 4)),
    ok(L("BatchNormalization", axis=-2, scale=False, center=False), (N, 3, 4)),
    no(L("BatchNormalization"), (N, N)),
    no(L("BatchNormalization", axis=3), (N, 3, 4)),
    ok(L("LayerNormalization"), (N, "T", 4)),
    ok(L("LayerNormalization", axis=[1, 2]), (N, 3, 4)),
    no(L("LayerNormalization"), (N, N)),
    ok(L("LayerNormalization", center=False, scale=False), (N, N)),
    no(L("LayerNormalization", axis=3), (N, 3, 4)),
    no(L("LayerNormalization", axis=[1, -2]), (N, 3, 4), run=True),
    no(L("LayerNormalization", axis=[2, 2], center=False, scale=False), (N, 3, 4), run=True),
    ok(L("LayerNormalization", axis=0), (5, 3), run=True),
    no(L("LayerNormalization", axis=0), (N, 3)),
    ok(L("Normalization"), (N, 4)),
    ok(L("Normalization", axis=None), (N, 4)),
    ok(L("Normalization", axis=[1, 2]), (N, 4, 3)),
    ok(L("Normalization", mean=0.5, variance=2.0), (N, 4)),
    ok(L("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0]), (N, 3)),
    no(L("Normalization"), (N, N)),
    no(L("Normalization", axis=2), (N, 4)),
    no(L("Normalization", mean=0.5), (N, 4)),
    ok(L("Normalization", axis=0), (5, 4), run=True),
    no(L("Normalization", axis=[1, -1]), (N, 2)),
    no(L("Normalization", mean=0.5, variance=2.0), (N, N)),
    no(L("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0]), (N, 4)),
    no(L("Normalization", mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 1.0, 1.0]), (N, 4)),
    no(L("Normalization", mean=[0.5], variance=2.0), (N, 4)),
    no(L("Normalization", axis=None, mean=[0.5], variance=[2.0]), (N, 4)),
    ok(L("Normalization", mean=[0.5], variance=[2.0]), (N, 4), run=True),
    ok(L("Normalization", axis=[1, 2], mean=[0.0, 1.0], variance=[1.0, 1.0]), (N, 3, 2), run=True),
    no(L("Normalization", axis=[1, 2], mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0]), (N, 3, 2)),
    ok(L("Normalization", axis=[1, -1], mean=0.5, variance=2.0), (N, 2), run=True),
    ok(L("Normalization", axis=None, mean=0.5, variance=2.0), (N, N)),
    no(L("Normalization", axis=0), (N, 4)),
]  # fmt: skip

MERGE_CASES = [
    ok(L("Add"), (N, 4), (N, 4)),
    ok(L("Add"), (N, 4)),
    ok(L("Add"), (N, 4), (N, 1), (N, 3, 4)),
    ok(L("Add"), (N, "T", 4), (N, "T", 4)),
    ok(L("Add"), (N, N), (N, 4)),
    no(L("Add"), (N, 4), (N, 3)),
    no(L("Add"), (2, 4), (3, 4)),
    ok(L("Add"), (N, 4), (3, 4)),
    ok(L("Maximum"), (N, 4), (N, 1), (2, 4), run=True),
    ok(L("Subtract"), (N, 4), (N, 4)),
    no(L("Subtract"), (N, 4), (N, 4), (N, 4)),
    no(L("Subtract"), (N, 4)),
    ok(L("Multiply"), (N, 4, 1), (N, 1, 3)),
    no(L("Multiply"), (N, 4, 2), (N, 4, 3)),
    ok(L("Average"), (N, 5), (N, 5), (N, 5)),
    no(L("Average"), (N, 5), (N, 5), (N, 4)),
    ok(L("Maximum"), (N, 2, 3), (N, 2, 3)),
    no(L("Maximum"), (N, 2, 3), (N, 2, 2)),
    ok(L("Minimum"), (N, 2, 3), (N, 1, 3)),
    no(L("Minimum"), (N, 2, 3), (N, 3, 3)),
    ok(L("Concatenate"), (N, 4), (N, 3), run=True),
    ok(L("Concatenate"), (N, 4)),
    ok(L("Concatenate", axis=1), (N, 4, 2), (N, 3, 2), run=True),
    ok(L("Concatenate", axis=1), (N, 4, 2), (N, "T", 2)),
    ok(L("Concatenate", axis=-1), (N, 4, 2), (N, 4, 3), (N, 4, 1), run=True),
    no(L("Concatenate"), (N, 4, 2), (N, 3)),
    no(L("Concatenate"), (N, 4, 2), (N, 3, 2), run=True),
    no(L("Concatenate", axis=1), (N, 4, 1), (N, 3, 2), run=True),
    no(L("Concatenate", axis=2), (N, 4), (N, 3)),
    no(L("Concatenate", axis=-1), (2, 4), (3, 3)),
    ok(L("Dot", axes=1), (N, 4), (N, 4), run=True),
    ok(L("Dot", axes=[2, 1]), (N, 3, 4), (N, 4, 5), run=True),
    ok(L("Dot", axes=[-1, -2]), (N, 3, 4), (N, 4, 5), run=True),
    ok(L("Dot", axes=-1, normalize=True), (N, 4), (N, 3, 4), run=True),
    ok(L("Dot", axes=1), (N, N), (N, N)),
    no(L("Dot", axes=1), (N, 4), (N, 3)),
    no(L("Dot", axes=0), (N, 3), (N, 3), run=True),
    no(L("Dot", axes=[1, 2, 3]), (N, 3), (N, 3)),
    no(L("Dot", axes=[1, 3]), (N, 1), (N, 1)),
    no(L("Dot", axes=1), (N, 3), (N, 3), (N, 3)),
    no(L("Dot", axes=1), (N, 4), (N, N)),
    ok(L("Dot", axes=1), (N, "T"), (N, "S")),
    ok(L("Dot", axes=[-1, -1]), (N, 2, 4), (N, 4), run=True),
    ok(L("Dot", axes=-5), (N, 2, 4), (N, 2, 4), run=True),
    no(L("Dot", axes=[-3, 1]), (N, 4), (N, 4)),
    no(L("Dot", axes=[-2, -2]), (N, 4), (N, 4), run=True),
    ok(L("Attention"), (N, 3, 4), (N, 5, 4), run=True),
    ok(L("Attention", use_scale=True, score_mode="concat"), (N, 3, 4), (N, 5, 4), run=True),
    ok(L("Attention"), (N, 3, 4), (N, 5, 6), (N, 5, 4), run=True),
    ok(L("Attention"), (N, "T", 4), (N, "S", 4)),
    no(L("Attention"), (N, 3, 4), (N, 5, 6), run=True),
    no(L("Attention"), (N, 3, 4), (N, 5, 6), (N, 5, 5), run=True),
    no(L("Attention"), (N, 3, 4)),
    no(L("Attention"), (N, 3, 4), (N, 5, 6), (N, 7, 4), run=True),
    no(L("Attention"), (N, 3, 4), (N, 2, 5, 4), run=True),
    ok(L("Attention", score_mode="concat"), (N, 3, 1), (N, 5, 4), run=True),
    ok(L("Attention", score_mode="concat"), (N, 3, 4), (N, 5, 6), (N, 5, 1), run=True),
    no(L("Attention"), (N, 3, 1), (N, 5, 4), run=True),
    no(L("Attention"), (N, 3, 4), (N, 1, 6), (N, 5, 4), run=True),
    ok(L("Attention"), (N, 2, 3, 4), (N, 1, 5, 4), run=True),
    no(L("Attention"), (N, 1, 3, 4), (N, 2, 5, 4), run=True),
    no(L("Attention"), (N, 4), (N, 5, 4), run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 4), (N, 6, 7), run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=3, value_dim=5, output_shape=[2, 3]),
       (N, 5, 4), (N, 6, 7), (N, 6, 8), run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, output_shape=5, use_bias=False),
       (N, 5, 4), (N, 6, 7), run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=3, attention_axes=[1]), (N, 5, 2, 4), (N, 6, 2, 7),
       run=True),
    no(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 4), (N, 6, 7), (N, 8, 7)),
    no(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 4), (N, 6, N)),
    no(L("MultiHeadAttention", num_heads=0, key_dim=3), (N, 5, 4), (N, 6, 7)),
    no(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 4), (N, 6, 3, 7), run=True),
    no(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 4), (N, 7), run=True),
    no(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 3, 4), (N, 6, 7), run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=3), (N, 5, 3, 4), (N, 6, 2, 7), run=True),
    # attention_axes: the axes not attended over are batch axes (sizes must agree); Keras numbers
    # axes in the projected (batch, steps..., heads, channels), so -1 is the heads axis.
    no(L("MultiHeadAttention", num_heads=2, key_dim=3, attention_axes=[1]), (N, 5, 2, 4), (N, 6, 3, 7),
       run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=2), (N, 5, 2, 4), (N, 6, 2, 7),
       run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=-2), (N, 5, 2, 4), (N, 5, 3, 7),
       run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[2, 1]), (N, 5, 2, 4), (N, 6, 3, 7),
       run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[1]), (N, 5, N, 4), (N, 6, N, 7),
       run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=2, attention_axes=-1, dropout=0.1), (N, 5, 4), (N, 5, 7),
       run=True),
    no(L("MultiHeadAttention", num_heads=2, key_dim=2, attention_axes=-1, dropout=0.1), (N, 5, 4), (N, 6, 7),
       run=True),
    ok(L("MultiHeadAttention", num_heads=2, key_dim=2, attention_axes=0, dropout=0.1), (N, 5, 4), (N, 5, 7),
       run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=3, dropout=0.1), (N, 5, 4), (N, 5, 4),
       run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=-4, dropout=0.1), (N, 5, 4), (N, 5, 4),
       run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[], dropout=0.1), (N, 5, 4), (N, 5, 4),
       run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[1, 1], dropout=0.1), (N, 5, 4),
       (N, 5, 4), run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[2, -2]), (N, 5, 2, 4),
       (N, 5, 2, 4), run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[]), (N, 5, 2, 4), (N, 5, 2, 4),
       run=True),
    # Rank 3 without dropout: Keras' fused attention attends over the steps whatever attention_axes says,
    # as long as the axes build (-7 to 3 here: Keras indexes its rank-4 projections with axis + 3).
    ok(L("MultiHeadAttention", num_heads=2, key_dim=2, attention_axes=-1), (N, 5, 4), (N, 6, 7), run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[1, 1]), (N, 5, 4), (N, 6, 4),
       run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=[]), (N, 5, 4), (N, 6, 4), run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=-7), (N, 5, 4), (N, 6, 4), run=True),
    ok(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=3), (N, 5, 4), (N, 6, 4), run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=4), (N, 5, 4), (N, 6, 4), run=True),
    no(L("MultiHeadAttention", num_heads=1, key_dim=2, attention_axes=-8), (N, 5, 4), (N, 6, 4), run=True),
]  # fmt: skip

CONV_CASES = [
    ok(L("Conv1D", filters=8, kernel_size=3), (N, 10, 4)),
    ok(L("Conv1D", filters=8, kernel_size=3, padding="same"), (N, "T", 4)),
    ok(L("Conv1D", filters=8, kernel_size=3, padding="causal", strides=2), (N, 11, 4)),
    ok(L("Conv1D", filters=8, kernel_size=3, padding="causal", dilation_rate=3), (N, 11, 4)),
    ok(L("Conv1D", filters=8, kernel_size=[3], groups=2), (N, 10, 4)),
    ok(L("Conv1D", filters=4, kernel_size=3, data_format="channels_first"), (N, 2, 10)),
    ok(L("Conv1D", filters=4, kernel_size=3, strides=2), (N, N, 3)),
    ok(L("Conv1D", filters=4, kernel_size=1), (N, "T", 3)),
    no(L("Conv1D", filters=8, kernel_size=3), (N, 2, 4)),
    no(L("Conv1D", filters=8, kernel_size=3, dilation_rate=2), (N, 4, 4)),
    no(L("Conv1D", filters=8, kernel_size=3), (N, 10, N)),
    no(L("Conv1D", filters=8, kernel_size=3), (N, 10)),
    no(L("Conv1D", filters=8, kernel_size=3), (N, 10, 3, 1)),
    no(L("Conv1D", filters=8, kernel_size=3, groups=2), (N, 10, 3)),
    no(L("Conv1D", filters=9, kernel_size=3, groups=2), (N, 10, 4)),
    no(L("Conv1D", filters=8, kernel_size=3, strides=2, dilation_rate=2), (N, 10, 4)),
    no(L("Conv1D", filters=8, kernel_size=[3, 3]), (N, 10, 4)),
    no(L("Conv1D", filters=8, kernel_size=0), (N, 10, 4)),
    ok(L("Conv2D", filters=8, kernel_size=3), (N, 10, 10, 3)),
    ok(L("Conv2D", filters=8, kernel_size=[3, 2], strides=[2, 1], padding="same"), (N, "H", 11, 4)),
    ok(L("Conv2D", filters=8, kernel_size=3, data_format="channels_first", use_bias=False), (N, 4, 10, 10)),
    ok(L("Conv2D", filters=6, kernel_size=3, groups=3, dilation_rate=[1, 2]), (2, 9, 9, 6)),
    ok(L("Conv2D", filters=4, kernel_size=5, strides=3), (N, 5, 7, 1)),
    no(L("Conv2D", filters=8, kernel_size=3), (N, 2, 10, 3)),
    no(L("Conv2D", filters=8, kernel_size=3, data_format="channels_first"), (N, 4, 10, 2)),
    no(L("Conv2D", filters=8, kernel_size=3), (N, 10, 10, N)),
    no(L("Conv2D", filters=8, kernel_size=3, padding="causal"), (N, 10, 10, 3)),
    no(L("Conv2D", filters=8, kernel_size=[3, 3, 3]), (N, 10, 10, 3)),
    no(L("Conv2D", filters=8, kernel_size=3), (N, 10, 3)),
    ok(L("Conv3D", filters=2, kernel_size=2, strides=[1, 2, 3]), (4, 5, 6, 7, 2)),
    ok(L("Conv3D", filters=2, kernel_size=[1, 2, 3], padding="same", data_format="channels_first"),
       (N, 3, 4, N, 5)),
    no(L("Conv3D", filters=2, kernel_size=3), (N, 2, 6, 7, 2)),
    no(L("Conv3D", filters=2, kernel_size=3), (N, 6, 7, 2)),
    ok(L("SeparableConv1D", filters=8, kernel_size=3, depth_multiplier=3), (N, 10, 3)),
    ok(L("SeparableConv1D", filters=8, kernel_size=3, strides=2, dilation_rate=2), (N, 10, 3), run=True),
    ok(L("SeparableConv1D", filters=2, kernel_size=3, padding="same", use_bias=False), (N, "T", 3)),
    no(L("SeparableConv1D", filters=8, kernel_size=3, padding="causal"), (N, 10, 3)),
    no(L("SeparableConv1D", filters=8, kernel_size=3), (N, 10, N)),
    no(L("SeparableConv1D", filters=8, kernel_size=5), (N, 4, 3)),
    ok(L("SeparableConv2D", filters=8, kernel_size=3), (N, 10, 10, 3)),
    ok(L("SeparableConv2D", filters=8, kernel_size=3, strides=2, dilation_rate=2), (N, 10, 10, 3), run=True),
    ok(L("SeparableConv2D", filters=4, kernel_size=[1, 3], data_format="channels_first"), (N, 3, 5, 5)),
    no(L("SeparableConv2D", filters=8, kernel_size=3), (N, 10, 10, N)),
    no(L("SeparableConv2D", filters=8, kernel_size=3), (N, 10, 10)),
    ok(L("DepthwiseConv1D", kernel_size=3, depth_multiplier=2, use_bias=False), (N, 10, 3)),
    ok(L("DepthwiseConv1D", kernel_size=3, strides=2, dilation_rate=2), (N, 10, 3), run=True),
    no(L("DepthwiseConv1D", kernel_size=3), (N, 10, N)),
    no(L("DepthwiseConv1D", kernel_size=4, dilation_rate=3), (N, 9, 2)),
    ok(L("DepthwiseConv2D", kernel_size=3, depth_multiplier=2), (N, 10, 10, 3)),
    ok(L("DepthwiseConv2D", kernel_size=3, strides=2, dilation_rate=2), (N, 10, 10, 3), run=True),
    ok(L("DepthwiseConv2D", kernel_size=[2, 3], padding="same", data_format="channels_first"),
       (N, 2, "H", 5)),
    no(L("DepthwiseConv2D", kernel_size=3), (N, 10, 10, N)),
    no(L("DepthwiseConv2D", kernel_size=3, depth_multiplier=0), (N, 10, 10, 3)),
    ok(L("Conv1DTranspose", filters=4, kernel_size=3), (N, 10, 3)),
    ok(L("Conv1DTranspose", filters=4, kernel_size=4, padding="same", output_padding=0, dilation_rate=2),
       (N, 1, 3), run=True),
    ok(L("Conv1DTranspose", filters=4, kernel_size=1, strides=3), (N, 5, 3)),
    ok(L("Conv1DTranspose", filters=4, kernel_size=3, padding="same"), (N, "T", 3)),
    no(L("Conv1DTranspose", filters=4, kernel_size=3), (N, 10, 3, 3)),
    no(L("Conv1DTranspose", filters=4, kernel_size=3), (N, 10, N)),
    no(L("Conv1DTranspose", filters=4, kernel_size=3, padding="causal"), (N, 10, 3)),
    ok(L("Conv2DTranspose", filters=4, kernel_size=3, strides=2), (N, 10, 10, 3)),
    ok(L("Conv2DTranspose", filters=4, kernel_size=3, strides=2, padding="same"), (N, 10, N, 3)),
    ok(L("Conv2DTranspose", filters=4, kernel_size=3, strides=[2, 3], padding="same", output_padding=[1, 2]),
       (N, 10, 10, 3)),
    ok(L("Conv2DTranspose", filters=4, kernel_size=3, dilation_rate=2), (N, 10, 10, 3), run=True),
    ok(L("Conv2DTranspose", filters=2, kernel_size=[2, 4], strides=2, data_format="channels_first"),
       (N, 3, 4, 5)),
    no(L("Conv2DTranspose", filters=4, kernel_size=3, strides=2, output_padding=2), (N, 10, 10, 3)),
    ok(L("Conv2DTranspose", filters=4, kernel_size=3, output_padding=0), (N, 10, 10, 3)),
    no(L("Conv2DTranspose", filters=4, kernel_size=3, output_padding=[0, 1]), (N, 10, 10, 3)),
    no(L("Conv2DTranspose", filters=4, kernel_size=3, strides=2, dilation_rate=2), (N, 10, 10, 3)),
    no(L("Conv2DTranspose", filters=4, kernel_size=3), (N, 10, 10, N)),
    # 'same', an even window and output_padding 0: Keras declares (n - 1) * strides, which TensorFlow's
    # transposed convolution refuses for an input of n (with or without oneDNN); JAX runs it.
    ok(L("Conv2DTranspose", filters=1, kernel_size=2, padding="same", output_padding=0), (N, 5, 5, 2),
       run=True),
    ok(L("Conv1DTranspose", filters=1, kernel_size=4, padding="same", strides=2, output_padding=[0]),
       (N, 5, 2), run=True),
    # Kernel limitations of TensorFlow's CPU kernels without oneDNN (MS305 warnings).
    ok(L("Conv1DTranspose", filters=2, kernel_size=3, dilation_rate=2), (N, 8, 3), run=True),
    ok(L("Conv2DTranspose", filters=2, kernel_size=3, strides=2, data_format="channels_first"), (N, 3, 4, 5),
       run=True),
    ok(L("Conv1DTranspose", filters=2, kernel_size=3, data_format="channels_first"), (N, 3, 6), run=True),
    ok(L("Conv1D", filters=2, kernel_size=3, data_format="channels_first"), (N, 3, 8), run=True),
    ok(L("Conv2D", filters=2, kernel_size=3, strides=2, data_format="channels_first"), (N, 3, 7, 7),
       run=True),
    ok(L("Conv2D", filters=4, kernel_size=3, groups=2, data_format="channels_first"), (N, 4, 7, 7), run=True),
    ok(L("SeparableConv2D", filters=2, kernel_size=3, strides=[2, 1]), (N, 8, 8, 3), run=True),
    ok(L("DepthwiseConv2D", kernel_size=3, strides=[1, 2]), (N, 8, 8, 3), run=True),
    ok(L("TimeDistributed", layer=L("Conv2DTranspose", filters=2, kernel_size=3, dilation_rate=[1, 2])),
       (N, 2, 6, 6, 3), run=True),
    ok(L("Conv3D", filters=2, kernel_size=2, data_format="channels_first"), (N, 3, 4, 4, 4), run=True),
    ok(L("SeparableConv1D", filters=2, kernel_size=3, strides=2, data_format="channels_first"), (N, 3, 8),
       run=True),
    ok(L("Conv1DTranspose", filters=1, kernel_size=4, padding="same", strides=2, output_padding=1),
       (N, 5, 2), run=True),
]  # fmt: skip

POOLING_CASES = [
    ok(L("MaxPooling1D"), (N, 10, 3)),
    ok(L("MaxPooling1D", pool_size=3, strides=2, data_format="channels_first"), (N, 3, 10)),
    ok(L("MaxPooling1D", pool_size=1, strides=1), (N, "T", 3)),
    ok(L("MaxPooling1D", padding="same"), (N, 1, 3)),
    no(L("MaxPooling1D"), (N, 1, 3)),
    no(L("MaxPooling1D"), (N, 10)),
    no(L("MaxPooling1D", strides=0), (N, 10, 3)),
    ok(L("MaxPooling2D"), (N, 10, 10, 3)),
    ok(L("MaxPooling2D", pool_size=3, strides=[1, 2]), (N, "H", 10, N)),
    ok(L("MaxPooling2D", padding="same"), (N, 1, 10, 3)),
    no(L("MaxPooling2D"), (N, 1, 10, 3)),
    no(L("MaxPooling2D", pool_size=[2, 2, 2]), (N, 4, 4, 3)),
    ok(L("MaxPooling3D", pool_size=[1, 2, 3], strides=1), (2, 4, 4, 4, 1)),
    no(L("MaxPooling3D"), (N, 4, 4, 3)),
    ok(L("AveragePooling1D", pool_size=4, padding="same", strides=3), (N, 10, 3)),
    no(L("AveragePooling1D", pool_size=4), (N, 3, 3)),
    ok(L("AveragePooling2D", pool_size=[2, 3], data_format="channels_first"), (N, 3, 4, 6)),
    no(L("AveragePooling2D", pool_size=[2, 3], data_format="channels_first"), (N, 3, 4, 2)),
    ok(L("AveragePooling3D", pool_size=[1, 2, 3]), (2, 4, 4, 4, 1)),
    no(L("AveragePooling3D"), (2, 4, 4, 4, 1)),
    ok(L("AveragePooling3D", pool_size=[1, 2, 3], padding="same", strides=2), (2, 4, 4, 4, 1)),
    no(L("AveragePooling3D", pool_size=2), (N, 4, 4, 1, 2)),
    ok(L("GlobalAveragePooling1D"), (N, 10, 3)),
    ok(L("GlobalAveragePooling1D", keepdims=True, data_format="channels_first"), (N, 10, 3)),
    no(L("GlobalAveragePooling1D"), (N, 10)),
    ok(L("GlobalAveragePooling2D", keepdims=True), (N, N, N, 3)),
    no(L("GlobalAveragePooling2D"), (N, 3, 3)),
    ok(L("GlobalAveragePooling3D", data_format="channels_first"), (N, 1, 2, 3, 4)),
    no(L("GlobalAveragePooling3D"), (N, 1, 2, 3, 4, 5)),
    ok(L("GlobalMaxPooling1D"), (N, "T", 3)),
    no(L("GlobalMaxPooling1D"), (N, 3, 3, 3)),
    ok(L("GlobalMaxPooling2D", keepdims=True), (N, N, N, 3)),
    no(L("GlobalMaxPooling2D", keepdims=True), (N, 3)),
    ok(L("GlobalMaxPooling3D"), (N, 1, 2, 3, 4)),
    no(L("GlobalMaxPooling3D"), (N, 1, 2, 3)),
]  # fmt: skip

RESHAPING_CASES = [
    ok(L("UpSampling1D", size=3), (N, 4, 3)),
    ok(L("UpSampling1D"), (N, "T", 3)),
    ok(L("UpSampling1D", size=1), (N, "T", 3)),
    no(L("UpSampling1D", size=3), (N, 4, 3, 1)),
    no(L("UpSampling1D", size=0), (N, 4, 3)),
    ok(L("UpSampling2D"), (N, 4, 5, 3)),
    ok(L("UpSampling2D", size=[3, 1], interpolation="bilinear"), (N, 4, N, 3)),
    ok(L("UpSampling2D", size=[3, 1], interpolation="area"), (N, 4, 5, 3), run=True),
    ok(L("UpSampling2D", size=[1, 2], interpolation="lanczos5", data_format="channels_first"), (N, 4, 5, 3),
       run=True),
    no(L("UpSampling2D", size=[1, 2, 3]), (N, 4, 5, 3)),
    no(L("UpSampling2D"), (N, 4, 5)),
    ok(L("ZeroPadding1D"), (N, 4, 3)),
    ok(L("ZeroPadding1D", padding=[0, 2]), (N, 4, 3)),
    ok(L("ZeroPadding1D", padding=[0, 2], data_format="channels_first"), (N, 4, 3)),
    ok(L("ZeroPadding1D", padding=0), (N, "T", 3)),
    no(L("ZeroPadding1D", padding=[1, 2, 3]), (N, 4, 3)),
    no(L("ZeroPadding1D", padding=-1), (N, 4, 3)),
    no(L("ZeroPadding1D"), (N, 4)),
    ok(L("ZeroPadding2D"), (N, 4, 3, 2)),
    ok(L("ZeroPadding2D", padding=[[0, 2], 1]), (N, 4, 3, 2)),
    ok(L("ZeroPadding2D", padding=[2, 1], data_format="channels_first"), (N, 4, "W", 2)),
    no(L("ZeroPadding2D", padding=[2, 1, 3]), (N, 4, 4, 2)),
    no(L("ZeroPadding2D", padding=[[1, 2, 3], 1]), (N, 4, 4, 2)),
    no(L("ZeroPadding2D"), (N, 4, 4, 2, 1)),
    ok(L("Cropping1D"), (N, 4, 3)),
    ok(L("Cropping1D", cropping=[2, 1]), (N, 4, 3)),
    ok(L("Cropping1D", cropping=[2, 0]), (N, N, 3)),
    no(L("Cropping1D", cropping=[2, 2]), (N, 4, 3)),
    no(L("Cropping1D", cropping=5), (N, 4, 3)),
    no(L("Cropping1D"), (N, 4)),
    ok(L("Cropping2D", cropping=[[1, 2], [0, 0]]), (N, 4, 3, 2)),
    ok(L("Cropping2D", cropping=1), (N, 3, 3, 2)),
    ok(L("Cropping2D", cropping=[1, 0], data_format="channels_first"), (N, 3, 3, "W")),
    no(L("Cropping2D", cropping=[[1, 2], [0, 0]]), (N, 3, 3, 2)),
    no(L("Cropping2D", cropping=[[1, 1], [1, 1]], data_format="channels_first"), (N, 3, 2, 3)),
    no(L("Cropping2D", cropping=-1), (N, 3, 3, 2)),
]  # fmt: skip

RNN_CASES = [
    ok(L("SimpleRNN", units=4), (N, 5, 3)),
    ok(L("SimpleRNN", units=4, return_sequences=True, use_bias=False, go_backwards=True), (N, "T", 3)),
    ok(L("SimpleRNN", units=4, unroll=True), (N, 5, 3), run=True),
    no(L("SimpleRNN", units=4), (N, 5)),
    no(L("SimpleRNN", units=0), (N, 5, 3)),
    ok(L("LSTM", units=4), (N, 5, 3)),
    ok(L("LSTM", units=4, return_sequences=True, use_bias=False), (N, "T", 3)),
    ok(L("LSTM", units=2, unit_forget_bias=False, dropout=0.2, recurrent_dropout=0.1), (7, N, 3)),
    no(L("LSTM", units=4), (N, 5, N)),
    no(L("LSTM", units=4), (N, 5, 3, 2)),
    ok(L("GRU", units=4), (N, 5, 3)),
    ok(L("GRU", units=4, reset_after=False), (N, 5, 3)),
    ok(L("GRU", units=4, use_bias=False, return_sequences=True), (N, 5, 3)),
    no(L("GRU", units=4), (N, 5)),
    no(L("GRU", units=4, use_cudnn="sometimes"), (N, 5, 3)),
    ok(L("Bidirectional", layer=L("LSTM", units=4)), (N, 5, 3)),
    ok(L("Bidirectional", layer=L("LSTM", units=4, return_sequences=True), merge_mode="sum"), (N, "T", 3)),
    ok(L("Bidirectional", layer=L("GRU", units=3, reset_after=False), merge_mode="ave"), (N, 5, 3)),
    ok(L("Bidirectional", layer=L("SimpleRNN", units=3), merge_mode="mul"), (N, 5, 2)),
    no(L("Bidirectional", layer=L("GRU", units=4, go_backwards=True)), (N, 5, 3)),
    no(L("Bidirectional", layer=L("GRU", units=4), merge_mode="max"), (N, 5, 3)),
    no(L("Bidirectional", layer=L("SimpleRNN", units=4)), (N, 5)),
    no(L("Bidirectional", layer=L("Dense", units=4)), (N, 5, 3)),
    ok(L("TimeDistributed", layer=L("Dense", units=4)), (N, 5, 3)),
    ok(L("TimeDistributed", layer=L("Conv2D", filters=4, kernel_size=3)), (N, "T", 8, 8, 3)),
    ok(L("TimeDistributed", layer=L("Flatten")), (N, 5, 8, 8, 3)),
    ok(L("TimeDistributed", layer=L("LSTM", units=3)), (N, 5, 8, 3)),
    ok(L("TimeDistributed", layer=L("Bidirectional", layer=L("LSTM", units=3))), (N, 5, 8, 3)),
    ok(L("TimeDistributed", layer=L("BatchNormalization", axis=1)), (N, 5, 8, 3)),
    ok(L("TimeDistributed", layer=L("MaxPooling1D")), (N, 5, 8, 3)),
    ok(L("TimeDistributed", layer=L("TimeDistributed", layer=L("Dense", units=2))), (N, 5, 8, 3)),
    no(L("TimeDistributed", layer=L("Dense", units=4)), (N, 5)),
    no(L("TimeDistributed", layer=L("Conv2D", filters=4, kernel_size=3)), (N, 5, 2, 8, 3)),
    no(L("TimeDistributed", layer=L("Dense", units=4)), (N, 5, N)),
    no(L("TimeDistributed", layer=L("ZeroPadding1D")), (N, 5, 4, 3, 2), run=True),
]  # fmt: skip

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
    ("'same', an even kernel and output_padding 0 on a length-1 input give an empty output: a spec cannot "
     "mean that",
     ok(L("Conv1DTranspose", filters=4, kernel_size=2, padding="same", output_padding=0), (N, 1, 3),
        run=True)),
    ("above rank 2, multi_hot and count reduce axis 1 instead of the last axis (Keras' docs support rank 2 "
     "at most): the run matches the declared shape only when both axes have the same size",
     ok(L("CategoryEncoding", num_tokens=5), (N, 3, 3), run=True)),
    ("on rank-2 inputs Attention scores every sample against the other samples of its batch",
     ok(L("Attention"), (N, 4), (N, 4), run=True)),
    ("a value of lower rank than the query is broadcast with its batch axis taken as a time axis",
     ok(L("Attention"), (N, 3, 4), (N, 4), run=True)),
]  # fmt: skip

EXPLICIT = CORE_CASES + MERGE_CASES + CONV_CASES + POOLING_CASES + RESHAPING_CASES + RNN_CASES


# The kinds this file covers; the modules added later have differential files of their own.
COVERED_HERE = {
    name
    for name, module in KIND_MODULES.items()
    if module in ("core", "merge", "conv", "pooling", "reshaping", "rnn")
}


def _case_id(case: Case) -> str:
    inner = case.step.get("layer")
    kind = case.step["type"] + (f"({inner['type']})" if inner else "")
    shapes = "+".join("x".join("N" if d is None else str(d) for d in s) for s in case.shapes)
    return f"{kind}-{'ok' if case.accepted else 'no'}-{shapes}"


@pytest.mark.parametrize("case", [param(c) for c in EXPLICIT])
def test_explicit_case(case: Case) -> None:
    truth = compare(case.step, case.shapes, run=case.run)
    verdict = "accepts" if case.accepted else "refuses"
    assert truth.ok == case.accepted, (
        f"Keras no longer {verdict} this case: {truth.error or truth.output_shape}"
    )


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    truth = keras_apply(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok, f"Keras now refuses this case ({truth.error}): mspec's refusal needs no reason"
    assert not mspec_apply(case.step, case.shapes).ok, reason


def test_every_kind_has_an_explicit_case() -> None:
    covered = {case.step["type"] for case in EXPLICIT}
    missing = sorted(COVERED_HERE - covered)
    assert not missing, f"layer kinds without a differential case: {missing}"


@pytest.mark.parametrize("name", sorted(name for name, kind in REGISTRY.items() if kind.positional))
def test_positional_arguments_lead_the_keras_signature(name: str) -> None:
    import keras

    parameters = list(inspect.signature(getattr(keras.layers, name).__init__).parameters.values())[1:]
    positional = REGISTRY[name].positional
    leading = parameters[: len(positional)]
    assert tuple(p.name for p in leading) == positional
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in leading)


def test_every_kind_has_a_refusal_case() -> None:
    refused = {case.step["type"] for case in EXPLICIT if not case.accepted}
    # These accept every input shape and every valid parameter value in Keras.
    always_accept = {"Identity", "Rescaling"}
    missing = sorted(COVERED_HERE - refused - always_accept)
    assert not missing, f"layer kinds without a case that Keras refuses: {missing}"


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("Dense", units=3), (N, 4), (N, 7, 4)),
    no(L("Dense", units=3), (N, 4), (N, 5)),
    ok(L("Conv2D", filters=2, kernel_size=3), (N, 8, 8, 3), (N, 5, 9, 3)),
    no(L("Conv2D", filters=2, kernel_size=3), (N, 8, 8, 3), (N, 8, 8, 4)),
    no(L("Conv1D", filters=2, kernel_size=3, data_format="channels_first"), (N, 3, 8), (N, 4, 8)),
    ok(L("DepthwiseConv1D", kernel_size=3), (N, 8, 3), (N, 4, 3)),
    no(L("SeparableConv1D", filters=2, kernel_size=3), (N, 8, 3), (N, 8, 2)),
    no(L("Conv1DTranspose", filters=2, kernel_size=3), (N, 8, 3), (N, 8, 2)),
    ok(L("MaxPooling1D"), (N, 8, 3), (N, 4, 5)),
    ok(L("LSTM", units=2), (N, 5, 3), (N, 9, 3), run=True),
    no(L("LSTM", units=2), (N, 5, 3), (N, 5, 4), run=True),
    no(L("Bidirectional", layer=L("GRU", units=2)), (N, 5, 3), (N, 5, 4), run=True),
    ok(L("TimeDistributed", layer=L("Dense", units=2)), (N, 5, 3), (N, 2, 3)),
    # TimeDistributed builds the wrapped layer without its input check: a wrong size fails when run.
    no(L("TimeDistributed", layer=L("Dense", units=2)), (N, 5, 3), (N, 5, 4), run=True),
    no(L("TimeDistributed", layer=L("BatchNormalization", axis=1)), (N, 5, 3, 2), (N, 5, 4, 2), run=True),
    ok(L("Embedding", input_dim=5, output_dim=2), (N, 4), (N, 3, 2)),
    no(L("BatchNormalization"), (N, 4), (N, 5)),
    no(L("BatchNormalization"), (N, 4), (N, 3, 4)),
    # Weights built for size 1 are reshaped to the new size when run, which fails (but see DELIBERATE_SHARED).
    no(L("LayerNormalization"), (N, 1), (N, 2), run=True),
    ok(L("LayerNormalization", center=False, scale=False), (N, 1), (N, 2), run=True),
    ok(L("BatchNormalization", axis=1), (N, 4, 3), (N, 4, 5), run=True),
    no(L("BatchNormalization", axis=1), (N, 4, 3), (N, 4), run=True),
]  # fmt: skip


# Shared layers mspec refuses on purpose although Keras runs them.
DELIBERATE_SHARED = [
    ("TimeDistributed skips the wrapped layer's input check; TensorFlow then runs a 1-channel kernel on 2 "
     "channels as a grouped convolution, which the layer never declared",
     ok(L("TimeDistributed", layer=L("Conv2D", filters=2, kernel_size=1)), (N, 5, 5, 5, 1), (N, 5, 5, 5, 2),
        run=True)),
    ("LayerNormalization weights built for size 1 broadcast to a later size only when the axis is written "
     "as the positive last index (Keras then skips a reshape); with axis=-1 the same model fails when run, "
     "and a spec should not depend on how an axis is spelled",
     ok(L("LayerNormalization", axis=2), (N, 3, 1), (N, 3, 2), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE_SHARED])
def test_deliberate_shared_refusal(reason: str, case: Case) -> None:
    truth = keras_shared(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok, f"Keras now refuses this case ({truth.error}): mspec's refusal needs no reason"
    assert not mspec_shared(case.step, case.shapes).ok, reason


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    truth = keras_shared(case.step, [as_keras(s) for s in case.shapes], run=case.run)
    assert truth.ok == case.accepted, f"Keras no longer {'accepts' if case.accepted else 'refuses'} this case"
    check_agreement(case.step, case.shapes, truth, mspec_shared(case.step, case.shapes))


# --- Generated cases --------------------------------------------------------
#
# One strategy per kind draws (step, input shapes, run). Parameters stay in or
# near their valid ranges and shapes near the rank the kind expects, so that
# both acceptances and refusals are common. `exact` keeps the expected rank
# (TimeDistributed needs it, see DELIBERATE).

ACTIVATIONS = [None, "relu", "tanh", "softmax", "linear"]
FORMATS = [None, "channels_last", "channels_first"]
FORMAT = st.sampled_from(FORMATS)
SMALL = st.integers(1, 6)


def dims(known_only: bool = False):
    sizes = st.integers(1, 9)
    return sizes if known_only else st.one_of(sizes, sizes, st.none(), st.just("T"))


BATCH = st.sampled_from([None, None, 2])


@st.composite
def shape(draw, rank: int, *, known_only: bool = False, exact: bool = False, batch=BATCH) -> tuple:
    """Draw a shape of `rank` axes, batch included (without `exact`, sometimes one more or one fewer)."""
    if not exact:
        rank = max(1, draw(st.sampled_from([rank] * 6 + [rank - 1, rank + 1])))
    return (draw(batch), *(draw(dims(known_only)) for _ in range(rank - 1)))


def sizes(n: int, low: int = 1, high: int = 4):
    """An int or a list of n ints, as kernel_size or strides are written."""
    return st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=n, max_size=n))


def single(params: dict, optional: dict, input_rank: int, **shape_options):
    """A one-input case: the given params (strategies), the optional ones sometimes, and one shape."""
    steps = st.fixed_dictionaries(params, optional=optional)
    return st.tuples(steps, st.tuples(shape(input_rank, **shape_options)).map(list), st.just(False))


def typed(name: str, strategy):
    return strategy.map(lambda case: ({"type": name, **case[0]}, case[1], case[2]))


def conv_case(name: str, rank: int, *, exact: bool = False):
    filters = st.integers(1, 6)
    params = {"filters": filters, "kernel_size": sizes(rank, 1, 4)}
    optional = {
        "strides": sizes(rank, 1, 3),
        "padding": st.sampled_from(["valid", "same", "causal"] if name == "Conv1D" else ["valid", "same"]),
        "data_format": FORMAT,
        "dilation_rate": sizes(rank, 1, 3),
        "activation": st.sampled_from(ACTIVATIONS),
        "use_bias": st.booleans(),
    }
    if name.startswith("Conv") and "Transpose" not in name:
        optional["groups"] = st.sampled_from([1, 1, 2, 3])
    if name.startswith(("Separable", "Depthwise")):
        optional["depth_multiplier"] = st.integers(1, 3)
    if name.startswith("Depthwise"):
        del params["filters"]
    if "Transpose" in name:
        optional["output_padding"] = st.one_of(st.none(), sizes(rank, 0, 2))
        # Some output_padding values only fail when run (see CONV_CASES): run them, with known sizes.
        steps = st.fixed_dictionaries(params, optional=optional)
        shapes = st.tuples(shape(rank + 2, exact=exact, known_only=True, batch=st.none())).map(list)
        return typed(name, st.tuples(steps, shapes, st.just(True)).filter(_not_empty_transpose))
    return typed(name, single(params, optional, rank + 2, exact=exact))


def _not_empty_transpose(case) -> bool:
    # A length-1 input with 'same' and output_padding may give an empty output: see DELIBERATE.
    step, (input_shape,), _ = case
    return not (step.get("padding") == "same" and step.get("output_padding") is not None and 1 in input_shape)


def pooling_case(name: str, rank: int, *, exact: bool = False):
    optional = {
        "pool_size": sizes(rank, 1, 4),
        "strides": st.one_of(st.none(), sizes(rank, 1, 3)),
        "padding": st.sampled_from(["valid", "same"]),
        "data_format": FORMAT,
    }
    # Average pooling has no default window: it must always be given.
    params = {"pool_size": optional.pop("pool_size")} if name.startswith("Average") else {}
    return typed(name, single(params, optional, rank + 2, exact=exact))


def global_pooling_case(name: str, rank: int, *, exact: bool = False):
    optional = {"data_format": FORMAT, "keepdims": st.booleans()}
    return typed(name, single({}, optional, rank + 2, exact=exact))


def recurrent_step(name: str):
    optional = {
        "activation": st.sampled_from(["tanh", "relu", None]),
        "use_bias": st.booleans(),
        "return_sequences": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.25]),
        "unroll": st.booleans(),
    }
    if name != "SimpleRNN":
        optional["recurrent_activation"] = st.sampled_from(["sigmoid", "hard_sigmoid"])
    if name == "GRU":
        optional["reset_after"] = st.booleans()
    if name == "LSTM":
        optional["unit_forget_bias"] = st.booleans()
    return st.fixed_dictionaries({"units": st.integers(1, 5)}, optional=optional).map(
        lambda p: {"type": name, **p}
    )


def recurrent_case(name: str, *, exact: bool = False):
    return st.tuples(recurrent_step(name), st.tuples(shape(3, exact=exact)).map(list), st.just(False))


def margin(low: int = 0, high: int = 3):
    return st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=2, max_size=2))


def margins():
    return st.one_of(st.integers(0, 3), st.lists(margin(), min_size=2, max_size=2))


@st.composite
def reshape_case(draw):
    (in_shape,) = draw(st.tuples(shape(draw(st.integers(2, 4)), exact=True)))
    target = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return {"type": "Reshape", "target_shape": target}, [in_shape], False


@st.composite
def permute_case(draw):
    n = draw(st.integers(1, 3))
    dims_ = draw(st.permutations(list(range(1, n + 1))))
    return {"type": "Permute", "dims": dims_}, [draw(shape(n + 1))], False


@st.composite
def axis_case(draw, name: str, optional: dict, *, list_axes: bool):
    """Normalization layers: an axis (or several) in or just out of range of the drawn rank."""
    rank = draw(st.integers(2, 4))
    axis_value = st.integers(-rank, rank - 1).filter(lambda a: a % rank != 0)
    # Listed axes are distinct once made positive: a repeat only fails when run (see CORE_CASES).
    listed = st.lists(axis_value, min_size=1, max_size=2, unique_by=lambda a: a % rank)
    axis = draw(st.one_of(axis_value, listed) if list_axes else axis_value)
    step = {"type": name, "axis": axis, **draw(st.fixed_dictionaries({}, optional=optional))}
    return step, [draw(shape(rank, exact=True))], False


@st.composite
def normalization_case(draw):
    rank = draw(st.integers(2, 4))
    # [1, -1] names one axis twice on rank 2, which Keras refuses unless mean and variance are given.
    axis = draw(st.sampled_from([-1, None, 1, [1, -1], 0]))
    step = {"type": "Normalization", "axis": axis}
    if draw(st.booleans()):
        # A list must fit the last kept axis (or have one value); axis=None keeps no axis for it.
        values = st.one_of(st.just(0.5), st.lists(st.just(0.5), min_size=1, max_size=4))
        mean = draw(values)
        step.update(mean=mean, variance=mean if draw(st.integers(0, 5)) else draw(values))
    return step, [draw(shape(rank, exact=True))], False


@st.composite
def category_encoding_case(draw):
    mode = draw(st.sampled_from(["multi_hot", "one_hot", "count"]))
    # Rank 3 with multi_hot or count builds in Keras but is refused on purpose (see DELIBERATE).
    rank = draw(st.integers(1, 3 if mode == "one_hot" else 2))
    step = {"type": "CategoryEncoding", "num_tokens": draw(st.integers(1, 6)), "output_mode": mode}
    return step, [draw(shape(rank, exact=True))], False


@st.composite
def elementwise_case(draw, name: str):
    """Inputs that broadcast or clash: a base shape with some axes set to 1 or changed."""
    count = 2 if name == "Subtract" else draw(st.integers(1, 3))
    # Mostly one batch size, sometimes unknown in some inputs, rarely another one.
    batch = draw(st.sampled_from([None, 2]))
    base = draw(shape(draw(st.integers(2, 4)), exact=True, batch=st.just(batch)))
    inputs = []
    for _ in range(count):
        s = list(base)
        s[0] = draw(st.sampled_from([batch] * 4 + [None, 3]))
        for axis in range(1, len(s)):
            s[axis] = draw(st.sampled_from([s[axis]] * 4 + [1, 3]))
        if draw(st.integers(0, 5)) == 0 and len(s) > 2:
            del s[1]
        inputs.append(tuple(s))
    return {"type": name}, inputs, False


@st.composite
def concatenate_case(draw):
    rank = draw(st.integers(2, 4))
    axis = draw(st.sampled_from([-1, 1, rank - 1, -2]))
    base = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    inputs = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        for position in range(1, rank):
            s[position] = draw(st.sampled_from([s[position]] * 5 + [1, 2]))
        inputs.append(tuple(s))
    return {"type": "Concatenate", "axis": axis}, inputs, True


@st.composite
def dot_case(draw):
    first = draw(shape(draw(st.integers(2, 4)), exact=True, known_only=True, batch=st.none()))
    second = draw(shape(draw(st.integers(2, 4)), exact=True, known_only=True, batch=st.none()))
    # Mostly copy the first input's sizes, so that contracted axes often match.
    copied = [draw(st.sampled_from([a, a, b])) for a, b in zip(first[1:], second[1:], strict=False)]
    second = (None, *copied, *second[len(first) :])
    # Listed axes are sometimes just out of range.
    pair = st.tuples(st.integers(-len(first) - 1, len(first)), st.integers(-len(second) - 1, len(second)))
    axes = draw(st.one_of(st.integers(-2, 3), pair.map(list)))
    return {"type": "Dot", "axes": axes, "normalize": draw(st.booleans())}, [first, second], True


@st.composite
def attention_case(draw, name: str):
    # Inputs of different ranks only run by chance (see DELIBERATE): one rank for all.
    rank = draw(st.sampled_from([3, 3, 4]))
    query = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    value = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    inputs = [query, value]
    if draw(st.booleans()):
        key = tuple(draw(st.sampled_from([d, d, d, 2])) if i else d for i, d in enumerate(value))
        inputs.append(key)
    if name == "Attention":
        if draw(st.booleans()):
            # Mostly matching feature sizes, so that some cases are accepted.
            inputs = [(*s[:-1], query[-1]) if i != 1 else s for i, s in enumerate(inputs)]
        optional = {"use_scale": st.booleans(), "score_mode": st.sampled_from(["dot", "concat"])}
        step = draw(st.fixed_dictionaries({}, optional=optional))
    else:
        step = draw(st.fixed_dictionaries(
            {"num_heads": st.integers(1, 3), "key_dim": st.integers(1, 4)},
            optional={"value_dim": st.integers(1, 4), "use_bias": st.booleans(),
                      "output_shape": st.one_of(st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1,
                                                                              max_size=2)),
                      "dropout": st.sampled_from([0.0, 0.5]),
                      "attention_axes": st.one_of(st.integers(-rank - 5, rank + 1),
                                                  st.lists(st.integers(-rank - 3, rank), max_size=3))},
        ))  # fmt: skip
        if "attention_axes" in step and draw(st.booleans()):
            # Values that agree on every steps axis, so that the attended axes decide.
            inputs[1:] = [(*query[:-1], s[-1]) for s in inputs[1:]]
    return {"type": name, **step}, inputs, True


@st.composite
def bidirectional_case(draw):
    inner = draw(recurrent_step(draw(st.sampled_from(["SimpleRNN", "LSTM", "GRU"]))))
    step = {"type": "Bidirectional", "layer": inner}
    if draw(st.booleans()):
        step["merge_mode"] = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
    return step, [draw(shape(3))], False


# Kinds TimeDistributed is tried with, and their strategies at the exact rank.
TIME_DISTRIBUTED_INNER = ["Dense", "Conv1D", "Conv2D", "MaxPooling1D", "GlobalAveragePooling2D", "Flatten",
                          "LSTM", "GRU", "Dropout", "Cropping1D", "UpSampling2D"]  # fmt: skip


@st.composite
def time_distributed_case(draw):
    name = draw(st.sampled_from(TIME_DISTRIBUTED_INNER))
    inner, (inner_shape,), _ = draw(STRATEGIES[name](exact=True))
    time = draw(dims())
    return {"type": "TimeDistributed", "layer": inner}, [(inner_shape[0], time, *inner_shape[1:])], False


def any_rank(name: str, params: dict, optional: dict | None = None, low: int = 1, high: int = 4):
    """A kind that takes any rank: draw the rank first."""
    return st.integers(low, high).flatmap(
        lambda rank: typed(name, single(params, optional or {}, rank, exact=True))
    )


def fixed_rank(name: str, params: dict, optional: dict, rank: int):
    """A kind that expects one rank: usually give it that rank (always, with `exact`)."""
    return lambda exact=False: typed(name, single(params, optional, rank, exact=exact))


def always(strategy):
    """A strategy that ignores `exact`: it builds its shapes itself."""
    return lambda exact=False: strategy


def rates():
    return st.floats(0, 1)


def on_off() -> dict:
    return {"center": st.booleans(), "scale": st.booleans()}


# name -> (exact: bool) -> strategy of (step, input shapes, run)
STRATEGIES = {
    "Dense": fixed_rank("Dense", {"units": st.integers(1, 6)},
                        {"activation": st.sampled_from(ACTIVATIONS), "use_bias": st.booleans()}, 3),
    "Activation": always(any_rank("Activation", {"activation": st.sampled_from(ACTIVATIONS)})),
    "Dropout": always(any_rank("Dropout", {"rate": rates()}, {"seed": st.integers(0, 9)})),
    "SpatialDropout1D": fixed_rank("SpatialDropout1D", {"rate": rates()}, {}, 3),
    "GaussianNoise": always(any_rank("GaussianNoise", {"stddev": st.floats(0, 1.5)})),
    "GaussianDropout": always(any_rank("GaussianDropout", {"rate": rates()})),
    "Rescaling": always(any_rank("Rescaling", {"scale": st.floats(-2, 2)}, {"offset": st.floats(-1, 1)})),
    "Identity": always(any_rank("Identity", {})),
    "Flatten": always(any_rank("Flatten", {}, {"data_format": FORMAT})),
    "Reshape": always(reshape_case()),
    "Permute": always(permute_case()),
    "RepeatVector": fixed_rank("RepeatVector", {"n": st.integers(1, 4)}, {}, 2),
    "Embedding": always(any_rank("Embedding", {"input_dim": SMALL, "output_dim": SMALL},
                                 {"mask_zero": st.booleans()}, 1, 3)),
    "CategoryEncoding": always(category_encoding_case()),
    "BatchNormalization": always(axis_case("BatchNormalization", on_off(), list_axes=False)),
    "LayerNormalization": always(axis_case("LayerNormalization", on_off(), list_axes=True)),
    "Normalization": always(normalization_case()),
    "Concatenate": always(concatenate_case()),
    "Dot": always(dot_case()),
    "Attention": always(attention_case("Attention")),
    "MultiHeadAttention": always(attention_case("MultiHeadAttention")),
    "Bidirectional": always(bidirectional_case()),
    "TimeDistributed": always(time_distributed_case()),
    "UpSampling1D": fixed_rank("UpSampling1D", {}, {"size": st.integers(1, 3)}, 3),
    "UpSampling2D": fixed_rank("UpSampling2D", {}, {"size": sizes(2, 1, 3), "data_format": FORMAT,
                                                   "interpolation": st.sampled_from(["nearest", "area"])}, 4),
    "ZeroPadding1D": fixed_rank("ZeroPadding1D", {}, {"padding": margin(), "data_format": FORMAT}, 3),
    "ZeroPadding2D": fixed_rank("ZeroPadding2D", {}, {"padding": margins(), "data_format": FORMAT}, 4),
    "Cropping1D": fixed_rank("Cropping1D", {}, {"cropping": margin()}, 3),
    "Cropping2D": fixed_rank("Cropping2D", {}, {"cropping": margins(), "data_format": FORMAT}, 4),
}  # fmt: skip


def _register_families() -> None:
    for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        STRATEGIES[name] = always(elementwise_case(name))
    for name in ("SimpleRNN", "LSTM", "GRU"):
        STRATEGIES[name] = lambda exact=False, name=name: recurrent_case(name, exact=exact)
    convolutions = ("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
                    "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose")  # fmt: skip
    for name in convolutions:
        rank = int(re.search(r"(\d)D", name).group(1))
        STRATEGIES[name] = lambda exact=False, name=name, rank=rank: conv_case(name, rank, exact=exact)
    for rank in (1, 2, 3):
        for mode in ("Max", "Average"):
            name = f"{mode}Pooling{rank}D"
            STRATEGIES[name] = lambda exact=False, name=name, rank=rank: pooling_case(name, rank, exact=exact)
            name = f"Global{mode}Pooling{rank}D"
            STRATEGIES[name] = lambda exact=False, name=name, rank=rank: global_pooling_case(
                name, rank, exact=exact
            )


_register_families()


def test_every_kind_has_a_strategy() -> None:
    missing = sorted(COVERED_HERE - set(STRATEGIES))
    assert not missing, f"layer kinds without generated differential cases: {missing}"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_generated_cases(name: str) -> None:
    @HYPOTHESIS
    @given(case=STRATEGIES[name]())
    def check(case) -> None:
        step, shapes, run = case
        compare(step, shapes, run=run)

    check()


# Kinds tried as shared layers: a second use changes one size (or none) of the first use's shape.
SHARED_KINDS = ["Dense", "Conv1D", "Conv2D", "SeparableConv1D", "DepthwiseConv2D", "Conv2DTranspose",
                "MaxPooling2D", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Embedding",
                "BatchNormalization", "LayerNormalization", "UpSampling1D"]  # fmt: skip


def _concrete(shape_: tuple) -> tuple:
    # Shared cases are run (a wrong size often fails only then): sizes must be known, see the module doc.
    return (None, *(d if isinstance(d, int) else 5 for d in shape_[1:]))


@st.composite
def shared_case(draw, name: str):
    step, (first,), _ = draw(STRATEGIES[name](exact=True))
    first = _concrete(first)
    second = list(first)
    if len(first) > 1:
        axis = draw(st.integers(1, len(first) - 1))
        # LayerNormalization weights of size 1 may broadcast, depending on the axis' spelling: see
        # DELIBERATE_SHARED.
        last = len(first) - 1
        broadcasts = name == "LayerNormalization" and first[axis] == 1 and step.get("axis") in (last, [last])
        # A wrapped convolution fed more channels runs as a grouped one: see DELIBERATE_SHARED.
        inner = step.get("layer", {}).get("type", "")
        channels = 2 if step.get("layer", {}).get("data_format") == "channels_first" else len(first) - 1
        regroups = name == "TimeDistributed" and inner.startswith("Conv") and axis == channels
        if not (broadcasts or regroups):
            second[axis] = draw(st.integers(1, 9))
    return step, [first, tuple(second)]


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    @HYPOTHESIS
    @given(case=shared_case(name))
    def check(case) -> None:
        step, shapes = case
        truth = keras_shared(step, shapes, run=True)
        check_agreement(step, shapes, truth, mspec_shared(step, shapes))

    check()
