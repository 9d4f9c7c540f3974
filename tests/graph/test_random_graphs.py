"""Differential tests of whole random models against Keras.

`support.spec_graphs` and `support.spec_probes` draw documents; each is
serialized as JSON and checked by mspec like a file. For a valid document,
mspec must accept it, and the model Keras builds from the generated source
must have mspec's static shape at every node (named sizes compared as None),
mspec's weight count, and, when run on arrays (batch 2, unknown sizes 3), the
output shapes mspec's rules give for those sizes. For a probe document (one
merge, shared use or step that is just valid or just invalid), mspec's verdict
must be Keras' verdict: an error of the probe's kind exactly when Keras
refuses the model. The generated source must exist either way, as it needs no
shapes.

Keras' verdict on a model falls in one of three classes (the oracle's, see
`support.keras_oracle.Verdict`):

* refused while building: building the model from the generated source
  raises. Keras' own shape and argument checks, the same on every backend:
  Keras refuses.
* refused while running on every backend: the model builds, but its forward
  pass fails (or, for a valid document, returns other shapes than mspec's
  rules) here, on TensorFlow with oneDNN switched the other way, and on JAX.
  Keras refuses.
* a kernel limitation: the forward pass fails here and works on one of those
  other settings (TensorFlow's CPU kernels without oneDNN cannot run
  channels_first convolutions, dilated or channels_first transposed ones,
  unequal depthwise strides). Keras accepts; mspec must accept the model with
  a portability warning (MS305).

Only a failed run asks the other settings, through the oracle's worker
processes. The module prints how many documents fell in each class.

MSPEC_RANDOM_GRAPHS sets the number of documents of each strategy (default:
40 valid ones and 30 probes).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from hypothesis import HealthCheck, given, settings  # noqa: E402

from mspec.backends.codegen.python import generate_source  # noqa: E402
from mspec.backends.keras_model.build import build_from_source  # noqa: E402
from mspec.graph.passes.shapes import total_param_count  # noqa: E402
from mspec.pipeline import CheckResult, check_bytes  # noqa: E402

from support.keras_build import as_keras, keras_shapes  # noqa: E402
from support.keras_oracle import (  # noqa: E402
    Verdict,
    keras_apply,
    model_runs_elsewhere,
    onednn_enabled,
    run_model,
    shapes_match,
)
from support.paths import CASES  # noqa: E402
from support.spec_graphs import STRUCTURE_ONLY, Generated, valid_specs  # noqa: E402
from support.spec_probes import probe_specs  # noqa: E402

pytestmark = [
    pytest.mark.keras,
    # Attention over a single key, or a softmax over a size-1 axis: Keras warns, and that is fine here.
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
    # An Embedding's mask reaching a layer that drops it (Flatten, Conv1D...): the shapes are unaffected.
    pytest.mark.filterwarnings("ignore:Layer .* does not support masking"),
]

COUNT = os.environ.get("MSPEC_RANDOM_GRAPHS")
VALID_EXAMPLES = int(COUNT or 40)
PROBE_EXAMPLES = int(COUNT or 30)


def hypothesis_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# Outcomes of every document, printed at the end of the module: the agreement rate and the classes.
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_tally(request: pytest.FixtureRequest):
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and TALLY:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nrandom graphs: " + ", ".join(f"{k} {n}" for k, n in sorted(TALLY.items())))


def check(generated: Generated) -> CheckResult:
    return check_bytes(json.dumps(generated.doc, indent=1).encode(), "random.json", selection=STRUCTURE_ONLY)


def describe(generated: Generated, result: CheckResult | None = None) -> str:
    text = json.dumps(generated.doc, indent=1)
    if result is not None:
        text += "\n" + "\n".join(str(d) for d in result.diagnostics if d.is_error)
    return text


def model_inputs(graph) -> list[tuple[tuple, str]]:
    """The model's inputs in order, as (shape without batch, dtype): what the forward pass feeds."""
    return [(tuple(i.shape), i.dtype) for i in graph.spec.inputs.values()]


def forward(model, graph) -> list[tuple]:
    """Run the model once and return the shape of each output, in spec order."""
    return run_model(model, model_inputs(graph))


@dataclass(frozen=True)
class KerasVerdict:
    """What Keras did with a whole model: its class, the model when it built, the error, where it ran."""

    verdict: Verdict
    model: object | None = None
    error: str | None = None
    runs_on: tuple[str, ...] = ()


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"


