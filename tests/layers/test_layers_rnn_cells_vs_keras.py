"""Differential tests of RNN and the recurrent cells it runs against Keras itself.

The same contract as every layer differential test (`support.layer_agreement`):
mspec refuses exactly what Keras refuses, and where both accept gives Keras'
output shape and `count_params()`. Cases that run on arrays are marked
`kernels`.

A cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells) is no layer of its
own: Keras cannot call one on a tensor, and a spec only writes one in an RNN's
`cell`. So every case here is an RNN step; the cells are tried inside it.

RNN has no input spec: Keras builds it on an input of any rank and, on a rank
other than 3, only running it shows the mistake. Such cases run, with known
sizes. MSPEC_RNN_CELL_EXAMPLES sets the number of generated cases (default 30).
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("keras")

from hypothesis import given
from hypothesis import strategies as st

from mspec.graph.passes.portability import limitations
from mspec.layers import KIND_MODULES
from mspec.layers.call import make_call

from support.keras_build import as_keras
from support.keras_oracle import EVIDENCE, Verdict, jax_installed, keras_apply
from support.layer_agreement import mspec_apply
from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_every_kind_has_accepted_and_refused,
    check_explicit_case,
    check_generated_cases,
    check_shared_case,
    examples,
    no,
    ok,
    param,
)
from support.layer_strategies.drawing import shape
from support.layer_strategies.rnn import UNITS, recurrent_options

pytestmark = [pytest.mark.keras]

KINDS = sorted(name for name, module in KIND_MODULES.items() if module == "rnn_cells")
CELLS = ["GRUCell", "LSTMCell", "SimpleRNNCell"]

HYPOTHESIS = examples("MSPEC_RNN_CELL_EXAMPLES", 30)


def stack(*cells: dict) -> dict:
    return L("StackedRNNCells", cells=list(cells))


# --- Explicit cases ---------------------------------------------------------

RNN_CASES = [
    # Each cell, returning the last output or every step's.
    ok(L("RNN", cell=L("SimpleRNNCell", units=4)), (N, 5, 3)),
    ok(L("RNN", cell=L("SimpleRNNCell", units=4, activation="relu", use_bias=False), return_sequences=True),
       (N, "T", 3)),
    ok(L("RNN", cell=L("LSTMCell", units=4)), (N, 5, 3)),
    ok(L("RNN", cell=L("LSTMCell", units=16), return_sequences=True), ("B", "T", 3)),
    ok(L("RNN", cell=L("LSTMCell", units=2, unit_forget_bias=False, dropout=0.2, recurrent_dropout=0.1,
                        seed=3)), (7, N, 3)),
    ok(L("RNN", cell=L("GRUCell", units=3)), (N, 5, 2)),
    ok(L("RNN", cell=L("GRUCell", units=3, reset_after=False), return_sequences=True), (N, 5, 2)),
    ok(L("RNN", cell=L("GRUCell", units=3, use_bias=False, recurrent_activation="hard_sigmoid")), (2, 5, 2)),
    # go_backwards, unroll (an unknown time axis too) and zero_output_for_mask run as declared.
    ok(L("RNN", cell=L("GRUCell", units=2), go_backwards=True, return_sequences=True), (N, 5, 3), run=True),
    ok(L("RNN", cell=L("LSTMCell", units=3), unroll=True), (N, 4, 3), run=True),
    ok(L("RNN", cell=L("LSTMCell", units=3), unroll=True), (N, N, 3), run=True),
    ok(L("RNN", cell=L("SimpleRNNCell", units=2), zero_output_for_mask=True, return_sequences=True),
       (N, 5, 3), run=True),
    # Stacked cells: each reads the output of the one before, the last one's units are the output.
    ok(L("RNN", cell=stack(L("GRUCell", units=8), L("SimpleRNNCell", units=4))), (N, 5, 3)),
    ok(L("RNN", cell=stack(L("GRUCell", units=8, reset_after=False), L("LSTMCell", units=4, use_bias=False)),
         return_sequences=True, go_backwards=True), (N, 5, 3), run=True),
    ok(L("RNN", cell=[L("LSTMCell", units=3), L("GRUCell", units=2), L("SimpleRNNCell", units=5)]), (N, 5, 3),
       run=True),
    ok(L("RNN", cell=stack(stack(L("GRUCell", units=3), L("LSTMCell", units=2)), L("SimpleRNNCell", units=2)),
         unroll=True), (N, 5, 3), run=True),
    # In a wrapper: Bidirectional runs a copy backwards, TimeDistributed runs it on each step of axis 1.
    ok(L("Bidirectional", layer=L("RNN", cell=L("LSTMCell", units=4))), (N, 5, 3), run=True),
    ok(L("Bidirectional", layer=L("RNN", cell=[L("LSTMCell", units=4), L("GRUCell", units=2)],
                                  return_sequences=True), merge_mode="sum"), (N, "T", 3)),
    ok(L("TimeDistributed", layer=L("RNN", cell=L("GRUCell", units=4))), (N, 4, 5, 3), run=True),
    no(L("Bidirectional", layer=L("RNN", cell=L("LSTMCell", units=4), go_backwards=True)), (N, 5, 3)),
    no(L("TimeDistributed", layer=L("RNN", cell=L("GRUCell", units=4))), (N, 4, 5, N)),
    # Keras refuses: the rank or the feature size is wrong, or the cell is no cell.
    no(L("RNN", cell=L("LSTMCell", units=4)), (N, 5)),
    no(L("RNN", cell=L("LSTMCell", units=4)), (2, 5), run=True),
    no(L("RNN", cell=L("GRUCell", units=4)), (N, 5, 3, 2), run=True),
    no(L("RNN", cell=L("SimpleRNNCell", units=4)), (N, 5, 2, 2), run=True),
    no(L("RNN", cell=L("LSTMCell", units=4)), (N, 5, N)),
    no(L("RNN", cell=L("LSTMCell", units=4)), (N, 5, "F")),
    no(L("RNN", cell=stack(L("GRUCell", units=2), L("LSTMCell", units=2))), (N, 5, N)),
    no(L("RNN", cell=L("LSTMCell", units=0)), (N, 5, 3)),
    no(L("RNN", cell=L("LSTMCell", units=4, recurrent_activation="glu")), (N, 5, 3), run=True),
    no(L("RNN", cell=L("SimpleRNNCell", units=2, activation="glu")), (N, 5, 4), run=True),
    no(L("RNN", cell=L("LSTM", units=4)), (N, 5, 3)),
    no(L("RNN", cell=L("Dense", units=4)), (N, 5, 3)),
    no(L("RNN", cell=[]), (N, 5, 3)),
    no(L("RNN", cell=stack()), (N, 5, 3)),
    # A stack of one cell runs on TensorFlow (JAX's scan refuses it: MS305, see
    # test_a_stack_of_one_cell_runs_on_tensorflow_only), unrolled too, but for a lone LSTMCell, which
    # then reads its two states from one on every backend, however deep the stack of one.
    ok(L("RNN", cell=stack(L("GRUCell", units=3))), (N, 5, 3)),
    ok(L("RNN", cell=[L("SimpleRNNCell", units=3)], return_sequences=True), (N, 5, 3)),
    ok(L("RNN", cell=[L("GRUCell", units=3)], unroll=True), (N, 5, 3), run=True),
    ok(L("RNN", cell=stack(L("SimpleRNNCell", units=3)), unroll=True, go_backwards=True), (N, 5, 3),
       run=True),
    no(L("RNN", cell=[L("LSTMCell", units=2)], unroll=True), (N, 5, 3), run=True),
    no(L("RNN", cell=stack(L("LSTMCell", units=2)), unroll=True, return_sequences=True), (N, 5, 3), run=True),
    no(L("RNN", cell=stack(stack(L("LSTMCell", units=2)), L("GRUCell", units=2)), unroll=True), (N, 5, 3),
       run=True),
    # A cell's bias left out by use_bias takes any initializer.
    ok(L("RNN", cell=L("LSTMCell", units=2, use_bias=False, bias_initializer="orthogonal")), (N, 5, 3),
       run=True),
    # With reset_after (the default), a GRU's bias is a matrix.
    ok(L("RNN", cell=L("GRUCell", units=2, bias_initializer="orthogonal")), (N, 5, 3)),
    no(L("RNN", cell=L("GRUCell", units=2, reset_after=False, bias_initializer="orthogonal")), (N, 5, 3)),
    no(L("RNN", cell=L("GRUCell", units=2), return_sequences=True,
         activity_regularizer="orthogonal_regularizer"), (N, 5, 3), run=True),
]  # fmt: skip

# What mspec refuses on purpose although Keras builds it.
DELIBERATE = [
    ("return_state=True returns the output and the states: a step has one output",
     ok(L("RNN", cell=L("LSTMCell", units=4), return_state=True), (N, 5, 3))),
    ("stateful=True carries state between batches, which a spec does not describe",
     ok(L("RNN", cell=L("GRUCell", units=4), stateful=True), (2, 5, 3))),
    ("Keras clamps a dropout rate into [0, 1]: a spec writes the rate it means",
     ok(L("RNN", cell=L("SimpleRNNCell", units=4, dropout=1.5)), (N, 5, 3))),
]  # fmt: skip


# Stacks of one cell, anywhere in the cell: each runs on TensorFlow and not on JAX (whose scan refuses the
# lone cell's state, handed back unwrapped), unless unrolled; stacks of two run on both.
ONE_CELL_STACKS = [
    (L("RNN", cell=stack(L("GRUCell", units=3))), False),
    (L("RNN", cell=[L("LSTMCell", units=3)], return_sequences=True), False),
    (L("RNN", cell=stack(L("SimpleRNNCell", units=3)), go_backwards=True), False),
    (L("RNN", cell=stack(stack(L("GRUCell", units=3)), L("GRUCell", units=2))), False),
    (L("Bidirectional", layer=L("RNN", cell=[L("GRUCell", units=3)])), False),
    (L("RNN", cell=stack(L("GRUCell", units=3)), unroll=True), True),
    (L("RNN", cell=stack(L("GRUCell", units=3), L("LSTMCell", units=2))), True),
]  # fmt: skip


@pytest.mark.kernels
@pytest.mark.skipif(not jax_installed(), reason="the evidence from JAX is what this checks")
@pytest.mark.parametrize(("step", "on_jax"), ONE_CELL_STACKS)
def test_a_stack_of_one_cell_runs_on_tensorflow_only(step: dict, on_jax: bool) -> None:
    shapes = [(None, 5, 3)]
    here = keras_apply(step, shapes, run=True)
    assert here.ok and here.verdict is Verdict.ACCEPTED, here.error  # runs here, on TensorFlow
    elsewhere = EVIDENCE.runs_elsewhere({"kind": "apply", "step": step, "shapes": shapes})
    assert ("JAX" in elsewhere) == on_jax, elsewhere
    mine = mspec_apply(step, shapes)
    assert mine.ok and as_keras(mine.shape) == here.output_shape, mine
    warned = [message for message, _ in limitations(make_call(step), shapes)]
    assert bool(warned) == (not on_jax), warned


def kinds_in(step: dict) -> set[str]:
    """The kinds a step names: its own, and those of its cells, however deeply stacked."""
    found = {step["type"]}
    for key in ("cell", "cells"):
        value = step.get(key)
        for item in value if isinstance(value, list) else [value] if isinstance(value, dict) else []:
            found |= kinds_in(item)
    return found


@pytest.mark.parametrize("case", [param(c) for c in RNN_CASES])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


def test_every_kind_has_accepted_and_refused_cases() -> None:
    check_every_kind_has_accepted_and_refused(KINDS, RNN_CASES, kinds_of=kinds_in)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_keras_cannot_call_a_cell_alone(name: str) -> None:
    # A cell's call needs the states an RNN keeps: on one tensor Keras refuses it.
    assert not keras_apply(L(name, units=4), [(None, 3)]).ok
    assert not keras_apply(stack(L(name, units=4), L("GRUCell", units=2)), [(None, 3)]).ok


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    ok(L("RNN", cell=L("LSTMCell", units=2)), (N, 5, 3), (N, 9, 3), run=True),
    no(L("RNN", cell=L("LSTMCell", units=2)), (N, 5, 3), (N, 5, 4), run=True),
    ok(L("RNN", cell=[L("GRUCell", units=2), L("SimpleRNNCell", units=3)]), (N, 5, 3), (N, 2, 3), run=True),
    no(L("RNN", cell=[L("GRUCell", units=2), L("SimpleRNNCell", units=3)]), (N, 5, 3), (N, 5, 1), run=True),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


# --- Generated cases --------------------------------------------------------
#
# A cell is mostly one of the three, sometimes a StackedRNNCells of two or three (which may hold a
# stack itself), or Keras' list of cells. Stacks of one cell stay out: they do not run on JAX (MS305).


def single_cell(name: str):
    # A cell takes the options of its recurrent layer that concern one step.
    optional = recurrent_options(name.removesuffix("Cell"))
    return st.fixed_dictionaries({"units": UNITS}, optional=optional).map(lambda p: {"type": name, **p})


def any_single_cell():
    return st.sampled_from(CELLS).flatmap(single_cell)


def cell_list(cell):
    return st.lists(cell, min_size=2, max_size=3)


def any_cell():
    """A cell table: a single cell, or (a quarter of the time) a stack, whose cells may be stacks too."""
    inner = st.one_of(
        any_single_cell(), any_single_cell(), cell_list(any_single_cell()).map(lambda c: stack(*c))
    )
    stacked = cell_list(inner).map(lambda c: stack(*c))
    return st.one_of(any_single_cell(), any_single_cell(), any_single_cell(), stacked)


@st.composite
def rnn_case(draw):
    cell = draw(st.one_of(any_cell(), any_cell(), any_cell(), cell_list(any_cell())))
    optional = {
        name: st.booleans() for name in ("return_sequences", "go_backwards", "unroll", "zero_output_for_mask")
    }
    step = {"type": "RNN", "cell": cell, **draw(st.fixed_dictionaries({}, optional=optional))}
    rank = draw(st.sampled_from([3] * 6 + [2, 4]))
    # Another rank only fails when run (see the module doc): run it, with known sizes.
    run = rank != 3
    return step, [draw(shape(rank, exact=True, known_only=run))], run


def test_every_kind_is_generated() -> None:
    @HYPOTHESIS
    @given(case=rnn_case())
    def collect(case) -> None:
        seen.update(kinds_in(case[0]))

    seen: set[str] = set()
    collect()
    assert seen == set(KINDS)


@pytest.mark.kernels
def test_generated_cases() -> None:
    check_generated_cases(rnn_case(), HYPOTHESIS)


# --- A whole model: the spec, its code, and an import back ------------------

MODEL = """
[model]
name = "cells"

