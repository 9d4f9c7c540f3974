"""The resource budget: node and parameter limits are diagnosed before any build."""

from __future__ import annotations

import pytest

from mspec.graph.passes import budget
from mspec.pipeline import check_file

from support.paths import CASES, ROOT


def test_node_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_NODES", 5)
    result = check_file(ROOT / "specs" / "image_tabular.toml")
    codes = [d.code for d in result.diagnostics]
    assert codes == ["MS304"]
    assert "more than the limit of 5" in result.diagnostics[0].message


def test_parameter_budget_names_the_largest_layer() -> None:
    result = check_file(CASES / "parameter_budget.toml")
    (finding,) = result.diagnostics
    assert finding.code == "MS304" and finding.node == "embedded[0]"
    assert "12.8 GB" in finding.message


def test_specs_are_within_budget() -> None:
    for spec in sorted((ROOT / "specs").rglob("*.toml")):
        assert check_file(spec).ok