def keras_verdict(graph, expected: list[tuple] | None = None, *, run: bool = True) -> KerasVerdict:
    """Build and run the generated model and classify the outcome (see the module doc).

    A run must return `expected` output shapes, by default the shapes Keras declares for the built
    model (None: any size): a run that returns others fails like an error does (JAX runs some
    models TensorFlow refuses, broadcasting them to other shapes). Without `run`, the model is only
    built.
    """
    source = generate_source(graph)
    assert "def build_model" in source
    try:
        model = build_from_source(source, graph.spec.name)
    except Exception as error:  # Keras raises ValueError, TypeError...
        return KerasVerdict(Verdict.BUILD, None, _error(error))
    if not run:
        return KerasVerdict(Verdict.ACCEPTED, model)
    if expected is None:
        expected = [tuple(output.shape) for output in model.outputs]
    try:
        shapes = forward(model, graph)
    except Exception as error:  # TensorFlow's kernels raise InvalidArgumentError, UnimplementedError...
        here = _error(error)
    else:
        if shapes_match(shapes, expected):
            return KerasVerdict(Verdict.ACCEPTED, model)
        here = f"forward pass shapes {shapes} differ from the expected {expected}"
    runs_on = model_runs_elsewhere(source, graph.spec.name, model_inputs(graph), expected)
    return KerasVerdict(Verdict.KERNEL if runs_on else Verdict.RUN, model, here, runs_on)


def check_portability(result: CheckResult, keras: KerasVerdict, where: str) -> None:
    """A model that runs only elsewhere must get mspec's portability warning."""
    if keras.verdict is Verdict.KERNEL:
        warned = any(d.code == "MS305" for d in result.diagnostics)
        assert warned, f"runs only on {', '.join(keras.runs_on)} ({keras.error}), but no MS305\n{where}"


def assert_matches_static(graph, model, where: str) -> None:
    built = keras_shapes(graph, model)
    for node in graph.topological_order():
        expected = as_keras(node.shape)
        assert built[node.id] == expected, f"{node.id}: Keras {built[node.id]}, mspec {node.shape}\n{where}"
    assert model.count_params() == total_param_count(graph), (
        f"Keras counts {model.count_params()} weights, mspec {total_param_count(graph)}\n{where}"
    )


@hypothesis_settings(VALID_EXAMPLES)
@given(generated=valid_specs())
def test_random_valid_models_match_keras(generated: Generated) -> None:
    keras.backend.clear_session()
    result = check(generated)
    where = describe(generated, result)
    assert result.ok, f"mspec refuses a valid model:\n{where}"
    graph = result.graph
    expected = [generated.output_runs[name] for name in graph.spec.outputs] if generated.runnable else None
    outcome = keras_verdict(graph, expected, run=generated.runnable)
    TALLY[f"valid {outcome.verdict.value}" + ("" if generated.runnable else " (built, not run)")] += 1
    assert outcome.verdict is not Verdict.BUILD, (
        f"Keras refuses to build a valid model: {outcome.error}\n{where}"
    )
    assert_matches_static(graph, outcome.model, where)
    if generated.runnable:
        assert outcome.verdict is not Verdict.RUN, (
            f"no backend runs it as mspec's rules say: {outcome.error}\n{where}"
        )
        check_portability(result, outcome, where)


@hypothesis_settings(PROBE_EXAMPLES)
@given(generated=probe_specs())
def test_random_probes_agree_with_keras(generated: Generated) -> None:
    keras.backend.clear_session()
    result = check(generated)
    where = f"probe: {generated.probe}\n{describe(generated, result)}"
    assert result.graph is not None, where
    outcome = keras_verdict(result.graph)
    codes = sorted({d.code for d in result.diagnostics if d.is_error})
    agree = result.ok == (not outcome.verdict.refused)
    TALLY[f"probes {'agree' if agree else 'disagree'}"] += 1
    TALLY[f"probe {generated.expected or 'valid'} {outcome.verdict.value}"] += 1
    assert agree, (
        f"mspec errors {codes or 'none'}, Keras: {outcome.verdict.value} {outcome.error or ''}\n{where}"
    )
    # Both sides agree; the probe must also be what the strategy meant it to be.
    assert codes == ([generated.expected] if generated.expected else []), where
    if outcome.model is not None and not outcome.verdict.refused:
        assert_matches_static(result.graph, outcome.model, where)
        check_portability(result, outcome, where)


