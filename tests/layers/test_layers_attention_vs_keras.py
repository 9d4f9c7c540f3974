"""Differential tests of AdditiveAttention, GroupQueryAttention and EinsumDense against Keras.

The same contract as every layer differential test (`support.layer_agreement`):
mspec refuses exactly what Keras refuses, and where both accept gives Keras'
output shape and `count_params()`. EinsumDense declares its output from the
equation and `output_shape` without running the einsum, and declares the
axes under a leading `...` in reverse order: where what runs contradicts the
declared shape, the case runs on arrays (marked `kernels`) and Keras refuses.

Beyond single layers: a spec using each kind builds in Keras with mspec's
shapes and weight count (so generated code calls GroupQueryAttention as
`layer(query, value, key)`), and a Keras model with each kind imports to a
spec that rebuilds the same model.

MSPEC_ATTENTION_EXAMPLES sets the number of generated cases per kind (default 8).
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("keras")

from hypothesis import strategies as st

from mspec.layers import REGISTRY

from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_explicit_case,
    check_generated_cases,
    examples,
    no,
    ok,
    param,
)
from support.layer_strategies.drawing import shape

pytestmark = [
    pytest.mark.keras,
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
]

# Attention and MultiHeadAttention are tested with the merges (test_layers_merge_vs_keras).
KINDS = ["AdditiveAttention", "EinsumDense", "GroupQueryAttention"]

HYPOTHESIS = examples("MSPEC_ATTENTION_EXAMPLES", 8)


def E(equation: str, output_shape, **params) -> dict:
    return L("EinsumDense", equation=equation, output_shape=output_shape, **params)


def G(head_dim: int, query_heads: int, kv_heads: int, **params) -> dict:
    return L("GroupQueryAttention", head_dim=head_dim, num_query_heads=query_heads,
             num_key_value_heads=kv_heads, **params)  # fmt: skip


EINSUM_CASES = [
    # Without bias_axes there is no bias, whose initializer's rank then does not matter.
    ok(E("ab,bc->ac", 4, bias_initializer="orthogonal"), (N, 3), run=True),
    no(E("ab,bc->ac", 4, bias_axes="c", bias_initializer="orthogonal"), (N, 3)),
    no(E("abc,cd->abd", [5, 4], activity_regularizer="orthogonal_regularizer"), (N, 5, 3), run=True),
    ok(E("ab,bc->ac", 4, bias_axes="c"), (N, 3)),
    ok(E("ab,bc->ac", 4, activation="relu"), (N, 3), run=True),
    ok(E("abc,cd->abd", [5, 4]), (N, 5, 3), run=True),
    ok(E("abc,cd->abd", [N, 4], bias_axes="d"), (N, "T", 3)),
    ok(E("abc,cde->abde", [N, 2, 4], bias_axes="de"), (N, 5, 3), run=True),
    ok(E("abc,cde->abde", [N, 2, 4], bias_axes="e"), (N, 5, 3), run=True),
    # A bias over an axis output_shape leaves unknown cannot be created.
    no(E("abc,cd->abd", [N, 4], bias_axes="b"), (N, 5, 3)),
    ok(E("...b,bc->...c", 4, bias_axes="c"), (N, 5, 3), run=True),
    ok(E("...b,bc->...c", 4), (N, 3)),
    ok(E("...b,bc->...c", 4), (N, 2, 2, 3), run=True),
    ok(E("ab...,bc->ac...", 4, bias_axes="c"), (N, 3, 5), run=True),
    ok(E("ab...,bc->ac...", 4), (N, 3), run=True),
    ok(E("abc,bd->adc", [4, 5]), (N, 3, 5), run=True),
    # Contracting two input axes at once.
    ok(E("abc,bcd->ad", 6, bias_axes="d"), (N, 2, 3), run=True),
    # Keras declares the axes under a leading '...' in reverse: 2 and 5 come out as 5 and 2.
    no(E("...b,bc->...c", 4), (N, 2, 5, 3), run=True),
    # A plain equation on an input of higher rank builds, and fails when run.
    no(E("ab,bc->ac", 4), (N, 5, 3), run=True),
    no(E("abc,cd->abd", 4), (N, 3)),
    no(E("abc,cd->abd", [6, 4]), (N, 5, 3)),
    no(E("abc,cd->abd", [N, N]), (N, 5, 3)),
    no(E("ab,bc->ac", 4), (N, N)),
    no(E("ab,bc->ac", 4, bias_axes="x"), (N, 3)),
    no(E("ab,bc->acd", 4), (N, 3)),
    no(E("ab,bcx->ac", 4), (N, 3)),
    no(E("ab-bc->ac", 4), (N, 3)),
    no(E("ab,bc->ac", [4, 2]), (N, 3), run=True),
    ok(E("ab...,bc->ac...", 4), (N, 3, 5, 2), run=True),
    # With nothing under '...', the batch is the first letter: output_shape leaves it out.
    ok(E("...ab,bc->...ac", 4), (N, 3), run=True),
    no(E("...ab,bc->...ac", [N, 4]), (N, 3), run=True),
]  # fmt: skip

ADDITIVE_CASES = [
    ok(L("AdditiveAttention"), (N, 3, 4), (N, 5, 4), run=True),
    ok(L("AdditiveAttention"), (N, 3, 4), (N, 5, 6), (N, 5, 4), run=True),
    ok(L("AdditiveAttention", use_scale=False), (N, 3, 1), (N, 5, 4), run=True),
    ok(L("AdditiveAttention"), (N, 3, 4), (N, 5, 6), (N, 5, 1), run=True),
    ok(L("AdditiveAttention", dropout=0.5, seed=1), (N, 2, 3, 4), (N, 1, 5, 4), run=True),
    ok(L("AdditiveAttention", use_scale=False), (N, "T", N), (N, "S", N)),
    no(L("AdditiveAttention"), (N, 3, N), (N, 5, N)),
    no(L("AdditiveAttention"), (N, 3, 4), (N, 5, 6), run=True),
    no(L("AdditiveAttention"), (N, 3, 4), (N, 5, 6), (N, 7, 4), run=True),
    no(L("AdditiveAttention"), (N, 3, 4)),
    no(L("AdditiveAttention"), (N, 4), (N, 5, 4), run=True),
]  # fmt: skip

GQA_CASES = [
    ok(G(2, 4, 2), (N, 3, 4), (N, 5, 4), run=True),
    ok(G(3, 2, 2, use_bias=False), (N, 3, 4), (N, 5, 4), (N, 5, 6), run=True),
    ok(G(2, 4, 1, use_gate=True, dropout=0.2), (N, 3, 4), (N, 5, 4), run=True),
    ok(G(2, 2, 1, sliding_window=2), (N, 6, 4), (N, 6, 4), run=True),
    ok(G(2, 2, 2), (N, "T", 4), (N, "S", 4)),
    no(G(2, 3, 2), (N, 3, 4), (N, 5, 4)),
    no(G(2, 2, 1, sliding_window=0), (N, 3, 4), (N, 5, 4)),
    no(G(2, 2, 1), (N, 3, 4), (N, 5, 6)),
    no(G(2, 2, 1), (N, 3, 4), (N, 5, 4), (N, 6, 4)),
    no(G(2, 2, 1), (N, 3, N), (N, 5, N)),
    no(G(2, 2, 1), (N, 4), (N, 4)),
    no(G(2, 2, 1), (N, 2, 3, 4), (N, 2, 5, 4), run=True),
]  # fmt: skip

EXPLICIT = EINSUM_CASES + ADDITIVE_CASES + GQA_CASES

# What mspec refuses on purpose although Keras builds it.
DELIBERATE = [
    ("a dropout rate above 1 is no rate: Keras only fails once it trains",
     no(L("AdditiveAttention", dropout=1.5), (N, 3, 4), (N, 5, 4))),
    ("zero query heads attend to nothing: the layer's output is its output bias",
     no(G(2, 0, 2), (N, 3, 4), (N, 5, 4))),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in EXPLICIT])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


def test_every_kind_has_accepted_and_refused_cases() -> None:
    assert KINDS == ["AdditiveAttention", "EinsumDense", "GroupQueryAttention"]
    for accepted in (True, False):
        covered = {case.step["type"] for case in EXPLICIT if case.accepted == accepted}
        assert covered == set(KINDS), sorted(set(KINDS) - covered)


# --- Generated cases --------------------------------------------------------

LETTERS = "abcdefgh"


@st.composite
def einsum_case(draw):
    """An equation over distinct letters: batch 'a', kept axes, contracted axes and new kernel axes."""
    form = draw(st.sampled_from(["plain", "plain", "left", "right"]))
    kept = draw(st.integers(0, 1))
    contracted = draw(st.integers(1, 2))
    new = draw(st.integers(1, 2))
    letters = iter(LETTERS[1:])
    kept_letters = "".join(next(letters) for _ in range(kept))
    contracted_letters = "".join(next(letters) for _ in range(contracted))
    new_letters = "".join(next(letters) for _ in range(new))
    given = "a" + kept_letters + contracted_letters
    weights = "".join(draw(st.permutations(contracted_letters + new_letters)))
    result = "a" + kept_letters + "".join(draw(st.permutations(new_letters)))
    if form == "left":
        given, result = given[1:], result[1:]
        equation = f"...{given},{weights}->...{result}"
        rank = len(given) + 1 + draw(st.integers(0, 1))
    elif form == "right":
        equation = f"{given}...,{weights}->{result}..."
        rank = len(given) + draw(st.integers(0, 1))
    else:
        equation = f"{given},{weights}->{result}"
        rank = len(given) + draw(st.sampled_from([0, 0, 0, 1]))
    sizes = [draw(st.sampled_from([None, draw(st.integers(1, 4))])) for _ in result]
    partial = sizes if form == "left" else sizes[1:]  # output_shape starts after the batch axis
    output_shape = partial[0] if len(partial) == 1 and partial[0] and draw(st.booleans()) else partial
    step = {"type": "EinsumDense", "equation": equation, "output_shape": output_shape}
    if draw(st.booleans()):
        step["bias_axes"] = "".join(
            draw(st.lists(st.sampled_from(result), min_size=1, max_size=2, unique=True))
        )
    if draw(st.booleans()):
        step["activation"] = draw(st.sampled_from(["relu", "tanh", None]))
    return step, [draw(shape(rank, exact=True, known_only=True, batch=st.none()))], True


@st.composite
def additive_case(draw):
    rank = draw(st.sampled_from([3, 3, 4]))
    query = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    value = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    inputs = [query, value]
    if draw(st.booleans()):
        inputs.append(tuple(draw(st.sampled_from([d, d, d, 1])) if i else d for i, d in enumerate(value)))
    if draw(st.booleans()):
        inputs = [(*s[:-1], query[-1]) if i != 1 else s for i, s in enumerate(inputs)]
    step = draw(st.fixed_dictionaries({}, optional={"use_scale": st.booleans(),
                                                      "dropout": st.sampled_from([0.0, 0.5])}))  # fmt: skip
    return {"type": "AdditiveAttention", **step}, inputs, True


@st.composite
def gqa_case(draw):
    kv_heads = draw(st.integers(1, 3))
    query_heads = kv_heads * draw(st.integers(1, 2)) + draw(st.sampled_from([0, 0, 0, 1]))
    step = draw(st.fixed_dictionaries(
        {"head_dim": st.integers(1, 3), "num_query_heads": st.just(query_heads),
         "num_key_value_heads": st.just(kv_heads)},
        optional={"use_bias": st.booleans(), "use_gate": st.booleans(), "dropout": st.sampled_from([0, 0.5]),
                  "sliding_window": st.integers(1, 3)},
    ))  # fmt: skip
    rank = draw(st.sampled_from([3, 3, 3, 4]))
    query = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    value = draw(shape(rank, exact=True, known_only=True, batch=st.none()))
    if draw(st.booleans()):
        value = (*value[:-1], query[-1])
    inputs = [query, value]
    if draw(st.booleans()):
        inputs.append((*value[:-1], draw(st.integers(1, 5))) if draw(st.booleans()) else query)
    return {"type": "GroupQueryAttention", **step}, inputs, True


STRATEGIES = {"EinsumDense": einsum_case, "AdditiveAttention": additive_case, "GroupQueryAttention": gqa_case}


def test_every_kind_has_a_strategy() -> None:
    assert sorted(STRATEGIES) == KINDS


@pytest.mark.kernels
@pytest.mark.parametrize("name", KINDS)
def test_generated_cases(name: str) -> None:
    check_generated_cases(STRATEGIES[name](), HYPOTHESIS)


# --- Whole models: generated code and import ----------------------------------

SPEC = """
[model]
name = "attention_kinds"

