"""Differential tests of the activation, normalization, regularization and Masking layer kinds
(in `mspec.layers.activations`, `normalization`, `regularization` and `core`) against Keras itself.

The same contract as every layer differential test (`support.layer_agreement`):
mspec refuses exactly what Keras refuses, and where both accept gives Keras'
output shape and `count_params()`. Several of these layers build for any
axis and fail only when run (Softmax, UnitNormalization and RMSNormalization
with an axis out of range or named twice; RMSNormalization with an axis that
is not among the last ones): those cases run on arrays and are marked
`kernels`.

MSPEC_ACTIVATIONS_EXAMPLES sets the number of generated cases per kind (default 4).
"""

from __future__ import annotations

import json
import tomllib

import pytest

pytest.importorskip("keras")

from hypothesis import strategies as st

from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_deliberate_shared_refusal,
    check_every_kind_has_accepted_and_refused,
    check_explicit_case,
    check_generated_cases,
    check_generated_shared_layers,
    check_shared_case,
    examples,
    no,
    ok,
    param,
)
from support.layer_strategies.drawing import FORMAT, any_rank, one_input_case, shape
from support.layer_strategies.sharing import shared_case

pytestmark = [pytest.mark.keras]

KINDS = [
    "ActivityRegularization", "AlphaDropout", "ELU", "GroupNormalization", "LeakyReLU", "Masking", "PReLU",
    "RMSNormalization", "ReLU", "Softmax", "SpatialDropout2D", "SpatialDropout3D", "UnitNormalization",
]  # fmt: skip

HYPOTHESIS = examples("MSPEC_ACTIVATIONS_EXAMPLES", 4)


# --- Explicit cases ---------------------------------------------------------

ACTIVATION_CASES = [
    ok(L("ReLU"), (N, "T", 4)),
    ok(L("ReLU", max_value=6, negative_slope=0.1, threshold=0.5), (N, 3)),
    ok(L("ReLU", max_value=0.0), (N,)),
    no(L("ReLU", max_value=-1.0), (N, 3)),
    no(L("ReLU", negative_slope=-0.1), (N, 3)),
    no(L("ReLU", threshold=-1.0), (N, 3)),
    ok(L("LeakyReLU"), (N, 3, 4)),
    ok(L("LeakyReLU", negative_slope=0.0), (N, 3)),
    no(L("LeakyReLU", negative_slope=-0.2), (N, 3)),
    ok(L("ELU", alpha=-0.5), (N, 3, N)),
    no(L("ELU", alpha="big"), (N, 3), run=True),
    ok(L("Softmax"), (N,)),
    ok(L("Softmax", axis=1), (N, 3, 4)),
    ok(L("Softmax", axis=[1, 2]), (N, 3, 4), run=True),
    ok(L("Softmax", axis=[-1]), (N, "T"), run=True),
    ok(L("Softmax", axis=0), (N, 3)),
    no(L("Softmax", axis=3), (N, 3, 4), run=True),
    no(L("Softmax", axis=-4), (N, 3, 4), run=True),
    no(L("Softmax", axis=[1, -2]), (N, 3, 4), run=True),
    no(L("Softmax", axis=[]), (N, 3, 4), run=True),
    ok(L("PReLU"), (N, 4)),
    ok(L("PReLU"), (N,)),
    ok(L("PReLU", shared_axes=[1, 2]), (N, "H", N, 3)),
    ok(L("PReLU", shared_axes=1), (N, N, 4)),
    ok(L("PReLU", shared_axes=[1, 1]), (N, 3, 4)),
    ok(L("PReLU", shared_axes=[]), (N, 3, 4)),
    ok(L("PReLU", alpha_initializer="ones", alpha_regularizer="l2", alpha_constraint="non_neg"), (N, 2, 3)),
    # alpha has the input's rank less one: a matrix for Orthogonal and Identity only on rank-3 inputs.
    ok(L("PReLU", alpha_initializer="orthogonal"), (N, 3, 4)),
    ok(L("PReLU", alpha_initializer="identity", shared_axes=[1]), (N, 3, 4)),
    no(L("PReLU", alpha_initializer="orthogonal"), (N, 4)),
    no(L("PReLU", alpha_initializer="identity"), (N, 2, 3, 4)),
    no(L("PReLU"), (N, N)),
    no(L("PReLU", shared_axes=[1]), (N, 3, N)),
    no(L("PReLU", shared_axes=[3]), (N, 3, 4)),
    no(L("PReLU", alpha_initializer="nope"), (N, 3)),
]  # fmt: skip

