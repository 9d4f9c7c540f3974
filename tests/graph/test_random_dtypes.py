"""Random models with an input of every dtype a spec may declare, against Keras on every backend.

Each document has one input of a drawn dtype (integers of several widths,
booleans, strings, floats of other precisions) read by a chain of randomly
drawn steps of any kind (`support.layer_strategies`, fitted to the shape as
for float tensors), sometimes merged with a float branch, then the random
heads of `support.spec_graphs`. Keras' verdict comes from building the model
and running it at inference and in training (`support.dtype_oracle.settle`:
TensorFlow here, with oneDNN flipped, and JAX), as `mspec fit` trains:

* refused (fails on every setting): mspec must report an error (MS306 for
  the dtype, MS709 for strings reaching a layer, or any other);
* a kernel limitation (runs on some setting only): no error, and MS305;
* accepted: no error, but for MS709, which refuses any string reaching a
  layer that is not a string layer (documented policy, like MS701: a model
  whose numbers are strings cannot be trained, even where a forward pass on
  TensorFlow hands them on).

MSPEC_DTYPE_EXAMPLES sets the number of documents (default 30).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

pytest.importorskip("keras")

from hypothesis import given
from hypothesis import strategies as st

from graph.test_random_graphs import hypothesis_settings
from mspec.backends.codegen.python import generate_source
from mspec.diagnostics.selection import Selection, codes
from mspec.pipeline import check_bytes

from support.dtype_oracle import ModelCall, settle
from support.keras_oracle import Verdict
from support.layer_strategies.drawing import pick
from support.spec_graphs import Builder, Generated, Tensor, concrete

pytestmark = [
    pytest.mark.keras,
    pytest.mark.kernels,
    pytest.mark.filterwarnings("ignore:You are using a softmax over axis"),
    pytest.mark.filterwarnings("ignore:Layer .* does not support masking"),
]

EXAMPLES = int(os.environ.get("MSPEC_DTYPE_EXAMPLES", "30"))
DTYPES = ["int32", "int64", "int8", "uint8", "uint16", "bool", "string", "float16", "float64", "bfloat16"]
# Training hazards are left out as in the other random tests, but for MS709: a string reaching a layer
# that cannot take strings is an error about the element type, as MS306 is.
SELECTION = Selection(ignore=codes(["MS7"]) - {"MS709"})

TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_tally(request: pytest.FixtureRequest):
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and TALLY:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nrandom dtypes: " + ", ".join(f"{k} {n}" for k, n in sorted(TALLY.items())))


@st.composite
def dtype_probes(draw) -> Generated:
    """A model whose first input has a drawn dtype, read by random steps and merges."""
    builder = Builder(draw, unknown=False)
    dtype = pick(draw, DTYPES)
    dims = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    name = builder.fresh("in")
    builder.doc["inputs"][name] = {"shape": dims, "dtype": dtype}
    shape = (None, *dims)
    probe = builder.register(Tensor(name, shape, concrete(shape)))
    builder.random_branch(probe, draw(st.integers(1, 3)))
    if draw(st.booleans()):
        floats = builder.add_input(integer=False)
        builder.random_branch(floats, 1)
        builder.random_merge()
    builder.finish()
    return builder.result(probe=f"a {dtype} input")


@hypothesis_settings(EXAMPLES)
@given(generated=dtype_probes())
def test_random_dtype_probes_agree_with_keras(generated: Generated) -> None:
    result = check_bytes(json.dumps(generated.doc, indent=1).encode(), "dtypes.json", selection=SELECTION)
    graph = result.graph
    where = json.dumps(generated.doc, indent=1) + "\n" + "\n".join(str(d) for d in result.diagnostics)
    assert graph is not None, where
    inputs = tuple((tuple(i.shape), i.dtype) for i in graph.spec.inputs.values())
    truth = settle([ModelCall(generate_source(graph), graph.spec.name, inputs)])[0]
    errors = sorted({d.code for d in result.diagnostics if d.is_error})
    TALLY[f"{truth.verdict.value}, mspec {'/'.join(errors) or 'accepts'}"] += 1
    if truth.verdict.refused:
        assert errors, f"Keras refuses ({truth.verdict.value}: {truth.error}), mspec accepts\n{where}"
        return
    if errors == ["MS709"]:
        return  # policy, see the module doc: counted in the tally
    assert not errors, f"Keras runs it ({truth.verdict.value}), mspec refuses {errors}\n{where}"
    if truth.verdict is Verdict.KERNEL:
        warned = any(d.code == "MS305" for d in result.diagnostics)
        assert warned, f"runs only on {truth.runs_on} ({truth.error}), but no MS305\n{where}"
