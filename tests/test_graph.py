"""The model graph matches networkx's view of it, and its order is deterministic."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from mspec.pipeline import check_file

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p for p in (ROOT / "specs").rglob("*") if p.suffix in (".toml", ".json"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_topological_order_agrees_with_networkx(spec: Path) -> None:
    model = check_file(spec).graph
    graph = model.graph
    assert nx.is_directed_acyclic_graph(graph)
    order = [node.id for node in model.topological_order()]
    assert sorted(order) == sorted(graph.nodes)
    position = {node_id: i for i, node_id in enumerate(order)}
    assert all(position[u] < position[v] for u, v in graph.edges)
    # Every node feeds some output: the specs in specs/ have no dead ends.
    reaching = set().union(*(nx.ancestors(graph, n) | {n} for n in model.outputs.values()))
    assert reaching == set(graph.nodes)


def test_cycle_report_names_the_loop() -> None:
    result = check_file(ROOT / "tests" / "cases" / "cycle.toml")
    cycles = [d for d in result.diagnostics if d.code == "MS202"]
    assert len(cycles) == 1
    assert "x -> y -> z -> x" in cycles[0].message