[inputs]
tokens = { shape = [6, 8] }
memory = { shape = [5, 8] }

[branches.projected]
from = "tokens"
layers = [{ type = "EinsumDense", equation = "abc,cd->abd", output_shape = ["steps", 8], bias_axes = "d" }]

[merges.grouped]
type = "GroupQueryAttention"
from = ["projected", "memory", "memory"]
head_dim = 4
num_query_heads = 4
num_key_value_heads = 2

[merges.additive]
type = "AdditiveAttention"
from = ["grouped", "memory"]

[outputs.y]
from = "additive"
layers = [{ type = "EinsumDense", equation = "...b,bc->...c", output_shape = 3, activation = "softmax" }]
loss = "categorical_crossentropy"
"""


def test_a_spec_with_every_kind_builds_with_mspec_shapes() -> None:
    from mspec.backends.codegen.python import generate_source
    from mspec.backends.keras_model.build import build_model
    from mspec.graph.passes.shapes import total_param_count
    from mspec.pipeline import check_bytes

    from support.keras_build import as_keras, keras_shapes

    checked = check_bytes(SPEC.encode(), "attention.toml", "toml")
    assert checked.ok, [d.format() for d in checked.diagnostics]
    graph = checked.graph
    assert {n.call.kind.name for n in graph.nodes.values() if n.call is not None} >= set(KINDS)
    assert "layers.GroupQueryAttention(" in generate_source(graph)
    model = build_model(graph)
    built = keras_shapes(graph, model)
    for node in graph.topological_order():
        if node.id in built:
            assert built[node.id] == as_keras(node.shape), node.id
    assert model.count_params() == total_param_count(graph)


def _keras_model(keras):
    tokens = keras.Input((6, 8), name="tokens")
    memory = keras.Input((5, 8), name="memory")
    projected = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 8), bias_axes="d",
                                         activation="relu", name="projected")(tokens)  # fmt: skip
    grouped = keras.layers.GroupQueryAttention(4, 4, 2, use_gate=True, name="grouped")(projected, memory)
    keyed = keras.layers.GroupQueryAttention(2, 2, 1, name="keyed")(query=grouped, value=memory, key=memory)
    additive = keras.layers.AdditiveAttention(use_scale=False, name="additive")([keyed, memory])
    scaled = keras.layers.AdditiveAttention(name="scaled")([additive, memory, memory])
    out = keras.layers.EinsumDense("...b,bc->...c", output_shape=3, name="y")(scaled)
    return keras.Model([tokens, memory], out, name="attention_kinds")


def test_a_keras_model_with_every_kind_imports_and_rebuilds() -> None:
    import keras

    from mspec.importer import import_config

    from support.round_trip import build_imported, strip_names

    model = _keras_model(keras)
    result = import_config(json.loads(model.to_json()), "attention.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert 'output_shape = ["size1", 8]' in result.text  # Keras' null, written as a name
    rebuilt = build_imported(result.text)
    # Keras orders the two inputs differently in the rebuilt model: compare layer by layer, by name.
    for layer in model.layers:
        again = rebuilt.get_layer(layer.name)
        assert type(again) is type(layer), layer.name
        assert strip_names(again.get_config()) == strip_names(layer.get_config()), layer.name
        assert again.count_params() == layer.count_params(), layer.name
        assert again.output.shape == layer.output.shape, layer.name
    assert rebuilt.count_params() == model.count_params()


def test_kinds_know_their_call_style() -> None:
    assert REGISTRY["GroupQueryAttention"].call_style == "separate"
    assert REGISTRY["AdditiveAttention"].call_style == "list"
    assert REGISTRY["EinsumDense"].call_style == "single"