NORMALIZATION_CASES = [
    ok(L("GroupNormalization", groups=2, center=False, scale=False, beta_initializer="orthogonal",
         gamma_initializer="identity"), (N, 4), run=True),
    no(L("GroupNormalization", groups=2, scale=False, beta_initializer="orthogonal"), (N, 4)),
    ok(L("GroupNormalization", groups=2), (N, 4)),
    ok(L("GroupNormalization"), (N, "H", "W", 64)),
    ok(L("GroupNormalization", groups=-1, center=False), (N, 5, 4), run=True),
    ok(L("GroupNormalization", groups=4, scale=False), (N, 4)),
    ok(L("GroupNormalization", groups=1, axis=1), (N, 4, N), run=True),
    ok(L("GroupNormalization", groups=2, axis=-3), (N, 4, 3, 5), run=True),
    ok(L("GroupNormalization", groups=2, axis=2, center=False, scale=False), (N, 3, 4, 5), run=True),
    ok(L("GroupNormalization", groups=2, axis=0), (4, 4, 3), run=True),
    no(L("GroupNormalization", groups=3), (N, 4)),
    no(L("GroupNormalization"), (N, 16)),
    no(L("GroupNormalization", groups=2), (N, N)),
    no(L("GroupNormalization", groups=0), (N, 4)),
    no(L("GroupNormalization", groups=-2), (N, 4)),
    no(L("GroupNormalization", groups=2, axis=[1]), (N, 4, 3)),
    no(L("GroupNormalization", groups=2, axis=3), (N, 4, 3)),
    no(L("GroupNormalization", groups=2, axis=0), (N, 4, 3)),
    no(L("GroupNormalization", groups=-1), (4,), run=True),
    ok(L("UnitNormalization"), (N, "T", 4)),
    ok(L("UnitNormalization", axis=[1, 2]), (N, 3, 4), run=True),
    ok(L("UnitNormalization", axis=0), (N, 3)),
    ok(L("UnitNormalization", axis=[]), (N, 3), run=True),
    no(L("UnitNormalization", axis=3), (N, 3, 4)),
    no(L("UnitNormalization", axis=[1, 1]), (N, 3, 4), run=True),
    no(L("UnitNormalization", axis=1.5), (N, 3, 4)),
    ok(L("RMSNormalization"), (N, "T", 4)),
    ok(L("RMSNormalization", axis=[2, 1]), (N, 3, 4), run=True),
    ok(L("RMSNormalization", axis=[-2, -1], epsilon=1e-5), (N, N, 3, 4), run=True),
    ok(L("RMSNormalization", axis=1), (N, 4), run=True),
    ok(L("RMSNormalization", axis=[0, 1]), (5, 4), run=True),
    ok(L("RMSNormalization", axis=[]), (N, N), run=True),
    ok(L("RMSNormalization"), (5,)),
    no(L("RMSNormalization"), (N, N)),
    no(L("RMSNormalization"), (N,)),
    no(L("RMSNormalization", axis=3), (N, 3, 4)),
    no(L("RMSNormalization", axis=1), (N, 3, 4), run=True),
    no(L("RMSNormalization", axis=[1]), (N, 3, 4), run=True),
    no(L("RMSNormalization", axis=[1, 3]), (N, 3, 4, 5), run=True),
    no(L("RMSNormalization", axis=[1, 1]), (N, 3, 4), run=True),
    no(L("RMSNormalization", axis=[1, -2]), (N, 3, 4), run=True),
    no(L("RMSNormalization", axis=0), (5, 3, 4), run=True),
    no(L("RMSNormalization", axis=1), (N, 3, 1), run=True),
    no(L("RMSNormalization", axis=[-1, 2]), (N, 1, 1, 2), run=True),
]  # fmt: skip