[inputs]
seq = { shape = [6, 3] }

[branches]
encoded = { from = "seq", layers = [
  { type = "RNN", cell = { type = "LSTMCell", units = 16 }, return_sequences = true },
  { type = "RNN", cell = { type = "StackedRNNCells", cells = [{ type = "GRUCell", units = 8 },
    { type = "SimpleRNNCell", units = 4 }] }, return_sequences = true, go_backwards = true },
  { type = "RNN", cell = [{ type = "GRUCell", units = 6, reset_after = false },
    { type = "LSTMCell", units = 5, unit_forget_bias = false }] },
] }

[outputs]
score = { from = "encoded", layers = [{ type = "Dense", units = 1 }] }
"""


def test_generated_source_reads_like_keras_code() -> None:
    from mspec.api import check_text, generate_source

    checked = check_text(MODEL)
    assert checked.ok, [d.format() for d in checked.diagnostics]
    # One line, whatever the line breaks: no space inside brackets, no trailing comma.
    flat = re.sub(
        r",? ([)\]])", r"\1", re.sub(r"([(\[]) ", r"\1", " ".join(generate_source(checked).split()))
    )
    assert 'layers.RNN(layers.LSTMCell(16), return_sequences=True, name="encoded_rnn")(seq)' in flat
    assert "layers.RNN(layers.StackedRNNCells([layers.GRUCell(8), layers.SimpleRNNCell(4)])," in flat
    assert (
        "layers.RNN([layers.GRUCell(6, reset_after=False), layers.LSTMCell(5, unit_forget_bias=False)]"
        in flat
    )


@pytest.mark.kernels
def test_the_model_builds_with_the_inferred_shapes_and_counts() -> None:
    from mspec.api import build_model, check_text

    checked = check_text(MODEL)
    model = build_model(checked)
    assert model.count_params() == sum(node.param_count or 0 for node in checked.graph.nodes.values())
    for node in checked.graph.nodes.values():
        if node.role != "input":
            assert tuple(model.get_layer(_layer_name(checked, node.id)).output.shape) == as_keras(node.shape)


def _layer_name(checked, node_id: str) -> str:
    from mspec.backends.codegen.python import layer_names

    return layer_names(checked.graph)[node_id]


@pytest.mark.kernels
def test_a_keras_model_with_cells_imports_and_predicts_the_same() -> None:
    import keras
    import numpy as np
    from keras import layers

    from mspec.api import build_model, check_text
    from mspec.importer import import_config

    sequence = keras.Input((6, 3), name="sequence")
    x = layers.RNN(layers.LSTMCell(4, kernel_regularizer="l2"), return_sequences=True, name="lstm_cells")(
        sequence
    )
    x = layers.RNN(
        layers.StackedRNNCells(
            [layers.GRUCell(5, reset_after=False), layers.SimpleRNNCell(3, use_bias=False)]
        ),
        return_sequences=True,
        go_backwards=True,
        name="stacked",
    )(x)
    x = layers.Bidirectional(
        layers.RNN([layers.GRUCell(4), layers.LSTMCell(2, unit_forget_bias=False)], return_sequences=True),
        name="both_ways",
    )(x)
    x = layers.RNN([layers.GRUCell(4), layers.SimpleRNNCell(2)], unroll=True, name="listed")(x)
    model = keras.Model(sequence, layers.Dense(1, name="score")(x))

    result = import_config(json.loads(model.to_json()), "cells.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert 'cell = { type = "StackedRNNCells", cells = [{ type = "GRUCell", units = 5' in result.text
    checked = check_text(result.text)
    assert checked.ok, [d.format() for d in checked.diagnostics]
    rebuilt = build_model(checked)
    assert rebuilt.count_params() == model.count_params()
    for layer in model.layers:
        if layer.weights:
            rebuilt.get_layer(layer.name).set_weights(layer.get_weights())
    data = np.random.default_rng(0).normal(size=(4, 6, 3)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-5)


# --- Cells where the spec language puts them --------------------------------

STANDALONE = """
[model]
name = "alone"

