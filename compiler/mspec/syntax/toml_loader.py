"""Parse TOML spec text into data plus the position of every key and value.

This module holds the document's structure: statements, table headers,
dotted keys, arrays and inline tables, the table-redefinition rules and the
fast paths for simple values. The scalars those fast paths leave (strings
with escapes, multi-line strings, dates, times, numbers) are scanned by
`toml_scalars`.
"""

from __future__ import annotations

import re

from .document import Document, LoadError
from .lexer import check_surrogates, collector_paused, error_at, make_document, position, strip_bom
from .limits import DUPLICATE, LIMIT, MAX_DEPTH, MAX_KEY_PARTS, SYNTAX
from .toml_scalars import CTRL_LINE, basic_string, literal_string, scan_scalar, unexpected

# This is a complete TOML 1.0 parser that produces exactly the values
# `tomllib` produces (same types, same string, number and date rules, same
# table-redefinition rules) while recording positions. tomllib itself is not
# used: it is about twice as slow, reports no positions, and needs guards in
# front of it anyway (deep nesting, huge keys, huge integers, BOM).
#
# Hot paths are single compiled regular expressions that take a whole simple
# statement (`key = "text"`, `key = 12`, `key = [`), a whole simple header or
# a whole array element; everything else goes to slower, exact code. Nesting
# is handled with an explicit stack, never recursion.

_BARE_KEY = r"[A-Za-z0-9_-]+"
_COMMENT = rf"#[^{CTRL_LINE}]*+"
_SCALAR = (
    rf'"(?!"")([^"\\{CTRL_LINE}]*+)"'  # 1: basic string without escapes
    rf"|'(?!'')([^'{CTRL_LINE}]*+)'"  # 2: literal string
    r"|(true)|(false)"  # 3, 4
    r"|([+-]?(?:0|[1-9][0-9]{0,17}))(?![0-9_.eExob:-])"  # 5: plain integer that fits in 64 bits
    r"|([\[{])"  # 6: array or inline table
)
_STR, _LIT, _TRUE, _FALSE, _INT, _OPEN = 1, 2, 3, 4, 5, 6
# `key = value`, the key bare and single: group 1 is the key, 2-7 the value.
_SIMPLE_PAIR = re.compile(rf"({_BARE_KEY})[ \t]*+=[ \t]*+(?:{_SCALAR})")
_VALUE = re.compile(_SCALAR)
_SKIP_LINES = re.compile(rf"(?:[ \t]*+(?:{_COMMENT})?\n)*+[ \t]*+")
_END_OF_LINE = re.compile(rf"[ \t]*+(?:{_COMMENT})?(?:\n|\Z)")
_NEXT_STATEMENT = re.compile(_END_OF_LINE.pattern + _SKIP_LINES.pattern)
_WS = re.compile(r"[ \t]*+")
_ARRAY_WS = rf"(?:[ \t\n]|{_COMMENT})*+"
_ARRAY_SKIP = re.compile(_ARRAY_WS)
_ARRAY_VALUE = re.compile(_ARRAY_WS + rf"(?:(\])|{_SCALAR})")
_ARRAY_NEXT = re.compile(_ARRAY_WS + r"(?:(\])|,)")
# `, element` or `]` after an element: group 1 or 2 is a `]`, 3-8 the element.
_ARRAY_NEXT_VALUE = re.compile(_ARRAY_WS + rf"(?:(\])|,{_ARRAY_WS}(?:(\])|{_SCALAR}))")
_TABLE_NEXT = re.compile(r"[ \t]*+(?:(\})|,[ \t]*+)")
_TABLE_FIRST = re.compile(r"[ \t]*+(\})?")
_HEADER = re.compile(rf"\[[ \t]*+({_BARE_KEY}(?:[ \t]*+\.[ \t]*+{_BARE_KEY})*+)[ \t]*+\]")
_ARRAY_HEADER = re.compile(rf"\[\[[ \t]*+({_BARE_KEY}(?:[ \t]*+\.[ \t]*+{_BARE_KEY})*+)[ \t]*+\]\]")
_BARE = re.compile(_BARE_KEY)
_GLUED = frozenset("0123456789ABCDEFabcdefxobtrunl_.:+-")

