"""Which rules are reported: the spec's [lint] section, [tool.mspec] in pyproject.toml, --select/--ignore.

A selector is a code (MS712), a prefix of codes (MS7, MS70), a rule name
(concatenate-imbalance) or ALL. A rule is reported when it is selected (every
rule is, unless `select` is given) and no `ignore` names it. Rules that
cannot be ignored (errors that make the model unbuildable, see
`mspec.diagnostics.rules`) are always reported.

Where the settings come from, all combined:

- `[tool.mspec]` in the nearest pyproject.toml above the spec (`select`,
  `ignore`, and `per-file-ignores`: glob, relative to that file's folder ->
  selectors);
- the command line (`--select` replaces the project's `select`; `--ignore`
  adds to its `ignore`);
- the spec's own `[lint]` section: `ignore = [...]` for the whole spec, and
  `per_node_ignores = { NODE = [...] }` for findings about one input,
  branch, merge, output or shared layer.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import Diagnostic, Severity
from .rules import RULES, matching

if TYPE_CHECKING:
    from ..graph.model import ModelGraph
    from ..syntax.document import Document


class SelectionError(ValueError):
    """A selector names no rule (raised for the command line and pyproject.toml)."""


def codes(selectors: tuple[str, ...] | list[str]) -> frozenset[str]:
    """The codes a list of selectors names; raises SelectionError for one that names none."""
    found: set[str] = set()
    for selector in selectors:
        rules = matching(selector)
        if not rules:
            raise SelectionError(f"{selector!r} names no rule (see `mspec rules`)")
        found |= {rule.code for rule in rules}
    return frozenset(found)


def split(text: str | None) -> tuple[str, ...]:
    """Comma-separated selectors from the command line."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class Selection:
    """Selected and ignored codes (already expanded from selectors)."""

    select: frozenset[str] | None = None  # None: every rule
    ignore: frozenset[str] = frozenset()
    # (glob relative to `root`, codes) from pyproject.toml's per-file-ignores
    per_file: tuple[tuple[str, frozenset[str]], ...] = ()
    root: Path | None = None

    def with_command_line(self, select: tuple[str, ...], ignore: tuple[str, ...]) -> Selection:
        return Selection(
            codes(select) if select else self.select,
            self.ignore | codes(ignore),
            self.per_file,
            self.root,
        )

    def ignored_for(self, path: str) -> frozenset[str]:
        """The codes ignored for one file: `ignore` plus the per-file globs it matches."""
        if not self.per_file or self.root is None:
            return self.ignore
        try:
            relative = Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return self.ignore
        extra = frozenset().union(*(c for glob, c in self.per_file if fnmatch.fnmatch(relative, glob)))
        return self.ignore | extra


@dataclass
class SpecLint:
    """A spec's own [lint] section, checked."""

    ignore: frozenset[str] = frozenset()
    per_node: dict[str, frozenset[str]] = field(default_factory=dict)


def reported(
    diagnostics: list[Diagnostic],
    selection: Selection | None,
    spec_lint: SpecLint | None,
    graph: ModelGraph | None,
    path: str,
) -> list[Diagnostic]:
    """Keep the diagnostics that the selection and the spec's [lint] section do not turn off."""
    ignored = selection.ignored_for(path) if selection is not None else frozenset()
    selected = selection.select if selection is not None else None
    if spec_lint is not None:
        ignored = ignored | spec_lint.ignore
    per_node = spec_lint.per_node if spec_lint is not None else {}
    if not ignored and selected is None and not per_node:
        return diagnostics
    kept = []
    for diagnostic in diagnostics:
        rule = RULES.get(diagnostic.code)
        if rule is None or not rule.ignorable:
            kept.append(diagnostic)
            continue
        if diagnostic.code in ignored or (selected is not None and diagnostic.code not in selected):
            continue
        if per_node and diagnostic.node is not None:
            names = _names(graph, diagnostic.node)
            if any(diagnostic.code in per_node.get(name, ()) for name in names):
                continue
        kept.append(diagnostic)
    return kept


def _names(graph: ModelGraph | None, node: str) -> set[str]:
    """The spec names a finding's node goes by: itself, its branch or output, its shared layer."""
    names = {node}
    if graph is not None and node in graph.nodes:
        found = graph.nodes[node]
        names.add(found.owner)
        if found.shared:
            names.add(found.shared)
    return names


# --- the spec's [lint] section ----------------------------------------------------------

LINT_KEYS = ("ignore", "per_node_ignores")
_SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")