[inputs]
seq = { shape = [6, 3] }

[outputs]
y = { from = "seq", layers = [{ type = "LSTMCell", units = 4 }, { type = "Dense", units = 1 }] }
"""


def _errors(text: str) -> list:
    from mspec.api import check_text

    checked = check_text(text)
    assert not checked.ok
    return [d for d in checked.diagnostics if d.is_error]


def test_a_cell_alone_is_refused_with_a_suggestion() -> None:
    (error,) = _errors(STANDALONE)
    assert error.code == "MS110"
    assert "LSTMCell computes one time step" in error.message and "RNN's `cell`" in error.message
    assert 'type = "RNN", cell = { type = "LSTMCell"' in error.hint and "or use LSTM" in error.hint
    cells = '[{ type = "GRUCell", units = 2 }, { type = "GRUCell", units = 2 }]'
    stacked = STANDALONE.replace(
        '{ type = "LSTMCell", units = 4 }', f'{{ type = "StackedRNNCells", cells = {cells} }}'
    )
    (error,) = _errors(stacked)
    assert error.code == "MS110" and "StackedRNNCells computes one time step" in error.message


@pytest.mark.parametrize(
    "cell, code, words",
    [
        ('{ type = "LSTM", units = 4 }', "MS110", "use LSTM as a step of its own, or LSTMCell here"),
        ('{ type = "LSTMCell", units = 0 }', "MS104", "'units' should be greater than 0"),
        ('{ type = "GRUCell", units = 4, reset_afte = true }', "MS101", "did you mean 'reset_after'?"),
        ('{ type = "LSTMCell", units = 4, return_sequences = true }', "MS101", "'return_sequences'"),
        ('{ type = "LSTMCell", units = 4, name = "inner" }', "MS101", "a cell is part of its RNN"),
        ("[]", "MS105", "one or more cells"),
        ('{ type = "StackedRNNCells", cells = [{ type = "GRUCell", units = 2 }, 4] }', "MS103", "cell table"),
        ('{ type = "LSTMCel", units = 4 }', "MS106", "did you mean 'LSTMCell'?"),
    ],
)
def test_a_bad_cell_is_refused_where_it_is_written(cell: str, code: str, words: str) -> None:
    text = STANDALONE.replace('{ type = "LSTMCell", units = 4 }', f'{{ type = "RNN", cell = {cell} }}')
    (error,) = _errors(text)
    assert error.code == code and words in f"{error.message} ({error.hint})", error.format()
    assert (
        error.line == text.splitlines().index(next(line for line in text.splitlines() if "RNN" in line)) + 1
    )


MASKED = """
[model]
name = "masked"

