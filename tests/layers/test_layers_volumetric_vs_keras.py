"""Differential tests of the 3D, adaptive pooling and ConvLSTM layer kinds against Keras itself.

The same contract as every layer differential test (`support.layer_agreement`):
mspec refuses exactly what Keras refuses, and where both accept gives Keras'
output shape and `count_params()`; a kernel limitation of TensorFlow's CPU
kernels is no refusal, and mspec warns about it (MS305). Cases that run on
arrays are marked `kernels`.

Adaptive pooling layers have no input spec: Keras declares an output for an
input of any rank, and only running them shows a wrong rank, so those cases
run. ConvLSTM layers need known spatial sizes and channels.

3D layers are slow to run: tensors stay small. MSPEC_VOLUMETRIC_EXAMPLES sets
the number of generated cases per kind (default 4).
"""

from __future__ import annotations

import json
import tomllib

import pytest

pytest.importorskip("keras")

from hypothesis import strategies as st

from mspec.layers import KIND_MODULES

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
from support.layer_strategies.drawing import BATCH, FORMAT, one_input_case, shape, sizes

pytestmark = [pytest.mark.keras]

KINDS = sorted(
    [
        *(name for name, module in KIND_MODULES.items() if module == "conv_lstm"),
        *(f"Adaptive{mode}Pooling{rank}D" for mode in ("Average", "Max") for rank in (1, 2, 3)),
        "Conv3DTranspose", "Cropping3D", "UpSampling3D", "ZeroPadding3D",
    ]
)  # fmt: skip

HYPOTHESIS = examples("MSPEC_VOLUMETRIC_EXAMPLES", 4)


# --- Explicit cases ---------------------------------------------------------

