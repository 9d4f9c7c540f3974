"""The model graph matches networkx's view of it, and its order is deterministic."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from mspec.pipeline import check_file

from support.paths import CASES
from support.spec_files import SPEC_FILES


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_topological_order_agrees_with_networkx(spec: Path) -> None:
    graph = check_file(spec).graph
    digraph = graph.as_networkx()
    assert nx.is_directed_acyclic_graph(digraph)
    order = [node.id for node in graph.topological_order()]
    assert sorted(order) == sorted(digraph.nodes)
    position = {node_id: i for i, node_id in enumerate(order)}
    assert all(position[u] < position[v] for u, v in digraph.edges)
    # Every node feeds some output: the specs in specs/ have no dead ends.
    reaching = set().union(*(nx.ancestors(digraph, n) | {n} for n in graph.outputs.values()))
    assert reaching == set(digraph.nodes)


def test_cycle_report_names_the_loop() -> None:
    result = check_file(CASES / "cycle.toml")
    cycles = [d for d in result.diagnostics if d.code == "MS202"]
    assert len(cycles) == 1
    assert "x -> y -> z -> x" in cycles[0].message
