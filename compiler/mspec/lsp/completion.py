"""Completion: layer classes, a layer's parameters, node names in `from`, vocabulary values, section names.

What is expected at the cursor comes from the text around it (`context`),
so completion works on the half-typed text it is asked on; the names of
nodes come from the current text's table headers and the last good parse.
"""

from __future__ import annotations

import re

from lsprotocol import types

from . import knowledge
from .analysis import Analysis
from .context import Cursor, cursor_at

_HEADER_TYPED = re.compile(r"^[ \t]*\[\[?[ \t]*([A-Za-z0-9_]*)$")
_NAMES_IN_HEADERS = re.compile(
    r"^[ \t]*\[[ \t]*(inputs|shared|branches|merges|outputs)[ \t]*\.[ \t]*([A-Za-z][A-Za-z0-9_]*)[ \t]*\]",
    re.MULTILINE,
)
TRIGGERS = ['"', "[", ".", "{", ",", "="]


def complete(current: Analysis, last_good: Analysis | None, offset: int) -> types.CompletionList:
    items = _items(current, last_good, offset)
    return types.CompletionList(is_incomplete=False, items=items)


def _items(current: Analysis, last_good: Analysis | None, offset: int) -> list[types.CompletionItem]:
    text = current.text
    line_start = text.rfind("\n", 0, offset) + 1
    typed = _HEADER_TYPED.match(text[line_start:offset])
    if current.fmt == "toml" and typed:
        return _sections(current, offset, header=True, typed=len(typed.group(1)))
    cursor = cursor_at(text, offset, current.fmt)
    if cursor.role == "value":
        return _values(current, last_good, cursor)
    if cursor.role in ("key", "none"):
        if (cursor.table_path == () and cursor.role != "none") or (
            current.fmt == "json" and cursor.table_path == ()
        ):
            return _sections(current, offset, header=False, cursor=cursor)
        return _keys(current, cursor)
    return []


# --- values ---------------------------------------------------------------------


def _values(current: Analysis, last_good: Analysis | None, cursor: Cursor) -> list[types.CompletionItem]:
    key, table_path = cursor.key, cursor.table_path
    if key == "type" and not cursor.in_array:
        if table_path[:1] == ("compile",):
            return _choices(
                current, cursor, sorted(knowledge.vocabulary.OPTIMIZERS), types.CompletionItemKind.Class
            )
        section = "merges" if len(table_path) == 2 and table_path[0] == "merges" else None
        section = "cell" if "cell" in table_path or "cells" in table_path else section
        return [
            _item(current, cursor, kind.name, types.CompletionItemKind.Class, kind.category, kind.doc)
            for kind in knowledge.kinds_for(section)
        ]
    if "from" in cursor.path[-2:] and table_path[:1] in (("branches",), ("merges",), ("outputs",)):
        own = table_path[1] if len(table_path) > 1 else None
        names = [
            n for n in _names(current, last_good, ("inputs", "branches", "merges", "outputs")) if n != own
        ]
        return _choices(current, cursor, names, types.CompletionItemKind.Reference)
    if key == "shared":
        return _choices(
            current, cursor, _names(current, last_good, ("shared",)), types.CompletionItemKind.Reference
        )
    return _choices(
        current, cursor, knowledge.vocabulary_for(key, table_path), types.CompletionItemKind.EnumMember
    )


def _names(current: Analysis, last_good: Analysis | None, sections: tuple[str, ...]) -> list[str]:
    """Names defined in these sections: in the current text's headers and in the last good parse."""
    found: dict[str, None] = {}
    for analysis in (current, last_good):
        if analysis is not None and analysis.parsed:
            data = analysis.document.data
            for section in sections:
                if isinstance(data.get(section), dict):
                    found.update(dict.fromkeys(data[section]))
    if current.fmt == "toml":
        found.update(
            dict.fromkeys(
                m.group(2) for m in _NAMES_IN_HEADERS.finditer(current.text) if m.group(1) in sections
            )
        )
    return list(found)


def _choices(current: Analysis, cursor: Cursor, names, kind) -> list[types.CompletionItem]:
    return [_item(current, cursor, name, kind) for name in names]