VOLUMETRIC_CASES = [
    ok(L("Conv3DTranspose", filters=2, kernel_size=2), (N, 3, 3, 3, 2)),
    ok(L("Conv3DTranspose", filters=2, kernel_size=[1, 2, 3], strides=[2, 1, 2], padding="same"),
       (N, 3, "D", 3, 1)),
    ok(L("Conv3DTranspose", filters=1, kernel_size=3, strides=2, output_padding=1), (N, 2, 2, 2, 1),
       run=True),
    ok(L("Conv3DTranspose", filters=1, kernel_size=2, use_bias=False, padding="SAME"), (2, 2, 3, 2, 1)),
    # Kernel limitations of TensorFlow's CPU kernels without oneDNN (MS305), as for Conv2DTranspose; the
    # even window with padding 'same' and output_padding 0 runs on JAX only.
    ok(L("Conv3DTranspose", filters=1, kernel_size=2, data_format="channels_first"), (N, 2, 3, 3, 3),
       run=True),
    ok(L("Conv3DTranspose", filters=1, kernel_size=2, dilation_rate=[1, 1, 2]), (N, 3, 3, 3, 1), run=True),
    ok(L("Conv3DTranspose", filters=1, kernel_size=2, strides=2, padding="same", output_padding=0),
       (N, 3, 3, 3, 1), run=True),
    no(L("Conv3DTranspose", filters=2, kernel_size=2), (N, 3, 3, 3)),
    no(L("Conv3DTranspose", filters=2, kernel_size=2), (N, 3, 3, 3, N)),
    no(L("Conv3DTranspose", filters=2, kernel_size=[2, 2]), (N, 3, 3, 3, 1)),
    no(L("Conv3DTranspose", filters=2, kernel_size=2, strides=2, output_padding=2), (N, 3, 3, 3, 1)),
    no(L("Conv3DTranspose", filters=2, kernel_size=2, strides=2, dilation_rate=2), (N, 3, 3, 3, 1)),
    ok(L("Cropping3D"), (N, 4, 4, 4, 2)),
    ok(L("Cropping3D", cropping=[1, [0, 2], 0]), (N, 4, 5, "D", 2)),
    ok(L("Cropping3D", cropping=[[1, 0], [0, 1], [1, 1]], data_format="channels_first"), (N, 2, 3, 3, 4),
       run=True),
    no(L("Cropping3D"), (N, 2, 4, 4, 2)),
    no(L("Cropping3D", cropping=[1, 1]), (N, 4, 4, 4, 2)),
    no(L("Cropping3D", cropping=-1), (N, 4, 4, 4, 2)),
    no(L("Cropping3D", cropping=[1, 1, [1, 1, 1]]), (N, 4, 4, 4, 2)),
    no(L("Cropping3D"), (N, 4, 4, 2)),
    ok(L("UpSampling3D"), (N, 2, "D", 2, 3)),
    ok(L("UpSampling3D", size=[1, 2, 3], data_format="channels_first"), (N, 2, 2, 2, 2), run=True),
    no(L("UpSampling3D", size=0), (N, 2, 2, 2, 1)),
    no(L("UpSampling3D", size=[2, 2]), (N, 2, 2, 2, 1)),
    no(L("UpSampling3D"), (N, 2, 2, 2)),
    ok(L("ZeroPadding3D"), (N, 2, 2, 2, 1)),
    ok(L("ZeroPadding3D", padding=0), (N, "D", 2, 2, 1)),
    ok(L("ZeroPadding3D", padding=[[0, 1], 2, [1, 0]], data_format="channels_first"), (N, 1, 2, 3, 2),
       run=True),
    no(L("ZeroPadding3D", padding=[1, 1]), (N, 2, 2, 2, 1)),
    no(L("ZeroPadding3D", padding=[1, 1, [1]]), (N, 2, 2, 2, 1)),
    no(L("ZeroPadding3D"), (N, 2, 2, 2)),
    # Adaptive pooling: any output size (larger than the input too); a wrong rank fails when run.
    ok(L("AdaptiveAveragePooling1D", output_size=2), (N, 5, 3), run=True),
    ok(L("AdaptiveMaxPooling1D", output_size=[4], data_format="channels_first"), (N, 3, 7), run=True),
    ok(L("AdaptiveAveragePooling2D", output_size=[2, 3]), (N, "H", N, 3)),
    ok(L("AdaptiveMaxPooling2D", output_size=5), (N, 3, 3, 2), run=True),
    ok(L("AdaptiveAveragePooling3D", output_size=2, data_format="channels_first"), (N, 2, 4, 3, 3), run=True),
    # Sizes of 1 run on JAX only, which an eager run here does not show: see test_portability_vs_keras.
    ok(L("AdaptiveMaxPooling3D", output_size=[2, 2, 3]), (N, 3, 3, 3, 1), run=True),
    no(L("AdaptiveMaxPooling2D", output_size=2), (N, 7, 5), run=True),
    no(L("AdaptiveAveragePooling1D", output_size=2), (N, 7, 5, 2), run=True),
    no(L("AdaptiveMaxPooling3D", output_size=2), (N, 4, 4, 4), run=True),
    no(L("AdaptiveAveragePooling3D", output_size=2), (N, 4, 4, 4, 1, 1), run=True),
    no(L("AdaptiveAveragePooling2D", output_size=0), (N, 4, 4, 2), run=True),
    no(L("AdaptiveMaxPooling2D", output_size=[2, 2, 2]), (N, 4, 4, 2)),
    no(L("AdaptiveMaxPooling1D", output_size=[2, 2]), (N, 4, 2)),
    no(L("AdaptiveAveragePooling3D", output_size=2, data_format="CHANNELS_LAST"), (N, 4, 4, 4, 1)),
    no(L("AdaptiveAveragePooling1D"), (N, 4, 2)),
    no(L("AdaptiveMaxPooling3D"), (N, 4, 4, 4, 1)),
]  # fmt: skip

