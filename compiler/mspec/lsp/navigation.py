"""Names across a spec: where each is defined and used; go to definition, references, rename, the outline.

A name is an input, shared layer, branch, merge or output. It is defined by
its table (`[branches.x1]`, or `"x1": {...}` in JSON) and used by `from`
values, `{ shared = "NAME" }` steps, and the keys of `[lint]
per_node_ignores` and `[train] class_weight`. All places come from the
source map of the analysis that last parsed.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator

from lsprotocol import types

from ..backends.summary import layer_description
from ..layers.base import format_shape
from .analysis import Analysis
from .context import Cursor
from .knowledge import NAMED_SECTIONS
from .positions import inner_span, token_span

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SYMBOL_KINDS = {
    "inputs": types.SymbolKind.Variable,
    "shared": types.SymbolKind.Class,
    "branches": types.SymbolKind.Function,
    "merges": types.SymbolKind.Operator,
    "outputs": types.SymbolKind.Event,
}


class RenameRefused(ValueError):
    """A rename that would break the spec (the message says why)."""


def name_at(cursor: Cursor) -> str | None:
    """The input, shared layer, branch, merge or output name under the cursor, if any."""
    token, path = cursor.token, cursor.path
    if token is None or not NAME.fullmatch(token.text):
        return None
    if cursor.role in ("header", "key") and len(path) == 2 and path[0] in NAMED_SECTIONS:
        return token.text if path[1] == token.text else None
    if (
        cursor.role == "key"
        and len(path) == 3
        and path[:2] in (("lint", "per_node_ignores"), ("train", "class_weight"))
    ):
        return token.text
    in_use = "from" in path[-2:] or cursor.key == "shared"
    if cursor.role == "value" and path and path[0] in ("branches", "merges", "outputs") and in_use:
        return token.text
    return None


def section_of(analysis: Analysis, name: str) -> str | None:
    """The section that defines a name, in the analysis' data."""
    data = analysis.document.data if analysis.parsed else {}
    return next((s for s in NAMED_SECTIONS if isinstance(data.get(s), dict) and name in data[s]), None)


