"""Whether specs can be compared on one data file: the same inputs and outputs, bound the same way.

Two specs fitted on the same data must read the same columns in the same
way: each input with the same name, shape, dtype and columns, each output
with the same name and label column. Every difference is one MS807 finding
in the spec that differs from the first one, at the entry at fault (or at
the section, for an entry it lacks). Needs only the core.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import COMPARE_MISMATCH
from ..frontend import CheckResult
from ..syntax.document import DataPath


def disagreements(results: list[CheckResult]) -> list[Diagnostic]:
    """MS807 findings for every spec whose inputs or outputs differ from the first spec's."""
    first = results[0]
    found: list[Diagnostic] = []
    for other in results[1:]:
        found += _compare(first, other)
    return found


def _compare(first: CheckResult, other: CheckResult) -> list[Diagnostic]:
    assert first.spec is not None and other.spec is not None
    found = []
    reference = first.path

    def add(path: DataPath, message: str, hint: str) -> None:
        assert other.document is not None
        found.append(COMPARE_MISMATCH.at(other.document, path, message, hint, node=path[-1]))

    for section, mine, theirs, describe in (
        ("inputs", first.spec.inputs, other.spec.inputs, _input),
        ("outputs", first.spec.outputs, other.spec.outputs, _output),
    ):
        what = section[:-1]
        for name in mine:
            if name not in theirs:
                add(
                    (section,),
                    f"no {what} {name!r}, which {reference} has: the specs do not read the same data",
                    f"compare specs with the same {section}",
                )
        for name, entry in theirs.items():
            if name not in mine:
                add(
                    (section, name),
                    f"{what} {name!r} is not in {reference}: the specs do not read the same data",
                    f"compare specs with the same {section}",
                )
                continue
            for key, (here, there) in _differences(describe(mine[name]), describe(entry)).items():
                add(
                    (section, name, key) if key in _written(other, section, name) else (section, name),
                    f"{what} {name!r} has {key} {_shown(there)}, but {_shown(here)} in {reference}",
                    "the specs must bind the data the same way to be compared",
                )
    return found


def _input(entry: Any) -> dict[str, Any]:
    columns = entry.columns
    if columns is not None and not isinstance(columns, list):
        columns = columns.describe()
    return {"shape": list(entry.shape), "dtype": entry.dtype, "columns": columns}


def _output(entry: Any) -> dict[str, Any]:
    return {"column": entry.column}


def _differences(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {key: (mine[key], theirs[key]) for key in mine if mine[key] != theirs[key]}


def _written(result: CheckResult, section: str, name: str) -> set[str]:
    assert result.document is not None
    entry = result.document.data.get(section, {}).get(name)
    return set(entry) if isinstance(entry, dict) else set()


def _shown(value: Any) -> str:
    if value is None:
        return "none (the default)"
    return repr(value)