CONV_LSTM_CASES = [
    ok(L("ConvLSTM1D", filters=2, kernel_size=3), (N, N, 5, 3)),
    ok(L("ConvLSTM1D", filters=2, kernel_size=2, return_sequences=True, padding="same", strides=2),
       (N, 4, 5, 3), run=True),
    ok(L("ConvLSTM1D", filters=1, kernel_size=2, data_format="channels_first"), (N, 3, 2, 5), run=True),
    ok(L("ConvLSTM2D", filters=2, kernel_size=3, padding="same"), (N, "T", 4, 4, 2)),
    ok(L("ConvLSTM2D", filters=1, kernel_size=[1, 2], dilation_rate=[1, 2], return_sequences=True),
       (2, 3, 4, 5, 1), run=True),
    ok(L("ConvLSTM2D", filters=2, kernel_size=2, data_format="channels_first"), (N, 3, 2, 4, 4), run=True),
    ok(L("ConvLSTM2D", filters=2, kernel_size=3, unit_forget_bias=False, dropout=0.5, recurrent_dropout=0.25),
       (N, 2, 4, 4, 1)),
    ok(L("ConvLSTM3D", filters=1, kernel_size=2, use_bias=False, go_backwards=True), (N, 2, 3, 3, 3, 1),
       run=True),
    ok(L("ConvLSTM3D", filters=2, kernel_size=[1, 2, 2], strides=[1, 2, 1], return_sequences=True),
       (N, "T", 2, 4, 3, 2)),
    # Without oneDNN, TensorFlow's CPU kernels refuse ConvLSTM1D/2D channels_first (MS305), not ConvLSTM3D.
    ok(L("ConvLSTM3D", filters=1, kernel_size=2, data_format="channels_first"), (N, 2, 1, 3, 3, 3), run=True),
    ok(L("ConvLSTM1D", filters=1, kernel_size=2, dilation_rate=2), (N, 2, 5, 1), run=True),
    # The recurrent kernel is a convolution's, (window..., filters, 4 x filters): no matrix for Identity.
    no(L("ConvLSTM1D", filters=2, kernel_size=3, recurrent_initializer="identity"), (N, 2, 5, 3)),
    no(L("ConvLSTM2D", filters=2, kernel_size=1, recurrent_initializer="identity"), (N, 2, 5, 5, 1)),
    ok(L("ConvLSTM2D", filters=2, kernel_size=3, recurrent_initializer="orthogonal"), (N, 2, 5, 4, 1)),
    no(L("ConvLSTM2D", filters=2, kernel_size=3), (N, 2, N, 4, 1)),
    no(L("ConvLSTM2D", filters=2, kernel_size=3), (N, 2, "H", 4, 1)),
    no(L("ConvLSTM2D", filters=2, kernel_size=3), (N, 2, 4, 4, N)),
    no(L("ConvLSTM2D", filters=2, kernel_size=3, data_format="channels_first"), (N, 2, 1, N, 4)),
    no(L("ConvLSTM2D", filters=2, kernel_size=5), (N, 2, 4, 4, 1)),
    no(L("ConvLSTM1D", filters=2, kernel_size=2), (N, 5, 3)),
    no(L("ConvLSTM3D", filters=2, kernel_size=2), (N, 2, 3, 3, 1)),
    no(L("ConvLSTM1D", filters=2, kernel_size=2, strides=2, dilation_rate=2), (N, 3, 5, 3)),
    no(L("ConvLSTM3D", filters=2, kernel_size=[2, 2]), (N, 2, 3, 3, 3, 1)),
    no(L("ConvLSTM1D", filters=2, kernel_size=2, padding="causal"), (N, 3, 5, 3)),
    no(L("ConvLSTM1D", filters=4, kernel_size=2, activation="glu"), (N, 3, 5, 4), run=True),
    no(L("ConvLSTM1D", filters=2), (N, 3, 5, 3)),
]  # fmt: skip

EXPLICIT = VOLUMETRIC_CASES + CONV_LSTM_CASES