[inputs]
ids = { shape = [20], dtype = "int32" }

[branches]
carried = { from = "ids", layers = [
  { type = "Embedding", input_dim = 100, output_dim = 8, mask_zero = true },
  RECURRENT_SEQUENCES,
  { type = "Flatten" },
] }
dropped = { from = "ids", layers = [
  { type = "Embedding", input_dim = 100, output_dim = 8, mask_zero = true },
  { type = "Conv1D", filters = 8, kernel_size = 3, padding = "same" },
  RECURRENT,
] }

[merges]
features = { type = "Concatenate", from = ["carried", "dropped"] }

[outputs]
score = { from = "features", layers = [{ type = "Dense", units = 1 }] }
"""


def test_an_rnn_carries_and_uses_masks_as_lstm_does() -> None:
    from mspec.api import check_text

    def warnings(recurrent: str) -> list[tuple]:
        sequences = recurrent.removesuffix(" }") + ", return_sequences = true }"
        text = MASKED.replace("RECURRENT_SEQUENCES", sequences).replace("RECURRENT", recurrent)
        return [(d.code, d.line, d.message) for d in check_text(text).diagnostics]

    lstm = warnings('{ type = "LSTM", units = 4 }')
    rnn = warnings('{ type = "RNN", cell = { type = "LSTMCell", units = 4 } }')
    assert [(code, line) for code, line, _ in rnn] == [(code, line) for code, line, _ in lstm]
    assert [code for code, _, _ in rnn] == ["MS710", "MS710"]
    assert "Flatten in carried" in rnn[0][2] and "dropped (RNN) downstream would have used it" in rnn[1][2]
