"""The lexer kit both loaders share: positions, character rules, numbers and the Document they build."""

from __future__ import annotations

import gc
import re
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate, repeat
from operator import sub

from .document import DataPath, Document, LoadError, Location
from .limits import ENCODING

_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_DIGIT = re.compile("[^0-9]")
_NOT_HEX_DIGIT = re.compile("[^0-9A-Fa-f]")


def position(text: str, pos: int) -> tuple[int, int]:
    """Return the 1-based line and character column of offset `pos` in `text`."""
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    return text.count("\n", 0, pos) + 1, pos - line_start + 1


def error_at(code: str, message: str, text: str, pos: int, hint: str | None = None) -> LoadError:
    """Build a LoadError located at offset `pos` of `text`."""
    line, col = position(text, pos)
    return LoadError(code, message, line, col, hint)


def show_char(char: str) -> str:
    """Render one character for a message, spelling out invisible ones."""
    if not char:
        return "end of file"
    if char.isprintable() and not char.isspace():
        return repr(char)
    if char == "\n":
        return "end of line"
    return f"U+{ord(char):04X}"


def control_char_error(text: str, pos: int, what: str = "") -> LoadError:
    """Build the MS003 error for a control character the format forbids."""
    char = text[pos]
    where = f" {what}" if what else ""
    hint = "a lone carriage return is not a line break" if char == "\r" else None
    return error_at(ENCODING, f"control character U+{ord(char):04X} is not allowed{where}", text, pos, hint)


def check_surrogates(text: str) -> None:
    """Reject text holding a lone surrogate code point, which no UTF-8 file can encode."""
    found = _SURROGATE.search(text)
    if found:
        raise error_at(
            ENCODING,
            f"lone surrogate U+{ord(found.group()):04X} is not a character",
            text,
            found.start(),
        )


def count_digits(token: str, hexadecimal: bool = False) -> int:
    """Count the digits in a number literal (hex digits if `hexadecimal`)."""
    return len((_NOT_HEX_DIGIT if hexadecimal else _NOT_DIGIT).sub("", token))


def strip_bom(text: str) -> str:
    """Drop a leading UTF-8 byte order mark; it is not part of the content."""
    return text[1:] if text.startswith(_BOM) else text


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parse allocates its many objects."""
    # Every object a parse creates stays alive, so the collector's repeated
    # scans of the growing heap would find nothing; they cost up to a third of
    # the time on large files.
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def make_document(
    path: str, text: str, data: dict, key_pos: dict[DataPath, int], value_pos: dict[DataPath, int]
) -> Document:
    """Turn offset maps into a Document with line/column locations."""
    # Offsets become lines by binary search over the line starts, all inside
    # map() so that the per-entry work stays in C except for Location itself.
    # starts[i] is where line i + 1 begins (plus one entry past the end).
    starts = list(accumulate(map((1).__add__, map(len, text.split("\n"))), initial=0))
    # first_col[line] is the offset of column 0 on that line, so that
    # offset - first_col[line] is the 1-based column.
    first_col = [0, *map((-1).__add__, starts)]

    def convert(offsets: dict[DataPath, int]) -> dict[DataPath, Location]:
        """Map each recorded offset to its Location."""
        found = list(offsets.values())
        lines = list(map(bisect_right, repeat(starts, len(found)), found))
        cols = map(sub, found, map(first_col.__getitem__, lines))
        return dict(zip(offsets.keys(), map(Location, lines, cols), strict=True))

    return Document(path, data, convert(key_pos), convert(value_pos))
