"""Read a spec file as JSON or TOML, within fixed size and shape limits."""

from __future__ import annotations

import gc
import os
import re
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate, repeat
from operator import sub

from .source import DataPath, Document, LoadError, Location

# --- Limits ------------------------------------------------------------------
# Every spec file must stay within these. Real specs are far smaller; the
# limits exist so that a broken or hostile file ends in a LoadError instead of
# exhausting memory, time or the interpreter's stack.

# Largest accepted file, in bytes (MS005).
MAX_FILE_BYTES = 16 * 1024 * 1024

# Deepest accepted nesting of arrays and tables, the root table being level 1
# (MS005). It is counted the same way for JSON objects and arrays, TOML inline
# tables and arrays, TOML table headers, arrays of tables and dotted keys: a
# container at data path P is at level len(P) + 1.
MAX_DEPTH = 64

# Most parts in one dotted TOML key or table header; `a.b.c` has three (MS005).
MAX_KEY_PARTS = 32

# Most digits in one number literal (MS004); stops huge literals before any
# conversion, since Python's int() refuses more than 4300 digits.
MAX_NUMBER_DIGITS = 100

# Integers must fit a signed 64-bit integer (MS004).
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

# --- Error codes ---------------------------------------------------------------
# The stable codes of LoadError; docs/loading.md describes each.
SYNTAX = "MS001"  # malformed text, or a file of unknown format
DUPLICATE = "MS002"  # a key or TOML table defined twice
ENCODING = "MS003"  # not UTF-8, binary, forbidden control character, lone surrogate
NUMBER = "MS004"  # NaN, infinity, overflow, outside int64, too many digits
LIMIT = "MS005"  # one of the limits above exceeded
NOT_A_TABLE = "MS006"  # the top level is not a table (JSON object)

_BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_DIGIT = re.compile("[^0-9]")
_NOT_HEX_DIGIT = re.compile("[^0-9A-Fa-f]")
_FORMATS = {"json": "json", ".json": "json", "toml": "toml", ".toml": "toml"}
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


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


def _decode(raw: bytes) -> str:
    """Decode UTF-8, reporting binary content and bad bytes with their position."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            raise LoadError(ENCODING, f"file is {name} encoded", 1, 1, "save the file as UTF-8")
    nul = raw.find(b"\x00")
    binary = "file looks binary: it contains a NUL byte"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        if 0 <= nul < bad:
            raise _byte_error(raw, nul, binary) from None
        message = f"file is not valid UTF-8: {exc.reason} (byte 0x{raw[bad]:02X})"
        raise _byte_error(raw, bad, message, "save the file as UTF-8") from None
    if nul >= 0:
        raise _byte_error(raw, nul, binary)
    return text


def _byte_error(raw: bytes, bad: int, message: str, hint: str | None = None) -> LoadError:
    """Build an MS003 error for byte offset `bad`, located by line and character column."""
    line_start = raw.rfind(b"\n", 0, bad) + 1
    col = len(raw[line_start:bad].decode("utf-8", "replace")) + 1
    if line_start == 0 and raw.startswith(b"\xef\xbb\xbf"):
        col -= 1
    return LoadError(ENCODING, message, raw.count(b"\n", 0, bad) + 1, col, hint)


def load_bytes(raw: bytes, path: str, fmt: str | None = None) -> Document:
    """Parse the raw bytes of a spec file; `fmt` ("json"/"toml") overrides the suffix of `path`."""
    if fmt is None:
        kind = _FORMATS.get(os.path.splitext(str(path))[1].lower())
        if kind is None:
            raise LoadError(
                SYNTAX,
                f"cannot tell the format of {str(path)!r}: expected a .json or .toml file",
                hint="rename the file or give the format explicitly",
            )
    else:
        kind = _FORMATS.get(str(fmt).lower())
        if kind is None:
            raise LoadError(SYNTAX, f"unknown spec format {fmt!r}: expected 'json' or 'toml'")
    # Text is accepted too, as its UTF-8 encoding (lone surrogates then fail to decode).
    raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(raw) > MAX_FILE_BYTES:
        raise LoadError(
            LIMIT,
            f"file is {len(raw):,} bytes, more than the limit of {MAX_FILE_BYTES:,} bytes",
        )
    text = _decode(raw)
    # Imported here so that reading one format never loads the other parser.
    if kind == "json":
        from .json_loader import parse_json

        return parse_json(text, str(path))
    from .toml_loader import parse_toml

    return parse_toml(text, str(path))


def load_file(path: str | os.PathLike) -> Document:
    """Read and parse a spec file; OSError (missing, unreadable) is left to the caller."""
    name = os.fsdecode(path)
    with open(name, "rb") as handle:
        # Reading one byte past the limit is enough to know it is exceeded.
        raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            size = max(os.fstat(handle.fileno()).st_size, len(raw))
            raise LoadError(LIMIT, f"file is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,} bytes")
    return load_bytes(raw, name)