REGULARIZATION_CASES = [
    ok(L("SpatialDropout2D", rate=0.2), (N, "H", 4, 3)),
    ok(L("SpatialDropout2D", rate=0.0, data_format="channels_first", seed=3), (N, 3, 4, 4), run=True),
    ok(L("SpatialDropout2D", rate=1.0, data_format="CHANNELS_LAST"), (N, 3, 4, 4)),
    no(L("SpatialDropout2D", rate=0.2), (N, 3, 4)),
    no(L("SpatialDropout2D", rate=0.2), (N, 3, 4, 2, 1)),
    no(L("SpatialDropout2D", rate=1.2), (N, 3, 4, 2)),
    no(L("SpatialDropout2D", rate=0.2, trainable=False), (N, 3, 4, 2)),
    no(L("SpatialDropout2D", rate=0.2, data_format="channels_middle"), (N, 3, 4, 2)),
    ok(L("SpatialDropout3D", rate=0.5), (N, 3, 4, 2, 1)),
    ok(L("SpatialDropout3D", rate=0.5, data_format="channels_first"), (2, 1, N, N, N), run=True),
    no(L("SpatialDropout3D", rate=0.5), (N, 3, 4, 2)),
    no(L("SpatialDropout3D", rate=-0.5), (N, 3, 4, 2, 1)),
    ok(L("AlphaDropout", rate=0.2), (N, 3)),
    ok(L("AlphaDropout", rate=0.2, noise_shape=[N, 1, 4], seed=1), (N, 3, 4), run=True),
    ok(L("AlphaDropout", rate=1.0), (N,)),
    no(L("AlphaDropout", rate=1.2), (N, 3, 4)),
    no(L("AlphaDropout"), (N, 3, 4)),
    ok(L("ActivityRegularization"), (N, 3)),
    ok(L("ActivityRegularization", l1=0.01, l2=0.001), (N, "T", 3), run=True),
    no(L("ActivityRegularization", l1=-1.0), (N, 3)),
    no(L("ActivityRegularization", l2=-0.1), (N, 3)),
    ok(L("Masking"), (N, "T", 3)),
    ok(L("Masking", mask_value=-1.0), (N, 3, 4), run=True),
    ok(L("Masking", mask_value=2), (N,)),
    no(L("Masking", mask_value="pad"), (N, 3, 4), run=True),
]  # fmt: skip

EXPLICIT = ACTIVATION_CASES + NORMALIZATION_CASES + REGULARIZATION_CASES

