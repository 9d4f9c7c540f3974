"""Element types (dtypes) against Keras: every kind's declaration, and whole models, built and run.

For every kind a spec can use as a step or merge (`support.dtype_cases`), fed
one dtype of each class (and a merge, mixed pairs too), mspec's declaration
(`mspec.layers.dtypes`) must say what Keras does: runs (then with the dtype
the run returns at inference), fails on every backend (MS306), or fails on
TensorFlow with either oneDNN setting and runs on JAX (MS305). Keras' side
comes from `support.dtype_oracle`: every call is built and run here, in
inference and in training; one that fails here is asked of the other settings
in one batch, so that a failure of this machine's kernels is never taken for a
rule. Then a few whole models, the classes of the problem this pass solves,
are linted, built from the generated source and run.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache

import pytest

keras = pytest.importorskip("keras")

from mspec.layers import REGISTRY  # noqa: E402
from mspec.layers.call import make_call  # noqa: E402
from mspec.layers.dtypes import Runs, judge  # noqa: E402
from mspec.pipeline import check_bytes  # noqa: E402

from support.dtype_cases import MERGE_PAIRS, STEPS, VARIANTS  # noqa: E402
from support.dtype_oracle import EVIDENCE, HERE, Call, ModelCall, Truth, observe_model, settle  # noqa: E402
from support.keras_oracle import Verdict  # noqa: E402

pytestmark = [
    pytest.mark.keras,
    pytest.mark.kernels,
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
    pytest.mark.filterwarnings("ignore:Layer .* does not support masking"),
]

# One dtype per class (float16 also shows the cast to float32 before `call`), and uint8, the dtype of
# images, whose kernels TensorFlow lacks more often than int32's. The survey feeds every dtype.
CLASS_DTYPES = ("float16", "int32", "uint8", "bool", "string")
# Variants (the other activations, output modes) are fed one dtype per class.
VARIANT_DTYPES = ("float16", "int32", "bool", "string")
JAX = "JAX"


def _calls() -> list[Call]:
    calls = []
    for kind, (step, shapes) in STEPS.items():
        calls += [Call(step, tuple(shapes), (dtype,) * len(shapes)) for dtype in CLASS_DTYPES]
        if REGISTRY[kind].is_merge:
            calls += [Call(step, tuple(shapes), (a, *[b] * (len(shapes) - 1))) for a, b in MERGE_PAIRS]
        for variant, variant_shapes in VARIANTS.get(kind, []):
            if variant == step:
                continue
            calls += [
                Call(variant, tuple(variant_shapes), (dtype,) * len(variant_shapes))
                for dtype in VARIANT_DTYPES
            ]
    return calls


CALLS = _calls()


def _id(call: Call) -> str:
    """Name a call by its kind, its parameters where the kind has variants, and its dtypes."""
    params = {k: v for k, v in call.step.items() if k != "type"}
    detail = json.dumps(params, separators=(",", "=")) if call.step["type"] in VARIANTS else ""
    return f"{call.step['type']}{detail}-{'+'.join(call.dtypes)}"


@cache
def _truths() -> dict[str, Truth]:
    """Keras' verdict on every call, settled once for the module (one batch of evidence)."""
    truths = settle(CALLS)
    return {
        json.dumps(call.request(), sort_keys=True): truth for call, truth in zip(CALLS, truths, strict=True)
    }


def truth_of(call: Call) -> Truth:
    return _truths()[json.dumps(call.request(), sort_keys=True)]


