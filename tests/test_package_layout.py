"""The package reads as its pipeline: every import runs down it, and no two folders import each other.

Each top-level folder (or module) of `mspec` has a level; a module may import
its own folder and folders of lower levels only. Imports inside functions and
under `TYPE_CHECKING` count too: a late import that runs back up still ties
the lower folder to the higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from support.paths import ROOT

PACKAGE = ROOT / "compiler" / "mspec"

# Lowest first: what a stage reads from is below it. Folders on one line are siblings: none imports another.
LEVELS: list[tuple[str, ...]] = [
    ("files", "interruption", "discover", "syntax"),
    ("diagnostics",),
    ("vocabulary",),
    ("layers",),
    ("spec",),
    ("graph",),
    ("frontend",),
    ("backends",),
    ("importer",),
    ("data", "search_space"),
    ("pipeline",),
    ("training",),
    ("explain",),
    ("search", "scoring", "artifacts"),
    ("scaffold", "review", "lsp"),
    ("cli", "api"),
    ("__main__", "__init__"),
]
LEVEL = {name: level for level, names in enumerate(LEVELS) for name in names}


def _top(module_path: Path) -> str:
    """The top-level folder or module a file belongs to ("__init__" for the package's own)."""
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_tops(path: Path) -> set[str]:
    """The top-level folders and modules of mspec that a file imports, wherever the import is."""
    relative = path.relative_to(PACKAGE).with_suffix("").parts
    package = ["mspec", *relative[:-1]]  # the package the file is in (its own for an __init__)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "mspec":
                target = node.module.split(".")
            else:
                continue
            # `from . import x` names a module or folder x: it is the target when the base is the package.
            tops = [target[1]] if len(target) > 1 else [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            tops = [a.name.split(".")[1] for a in node.names if a.name.startswith("mspec.")]
        else:
            continue
        found.update(tops)
    return found


def _folder_imports() -> dict[tuple[str, str], list[str]]:
    """(importing top, imported top) -> the files that make that edge."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _top(path)
        for target in _imported_tops(path) - {source}:
            edges.setdefault((source, target), []).append(str(path.relative_to(PACKAGE)))
    return edges


def test_every_top_level_module_has_a_level() -> None:
    tops = {_top(path) for path in PACKAGE.rglob("*.py")}
    assert tops - LEVEL.keys() == set(), "give each new top-level folder or module a level in LEVELS"


def test_imports_run_down_the_pipeline() -> None:
    upward = [
        f"{source} (level {LEVEL.get(source)}) imports {target} (level {LEVEL.get(target)}): {files}"
        for (source, target), files in sorted(_folder_imports().items())
        if source in LEVEL and target in LEVEL and LEVEL[target] >= LEVEL[source]
    ]
    assert not upward, "\n".join(upward)


def test_no_two_folders_import_each_other() -> None:
    graph = nx.DiGraph(list(_folder_imports()))
    cycles = [" -> ".join([*cycle, cycle[0]]) for cycle in nx.simple_cycles(graph)]
    assert not cycles, "\n".join(cycles)
