"""What the cursor is on, read from the text itself, so that it works on half-typed specs too.

Completion happens on text that does not parse (`type = "De`), and hover
must keep working while it does not. So instead of the source map of the
last good parse, this module reads the text around the cursor with a
forgiving scanner: it follows tables, inline tables and arrays, TOML and
JSON alike, and reports the data path the cursor is at, whether it is on a
key, a value or a table header, the word under it and the keys already
written in the table around it. Nothing here raises on bad input.

For TOML only the section around the cursor is read (from its header to
the next one), which keeps a request cheap on a large spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .positions import _string_end

_HEADER_LINE = re.compile(r"^[ \t]*\[\[?[ \t]*[A-Za-z_\"'][^\]\n]*\]?\]?[ \t]*(?:#.*)?$", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z0-9_+-]+")
STRING, WORD, PUNCT, NEWLINE = "string", "word", "punct", "newline"


@dataclass(frozen=True)
class Token:
    kind: str
    start: int
    end: int
    text: str  # a string's content without its quotes

    @property
    def quoted(self) -> bool:
        return self.kind == STRING


@dataclass
class _Frame:
    kind: str  # "table" or "array"
    path: tuple
    by_line: bool = False  # a TOML header table: a line break ends a value
    state: str = "key"  # table: key, value, after; array: value, after
    key: list = field(default_factory=list)
    index: int = 0
    pairs: dict = field(default_factory=dict)  # key -> scalar text, as written in the table

    def key_path(self) -> tuple:
        return (*self.path, *self.key) if self.kind == "table" else (*self.path, self.index)


@dataclass(frozen=True)
class Cursor:
    """The cursor's place in the spec's structure."""

    offset: int
    role: str  # "key", "value", "header" or "none" (blank space where a key may go)
    path: tuple  # the key's or value's data path (a header's: its table); for "none", the table's
    table_path: tuple  # the innermost table around the cursor
    table: dict  # that table's keys, each with its value's text when it is a scalar
    token: Token | None = None  # the word or string under the cursor

    @property
    def prefix(self) -> str:
        """The part of the word under the cursor that comes before it (what has been typed)."""
        if self.token is None:
            return ""
        start = self.token.start + (1 if self.token.quoted else 0)
        return self.token_text_before(start)

    def token_text_before(self, start: int) -> str:
        text = self.token.text if self.token else ""
        typed = self.offset - start
        return text[: max(0, typed)]

    @property
    def key(self) -> str | None:
        """The last key of the path (None for an array item)."""
        for part in reversed(self.path):
            if isinstance(part, str):
                return part
        return None

    @property
    def in_array(self) -> bool:
        return bool(self.path) and isinstance(self.path[-1], int)


def tokens(text: str, start: int, stop: int):
    """The tokens of text[start:stop]: strings, words, punctuation and line breaks (comments skipped)."""
    pos = start
    while pos < stop:
        char = text[pos]
        if char in " \t\r":
            pos += 1
        elif char == "\n":
            yield Token(NEWLINE, pos, pos + 1, "\n")
            pos += 1
        elif char == "#":
            newline = text.find("\n", pos, stop)
            pos = stop if newline < 0 else newline
        elif char in "\"'":
            line_end = text.find("\n", pos, stop)
            end = min(_string_end(text, pos, stop if line_end < 0 else line_end), stop)
            quotes = 3 if text.startswith(char * 3, pos) else 1
            closed = end - pos >= 2 * quotes and text[end - quotes : end] == char * quotes
            yield Token(STRING, pos, end, text[pos + quotes : end - quotes if closed else end])
            pos = end
        elif char in "[]{},=:.":
            yield Token(PUNCT, pos, pos + 1, char)
            pos += 1
        else:
            match = _WORD.match(text, pos)
            end = match.end() if match else pos + 1
            yield Token(WORD, pos, end, text[pos:end])
            pos = end


def section_bounds(text: str, offset: int) -> tuple[int, int]:
    """The TOML section around an offset: from its header line (or the start) to the next header."""
    start, stop = 0, len(text)
    for match in _HEADER_LINE.finditer(text):
        if match.start() <= offset:
            start = match.start()
        else:
            stop = match.start()
            break
    return start, stop


def cursor_at(text: str, offset: int, fmt: str) -> Cursor:
    """Read where `offset` is in the spec's structure (fmt: "toml" or "json")."""
    offset = max(0, min(offset, len(text)))
    if fmt == "json":
        return _Scan(text, offset, json=True).run(0, len(text))
    start, stop = section_bounds(text, offset)
    return _Scan(text, offset, json=False).run(start, stop)


