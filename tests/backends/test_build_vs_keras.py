"""Differential: the model Keras builds from the generated source has mspec's static shapes and counts.

For every spec in specs/ and every test case that checks without errors,
every node's output shape in the built model must equal the shape mspec
inferred (named dimensions compared as None), and `count_params()` must
equal mspec's static total.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")

from mspec.backends.codegen.python import layer_names  # noqa: E402
from mspec.backends.keras_model.build import build_model  # noqa: E402
from mspec.graph.passes.shapes import total_param_count  # noqa: E402
from mspec.pipeline import check_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEC_SUFFIXES = (".toml", ".json")
SPECS = sorted(p for p in (ROOT / "specs").rglob("*") if p.suffix in SPEC_SUFFIXES)
# The test cases are mostly broken on purpose; those with warnings only build.
VALID_CASES = [
    p for p in sorted((ROOT / "tests" / "cases").iterdir()) if p.suffix in SPEC_SUFFIXES and check_file(p).ok
]


def as_keras(shape) -> tuple:
    return tuple(d if isinstance(d, int) else None for d in shape)


def keras_shapes(graph, model) -> dict[str, tuple]:
    """The output shape Keras built for every node of the graph that is in the model.

    Nodes no output depends on are generated and called, but Keras leaves
    them out of the model: they have no shape here.
    """
    names = layer_names(graph)
    in_model = graph.feeding_outputs()
    uses: Counter[str] = Counter()
    shapes = {}
    for node in graph.topological_order():
        if node.id not in in_model and node.role != "input":
            uses[node.shared] += node.shared is not None  # still a call of the shared layer
            continue
        if node.role == "input":
            tensor = model.get_layer(node.id).output
        elif node.shared is not None:
            # The i-th call of a shared layer is its i-th inbound node, in code order.
            layer = model.get_layer(names[f"shared:{node.shared}"])
            tensor = layer._inbound_nodes[uses[node.shared]].outputs[0]
            uses[node.shared] += 1
        else:
            tensor = model.get_layer(names[node.id]).output
        shapes[node.id] = tuple(tensor.shape)
    return shapes


@pytest.mark.keras
@pytest.mark.parametrize("spec", SPECS + VALID_CASES, ids=lambda p: p.name)
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
    graph = check_file(ROOT / "specs" / "seed" / "concat_independent.toml").graph
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