def definition_span(analysis: Analysis, name: str) -> tuple[int, int] | None:
    """Where a name is written in its own table's key or header (the name alone)."""
    section = section_of(analysis, name)
    if section is None:
        return None
    location = analysis.document.keys.get((section, name))
    if location is None:
        return None
    text = analysis.text
    span = analysis.span(location)
    written = text[span[0] : span[1]]
    found = [m for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", written)]
    if not found:
        return inner_span(text, span)
    return span[0] + found[-1].start(), span[0] + found[-1].end()


def reference_spans(analysis: Analysis, name: str) -> list[tuple[int, int]]:
    """Every place a name is used (the name alone, without quotes), in the order of the text."""
    if not analysis.parsed:
        return []
    document, text = analysis.document, analysis.text
    spans = []
    for path, is_key in _uses(document.data, name):
        location = (document.keys if is_key else document.values).get(path)
        if location is not None:
            spans.append(inner_span(text, token_span(text, analysis.lines.offset(location))))
    return sorted(spans)


def _uses(data: dict, name: str) -> Iterator[tuple[tuple, bool]]:
    """Paths whose value (False) or key (True) is a use of `name`."""
    for section in ("branches", "merges", "outputs"):
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for entry_name, entry in entries.items():
            if not isinstance(entry, dict):
                continue
            source = entry.get("from")
            if source == name:
                yield (section, entry_name, "from"), False
            elif isinstance(source, list):
                yield from (
                    ((section, entry_name, "from", i), False) for i, s in enumerate(source) if s == name
                )
            layers = entry.get("layers")
            if isinstance(layers, list):
                for index, step in enumerate(layers):
                    if isinstance(step, dict) and step.get("shared") == name:
                        yield (section, entry_name, "layers", index, "shared"), False
    for section, key in (("lint", "per_node_ignores"), ("train", "class_weight")):
        table = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(table, dict) and name in table:
            yield (section, key, name), True


def used_by(analysis: Analysis, name: str) -> list[str]:
    """The entries whose `from` or steps use a name, in spec order."""
    found: list[str] = []
    for path, is_key in _uses(analysis.document.data, name):
        if not is_key and path[1] not in found:
            found.append(path[1])
    return found


def rename_edits(analysis: Analysis, name: str, new_name: str) -> list[types.TextEdit]:
    """The edits renaming a name everywhere: its table and every use. Raises RenameRefused."""
    if not NAME.fullmatch(new_name) or keyword.iskeyword(new_name):
        raise RenameRefused(f"{new_name!r} is not a valid name: a letter, then letters, digits or _")
    if new_name != name and section_of(analysis, new_name) is not None:
        raise RenameRefused(f"{new_name!r} is already the name of another entry")
    definition = definition_span(analysis, name)
    if definition is None:
        raise RenameRefused(f"{name!r} is not defined in this spec")
    spans = [definition, *reference_spans(analysis, name)]
    return [
        types.TextEdit(range=analysis.lines.range(*span), new_text=new_name) for span in sorted(set(spans))
    ]


# --- the outline ------------------------------------------------------------------


def document_symbols(analysis: Analysis) -> list[types.DocumentSymbol]:
    """Each section, and under the named ones each input, shared layer, branch, merge and output."""
    if not analysis.parsed:
        return []
    document = analysis.document
    symbols = []
    for section, value in document.data.items():
        location = document.keys.get((section,))
        if location is None:
            continue
        children = []
        if section in NAMED_SECTIONS and isinstance(value, dict):
            for name in value:
                child = _entry_symbol(analysis, section, name)
                if child is not None:
                    children.append(child)
        section_range = _entry_range(analysis, (section,))
        if children:
            section_range = types.Range(
                start=_min(section_range.start, children[0].range.start),
                end=_max(section_range.end, children[-1].range.end),
            )
        selection = analysis.lines.range(*analysis.span(location))
        symbols.append(
            types.DocumentSymbol(
                name=section,
                kind=types.SymbolKind.Namespace if section in NAMED_SECTIONS else types.SymbolKind.Module,
                range=_cover(section_range, selection),
                selection_range=selection,
                children=children or None,
            )
        )
    return symbols


def _entry_symbol(analysis: Analysis, section: str, name: str) -> types.DocumentSymbol | None:
    span = definition_span(analysis, name)
    if span is None or section_of(analysis, name) != section:
        return None
    selection = analysis.lines.range(*span)
    return types.DocumentSymbol(
        name=name,
        kind=_SYMBOL_KINDS[section],
        detail=_detail(analysis, section, name),
        range=_cover(_entry_range(analysis, (section, name)), selection),
        selection_range=selection,
    )


def _detail(analysis: Analysis, section: str, name: str) -> str:
    graph = analysis.result.graph
    if graph is None:
        return section[:-1] if section != "inputs" else "input"
    if section == "shared":
        call = graph.spec.shared.get(name)
        return f"shared {call.kind.name}" if call is not None else "shared layer"
    node_id = graph.tensors.get(name)
    if node_id is None:
        return ""
    node = graph.nodes[node_id]
    shape = format_shape(node.shape) if node.shape is not None else "?"
    return f"{layer_description(node)} → {shape}"


def _entry_range(analysis: Analysis, path: tuple) -> types.Range:
    """From an entry's key to the end of its value (a TOML table: of its last key's value)."""
    document, lines = analysis.document, analysis.lines
    start_location = document.keys.get(path) or document.values.get(path)
    start = lines.offset(start_location)
    value = document.values.get(path)
    end = analysis.span(value or start_location)[1]
    if value is not None and analysis.at_header(value):
        data = document.data
        for part in path:
            data = data.get(part, {}) if isinstance(data, dict) else {}
        if isinstance(data, dict):
            for key in data:
                child = document.values.get((*path, key))
                if child is not None:
                    end = max(end, analysis.span(child)[1])
    return lines.range(start, max(start, end))


def _min(a: types.Position, b: types.Position) -> types.Position:
    return a if (a.line, a.character) <= (b.line, b.character) else b


def _max(a: types.Position, b: types.Position) -> types.Position:
    return a if (a.line, a.character) >= (b.line, b.character) else b


def _cover(outer: types.Range, inner: types.Range) -> types.Range:
    """A range widened to contain another (the protocol requires selection ⊆ range)."""
    return types.Range(start=_min(outer.start, inner.start), end=_max(outer.end, inner.end))
