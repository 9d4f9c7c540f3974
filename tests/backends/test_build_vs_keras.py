"""Differential: the model Keras builds from the generated source has mspec's static shapes and counts.

For every spec in specs/ and every test case that checks without errors,
every node's output shape in the built model must equal the shape mspec
inferred (named dimensions compared as None), and `count_params()` must
equal mspec's static total.
"""

from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from mspec.backends.keras_model.build import build_model  # noqa: E402
from mspec.graph.passes.shapes import total_param_count  # noqa: E402
from mspec.pipeline import check_file  # noqa: E402

from support.keras_build import as_keras, keras_shapes  # noqa: E402
from support.paths import CASES, SPECS  # noqa: E402

SPEC_SUFFIXES = (".toml", ".json")
SPEC_FILES = sorted(p for p in SPECS.rglob("*") if p.suffix in SPEC_SUFFIXES)
# The test cases are mostly broken on purpose; those with warnings only build.
VALID_CASES = [p for p in sorted(CASES.iterdir()) if p.suffix in SPEC_SUFFIXES and check_file(p).ok]


@pytest.mark.keras
@pytest.mark.parametrize("spec", SPEC_FILES + VALID_CASES, ids=lambda p: p.name)
def test_built_model_matches_static_inference(spec: Path) -> None:
    graph = check_file(spec).graph
    model = build_model(graph)
    built = keras_shapes(graph, model)
    for node in graph.topological_order():
        if node.id in built:
            expected = as_keras(node.shape)
            assert built[node.id] == expected, f"{node.id}: Keras {built[node.id]}, mspec {node.shape}"
    assert model.count_params() == total_param_count(graph)
    assert sorted(model.output_names) == sorted(graph.spec.outputs)


@pytest.mark.keras
def test_some_test_cases_build() -> None:
    assert VALID_CASES, "no test case checks without errors: the parametrization above lost them"


@pytest.mark.keras
def test_seed_example_1_has_993_parameters() -> None:
    graph = check_file(SPECS / "seed" / "concat_independent.toml").graph
    assert build_model(graph).count_params() == 993 == total_param_count(graph)


SHARED_ON_UNKNOWN_SIZE = """
[model]
name = "shared_unknown"

[inputs.a]
shape = [{first}]

[inputs.b]
shape = [{second}]

[shared.projection]
type = "Dense"
units = 3

[branches.pa]
from = "a"
layers = [{{ shared = "projection" }}]

[branches.pb]
from = "b"
layers = [{{ shared = "projection" }}]

[merges.both]
type = "Concatenate"
from = ["pa", "pb"]

[outputs.y]
from = "both"
layers = [{{ type = "Dense", units = 1 }}]
loss = "mean_squared_error"
"""


@pytest.mark.keras
def test_shared_layer_reused_on_an_unknown_size_builds_like_keras(tmp_path: Path) -> None:
    # The weights exist after the first use (size 4): a later use of unknown size needs none.
    spec = tmp_path / "shared_unknown.toml"
    spec.write_text(SHARED_ON_UNKNOWN_SIZE.format(first=4, second='"F"'))
    result = check_file(spec)
    assert result.ok, [d.format() for d in result.diagnostics]
    model = build_model(result.graph)
    built = keras_shapes(result.graph, model)
    for node in result.graph.topological_order():
        assert built[node.id] == as_keras(node.shape), node.id
    assert model.count_params() == total_param_count(result.graph) == 15 + 7


@pytest.mark.keras
def test_shared_layer_first_used_on_an_unknown_size_is_refused_like_keras(tmp_path: Path) -> None:
    spec = tmp_path / "shared_unknown.toml"
    spec.write_text(SHARED_ON_UNKNOWN_SIZE.format(first='"F"', second=4))
    result = check_file(spec)
    assert [d.code for d in result.diagnostics if d.is_error] == ["MS303"]
    with pytest.raises(ValueError):
        build_model(result.graph)  # what the generated source does in Keras