class _Scan:
    def __init__(self, text: str, offset: int, *, json: bool):
        self.text = text
        self.offset = offset
        self.json = json
        self.stack: list[_Frame] = [] if json else [_Frame("table", (), by_line=True)]
        self.found: tuple | None = None  # (role, path, frame, token) at the cursor

    def run(self, start: int, stop: int) -> Cursor:
        header: list[Token] | None = None
        line_start = True
        for token in tokens(self.text, start, stop):
            if header is not None:
                if token.kind == NEWLINE or (token.kind == PUNCT and token.text == "]"):
                    self._see_blank(token)
                    self._header_done(header, token)
                    header = None if token.kind == NEWLINE or self._header_closed(token) else header
                    if header is None:
                        line_start = token.kind == NEWLINE
                        continue
                elif token.kind in (STRING, WORD):
                    self._see_blank(token)
                    header.append(token)
                    self._see(token, "header", tuple(t.text for t in header), self.stack[0])
                continue
            if (
                not self.json
                and line_start
                and token.kind == PUNCT
                and token.text == "["
                and self._at_header(token)
            ):
                header = []
                self._see_blank(token)
                continue
            line_start = token.kind == NEWLINE
            self._step(token)
        return self._cursor()

    # --- TOML headers -----------------------------------------------------------

    def _at_header(self, token: Token) -> bool:
        line_end = self.text.find("\n", token.start)
        line = self.text[token.start : len(self.text) if line_end < 0 else line_end]
        return bool(_HEADER_LINE.match(line))

    def _header_closed(self, token: Token) -> bool:
        # `]]` closes an array-of-tables header: wait for the second bracket.
        return not self.text.startswith("]", token.end)

    def _header_done(self, header: list[Token], token: Token) -> None:
        self.stack = [_Frame("table", tuple(t.text for t in header), by_line=True)]

    # --- everything else --------------------------------------------------------

    def _step(self, token: Token) -> None:
        if not self.stack:  # JSON, before the root object
            self._see_blank(token)
            if token.kind == PUNCT and token.text == "{":
                self.stack.append(_Frame("table", ()))
            return
        self._see_blank(token)
        frame = self.stack[-1]
        if frame.kind == "table":
            self._table_step(frame, token)
        else:
            self._array_step(frame, token)

    def _table_step(self, frame: _Frame, token: Token) -> None:
        kind, char = token.kind, token.text
        if frame.state == "key":
            if kind in (STRING, WORD):
                frame.key.append(token.text)
                self._see(token, "key", frame.key_path(), frame)
            elif kind == PUNCT and char in "=:":
                frame.state = "value"
            elif kind == PUNCT and char == "}":
                self._pop()
            elif kind == NEWLINE or (kind == PUNCT and char == ","):
                frame.key = []
            return
        if frame.state == "value":
            if kind in (STRING, WORD):
                frame.pairs[tuple(frame.key)] = token.text
                self._see(token, "value", frame.key_path(), frame)
                frame.state = "after"
            elif kind == PUNCT and char in "[{":
                frame.pairs.setdefault(tuple(frame.key), None)
                self._push(_Frame("array" if char == "[" else "table", frame.key_path(), state=_first(char)))
            elif kind == NEWLINE and frame.by_line:
                frame.state, frame.key = "key", []
            return
        # after a value: a separator starts the next key
        if (kind == PUNCT and char == ",") or (kind == NEWLINE and frame.by_line):
            frame.state, frame.key = "key", []
        elif kind == PUNCT and char == "}":
            self._pop()

    def _array_step(self, frame: _Frame, token: Token) -> None:
        kind, char = token.kind, token.text
        if kind in (STRING, WORD):
            self._see(token, "value", frame.key_path(), frame)
            frame.state = "after"
        elif kind == PUNCT and char in "[{":
            self._push(_Frame("array" if char == "[" else "table", frame.key_path(), state=_first(char)))
        elif kind == PUNCT and char == ",":
            frame.index += 1
            frame.state = "value"
        elif kind == PUNCT and char == "]":
            self._pop()

    def _push(self, frame: _Frame) -> None:
        self.stack.append(frame)

    def _pop(self) -> None:
        if len(self.stack) > 1 or self.json:
            self.stack.pop()
        if self.stack:
            self.stack[-1].state = "after"

    # --- noting the cursor ----------------------------------------------------------

    def _see(self, token: Token, role: str, path: tuple, frame: _Frame) -> None:
        if self.found is None and token.start <= self.offset <= token.end:
            self.found = (role, path, frame, token)

    def _see_blank(self, token: Token) -> None:
        """Note the cursor when it lies in the blank before `token`, as the state before it."""
        before = self.offset < token.start if token.kind in (STRING, WORD) else self.offset <= token.start
        if self.found is None and before:
            self._note_blank()

    def _note_blank(self) -> None:
        if not self.stack:
            self.found = ("none", (), None, None)
            return
        frame = self.stack[-1]
        if frame.kind == "array" or frame.state == "value":
            self.found = ("value", frame.key_path(), frame, None)
        elif frame.state == "key" and frame.key:
            self.found = ("key", frame.key_path(), frame, None)
        else:
            self.found = ("none", frame.path, frame, None)

    def _cursor(self) -> Cursor:
        if self.found is None:
            self._note_blank()
        role, path, frame, token = self.found
        table_frame = frame
        if frame is not None and frame.kind == "array":
            # The table the array is in: the nearest table frame below it on the stack, if still open.
            tables = [f for f in self.stack if f.kind == "table" and f.path == frame.path[: len(f.path)]]
            table_frame = tables[-1] if tables else None
        table_path = table_frame.path if table_frame is not None else ()
        table = (
            {key[0]: value for key, value in table_frame.pairs.items() if len(key) == 1}
            if table_frame
            else {}
        )
        return Cursor(self.offset, role, path, table_path, table, token)


def _first(char: str) -> str:
    return "value" if char == "[" else "key"