def _item(
    current: Analysis, cursor: Cursor, name: str, kind, detail: str | None = None, doc: str | None = None
):
    """A value completion replacing the word under the cursor, quoted as the format needs."""
    token = cursor.token
    if token is not None and token.quoted:
        start = token.start + 1
        closed = token.end - token.start >= 2 and current.text[token.end - 1] == current.text[token.start]
        end = token.end - 1 if closed else token.end
        new_text = name if closed else name + current.text[token.start]
    else:
        start, end = (token.start, token.end) if token is not None else (cursor.offset, cursor.offset)
        new_text = f'"{name}"'
    edit = types.TextEdit(range=current.lines.range(start, max(end, start)), new_text=new_text)
    return types.CompletionItem(
        label=name, kind=kind, detail=detail, documentation=doc, text_edit=edit, filter_text=name
    )


# --- keys -----------------------------------------------------------------------------


def _keys(current: Analysis, cursor: Cursor) -> list[types.CompletionItem]:
    table_path, present = cursor.table_path, set(cursor.table)
    if cursor.role == "key" and cursor.key is not None:
        present.discard(cursor.key)
    kind = knowledge.layer_kind(cursor.table.get("type"))
    step = _is_step(table_path)
    docs: list[knowledge.KeyDoc] = []
    if kind is not None:
        docs = knowledge.parameters(kind)
        if not kind.is_cell:
            docs.append(
                knowledge.KeyDoc(
                    "name", "The Keras layer name; default: one derived from the spec's names.", "derived"
                )
            )
    elif step:
        docs = [knowledge.KeyDoc("type", "The Keras layer class, exactly as in keras.layers.", "required")]
        if "layers" in table_path:
            docs.append(
                knowledge.KeyDoc("shared", "The name of a layer under [shared] to use here.", "required")
            )
    else:
        docs = knowledge.section_keys(table_path)
    return [_key_item(current, cursor, doc, kind) for doc in docs if doc.name not in present]


def _is_step(table_path: tuple) -> bool:
    named = len(table_path) == 2 and table_path[0] in ("shared", "merges")
    return (
        named
        or (len(table_path) >= 4 and "layers" in table_path)
        or table_path[-1:] in (("layer",), ("cell",))
    )


def _key_item(current: Analysis, cursor: Cursor, doc: knowledge.KeyDoc, kind) -> types.CompletionItem:
    token = cursor.token if cursor.role == "key" else None
    if current.fmt == "json":
        if token is not None and token.quoted:
            start, end, new_text = (
                token.start + 1,
                token.end - 1 if token.end - token.start >= 2 else token.end,
                doc.name,
            )
        else:
            start, end = (token.start, token.end) if token else (cursor.offset, cursor.offset)
            new_text = f'"{doc.name}": '
    else:
        start, end = (token.start, token.end) if token else (cursor.offset, cursor.offset)
        new_text = f"{doc.name} = "
    required = doc.default == "required"
    detail = (
        doc.description
        if kind is None
        else f"{doc.description}; " + ("required" if required else f"default {doc.default}")
    )
    return types.CompletionItem(
        label=doc.name,
        kind=types.CompletionItemKind.Property,
        detail=detail,
        text_edit=types.TextEdit(range=current.lines.range(start, max(start, end)), new_text=new_text),
        filter_text=doc.name,
        # Required parameters first, then Keras' order.
        sort_text=f"{0 if required else 1}",
    )


# --- sections ---------------------------------------------------------------------


def _sections(
    current: Analysis, offset: int, *, header: bool, cursor: Cursor | None = None, typed: int = 0
) -> list[types.CompletionItem]:
    """Section names: in a TOML header being typed, `[bra` -> `branches.`; else a whole section."""
    quoted = cursor is not None and cursor.token is not None and cursor.token.quoted
    items = []
    for doc in knowledge.section_keys(()):
        if doc.name.startswith("$"):
            continue
        named = doc.name in knowledge.NAMED_SECTIONS
        if header:
            new_text = doc.name + ("." if named else "]")
        elif current.fmt == "json":
            new_text = doc.name if quoted else f'"{doc.name}": {{}}'
        else:
            new_text = f"[{doc.name}{'.' if named else ']'}"
        edit = types.TextEdit(range=current.lines.range(offset - typed, offset), new_text=new_text)
        items.append(
            types.CompletionItem(
                label=doc.name,
                kind=types.CompletionItemKind.Module,
                detail=doc.description,
                text_edit=edit if header else None,
                insert_text=None if header else new_text,
                filter_text=doc.name,
            )
        )
    return items