def read_spec_lint(document: Document) -> tuple[SpecLint | None, list[Diagnostic]]:
    """Check the spec's [lint] section; return it (None when absent or unusable) and its findings."""
    data = document.data
    if "lint" not in data:
        return None, []
    found: list[Diagnostic] = []

    def report(code: str, where: tuple, message: str, hint: str | None = None, *, warning=False) -> None:
        loc = document.locate(where, prefer="value" if code != "MS101" else "key")
        severity = Severity.WARNING if warning else Severity.ERROR
        found.append(Diagnostic(document.path, loc.line, loc.col, code, severity, message, hint))

    section = data["lint"]
    if not isinstance(section, dict):
        report("MS103", ("lint",), "[lint] should be a table with `ignore` and `per_node_ignores`")
        return None, found
    lint = SpecLint()
    for key in section:
        if key not in LINT_KEYS:
            from .suggest import did_you_mean

            report("MS101", ("lint", key), f"unknown key {key!r} in [lint]", did_you_mean(key, LINT_KEYS))
    if "ignore" in section:
        lint.ignore = _codes_of(section["ignore"], ("lint", "ignore"), report)
    nodes = section.get("per_node_ignores")
    if nodes is not None:
        if not isinstance(nodes, dict):
            report(
                "MS103",
                ("lint", "per_node_ignores"),
                "[lint] per_node_ignores should be a table: node name -> list of rule codes",
            )
        else:
            names = {name for s in _SECTIONS if isinstance(data.get(s), dict) for name in data[s]}
            for name, selectors in nodes.items():
                where = ("lint", "per_node_ignores", name)
                if name not in names:
                    from .suggest import did_you_mean

                    report(
                        "MS112",
                        where,
                        f"[lint] per_node_ignores names {name!r}, which is no input, shared layer, branch, "
                        "merge or output",
                        did_you_mean(name, sorted(names)),
                        warning=True,
                    )
                    continue
                lint.per_node[name] = _codes_of(selectors, where, report)
    return lint, found


def _codes_of(value: Any, where: tuple, report) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report("MS103", where, 'a list of rule codes is expected, such as ["MS712", "MS7"]')
        return frozenset()
    found: set[str] = set()
    for index, selector in enumerate(value):
        rules = matching(selector)
        if not rules:
            report(
                "MS112",
                (*where, index),
                f"{selector!r} names no rule, so it ignores nothing",
                "`mspec rules` lists the codes",
                warning=True,
            )
            continue
        fixed = [rule.code for rule in rules if not rule.ignorable]
        if fixed and len(fixed) == len(rules):
            report(
                "MS112",
                (*where, index),
                f"{selector!r} cannot be ignored: "
                + ("it is an error" if len(fixed) == 1 else "they are errors")
                + " that keeps the model from being built or trained",
                "fix the spec instead",
                warning=True,
            )
            continue
        found |= {rule.code for rule in rules if rule.ignorable}
    return frozenset(found)


# --- [tool.mspec] in pyproject.toml ---------------------------------------------------

PROJECT_KEYS = ("select", "ignore", "per-file-ignores")
_project_cache: dict[Path, Selection] = {}


def project_selection(spec_path: str | os.PathLike) -> Selection:
    """The selection from the nearest pyproject.toml with a [tool.mspec] table above the spec.

    Raises SelectionError when that table is malformed or names no rule.
    """
    folder = Path(os.path.abspath(spec_path)).parent
    chain = []
    selection = None
    for candidate in (folder, *folder.parents):
        if candidate in _project_cache:
            selection = _project_cache[candidate]
            break
        chain.append(candidate)
        config = candidate / "pyproject.toml"
        if config.is_file():
            table = _tool_table(config)
            if table is not None:
                selection = _from_table(table, config)
                break
    selection = selection or Selection()
    for candidate in chain:
        _project_cache[candidate] = selection
    return selection


def forget_project_selections() -> None:
    """Drop what was read from pyproject.toml files, so the next lookup reads them again.

    For a long-running process (the language server) whose user edits [tool.mspec].
    """
    _project_cache.clear()


def _tool_table(config: Path) -> dict | None:
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SelectionError(f"{config}: cannot read: {error}") from None
    table = data.get("tool", {}).get("mspec")
    return table if isinstance(table, dict) else None


def _from_table(table: dict, config: Path) -> Selection:
    def selectors(key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SelectionError(f"{config}: [tool.mspec] {key} should be a list of rule codes")
        return tuple(value)

    for key in table:
        if key not in PROJECT_KEYS:
            raise SelectionError(
                f"{config}: unknown key {key!r} in [tool.mspec] (it takes {', '.join(PROJECT_KEYS)})"
            )
    try:
        select = codes(selectors("select", table["select"])) if "select" in table else None
        ignore = codes(selectors("ignore", table.get("ignore", [])))
        per_file_table = table.get("per-file-ignores", {})
        if not isinstance(per_file_table, dict):
            raise SelectionError(f"{config}: [tool.mspec] per-file-ignores should be a table: glob -> codes")
        per_file = tuple(
            (glob, codes(selectors(f"per-file-ignores {glob!r}", value)))
            for glob, value in per_file_table.items()
        )
    except SelectionError as error:
        if str(error).startswith(str(config)):
            raise
        raise SelectionError(f"{config}: [tool.mspec]: {error}") from None
    return Selection(select, ignore, per_file, config.parent)
