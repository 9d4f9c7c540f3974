"""Whether mspec agrees with Keras on one layer call: the contract of every layer differential test.

For each case, Keras (through `support.keras_oracle`) is the ground truth:
mspec must refuse exactly what Keras refuses, and where both accept, give the
same output shape (named dimensions compared as None, as Keras sees them) and
the same `count_params()`. A refusal on the mspec side is a pydantic
ValidationError (bad parameters) or a ShapeError (bad input shapes); on the
Keras side, any exception from the constructor or the symbolic call.

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

So the truth does not depend on the host CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from mspec.graph.passes.portability import limitations
from mspec.graph.passes.shapes import later_use
from mspec.layers import Shape, ShapeError
from mspec.layers.call import make_call
from mspec.spec.weight_ranks import activity_rank_problem, input_weight_problem, weight_problems

from support.keras_build import as_keras
from support.keras_oracle import KerasResult, Verdict, keras_apply, onednn_enabled


@dataclass(frozen=True)
class Outcome:
    """What mspec makes of one layer call: a shape and a weight count, or the reason it refuses."""

    shape: Shape | None
    count: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _shape_error(error: ShapeError, n_inputs: int) -> str:
    # Messages are format strings naming inputs {0}, {1}...: they must format cleanly.
    text = error.message.format(*(f"<input {i}>" for i in range(n_inputs)))
    return f"ShapeError: {text}"


def _calls_in(call):
    """A call and the calls nested in it (a wrapper's layer, an RNN's cells), as validation meets them."""
    yield call
    for value in call.params.__dict__.values():
        for item in value if isinstance(value, tuple) else (value,):
            if hasattr(item, "kind") and hasattr(item, "params"):
                yield from _calls_in(item)


def mspec_apply(step: dict, shapes: list[Shape]) -> Outcome:
    """Validate the step and infer its output shape and weight count, as the compiler does."""
    try:
        call = make_call(step)
    except ValidationError as error:
        return Outcome(None, None, f"ValidationError: {error}")
    for inner in _calls_in(call):
        for name, problem in weight_problems(inner):  # validation's MS105, for each step it validates
            return Outcome(None, None, f"{inner.kind.name} {name}: {problem}")
    kind = call.kind
    if len(shapes) < kind.min_inputs or (kind.max_inputs is not None and len(shapes) > kind.max_inputs):
        return Outcome(None, None, f"{kind.name} cannot take {len(shapes)} inputs")
    try:
        shape = kind.output_shape(call.params, shapes)
    except ShapeError as error:
        return Outcome(None, None, _shape_error(error, len(shapes)))
    problem = activity_rank_problem(call.params, shape) or input_weight_problem(call.params, shapes[0])
    if problem is not None:
        return Outcome(None, None, problem)
    return Outcome(shape, kind.param_count(call.params, shapes))


def mspec_shared(step: dict, shapes: list[Shape]) -> Outcome:
    """Use one layer on each shape in turn: every use must fit the sizes fixed by the first one.

    A later use is judged as the compiler judges it (`shapes.later_use`).
    """
    first_use = mspec_apply(step, shapes[:1])
    if not first_use.ok:
        return Outcome(None, None, f"use 0: {first_use.error}")
    call = make_call(step)
    kind, params = call.kind, call.params
    fixed: dict = {}
    shape = None
    for use, input_shape in enumerate(shapes):
        try:
            if use == 0:
                shape = kind.output_shape(params, [input_shape])
            else:
                shape, (input_shape,) = later_use(kind, params, [input_shape], fixed)
        except ShapeError as error:
            return Outcome(None, None, f"use {use}: {_shape_error(error, 1)}")
        problem = activity_rank_problem(params, shape) or input_weight_problem(params, input_shape)
        if problem is not None:
            return Outcome(None, None, f"use {use}: {problem}")
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
    """Check one layer call against Keras (see the module doc) and return Keras' outcome."""
    truth = keras_apply(step, [as_keras(s) for s in shapes], run=run)
    mine = mspec_apply(step, shapes)
    check_agreement(step, shapes, truth, mine)
    check_portability(step, shapes, mine, truth, run=run)
    return truth