# --- Disagreements found by these tests ---------------------------------------
#
# Each is pinned here with its smallest spec once fixed: Keras must still
# refuse it (a change in Keras fails the test) and mspec must refuse it too.


def attention_over_axis_1(name: str, query: list[int], value: list[int]) -> dict:
    """A MultiHeadAttention of `query` and `value` (shapes without batch) over axis 1 only."""
    return {
        "model": {"name": name},
        "inputs": {"query": {"shape": query}, "value": {"shape": value}},
        "merges": {
            "attended": {
                "type": "MultiHeadAttention",
                "from": ["query", "value"],
                "num_heads": 1,
                "key_dim": 2,
                "attention_axes": [1],
            }
        },
        "outputs": {"out": {"from": "attended", "loss": "mse"}},
    }


UNATTENDED_AXES = attention_over_axis_1("unattended_axes", [3, 3, 5], [1, 2, 5])
# The other way round: the query's size 1 on the unattended axis. TensorFlow's einsum refuses it, with
# or without oneDNN; JAX broadcasts it and returns another shape than Keras declares, (2, 1, 2, 1).
QUERY_OF_ONE = attention_over_axis_1("query_of_one", [1, 1, 1], [2, 2, 1])


@pytest.mark.parametrize("doc", [UNATTENDED_AXES, QUERY_OF_ONE], ids=["value", "query of size 1"])
def test_multi_head_attention_unattended_axes(doc: dict) -> None:
    """MultiHeadAttention runs the axes it does not attend over (here axis 2) as batch axes."""
    result = check_bytes(json.dumps(doc).encode(), "unattended_axes.json")
    outcome = keras_verdict(result.graph)
    if not outcome.verdict.refused:
        pytest.fail(
            f"Keras now runs MultiHeadAttention with different sizes on an unattended axis ({outcome})"
        )
    codes = [d.code for d in result.diagnostics if d.is_error]
    assert codes == ["MS301"], f"mspec gives {result.graph.nodes['attended'].shape}; Keras: {outcome.error}"


# --- Portable models ------------------------------------------------------------
#
# Configurations TensorFlow's CPU kernels cannot run without oneDNN are valid Keras models: mspec lints
# them with warnings only, and builds a model Keras loads; a kernel limitation is never a refusal.

PORTABILITY = CASES / "portability.toml"


@pytest.mark.slow
@pytest.mark.kernels
# The saved model was compiled but never trained: its optimizer has no variables yet.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_kernel_limited_models_lint_build_load_and_run_somewhere(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mspec.cli import main

    linted = CliRunner().invoke(main, ["lint", str(PORTABILITY)])
    assert linted.exit_code == 0, linted.output
    warned = [line for line in linted.output.splitlines() if " MS305 warning: " in line]
    limited = ["Conv1DTranspose", "Conv2DTranspose", "SeparableConv2D", "Conv2D", "Conv1D", "Conv1DTranspose"]
    assert [line.split(" MS305 warning: ")[1].split()[0] for line in warned] == limited, linted.output

    built = CliRunner().invoke(main, ["build", str(PORTABILITY), "-o", str(tmp_path)])
    assert built.exit_code == 0, built.output
    keras.backend.clear_session()
    model = keras.saving.load_model(tmp_path / "portability.keras")
    graph = check_bytes(PORTABILITY.read_bytes(), str(PORTABILITY)).graph
    assert model.count_params() == total_param_count(graph)

    # One layer at a time: each runs here, or is a kernel limitation that runs elsewhere.
    for node in graph.topological_order():
        if node.call is None or node.call.kind.name not in limited:
            continue
        step = {"type": node.call.kind.name, **node.call.params.explicit()}
        shape = as_keras(model_input_shape(graph, node))
        truth = keras_apply(step, [shape], run=True)
        assert truth.ok, f"{node.id}: {truth.verdict.value}: {truth.error}"
        if not onednn_enabled() or node.id.startswith("doubled"):
            assert truth.verdict is Verdict.KERNEL, f"{node.id} runs here: {step}"
        TALLY[f"portability {truth.verdict.value}"] += 1


def model_input_shape(graph, node) -> tuple:
    (source,) = node.inputs
    return graph.nodes[source].shape
