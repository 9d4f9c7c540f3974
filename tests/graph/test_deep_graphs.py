"""A 10,000-node chain works everywhere in mspec: no recursion, no quadratic time."""

from __future__ import annotations

import pytest

from mspec.backends.codegen import generate_source
from mspec.backends.draw import to_dot, to_mermaid
from mspec.backends.summary import render_summary
from mspec.graph.passes import budget
from mspec.pipeline import check_bytes


def chain_spec(length: int) -> bytes:
    steps = ", ".join('{ type = "Dense", units = 4 }' for _ in range(length))
    text = (
        '[model]\nname = "deep"\n[inputs.a]\nshape = [4]\n'
        f'[branches.x]\nfrom = "a"\nlayers = [{steps}]\n[outputs.out]\nfrom = "x"\nloss = "mse"\n'
    )
    return text.encode()


def test_a_10000_layer_chain_is_checked_generated_and_drawn() -> None:
    result = check_bytes(chain_spec(10_000), "deep.toml")
    assert result.ok, [d.format() for d in result.diagnostics[:3]]
    graph = result.graph
    assert graph.nodes["x[9999]"].shape == (None, 4)
    assert "Total params: 200,000" in render_summary(graph)
    source = generate_source(graph)
    assert source.count("layers.Dense(") == 10_000
    compile(source, "deep.py", "exec")
    assert to_dot(graph, result.diagnostics).count("->") >= 10_000
    assert to_mermaid(graph, result.diagnostics).count("-->") >= 10_000


def test_depth_limit_is_diagnosed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_GRAPH_DEPTH", 50)
    result = check_bytes(chain_spec(60), "deep.toml")
    (finding,) = result.diagnostics
    assert finding.code == "MS304" and "60 layers deep" in finding.message
    assert finding.node == "x[59]"


@pytest.mark.keras
def test_keras_recursion_limit_is_reported_clearly() -> None:
    pytest.importorskip("keras")
    import sys

    from mspec.backends.keras_model.build import KerasRecursionLimit, build_from_source

    result = check_bytes(chain_spec(300), "deep.toml")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(250)  # stands in for a chain longer than Keras can handle at the default limit
    try:
        with pytest.raises(KerasRecursionLimit, match="too deep for Keras"):
            build_from_source(generate_source(result.graph), "deep")
    finally:
        sys.setrecursionlimit(limit)