# What mspec refuses on purpose although Keras builds it.
DELIBERATE = [
    ("return_state=True returns the output and two states: a step has one output",
     ok(L("ConvLSTM1D", filters=2, kernel_size=2, return_state=True), (N, 3, 5, 3))),
    ("stateful=True carries state between batches, which a spec does not describe",
     ok(L("ConvLSTM1D", filters=2, kernel_size=2, stateful=True), (2, 3, 5, 3))),
    ("glu halves the state's last axis, which Keras declares unhalved; the cell only runs when the half "
     "broadcasts back (2 filters), by accident",
     ok(L("ConvLSTM1D", filters=2, kernel_size=2, activation="glu"), (N, 3, 5, 4), run=True)),
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
    ok(L("Conv3DTranspose", filters=1, kernel_size=2), (N, 3, 3, 3, 2), (N, 4, 2, 3, 2), run=True),
    no(L("Conv3DTranspose", filters=1, kernel_size=2), (N, 3, 3, 3, 2), (N, 3, 3, 3, 1), run=True),
    ok(L("UpSampling3D"), (N, 2, 2, 2, 1), (N, 3, 1, 2, 2), run=True),
    ok(L("Cropping3D"), (N, 3, 3, 3, 1), (N, 4, 5, 3, 2), run=True),
    ok(L("AdaptiveMaxPooling2D", output_size=2), (N, 4, 4, 2), (N, 5, 3, 3), run=True),
    ok(L("ConvLSTM1D", filters=2, kernel_size=2), (N, 3, 5, 2), (N, 6, 5, 2), run=True),
    no(L("ConvLSTM1D", filters=2, kernel_size=2), (N, 3, 5, 2), (N, 3, 6, 2), run=True),
    no(L("ConvLSTM1D", filters=2, kernel_size=2), (N, 3, 5, 2), (N, 3, 5, 3), run=True),
    no(L("ConvLSTM2D", filters=1, kernel_size=2, data_format="channels_first"), (N, 2, 1, 3, 3),
       (N, 2, 1, 3, 4), run=True),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in SHARED_CASES])
def test_shared_layer_case(case: Case) -> None:
    check_shared_case(case)


# --- Generated cases --------------------------------------------------------
#
# Small sizes (1 to 4) keep 3D runs cheap. Cases that run use known sizes only.


def small_shape(rank: int, *, known_only: bool = False):
    """About `rank` axes (batch included) of sizes 1 to 4 or unknown; `known_only`: known but the batch."""
    return shape(rank, known_only=known_only, batch=st.none() if known_only else BATCH, high=4)


def margins():
    pair = st.one_of(st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2))
    return st.one_of(st.integers(0, 2), st.lists(pair, min_size=3, max_size=3))


def case(name: str, params: dict, optional: dict, rank: int, *, run: bool = False):
    return one_input_case(name, params, optional, small_shape(rank, known_only=run), run=run)


def conv3d_transpose_case():
    optional = {
        "strides": sizes(3, 1, 2),
        "padding": st.sampled_from(["valid", "same"]),
        "output_padding": st.one_of(st.none(), sizes(3, 0, 1)),
        "dilation_rate": sizes(3, 1, 2),
        "use_bias": st.booleans(),
    }
    params = {"filters": st.integers(1, 3), "kernel_size": sizes(3, 1, 3)}
    return case("Conv3DTranspose", params, optional, 5)


def adaptive_case(name: str, rank: int):
    # Run: Keras only finds a wrong rank then. Sizes of 1 stay out: with oneDNN, TensorFlow's max pooling
    # kills the process (a floating point exception) on a window larger than the input, which adaptive max
    # pooling in 1D and 3D uses when an input size or an output_size is 1.
    optional = {"data_format": st.sampled_from([None, "channels_last", "channels_first"])}
    steps = st.fixed_dictionaries({"output_size": sizes(rank, 2, 4)}, optional=optional)
    draw_rank = st.sampled_from([rank + 2] * 6 + [rank + 1, rank + 3])
    shapes = draw_rank.flatmap(lambda n: st.tuples(st.none(), *[st.integers(2, 4)] * (n - 1)))
    return st.tuples(steps.map(lambda p: {"type": name, **p}), st.tuples(shapes).map(list), st.just(True))