# What a table-like container is; containers missing from the registry are
# inline tables and arrays, which TOML forbids extending.
_IMPLICIT = 0  # created by a header `[a.b]` for `a`: may still get its own header
_EXPLICIT = 1  # defined by a header, or by dotted keys of an earlier section
_PENDING = 2  # created or extended by dotted keys in the current section
_TABLE_ARRAY = 3  # the list of an array of tables `[[a]]`


def parse_toml(text: str, path: str) -> Document:
    """Parse TOML text into a Document."""
    text = strip_bom(text)
    check_surrogates(text)
    # As tomllib does: CRLF is a line break everywhere, including in strings.
    # Columns are unaffected since the CR always ends a line.
    text = text.replace("\r\n", "\n")
    parser = _Parser(text)
    with collector_paused():
        data = parser.parse()
        return make_document(path, text, data, parser.key_pos, parser.value_pos)


def _render(path: tuple) -> str:
    """Write a data path as a dotted TOML key (list indexes are left out)."""
    parts = []
    for part in path:
        if isinstance(part, str):
            parts.append(part if part and _BARE.fullmatch(part) else '"' + part.replace('"', '\\"') + '"')
    return ".".join(parts)


class _Parser:
    """One parse of one document: the text, the source map and the table registry."""

    def __init__(self, text: str):
        self.text = text
        self.key_pos: dict = {}
        self.value_pos: dict = {(): 0}
        self.kinds: dict[int, int] = {}  # id(container) -> _IMPLICIT / _EXPLICIT / ...
        self.pending: list[dict] = []
        self.inline_open: set[int] = set()  # dicts made by dotted keys inside the inline table being read

    # --- statements -------------------------------------------------------------

    def parse(self) -> dict:
        """Parse every statement and return the root table."""
        text = self.text
        end = len(text)
        root: dict = {}
        self.kinds[id(root)] = _EXPLICIT
        table, tpath = root, ()
        key_pos, value_pos = self.key_pos, self.value_pos
        simple_pair, next_statement = _SIMPLE_PAIR.match, _NEXT_STATEMENT.match
        pos = _SKIP_LINES.match(text, 0).end()
        while pos < end:
            char = text[pos]
            if char == "[":
                table, tpath, pos = self._header(pos, root)
            elif char != "#":  # a `#` here starts a last comment with no newline, checked below
                match = simple_pair(text, pos)
                if match is None:
                    pos = self._pair(pos, table, tpath)
                else:
                    key = match.group(1)
                    path = (*tpath, key)
                    if key in table:
                        raise self._duplicate(path, pos)
                    key_pos[path] = pos
                    kind = match.lastindex - 1  # the value groups are shifted by the key group
                    # A string's group is its content: the value starts at the quote before it.
                    start = match.start(kind + 1) - (kind <= _LIT)
                    value_pos[path] = start
                    if kind in (_STR, _LIT):
                        table[key] = match.group(kind + 1)
                        pos = match.end()
                    elif kind == _INT:
                        table[key] = int(match.group(kind + 1))
                        pos = match.end()
                    elif kind == _OPEN:
                        table[key], pos = self._container(start, path)
                    else:
                        table[key] = kind == _TRUE
                        pos = match.end()
            match = next_statement(text, pos)
            if match is None:
                raise self._end_error(pos, "end of line")
            pos = match.end()
        return root

    def _header(self, pos: int, root: dict) -> tuple[dict, tuple, int]:
        """Parse a `[table]` or `[[array]]` header and return the table it opens."""
        text = self.text
        is_array = text.startswith("[[", pos)
        match = (_ARRAY_HEADER if is_array else _HEADER).match(text, pos)
        if match is not None:
            names = match.group(1).split(".")
            if len(names) > MAX_KEY_PARTS:
                match = None
            elif " " in match.group(1) or "\t" in match.group(1):
                names = [name.strip(" \t") for name in names]
        if match is None:
            start = _WS.match(text, pos + (2 if is_array else 1)).end()
            parts, end = self._key(start)
            close = "]]" if is_array else "]"
            if not text.startswith(close, end):
                raise unexpected(text, end, f"'{close}' to close the table header")
            names = [name for name, _ in parts]
            end += len(close)
        else:
            end = match.end()

        for done in self.pending:
            self.kinds[id(done)] = _EXPLICIT
        self.pending.clear()

        kinds, key_pos, value_pos = self.kinds, self.key_pos, self.value_pos
        # The source map puts a header's tables at the start of its line;
        # errors point at the `[` itself.
        line_start = text.rfind("\n", 0, pos) + 1
        table, path = root, ()
        for name in names[:-1]:
            path += (name,)
            child = table.get(name)
            if child is None:
                self._check_depth(path, pos)
                child = table[name] = {}
                kinds[id(child)] = _IMPLICIT
                key_pos[path] = value_pos[path] = line_start
            elif type(child) is list:
                if kinds.get(id(child)) != _TABLE_ARRAY:
                    raise self._duplicate(path, pos, "an array", header=True)
                path += (len(child) - 1,)
                child = child[-1]
            elif type(child) is not dict or id(child) not in kinds:
                raise self._duplicate(path, pos, _describe(child, kinds), header=True)
            table = child
        name = names[-1]
        path += (name,)
        child = table.get(name)
        if not is_array:
            if child is None:
                self._check_depth(path, pos)
                child = table[name] = {}
            elif type(child) is not dict or kinds.get(id(child)) != _IMPLICIT:
                raise self._duplicate(path, pos, _describe(child, kinds), header=True)
            kinds[id(child)] = _EXPLICIT
            # An explicit header is where the table is defined, even if a
            # deeper header mentioned it first.
            key_pos[path] = value_pos[path] = line_start
            return child, path, end
        if child is None:
            self._check_depth(path, pos)
            child = table[name] = []
            kinds[id(child)] = _TABLE_ARRAY
            key_pos[path] = value_pos[path] = line_start
        elif type(child) is not list or kinds.get(id(child)) != _TABLE_ARRAY:
            raise self._duplicate(path, pos, _describe(child, kinds), header=True)
        path += (len(child),)
        self._check_depth(path, pos)
        item: dict = {}
        kinds[id(item)] = _EXPLICIT
        child.append(item)
        value_pos[path] = line_start
        return item, path, end

    def _pair(self, pos: int, table: dict, tpath: tuple) -> int:
        """Parse a general `key = value` statement into `table`; return the end position."""
        text = self.text
        parts, pos = self._key(pos)
        if not text.startswith("=", pos):
            raise unexpected(text, pos, "'=' after the key")
        kinds, key_pos, value_pos = self.kinds, self.key_pos, self.value_pos
        path = tpath
        for name, start in parts[:-1]:
            path += (name,)
            child = table.get(name)
            if child is None:
                self._check_depth(path, start)
                child = table[name] = {}
                kinds[id(child)] = _PENDING
                self.pending.append(child)
                key_pos[path] = value_pos[path] = start
            elif type(child) is dict and kinds.get(id(child)) in (_IMPLICIT, _PENDING):
                if kinds[id(child)] == _IMPLICIT:
                    kinds[id(child)] = _PENDING
                    self.pending.append(child)
            else:
                raise self._duplicate(path, start, _describe(child, kinds))
            table = child
        name, start = parts[-1]
        path += (name,)
        if name in table:
            raise self._duplicate(path, start)
        key_pos[path] = start
        table[name], pos = self._value(_WS.match(text, pos + 1).end(), path)
        return pos

    def _key(self, pos: int) -> tuple[list[tuple[str, int]], int]:
        """Parse a possibly dotted key; return its (part, start) pairs and the position after it."""
        text = self.text
        parts: list[tuple[str, int]] = []
        while True:
            match = _BARE.match(text, pos)
            if match is not None:
                name, end = match.group(), match.end()
            elif text.startswith('"', pos):
                name, end = basic_string(text, pos)
            elif text.startswith("'", pos):
                name, end = literal_string(text, pos)
            else:
                raise unexpected(text, pos, "a key")
            parts.append((name, pos))
            if len(parts) > MAX_KEY_PARTS:
                raise error_at(
                    LIMIT,
                    f"key has more than {MAX_KEY_PARTS} dotted parts",
                    text,
                    parts[0][1],
                    "use a nested table instead",
                )
            pos = _WS.match(text, end).end()
            if not text.startswith(".", pos):
                return parts, pos
            pos = _WS.match(text, pos + 1).end()

    # --- values -----------------------------------------------------------------

    def _value(self, pos: int, path: tuple) -> tuple[object, int]:
        """Parse the value at `pos` (recording its position under `path`); return it and its end."""
        self.value_pos[path] = pos
        match = _VALUE.match(self.text, pos)
        if match is None:
            return scan_scalar(self.text, pos)
        kind = match.lastindex
        if kind in (_STR, _LIT):
            return match.group(kind), match.end()
        if kind == _INT:
            return int(match.group(kind)), match.end()
        if kind == _OPEN:
            return self._container(pos, path)
        return kind == _TRUE, match.end()

    def _container(self, pos: int, path: tuple) -> tuple[object, int]:
        """Parse the array or inline table opening at `pos`, with everything nested in it."""
        text = self.text
        key_pos, value_pos = self.key_pos, self.value_pos
        array_value, array_next, table_next = _ARRAY_VALUE.match, _ARRAY_NEXT.match, _TABLE_NEXT.match
        array_next_value, simple_pair = _ARRAY_NEXT_VALUE.match, _SIMPLE_PAIR.match
        # Frames of the containers being filled, outermost first; `target` and
        # `slot` say where the next opened container goes.
        stack: list = []
        result = target = slot = None
        while True:
            # A container opens at `pos` for `path`.
            self._check_depth(path, pos)
            if text[pos] == "[":
                container: list | dict = []
                pos += 1
            else:
                container = {}
                pos = _WS.match(text, pos + 1).end()
            if target is None:
                result = container
            elif slot is None:
                target.append(container)
            else:
                target[slot] = container
            cpath = path
            first = True
            while True:
                if type(container) is list:
                    if first:
                        first = False
                        match = array_value(text, pos)
                        element = pos
                        shift = 1
                    else:
                        match = array_next_value(text, pos)
                        shift = 2
                        if match is None:
                            # Only `, element` with an element the fast pattern does not take gets here.
                            match = array_next(text, pos)
                            if match is None:
                                raise self._end_error(
                                    _ARRAY_SKIP.match(text, pos).end(), "',' or ']'", "array"
                                )
                            element = match.end()
                            match = None
                    if match is None:
                        start = _ARRAY_SKIP.match(text, element).end()
                        value_pos[(*cpath, len(container))] = start
                        item, pos = scan_scalar(text, start)
                        container.append(item)
                        continue
                    kind = match.lastindex
                    pos = match.end()
                    if kind <= shift:  # a closing `]`
                        if not stack:
                            return result, pos
                        container, cpath = stack.pop()
                        continue
                    kind -= shift  # the value groups are shifted by the `]` groups
                    start = match.start(kind + shift) - (kind <= _LIT)
                    path = (*cpath, len(container))
                    value_pos[path] = start
                    if kind == _OPEN:
                        target, slot, pos = container, None, start
                        break
                    if kind in (_STR, _LIT):
                        container.append(match.group(kind + shift))
                    elif kind == _INT:
                        container.append(int(match.group(kind + shift)))
                    else:
                        container.append(kind == _TRUE)
                    continue
                if first:
                    match = _TABLE_FIRST.match(text, pos)
                else:
                    match = table_next(text, pos)
                    if match is None:
                        raise self._end_error(_WS.match(text, pos).end(), "',' or '}'", "inline table")
                pos = match.end()
                if match.lastindex == 1:  # the closing `}`
                    if not stack:
                        return result, pos
                    container, cpath = stack.pop()
                    first = False
                    continue
                match = simple_pair(text, pos)
                if match is None:
                    where, key, path, pos = self._inline_key(pos, container, cpath, first)
                    first = False
                    if text.startswith(("[", "{"), pos):
                        value_pos[path] = pos
                        target, slot = where, key
                        break
                    where[key], pos = self._value(pos, path)
                    continue
                first = False
                key = match.group(1)
                path = (*cpath, key)
                if key in container:
                    raise self._duplicate(path, pos)
                key_pos[path] = pos
                kind = match.lastindex - 1  # the value groups are shifted by the key group
                start = match.start(kind + 1) - (kind <= _LIT)
                value_pos[path] = start
                if kind == _OPEN:
                    target, slot, pos = container, key, start
                    break
                pos = match.end()
                if kind in (_STR, _LIT):
                    container[key] = match.group(kind + 1)
                elif kind == _INT:
                    container[key] = int(match.group(kind + 1))
                else:
                    container[key] = kind == _TRUE
            stack.append((container, cpath))

    def _inline_key(self, pos: int, table: dict, tpath: tuple, first: bool) -> tuple[dict, str, tuple, int]:
        """Parse `key =` in an inline table; return the target table, key, value path and value start."""
        text = self.text
        if not first and text.startswith("}", pos):
            raise error_at(
                SYNTAX,
                "expected a key after ',', found '}' (inline tables allow no trailing comma)",
                text,
                pos,
            )
        parts, pos = self._key(pos)
        if not text.startswith("=", pos):
            raise unexpected(text, pos, "'=' after the key")
        path = tpath
        for name, start in parts[:-1]:
            path += (name,)
            child = table.get(name)
            if child is None:
                self._check_depth(path, start)
                child = table[name] = {}
                self.inline_open.add(id(child))
                self.key_pos[path] = self.value_pos[path] = start
            elif type(child) is not dict or id(child) not in self.inline_open:
                raise self._duplicate(path, start, _describe(child, self.kinds))
            table = child
        name, start = parts[-1]
        path += (name,)
        if name in table:
            raise self._duplicate(path, start)
        self.key_pos[path] = start
        return table, name, path, _WS.match(text, pos + 1).end()

    # --- checks and errors --------------------------------------------------------

    def _check_depth(self, path: tuple, pos: int) -> None:
        """Reject a container at `path` nested deeper than the limit."""
        if len(path) >= MAX_DEPTH:
            raise error_at(LIMIT, f"nesting is deeper than the limit of {MAX_DEPTH} levels", self.text, pos)

    def _duplicate(self, path: tuple, pos: int, what: str | None = None, header: bool = False) -> LoadError:
        """Build the MS002 error for redefining `path`, naming it and the line it was first defined on."""
        first = self.key_pos.get(path, self.value_pos.get(path))
        line = position(self.text, first)[0] if first is not None else None
        name = _render(path)
        if header and what in (None, "a table"):
            message = f"duplicate table [{name}] (first defined on line {line})"
        elif what is None:
            message = f"duplicate key {name!r} (first defined on line {line})"
        else:
            message = f"duplicate key {name!r}: already defined as {what} on line {line}"
        return error_at(DUPLICATE, message, self.text, pos)

    def _end_error(self, pos: int, expected: str, inside: str | None = None) -> LoadError:
        """Diagnose what follows a value where `expected` was due."""
        text = self.text
        pos = _WS.match(text, pos).end()
        start = pos
        while start > 0 and text[start - 1] in _GLUED:
            start -= 1
        char = text[pos : pos + 1]
        if start < pos and char and (char in _GLUED or char.isalnum()):
            stop = pos
            while stop < len(text) and (text[stop] in _GLUED or text[stop].isalnum()):
                stop += 1
            return error_at(SYNTAX, f"invalid value {text[start:stop]!r}", text, start)
        where = f" in {inside}" if inside else ""
        if inside == "inline table" and char == "\n":
            return error_at(
                SYNTAX,
                f"expected {expected}, found end of line (inline tables must stay on one line)",
                text,
                pos,
            )
        return unexpected(text, pos, f"{expected}{where}")


def _describe(value: object, kinds: dict[int, int]) -> str:
    """Say what an existing value is, for redefinition messages."""
    if type(value) is list:
        return "an array of tables" if kinds.get(id(value)) == _TABLE_ARRAY else "an array"
    if type(value) is dict:
        return "a table" if id(value) in kinds else "an inline table"
    return "a value"
