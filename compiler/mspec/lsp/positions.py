"""Where things are: the loaders' line:col, offsets into the editor's text, and LSP positions.

The loaders locate every key and value by a 1-based line and a column in
characters (code points); the protocol counts 0-based lines and columns in
the code units the client and server agreed on (UTF-16 unless told
otherwise). Every conversion between the two goes through this module, and
so does finding how far a key or value written at a location reaches, which
the source map does not record.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from lsprotocol import types

from ..syntax.document import Location

_BARE = re.compile(r"[A-Za-z0-9_+.:-]+")
_OPENERS = {"[": "]", "{": "}"}


def code_units(text: str, encoding: str) -> int:
    """How many code units of the negotiated encoding `text` takes."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


class LineIndex:
    """Line starts of one text, for converting between offsets, locations and LSP positions."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16):
        self.text = text
        self.encoding = encoding
        self.starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def line_text(self, line0: int) -> str:
        """The text of a 0-based line, without its line break."""
        if line0 >= len(self.starts):
            return ""
        start = self.starts[line0]
        end = self.starts[line0 + 1] - 1 if line0 + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    # --- offsets <-> the loaders' locations --------------------------------------

    def offset(self, location: Location) -> int:
        """The offset of a 1-based line and character column (clamped to the text)."""
        line0 = min(max(location.line - 1, 0), len(self.starts) - 1)
        return min(self.starts[line0] + max(location.col - 1, 0), len(self.text))

    # --- offsets <-> LSP positions -----------------------------------------------

    def position(self, offset: int) -> types.Position:
        """The LSP position of an offset, in the negotiated code units."""
        offset = max(0, min(offset, len(self.text)))
        line0 = bisect_right(self.starts, offset) - 1
        start = self.starts[line0]
        if self.encoding == types.PositionEncodingKind.Utf32:
            return types.Position(line=line0, character=offset - start)
        return types.Position(line=line0, character=code_units(self.text[start:offset], self.encoding))

    def offset_at(self, position: types.Position) -> int:
        """The offset of an LSP position (a column past the line's end is its end)."""
        if position.line >= len(self.starts):
            return len(self.text)
        start = self.starts[position.line]
        line = self.line_text(position.line)
        if self.encoding == types.PositionEncodingKind.Utf32:
            return start + min(position.character, len(line))
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return start + index
            units += code_units(char, self.encoding)
        return start + len(line)

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def location_range(self, location: Location, *, table: bool = False) -> types.Range:
        """The range of the key or value written at a location (a table's: its header)."""
        start = self.offset(location)
        return self.range(*token_span(self.text, start, table=table))


def token_span(text: str, start: int, *, table: bool = False) -> tuple[int, int]:
    """How far the key or value written at `start` reaches: (start, end) offsets.

    A TOML table's location is the start of its header line: the span is the
    header, `[branches.x1]`. A string ends at its closing quote (or the end of
    its line, when unclosed), an inline table or array at its closing bracket,
    anything else at the end of its bare word. Never empty unless at the end
    of a line.
    """
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if table:
        while start < line_end and text[start] in " \t":
            start += 1
        if start < line_end and text[start] == "[":
            close = text.find("]", start)
            end = close + 1 if 0 <= close < line_end else line_end
            if text.startswith("]", end):  # an array of tables, [[a.b]]
                end += 1
            return start, end
    if start >= len(text):
        return start, start
    char = text[start]
    if char in "\"'":
        return start, _string_end(text, start, line_end)
    if char in _OPENERS:
        return start, _bracket_end(text, start)
    match = _BARE.match(text, start)
    if match:
        return start, match.end()
    return start, min(start + 1, line_end) if start < line_end else start


def inner_span(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span without its quotes, for a quoted string or key; else the span itself."""
    start, end = span
    if end - start >= 2 and text[start] in "\"'" and text[end - 1] == text[start]:
        return start + 1, end - 1
    return span


def _string_end(text: str, start: int, line_end: int) -> int:
    quote = text[start]
    if text.startswith(quote * 3, start):
        close = text.find(quote * 3, start + 3)
        return len(text) if close < 0 else close + 3
    pos = start + 1
    while pos < line_end:
        char = text[pos]
        if char == "\\" and quote == '"':
            pos += 2
            continue
        if char == quote:
            return pos + 1
        pos += 1
    return line_end


def _bracket_end(text: str, start: int) -> int:
    """The offset past the bracket closing the one at `start`, skipping strings and comments."""
    depth = 0
    pos = start
    end = len(text)
    while pos < end:
        char = text[pos]
        if char in "\"'":
            line_end = text.find("\n", pos)
            pos = _string_end(text, pos, len(text) if line_end < 0 else line_end)
            continue
        if char == "#":
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return end