# Where mspec refuses on purpose although Keras accepts: each entry says why.
DELIBERATE = [
    ("PReLU reads shared_axes 0 and negative values one position off (0 shares the last axis, -1 the "
     "second to last): shared_axes count from 1, the batch axis being 0",
     ok(L("PReLU", shared_axes=[0]), (N, 3, 4))),
    ("PReLU reads shared_axes 0 and negative values one position off",
     ok(L("PReLU", shared_axes=-1), (N, 3, 4), run=True)),
    ("RMSNormalization lines its scale up with the last axes: with axis 1 on equal sizes it runs, but "
     "scales along the last axis",
     ok(L("RMSNormalization", axis=1), (N, 3, 3), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in EXPLICIT])
def test_explicit_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


def test_every_kind_has_accepted_and_refused_cases() -> None:
    check_every_kind_has_accepted_and_refused(KINDS, EXPLICIT)


# --- Shared layers ----------------------------------------------------------

SHARED_CASES = [
    no(L("PReLU"), (N, 4), (N, 5), run=True),
    no(L("PReLU"), (N, 4), (N, 3, 4)),
    ok(L("PReLU", shared_axes=[1]), (N, 4, 3), (N, 5, 3), run=True),
    no(L("PReLU", shared_axes=[1]), (N, 4, 3), (N, 4, 2)),
    ok(L("GroupNormalization", groups=2), (N, 3, 4), (N, 5, 4), run=True),
    no(L("GroupNormalization", groups=2), (N, 4), (N, 6)),
    no(L("GroupNormalization", groups=2), (N, 4), (N, 3, 4)),
    ok(L("RMSNormalization"), (N, 4), (N, 3, 4), run=True),
    no(L("RMSNormalization"), (N, 4), (N, 6), run=True),
    no(L("RMSNormalization", axis=[1, 2]), (N, 3, 4), (N, 2, 4), run=True),
    ok(L("UnitNormalization"), (N, 4), (N, 3, 5), run=True),
    ok(L("Softmax", axis=1), (N, 4), (N, 3, 5), run=True),
    ok(L("SpatialDropout2D", rate=0.3), (N, 4, 4, 3), (N, 2, 2, 5), run=True),
    no(L("SpatialDropout3D", rate=0.3), (N, 4, 4, 3, 1), (N, 2, 2, 5)),
    ok(L("Masking"), (N, 4, 3), (N, 2), run=True),
]  # fmt: skip

# Shared layers mspec refuses on purpose although Keras runs them.
DELIBERATE_SHARED = [
    ("weights built for size 1 broadcast to any later size: the layer never declared that size",
     ok(L("PReLU"), (N, 1), (N, 5), run=True)),
    ("weights built for size 1 broadcast to any later size: the layer never declared that size",
     ok(L("RMSNormalization"), (N, 1), (N, 6), run=True)),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE_SHARED])
def test_deliberate_shared_refusal(reason: str, case: Case) -> None:
    check_deliberate_shared_refusal(reason, case)


# --- Generated cases --------------------------------------------------------
#
# Parameters stay in or near their valid ranges, and ranks near the expected
# one, so that acceptances and refusals are both common. Axes that Keras only
# refuses when run (out of range, repeated, not the last ones) are drawn with
# known sizes and run.


def _known(low: int = 1, high: int = 4):
    return any_rank(low, high, known_only=True, batch=st.none())


@st.composite
def _axis_case(draw, name: str, *, lists: bool, extra: dict | None = None):
    """An axis (or a list of them) in or just out of range of a drawn rank, with known sizes: it runs."""
    (input_shape,) = draw(st.tuples(_known(2, 4)))
    rank = len(input_shape)
    one = st.integers(-rank - 1, rank)
    axis = draw(st.one_of(one, st.lists(one, max_size=3)) if lists else one)
    step = {"type": name, "axis": axis, **draw(st.fixed_dictionaries({}, optional=extra or {}))}
    return step, [input_shape], True


@st.composite
def _prelu_case(draw):
    rank = draw(st.integers(1, 4))
    input_shape = draw(shape(rank, exact=True))
    step = {"type": "PReLU"}
    if draw(st.booleans()):
        axes = st.integers(1, rank)
        step["shared_axes"] = draw(st.one_of(axes, st.lists(axes, max_size=3)))
    return step, [input_shape], False


@st.composite
def _group_norm_case(draw):
    rank = draw(st.integers(2, 4))
    input_shape = draw(shape(rank, exact=True))
    # Axis 0 is only valid with a known batch: see NORMALIZATION_CASES.
    axis = draw(st.integers(-rank, rank - 1).filter(lambda a: a % rank != 0))
    channels = input_shape[axis]
    groups = draw(st.sampled_from([-1, 1, 2, 3, 4, 32] + ([channels] if isinstance(channels, int) else [])))
    optional = {"center": st.booleans(), "scale": st.booleans(), "epsilon": st.sampled_from([1e-3, 1e-5])}
    step = {"type": "GroupNormalization", "groups": groups, "axis": axis,
            **draw(st.fixed_dictionaries({}, optional=optional))}  # fmt: skip
    return step, [input_shape], False