def conv_lstm_case(name: str, rank: int):
    params = {"filters": st.integers(1, 3), "kernel_size": sizes(rank, 1, 3)}
    optional = {
        "strides": sizes(rank, 1, 2),
        "padding": st.sampled_from(["valid", "same"]),
        "data_format": FORMAT,
        "dilation_rate": sizes(rank, 1, 2),
        "use_bias": st.booleans(),
        "unit_forget_bias": st.booleans(),
        "return_sequences": st.booleans(),
        "go_backwards": st.booleans(),
    }
    return case(name, params, optional, rank + 3)


STRATEGIES = {
    "Conv3DTranspose": conv3d_transpose_case(),
    "Cropping3D": case("Cropping3D", {}, {"cropping": margins(), "data_format": FORMAT}, 5),
    "ZeroPadding3D": case("ZeroPadding3D", {}, {"padding": margins(), "data_format": FORMAT}, 5),
    "UpSampling3D": case("UpSampling3D", {}, {"size": sizes(3, 1, 3), "data_format": FORMAT}, 5),
    **{
        f"Adaptive{mode}Pooling{rank}D": adaptive_case(f"Adaptive{mode}Pooling{rank}D", rank)
        for mode in ("Max", "Average")
        for rank in (1, 2, 3)
    },
    **{f"ConvLSTM{rank}D": conv_lstm_case(f"ConvLSTM{rank}D", rank) for rank in (1, 2, 3)},
}


def test_every_kind_has_a_strategy() -> None:
    assert sorted(STRATEGIES) == KINDS


@pytest.mark.parametrize("name", KINDS)
def test_generated_cases(name: str) -> None:
    check_generated_cases(STRATEGIES[name], HYPOTHESIS)


# --- Code generation and import ---------------------------------------------

MODEL = """
[model]
name = "volumes"

[inputs]
clip = { shape = [3, 6, 6, 2] }
volume = { shape = [4, 4, 4, 1] }

[branches]
motion = { from = "clip", layers = [
  { type = "ConvLSTM2D", filters = 2, kernel_size = 3, padding = "same", return_sequences = true },
  { type = "ConvLSTM2D", filters = 2, kernel_size = [2, 2], strides = 2 },
  { type = "AdaptiveAveragePooling2D", output_size = 2 },
  { type = "Flatten" },
] }
shape3d = { from = "volume", layers = [
  { type = "ZeroPadding3D", padding = [1, 0, [0, 1]] },
  { type = "Cropping3D", cropping = 1 },
  { type = "UpSampling3D", size = [1, 2, 1] },
  { type = "Conv3DTranspose", filters = 2, kernel_size = 2, strides = 2 },
  { type = "AdaptiveMaxPooling3D", output_size = [2, 3, 2] },
  { type = "Flatten" },
] }

[merges]
joined = { type = "Concatenate", from = ["motion", "shape3d"] }

[outputs]
score = { from = "joined", layers = [{ type = "Dense", units = 1 }] }
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
    source = generate_source(checked)
    # Positional arguments as people write them, whatever the line breaks.
    flat = " ".join(source.split()).replace("( ", "(")
    assert 'layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True' in flat
    assert "layers.Conv3DTranspose(2, 2, strides=2" in flat
    assert "layers.ZeroPadding3D((1, 0, (0, 1))" in flat
    assert "layers.AdaptiveMaxPooling3D((2, 3, 2)" in flat
    model = build_model(checked)
    assert model.count_params() == sum(node.param_count or 0 for node in checked.graph.nodes.values())
    assert run_model(model, [((3, 6, 6, 2), "float32"), ((4, 4, 4, 1), "float32")]) == [(2, 1)]

    result = import_config(json.loads(model.to_json()), "volumes.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    document = tomllib.loads(result.text)
    assert document["inputs"]
    reimported = check_bytes(result.text.encode(), "imported.toml", "toml")
    assert reimported.ok, [d.format() for d in reimported.diagnostics]
    rebuilt = build_graph(reimported.graph)
    assert rebuilt.count_params() == model.count_params()
    assert [tuple(t.shape) for t in rebuilt.outputs] == [tuple(t.shape) for t in model.outputs]
