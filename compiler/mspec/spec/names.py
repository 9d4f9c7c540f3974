"""Names in a spec: the names of its entries and the Keras layer names its steps give.

An entry's name (an input, shared layer, branch, merge or output) is a
Python identifier, not a keyword, and no two entries share one, whatever
their sections: generated code uses them as variable names. A step's
`name = "..."` is a plain name Keras accepts, and no two layers of the
model end up with the same name.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from ..diagnostics.rules import DUPLICATE_NAME, INVALID_NAME, WRONG_TYPE
from ..syntax.document import DataPath
from .collector import Collector
from .models import NAME_PATTERN

NAMED_SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")
SECTION_ENTRY = {
    "inputs": "input",
    "shared": "shared layer",
    "branches": "branch",
    "merges": "merge",
    "outputs": "output",
}

NAME_RE = re.compile(NAME_PATTERN)
# A Keras layer name a step may give: plain text Keras accepts (no "/", no spaces).
LAYER_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,254}$")


def check_names(out: Collector, data: dict) -> None:
    """Names are identifiers, not keywords, and unique across all sections."""
    seen: dict[str, str] = {}
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("name"), str):
        _check_identifier(out, model["name"], ("model", "name"), "model name", at="value")
    for section in NAMED_SECTIONS:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for name in table:
            if not _check_identifier(out, name, (section, name), f"{SECTION_ENTRY[section]} name"):
                continue
            if name in seen:
                first = out.document.locate((seen[name], name))
                out.error(
                    DUPLICATE_NAME,
                    (section, name),
                    f"name {name!r} is already used in [{seen[name]}] (line {first.line})",
                    "every input, shared layer, branch, merge and output needs its own name",
                )
            else:
                seen[name] = section


def check_layer_name(out: Collector, name: Any, path: DataPath, what: str) -> bool:
    """A step's Keras layer name (`name = "..."`): a plain identifier-like string Keras accepts."""
    if not isinstance(name, str):
        out.error(WRONG_TYPE, path, f"{what}: 'name' should be a Keras layer name (a string)", at="value")
        return False
    if not LAYER_NAME_RE.match(name):
        out.error(
            INVALID_NAME,
            path,
            f"{what}: layer name {name!r} is not a plain name",
            "use letters, digits, underscores, dots and hyphens, starting with a letter or underscore",
            at="value",
        )
        return False
    return True


def check_layer_names_unique(out: Collector, data: dict) -> None:
    """Keras layer names given by steps differ from each other and from the names of the spec's
    entries (which name their layers), except the entry a step itself names."""
    entries = {
        name: section
        for section in NAMED_SECTIONS
        if isinstance(data.get(section), dict)
        for name in data[section]
    }
    seen: dict[str, DataPath] = {}
    for name, path, owner in _given_layer_names(data):
        if not LAYER_NAME_RE.match(name):
            continue  # reported with the step
        if name in seen:
            first = out.document.locate(seen[name])
            out.error(
                DUPLICATE_NAME,
                path,
                f"layer name {name!r} is already given to another step (line {first.line})",
                "every Keras layer in a model needs its own name",
                at="value",
            )
        elif name in entries and name != owner:
            out.error(
                DUPLICATE_NAME,
                path,
                f"layer name {name!r} is the name of {SECTION_ENTRY[entries[name]]} {name!r}, "
                "whose layer has that name",
                "every Keras layer in a model needs its own name",
                at="value",
            )
        else:
            seen[name] = path


def _given_layer_names(data: dict) -> list[tuple[str, DataPath, str]]:
    """Every step's `name`, with its path and the spec name the step may share (its owner's, if last)."""
    found = []

    def step(raw: Any, path: DataPath, owner: str | None) -> None:
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and "shared" not in raw:
            found.append((raw["name"], (*path, "name"), owner))
        if isinstance(raw, dict) and isinstance(raw.get("layer"), dict):
            step(raw["layer"], (*path, "layer"), None)  # a wrapper's layer

    for section in ("shared", "merges"):
        table = data.get(section)
        for name, raw in table.items() if isinstance(table, dict) else ():
            step(raw, (section, name), name)
    for section in ("branches", "outputs"):
        table = data.get(section)
        for name, raw in table.items() if isinstance(table, dict) else ():
            layers = raw.get("layers") if isinstance(raw, dict) else None
            for index, entry in enumerate(layers if isinstance(layers, list) else ()):
                owner = name if index == len(layers) - 1 else None
                step(entry, (section, name, "layers", index), owner)
    return found


def _check_identifier(out: Collector, name: str, path: DataPath, what: str, *, at: str = "key") -> bool:
    if not NAME_RE.match(name):
        out.error(
            INVALID_NAME,
            path,
            f"{what} {name!r} is not an identifier",
            "use letters, digits and underscores, starting with a letter",
            at=at,
        )
        return False
    # Soft keywords (match, case, type, _) are valid variable names: allowed.
    if keyword.iskeyword(name):
        out.error(INVALID_NAME, path, f"{what} {name!r} is a Python keyword", "pick another name", at=at)
        return False
    return True