def _scale_fits_by_chance(axis, input_shape: tuple) -> bool:
    """Whether RMSNormalization's scale over axes other than the last ones broadcasts anyway (DELIBERATE)."""
    rank = len(input_shape)
    axes = [axis] if isinstance(axis, int) else axis
    if any(not -rank <= a < rank for a in axes):
        return False
    axes = sorted(a % rank for a in axes)
    if len(set(axes)) < len(axes) or axes == list(range(rank - len(axes), rank)):
        return False
    scale = [input_shape[a] for a in axes]
    trailing = input_shape[rank - len(axes) :]
    return all(s in (1, t) for s, t in zip(scale, trailing, strict=True))


RATES = st.floats(0, 1.2)

STRATEGIES = {
    "ReLU": one_input_case("ReLU", {}, {"max_value": st.one_of(st.none(), st.floats(-1, 6)),
                                        "negative_slope": st.floats(-0.1, 1),
                                        "threshold": st.floats(-0.1, 1)}, any_rank()),
    "LeakyReLU": one_input_case("LeakyReLU", {}, {"negative_slope": st.floats(-0.1, 1)}, any_rank()),
    "ELU": one_input_case("ELU", {}, {"alpha": st.floats(-2, 2)}, any_rank()),
    "Softmax": _axis_case("Softmax", lists=True),
    "PReLU": _prelu_case(),
    "GroupNormalization": _group_norm_case(),
    "UnitNormalization": _axis_case("UnitNormalization", lists=True),
    "RMSNormalization": _axis_case("RMSNormalization", lists=True, extra={"epsilon": st.just(1e-5)}).filter(
        lambda case: not _scale_fits_by_chance(case[0]["axis"], case[1][0])
    ),
    "SpatialDropout2D": one_input_case("SpatialDropout2D", {"rate": RATES},
                                       {"data_format": FORMAT, "seed": st.just(1)}, any_rank(3, 5)),
    "SpatialDropout3D": one_input_case("SpatialDropout3D", {"rate": RATES}, {"data_format": FORMAT},
                                       any_rank(4, 6)),
    "AlphaDropout": one_input_case("AlphaDropout", {"rate": RATES}, {"seed": st.integers(0, 9)}, any_rank()),
    "ActivityRegularization": one_input_case("ActivityRegularization", {},
                                             {"l1": st.floats(-0.1, 0.1), "l2": st.floats(-0.1, 0.1)},
                                             any_rank()),
    "Masking": one_input_case("Masking", {}, {"mask_value": st.floats(-1, 1)}, any_rank()),
}  # fmt: skip


def test_every_kind_has_a_strategy() -> None:
    assert sorted(STRATEGIES) == KINDS


@pytest.mark.parametrize("name", KINDS)
def test_generated_cases(name: str) -> None:
    check_generated_cases(STRATEGIES[name], HYPOTHESIS)


# Kinds with weights tried as shared layers: a second use changes one size (or none).
SHARED_KINDS = ["PReLU", "GroupNormalization", "RMSNormalization"]


def _broadcasts(step: dict, first: tuple, axis: int) -> bool:
    # A weight of size 1 broadcasts to any later size: see DELIBERATE_SHARED.
    return first[axis] == 1


@pytest.mark.parametrize("name", SHARED_KINDS)
def test_generated_shared_layers(name: str) -> None:
    check_generated_shared_layers(shared_case(STRATEGIES[name], _broadcasts, high=6), HYPOTHESIS)


# --- Code generation, import and masks ----------------------------------------

MODEL = """
[model]
name = "activations"

[inputs]
image = { shape = [6, 6, 4] }
series = { shape = ["T", 3] }

[branches]
picture = { from = "image", layers = [
  { type = "GroupNormalization", groups = 2 },
  { type = "PReLU", shared_axes = [1, 2] },
  { type = "SpatialDropout2D", rate = 0.2 },
  { type = "ReLU", max_value = 6.0 },
  { type = "GlobalAveragePooling2D" },
  { type = "UnitNormalization" },
] }
sequence = { from = "series", layers = [
  { type = "LeakyReLU", negative_slope = 0.2 },
  { type = "AlphaDropout", rate = 0.1 },
  { type = "LSTM", units = 4 },
  { type = "RMSNormalization" },
  { type = "ELU", alpha = 0.5 },
  { type = "ActivityRegularization", l2 = 0.01 },
] }

[merges]
joined = { type = "Concatenate", from = ["picture", "sequence"] }

[outputs]
label = { from = "joined", layers = [{ type = "Dense", units = 3 }, { type = "Softmax" }], loss = "mse" }
"""


