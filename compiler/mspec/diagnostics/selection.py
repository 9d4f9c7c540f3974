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
  branch, merge, output or shared layer (read and checked by
  `mspec.spec.lint`, which hands its codes to `reported`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostic import Diagnostic
from .rules import RULES, matching


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


def reported(
    diagnostics: list[Diagnostic],
    selection: Selection | None,
    path: str,
    *,
    ignore: frozenset[str] = frozenset(),
    per_node: Mapping[str, frozenset[str]] | None = None,
    names: Callable[[str], Iterable[str]] | None = None,
) -> list[Diagnostic]:
    """Keep the diagnostics that the selection and the spec's [lint] section do not turn off.

    `ignore` and `per_node` are the spec's own (node name -> codes); `names`
    gives the spec names a finding's node goes by (itself, its branch or
    output, its shared layer), so that a per-node ignore covers every node
    of the entry it names.
    """
    ignored = selection.ignored_for(path) if selection is not None else frozenset()
    selected = selection.select if selection is not None else None
    ignored = ignored | ignore
    per_node = per_node or {}
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
            goes_by = names(diagnostic.node) if names is not None else (diagnostic.node,)
            if any(diagnostic.code in per_node.get(name, ()) for name in goes_by):
                continue
        kept.append(diagnostic)
    return kept


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
