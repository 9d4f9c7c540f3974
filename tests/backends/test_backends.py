"""The generated source is backend-agnostic: every spec in specs/ builds and runs on JAX too.

A process of its own (the backend is chosen before Keras is imported) builds
each spec's model from its generated source with KERAS_BACKEND=jax, and
runs one forward pass on arrays. Its parameter count and output shapes must
be mspec's static ones, as they are on TensorFlow (test_build_vs_keras.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")
pytest.importorskip("keras")

from mspec.graph.passes.shapes import total_param_count
from mspec.pipeline import check_file

from support.spec_files import SPEC_FILES

pytestmark = [pytest.mark.keras, pytest.mark.slow]


BUILD_ON_JAX = """
import json, sys
import keras, numpy as np
from mspec.backends.codegen import generate_source
from mspec.pipeline import check_file
from mspec.backends.keras_model.build import build_from_source

report = {"backend": keras.backend.backend(), "models": {}}
for path in sys.argv[1:]:
    result = check_file(path)
    model = build_from_source(generate_source(result.graph, path), result.graph.spec.name)
    arrays = {}
    for name, spec_input in result.spec.inputs.items():
        shape = [2] + [d if isinstance(d, int) else 3 for d in spec_input.shape]
        # Ones: id 1 exists in every vocabulary here, and is not padding (an all-padding sequence
        # averages nothing: NaN).
        arrays[name] = np.ones(shape, dtype=spec_input.dtype)
    outputs = model.predict(arrays, verbose=0)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    report["models"][path] = {
        "params": model.count_params(),
        "symbolic": [list(t.shape) for t in model.outputs],
        "ran": [list(np.shape(o)) for o in outputs],
        "finite": all(bool(np.isfinite(o).all()) for o in outputs),
    }
print("REPORT " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def jax_report() -> dict:
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", BUILD_ON_JAX, *map(str, SPEC_FILES)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))


def test_the_models_were_built_on_jax(jax_report: dict) -> None:
    assert jax_report["backend"] == "jax"
    assert sorted(jax_report["models"]) == sorted(map(str, SPEC_FILES))


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_spec_builds_and_runs_on_jax(spec: Path, jax_report: dict) -> None:
    built = jax_report["models"][str(spec)]
    graph = check_file(spec).graph
    assert built["params"] == total_param_count(graph)
    static = [graph.nodes[graph.outputs[name]].shape for name in graph.spec.outputs]
    as_keras = [[d if isinstance(d, int) else None for d in shape] for shape in static]
    assert built["symbolic"] == as_keras
    concrete = [
        [2 if axis == 0 else (d if isinstance(d, int) else 3) for axis, d in enumerate(s)] for s in static
    ]
    assert built["ran"] == concrete
    assert built["finite"]