@pytest.mark.kernels
def test_generated_source_builds_and_imports_back() -> None:
    """The generated module reads like Keras code and builds; Keras' model imports and rebuilds the same."""
    from mspec.api import build_model, check_text, generate_source
    from mspec.backends.keras_model.build import build_model as build_graph
    from mspec.importer import import_config
    from mspec.pipeline import check_bytes

    from support.keras_oracle import run_model

    checked = check_text(MODEL)
    assert checked.ok, [d.format() for d in checked.diagnostics]
    assert not [d.format() for d in checked.diagnostics if d.code == "MS710"]
    source = generate_source(checked)
    for written in ("layers.GroupNormalization(groups=2, name=", "layers.PReLU(shared_axes=(1, 2), name=",
                    "layers.SpatialDropout2D(0.2, name=", "layers.ReLU(max_value=6.0, name=",
                    "layers.AlphaDropout(0.1, name=",
                    "layers.ActivityRegularization(l2=0.01, name=", "layers.Softmax(name="):  # fmt: skip
        assert written in source, written
    model = build_model(checked)
    assert run_model(model, [((6, 6, 4), "float32"), ((None, 3), "float32")]) == [(2, 3)]

    result = import_config(json.loads(model.to_json()), "activations.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    document = tomllib.loads(result.text)
    assert document["inputs"]
    reimported = check_bytes(result.text.encode(), "imported.toml", "toml")
    assert reimported.ok, [d.format() for d in reimported.diagnostics]
    rebuilt = build_graph(reimported.graph)
    assert rebuilt.count_params() == model.count_params()
    assert [tuple(t.shape) for t in rebuilt.outputs] == [tuple(t.shape) for t in model.outputs]


MASKED = """
[model]
name = "masked"

[inputs]
series = { shape = ["T", 3] }

[outputs]
value = { from = "series", layers = [
  { type = "Masking" },
  { type = "PReLU", shared_axes = 1 },
  { type = "%s" },
  { type = "Dense", units = 1 },
], loss = "mse" }
"""


@pytest.mark.parametrize("layer, dropped", [("UnitNormalization", False), ("Flatten", True)])
def test_masking_makes_a_mask_that_lint_follows(layer: str, dropped: bool) -> None:
    from mspec.api import check_text

    spec = MASKED % layer
    if layer == "Flatten":
        spec = spec.replace('["T", 3]', "[4, 3]")
    found = [d for d in check_text(spec).diagnostics if d.code == "MS710"]
    assert bool(found) == dropped, [d.format() for d in found]
    if dropped:
        assert "Masking" in found[0].message and "mask_zero" not in found[0].message


@pytest.mark.kernels
def test_masking_model_builds_and_imports_back() -> None:
    from mspec.api import build_model, check_text, generate_source
    from mspec.importer import import_config

    from support.keras_oracle import run_model

    spec = (MASKED % "LSTM").replace('{ type = "LSTM" }', '{ type = "LSTM", units = 2 }')
    checked = check_text(spec.replace('{ type = "Masking" }', '{ type = "Masking", mask_value = -1.0 }'))
    assert checked.ok, [d.format() for d in checked.diagnostics]
    assert "layers.Masking(mask_value=-1.0, name=" in generate_source(checked)
    model = build_model(checked)
    assert run_model(model, [((None, 3), "float32")]) == [(2, 1)]
    result = import_config(json.loads(model.to_json()), "masked.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert 'type = "Masking", mask_value = -1.0' in result.text