@pytest.fixture(scope="module", autouse=True)
def report_tally(request: pytest.FixtureRequest):
    """Print, at the end of the module, how many calls fell in each of Keras' classes."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and _truths.cache_info().currsize:
        tally = Counter(truth.verdict.value for truth in _truths().values())
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nlayer dtypes: " + ", ".join(f"{k} {n}" for k, n in sorted(tally.items())))


@pytest.mark.parametrize("call", CALLS, ids=_id)
def test_declaration_matches_keras(call: Call) -> None:
    truth = truth_of(call)
    mine = judge(make_call(call.step), list(call.dtypes))
    where = f"{call.step} on {'+'.join(call.dtypes)}"
    if truth.verdict in (Verdict.BUILD, Verdict.RUN):
        assert mine.runs is Runs.NOWHERE, (
            f"{where}: Keras fails on every backend ({truth.error}), mspec: {mine.runs}"
        )
        return
    if truth.verdict is Verdict.KERNEL:
        tensorflow_only = JAX in truth.runs_on and JAX not in truth.fails_on and len(truth.fails_on) == 2
        assert tensorflow_only, f"{where}: runs on {truth.runs_on}, fails on {truth.fails_on} ({truth.error})"
        assert mine.runs is Runs.NOT_ON_TENSORFLOW, (
            f"{where}: fails on TensorFlow, runs on JAX ({truth.error}), mspec: {mine.runs}"
        )
        return
    assert mine.runs is Runs.EVERYWHERE, f"{where}: Keras runs it on {HERE}, mspec: {mine.runs}"
    assert mine.output == truth.returned, (
        f"{where}: Keras returns {truth.returned}, mspec declares {mine.output}"
    )


# --- Whole models ---------------------------------------------------------------------------------


def _spec(inputs: dict, layers: list) -> dict:
    return {
        "model": {"name": "dtypes"},
        "inputs": inputs,
        "branches": {"features": {"from": next(iter(inputs)), "layers": layers}},
        "outputs": {"out": {"from": "features", "loss": "mse"}},
    }


def _add_of(sources: list[str]) -> dict:
    return {
        "model": {"name": "dtypes"},
        "inputs": {"flags": {"shape": [4], "dtype": "bool"}, "x": {"shape": [4]}},
        "merges": {"sum": {"type": "Add", "from": sources}},
        "outputs": {"out": {"from": "sum", "loss": "mse"}},
    }


MODELS = {
    "int32 into Activation(sigmoid)": (
        _spec({"ids": {"shape": [4], "dtype": "int32"}}, [{"type": "Activation", "activation": "sigmoid"}]),
        ["MS306"],
    ),
    "Hashing into UnitNormalization": (
        _spec(
            {"words": {"shape": [4], "dtype": "string"}},
            [{"type": "Hashing", "num_bins": 8}, {"type": "UnitNormalization"}],
        ),
        ["MS306"],
    ),
    "bool into AveragePooling2D": (
        _spec(
            {"mask": {"shape": [8, 8, 1], "dtype": "bool"}}, [{"type": "AveragePooling2D", "pool_size": 2}]
        ),
        ["MS306"],
    ),
    "int32 into Conv1D": (
        _spec(
            {"ids": {"shape": [6, 1], "dtype": "int32"}}, [{"type": "Conv1D", "filters": 2, "kernel_size": 3}]
        ),
        ["MS305"],
    ),
    # Found by the random dtype models: at a rate of 0, Keras skips dropout, training or not.
    "int32 into Dropout(rate = 0)": (
        _spec({"ids": {"shape": [1], "dtype": "int32"}}, [{"type": "Dropout", "rate": 0.0}]),
        [],
    ),
    "int32 into Dropout(rate = 1), which gives zeros of any dtype": (
        _spec({"ids": {"shape": [1], "dtype": "int32"}}, [{"type": "Dropout", "rate": 1.0}]),
        [],
    ),
    "int32 into Dropout(rate = 0.5)": (
        _spec({"ids": {"shape": [1], "dtype": "int32"}}, [{"type": "Dropout", "rate": 0.5}]),
        ["MS306"],
    ),
    "bool into GaussianNoise(stddev = 0)": (
        _spec({"flags": {"shape": [3], "dtype": "bool"}}, [{"type": "GaussianNoise", "stddev": 0.0}]),
        [],
    ),
    # Found by the random dtype models: input dropout multiplies the integers by a float mask when training.
    "int32 into SimpleRNN": (
        _spec({"ids": {"shape": [2, 1], "dtype": "int32"}}, [{"type": "SimpleRNN", "units": 1}]),
        [],
    ),
    "int32 into Bidirectional(SimpleRNN(dropout = 0.25))": (
        _spec(
            {"ids": {"shape": [2, 1], "dtype": "int32"}},
            [{"type": "Bidirectional", "layer": {"type": "SimpleRNN", "units": 1, "dropout": 0.25}}],
        ),
        ["MS306"],
    ),
    "int32 into an RNN whose first cell drops its inputs": (
        _spec(
            {"ids": {"shape": [2, 1], "dtype": "int32"}},
            [
                {
                    "type": "RNN",
                    "cell": [
                        {"type": "GRUCell", "units": 2, "dropout": 0.5},
                        {"type": "GRUCell", "units": 2},
                    ],
                }
            ],
        ),
        ["MS306"],
    ),
    # Found by the random dtype models: Dot(normalize = true) L2-normalizes each input first.
    "int32 into Dot(normalize = true)": (
        {
            "model": {"name": "dtypes"},
            "inputs": {"ids": {"shape": [3], "dtype": "int32"}},
            "merges": {"dot": {"type": "Dot", "from": ["ids", "ids"], "axes": 1, "normalize": True}},
            "outputs": {"out": {"from": "dot", "loss": "mse"}},
        },
        ["MS306"],
    ),
    # Found by the random dtype models: TensorFlow fails at the noise; JAX adds float noise when training,
    # so the Dropout after it gets float32 there and the model runs on JAX.
    "int32 into GaussianNoise, then Dropout": (
        _spec(
            {"ids": {"shape": [3], "dtype": "int32"}},
            [{"type": "GaussianNoise", "stddev": 0.1}, {"type": "Dropout", "rate": 0.5}],
        ),
        ["MS305"],
    ),
    # ... but at inference the noise layer hands the integers on, and a sigmoid fails on them everywhere.
    "int32 into GaussianNoise, then a sigmoid": (
        _spec(
            {"ids": {"shape": [3], "dtype": "int32"}},
            [{"type": "GaussianNoise", "stddev": 0.1}, {"type": "Activation", "activation": "sigmoid"}],
        ),
        ["MS305", "MS306"],
    ),
    # RandomBrightness is the noise that keeps integers on JAX when training (booleans become int32), so
    # the Dropout after it fails there too; on TensorFlow the brightness itself fails on booleans.
    "bool into RandomBrightness, then Dropout": (
        _spec(
            {"flags": {"shape": [4, 4, 3], "dtype": "bool"}},
            [{"type": "RandomBrightness", "factor": 0.2}, {"type": "Dropout", "rate": 0.5}],
        ),
        ["MS305", "MS306"],
    ),
    # ... while a GaussianNoise after it computes with those integers on JAX: the model runs there.
    "bool into RandomBrightness, then GaussianNoise": (
        _spec(
            {"flags": {"shape": [4, 4, 3], "dtype": "bool"}},
            [{"type": "RandomBrightness", "factor": 0.2}, {"type": "GaussianNoise", "stddev": 0.1}],
        ),
        ["MS305"],
    ),
    # Found by the random dtype models: when training, GaussianDropout keeps booleans on TensorFlow (the
    # Dropout after it fails there) and gives float32 on JAX (the Dropout runs): MS305, not MS306.
    "bool into GaussianDropout, then Dropout": (
        _spec(
            {"flags": {"shape": [1], "dtype": "bool"}},
            [
                {"type": "Dropout", "rate": 0.0},
                {"type": "GaussianDropout", "rate": 0.5},
                {"type": "Dropout", "rate": 0.5},
            ],
        ),
        ["MS305"],
    ),
    # Augmentation gives float32 when training on every backend, so a Dropout after it runs; at inference
    # it hands the integers on, and a sigmoid after it fails there.
    "int32 images into RandomHue, then Dropout": (
        _spec(
            {"image": {"shape": [4, 4, 3], "dtype": "int32"}},
            [{"type": "RandomHue", "factor": 0.5}, {"type": "Dropout", "rate": 0.5}],
        ),
        [],
    ),
    "int32 images into RandomHue, then a sigmoid": (
        _spec(
            {"image": {"shape": [4, 4, 3], "dtype": "int32"}},
            [{"type": "RandomHue", "factor": 0.5}, {"type": "Activation", "activation": "sigmoid"}],
        ),
        ["MS306"],
    ),
    # Found by the random dtype models: Keras adds two inputs at a time, left to right, so two booleans
    # are added first (TensorFlow refuses, JAX runs); a float between them makes every step float.
    "Add of bool, bool, float32": (
        _add_of(["flags", "flags", "x"]),
        ["MS305"],
    ),
    "Add of bool, float32, bool": (
        _add_of(["flags", "x", "flags"]),
        [],
    ),
    # Found by the random dtype models: on int32 the noise fails on TensorFlow when training, and JAX,
    # the backend left, has no resizing by area: the model runs nowhere.
    "int32 into GaussianNoise, then UpSampling2D(area)": (
        _spec(
            {"image": {"shape": [1, 1, 1], "dtype": "int32"}},
            [{"type": "GaussianNoise", "stddev": 1.0}, {"type": "UpSampling2D", "interpolation": "area"}],
        ),
        ["MS305", "MS306"],
    ),
    "bool images into UpSampling2D(bilinear)": (
        _spec(
            {"flags": {"shape": [3, 3, 2], "dtype": "bool"}},
            [{"type": "UpSampling2D", "interpolation": "bilinear"}],
        ),
        ["MS305"],
    ),
    "int32 images into UpSampling2D(bilinear)": (
        _spec(
            {"image": {"shape": [3, 3, 2], "dtype": "int32"}},
            [{"type": "UpSampling2D", "interpolation": "bilinear"}],
        ),
        [],
    ),
    "RandomPosterization on float images": (
        _spec({"image": {"shape": [8, 8, 3]}}, [{"type": "RandomPosterization", "factor": 4}]),
        [],
    ),
}


def _keras_truth(graph) -> Truth:
    """Build the generated model and run it, at inference and in training (where else, if not here)."""
    from mspec.backends.codegen.python import generate_source

    inputs = tuple((tuple(i.shape), i.dtype) for i in graph.spec.inputs.values())
    return settle([ModelCall(generate_source(graph), graph.spec.name, inputs)])[0]


@pytest.mark.parametrize("name", list(MODELS))
def test_whole_model_agrees_with_keras(name: str) -> None:
    spec, expected = MODELS[name]
    result = check_bytes(json.dumps(spec).encode(), "dtypes.json")
    codes = sorted({d.code for d in result.diagnostics if d.code in ("MS305", "MS306")})
    assert codes == expected, f"{name}: mspec gives {[d.format() for d in result.diagnostics]}"
    truth = _keras_truth(result.graph)
    if "MS306" in codes:
        assert truth.verdict.refused, f"{name}: mspec refuses it, but Keras: {truth.verdict.value}"
    elif "MS305" in codes:
        assert truth.verdict is Verdict.KERNEL, f"{name}: mspec warns, but Keras: {truth.verdict.value}"
        assert truth.runs_on == (JAX,), f"{name}: runs on {truth.runs_on} ({truth.error})"
    else:
        assert truth.verdict is Verdict.ACCEPTED, f"{name}: mspec accepts, but Keras: {truth.error}"


# Resizing by area exists on TensorFlow only: the same model runs here and fails on JAX (MS305 the other way).
TENSORFLOW_ONLY = {
    "UpSampling2D(area) on float images": _spec(
        {"image": {"shape": [3, 3, 2]}}, [{"type": "UpSampling2D", "interpolation": "area"}]
    ),
    "Resizing(area) on uint8 images": _spec(
        {"image": {"shape": [3, 3, 2], "dtype": "uint8"}},
        [{"type": "Resizing", "height": 6, "width": 6, "interpolation": "area"}],
    ),
}


@pytest.mark.parametrize("name", list(TENSORFLOW_ONLY))
def test_models_that_jax_cannot_run_are_portability_warnings(name: str) -> None:
    from mspec.backends.codegen.python import generate_source

    result = check_bytes(json.dumps(TENSORFLOW_ONLY[name]).encode(), "dtypes.json")
    found = [d for d in result.diagnostics if d.code in ("MS305", "MS306")]
    assert [d.code for d in found] == ["MS305"], [d.format() for d in result.diagnostics]
    assert "JAX fails" in found[0].message and "runs on TensorFlow" in found[0].message
    graph = result.graph
    inputs = tuple((tuple(i.shape), i.dtype) for i in graph.spec.inputs.values())
    call = ModelCall(generate_source(graph), graph.spec.name, inputs)
    assert observe_model(call).ran, f"{name}: TensorFlow ({HERE}) does not run it"
    on_jax = EVIDENCE.elsewhere([call]).get(JAX)
    if on_jax is None:
        pytest.skip("JAX is not installed")
    assert on_jax[0].built and not on_jax[0].ran, f"{name}: JAX runs it"
