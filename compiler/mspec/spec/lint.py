"""The spec's own [lint] section: which findings it turns off, checked like any other section.

`ignore = [...]` turns rules off for the whole spec, and
`per_node_ignores = { NODE = [...] }` for findings about one input, shared
layer, branch, merge or output. `mspec.diagnostics.selection` applies it
together with the project's and the command line's selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import LINT_SETTING_WITHOUT_EFFECT, UNKNOWN_KEY, WRONG_TYPE, matching
from ..diagnostics.suggest import did_you_mean
from ..syntax.document import DataPath, Document

LINT_KEYS = ("ignore", "per_node_ignores")
_SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")


@dataclass
class SpecLint:
    """A spec's own [lint] section, checked."""

    ignore: frozenset[str] = frozenset()
    per_node: dict[str, frozenset[str]] = field(default_factory=dict)


def read_spec_lint(document: Document) -> tuple[SpecLint | None, list[Diagnostic]]:
    """Check the spec's [lint] section; return it (None when absent or unusable) and its findings."""
    data = document.data
    if "lint" not in data:
        return None, []
    found: list[Diagnostic] = []
    section = data["lint"]
    if not isinstance(section, dict):
        found.append(
            WRONG_TYPE.at(
                document,
                ("lint",),
                "[lint] should be a table with `ignore` and `per_node_ignores`",
                at="value",
            )
        )
        return None, found
    lint = SpecLint()
    for key in section:
        if key not in LINT_KEYS:
            found.append(
                UNKNOWN_KEY.at(
                    document, ("lint", key), f"unknown key {key!r} in [lint]", did_you_mean(key, LINT_KEYS)
                )
            )
    if "ignore" in section:
        lint.ignore = _codes_of(document, section["ignore"], ("lint", "ignore"), found)
    nodes = section.get("per_node_ignores")
    if nodes is not None:
        if not isinstance(nodes, dict):
            found.append(
                WRONG_TYPE.at(
                    document,
                    ("lint", "per_node_ignores"),
                    "[lint] per_node_ignores should be a table: node name -> list of rule codes",
                    at="value",
                )
            )
        else:
            names = {name for s in _SECTIONS if isinstance(data.get(s), dict) for name in data[s]}
            for name, selectors in nodes.items():
                where = ("lint", "per_node_ignores", name)
                if name not in names:
                    found.append(
                        LINT_SETTING_WITHOUT_EFFECT.at(
                            document,
                            where,
                            f"[lint] per_node_ignores names {name!r}, which is no input, shared layer, "
                            "branch, merge or output",
                            did_you_mean(name, sorted(names)),
                            at="value",
                        )
                    )
                    continue
                lint.per_node[name] = _codes_of(document, selectors, where, found)
    return lint, found


def _codes_of(document: Document, value: Any, where: DataPath, found: list[Diagnostic]) -> frozenset[str]:
    """The codes a list of selectors names; a selector that turns nothing off is reported."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        found.append(
            WRONG_TYPE.at(
                document, where, 'a list of rule codes is expected, such as ["MS712", "MS7"]', at="value"
            )
        )
        return frozenset()
    codes: set[str] = set()
    for index, selector in enumerate(value):
        rules = matching(selector)
        if not rules:
            found.append(
                LINT_SETTING_WITHOUT_EFFECT.at(
                    document,
                    (*where, index),
                    f"{selector!r} names no rule, so it ignores nothing",
                    "`mspec rules` lists the codes",
                    at="value",
                )
            )
            continue
        fixed = [rule.code for rule in rules if not rule.ignorable]
        if fixed and len(fixed) == len(rules):
            found.append(
                LINT_SETTING_WITHOUT_EFFECT.at(
                    document,
                    (*where, index),
                    f"{selector!r} cannot be ignored: "
                    + ("it is an error" if len(fixed) == 1 else "they are errors")
                    + " that keeps the model from being built or trained",
                    "fix the spec instead",
                    at="value",
                )
            )
            continue
        codes |= {rule.code for rule in rules if rule.ignorable}
    return frozenset(codes)
