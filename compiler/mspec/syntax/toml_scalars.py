"""Scan the TOML scalars that the loader's fast patterns leave to exact code.

Strings (basic with escapes, literal, and both multi-line forms), offset
and local dates and times, and numbers in every base and form come out as
the values `tomllib` produces, within mspec's digit and 64-bit limits.
Each scanner takes the text and the offset where the scalar starts and
returns the value with the offset after it; a malformed scalar raises a
located `LoadError`.
"""

from __future__ import annotations

import re

from .document import LoadError
from .lexer import control_char_error, count_digits, error_at, show_char
from .limits import ENCODING, INT_MAX, INT_MIN, MAX_NUMBER_DIGITS, NUMBER, SYNTAX

CTRL_LINE = r"\x00-\x08\x0a-\x1f\x7f"  # forbidden in strings and comments (tab allowed)
_BASIC_CHUNK = re.compile(rf'[^"\\{CTRL_LINE}]*+')
_ML_BASIC_CHUNK = re.compile(r'[^"\\\x00-\x08\x0b-\x1f\x7f]*+')
_ML_LITERAL_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LITERAL_CHUNK = re.compile(rf"[^'{CTRL_LINE}]*+")
_ESCAPE = re.compile(r'\\(?:([btnfr"\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))')
_LINE_END_BACKSLASH = re.compile(r"\\[ \t]*+\n[ \t\n]*+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_TIME = r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(?:\.([0-9]{1,6})[0-9]*)?"
_DATETIME = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    rf"(?:[Tt ]{_TIME}(?:([Zz])|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))?)?"
)
_LOCAL_TIME = re.compile(_TIME)
_NUMBER = re.compile(
    r"0(?:x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|b[01](?:_?[01])*|o[0-7](?:_?[0-7])*)"
    r"|[+-]?(?:0|[1-9](?:_?[0-9])*)((?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?)"
)
_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|nan)")
_WORD = re.compile(r"[0-9A-Za-z_.:+-]+")
_CONTROL = frozenset(chr(i) for i in range(32)) | {"\x7f"}
_LINE_CONTROL = re.compile(f"[{CTRL_LINE}]")


def scan_scalar(text: str, pos: int) -> tuple[object, int]:
    """Parse a scalar the fast pattern did not take, exactly as tomllib does."""
    char = text[pos : pos + 1]
    if char == '"':
        if text.startswith('"""', pos):
            return _multiline_basic(text, pos)
        return basic_string(text, pos)
    if char == "'":
        if text.startswith("'''", pos):
            return _multiline_literal(text, pos)
        return literal_string(text, pos)
    if text.startswith("true", pos):
        return True, pos + 4
    if text.startswith("false", pos):
        return False, pos + 5
    match = _DATETIME.match(text, pos)
    if match is not None:
        return _datetime(match, text, pos), match.end()
    match = _LOCAL_TIME.match(text, pos)
    if match is not None:
        from datetime import time

        hour, minute, second, fraction = match.groups()
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        return time(int(hour), int(minute), int(second), micro), match.end()
    match = _NUMBER.match(text, pos)
    if match is not None:
        return _number(match, text, pos), match.end()
    match = _SPECIAL_FLOAT.match(text, pos)
    if match is not None:
        raise error_at(NUMBER, f"{match.group()} is not allowed: numbers must be finite", text, pos)
    match = _WORD.match(text, pos)
    if match is not None:
        raise error_at(
            SYNTAX,
            f"invalid value {match.group()!r}",
            text,
            pos,
            'quote strings: "..."' if match.group()[0].isalpha() else None,
        )
    raise unexpected(text, pos, "a value")


def basic_string(text: str, pos: int) -> tuple[str, int]:
    """Parse a one-line "basic" string with escapes."""
    pieces = []
    at = pos + 1
    while True:
        match = _BASIC_CHUNK.match(text, at)
        pieces.append(match.group())
        at = match.end()
        char = text[at : at + 1]
        if char == '"':
            return "".join(pieces), at + 1
        if char == "\\":
            piece, at = _escape(text, at)
            pieces.append(piece)
            continue
        if char in ("", "\n"):
            raise error_at(SYNTAX, "unterminated string: no closing '\"' on this line", text, pos)
        raise control_char_error(text, at, "in a string; escape it")


def _multiline_basic(text: str, pos: int) -> tuple[str, int]:
    """Parse a \"\"\"multi-line basic\"\"\" string."""
    at = pos + 3
    if text.startswith("\n", at):
        at += 1
    pieces = []
    while True:
        match = _ML_BASIC_CHUNK.match(text, at)
        pieces.append(match.group())
        at = match.end()
        char = text[at : at + 1]
        if char == '"':
            if text.startswith('"""', at):
                return _close_multiline(pieces, text, at + 3, '"')
            pieces.append('"')
            at += 1
        elif char == "\\":
            match = _LINE_END_BACKSLASH.match(text, at)
            if match is not None:
                at = match.end()
            else:
                piece, at = _escape(text, at)
                pieces.append(piece)
        elif char == "":
            raise error_at(SYNTAX, 'unterminated string: no closing \'"""\'', text, pos)
        else:
            raise control_char_error(text, at, "in a string; escape it")


def _escape(text: str, pos: int) -> tuple[str, int]:
    """Decode the backslash escape at `pos`."""
    match = _ESCAPE.match(text, pos)
    if match is None:
        found = text[pos : pos + 2]
        raise error_at(
            SYNTAX, f"invalid escape {found!r} in string", text, pos, "write a literal backslash as \\\\"
        )
    if match.lastindex == 1:
        return _ESCAPES[match.group(1)], match.end()
    code = int(match.group(match.lastindex), 16)
    if 0xD800 <= code <= 0xDFFF:
        raise error_at(
            ENCODING, f"escape {match.group()} is a surrogate, which is not a character", text, pos
        )
    if code > 0x10FFFF:
        raise error_at(SYNTAX, f"escape {match.group()} is beyond the last Unicode character", text, pos)
    return chr(code), match.end()


def literal_string(text: str, pos: int) -> tuple[str, int]:
    """Parse a one-line 'literal' string."""
    end = _LITERAL_CHUNK.match(text, pos + 1).end()
    char = text[end : end + 1]
    if char == "'":
        return text[pos + 1 : end], end + 1
    if char in ("", "\n"):
        raise error_at(SYNTAX, 'unterminated string: no closing "\'" on this line', text, pos)
    raise control_char_error(text, end, "in a string")


def _multiline_literal(text: str, pos: int) -> tuple[str, int]:
    """Parse a '''multi-line literal''' string."""
    at = pos + 3
    if text.startswith("\n", at):
        at += 1
    end = text.find("'''", at)
    if end < 0:
        raise error_at(SYNTAX, "unterminated string: no closing \"'''\"", text, pos)
    bad = _ML_LITERAL_BAD.search(text, at, end)
    if bad is not None:
        raise control_char_error(text, bad.start(), "in a string")
    return _close_multiline([text[at:end]], text, end + 3, "'")


def _close_multiline(pieces: list[str], text: str, at: int, quote: str) -> tuple[str, int]:
    """Finish a multi-line string: up to two quotes right before the closing three are content."""
    extra = 0
    while extra < 2 and text.startswith(quote, at):
        extra += 1
        at += 1
    pieces.append(quote * extra)
    return "".join(pieces), at


def _datetime(match: re.Match, text: str, pos: int) -> object:
    """Convert a date or date-time match the way tomllib does."""
    from datetime import UTC, date, datetime, timedelta, timezone

    year, month, day, hour, minute, second, fraction, zulu, sign, off_hour, off_minute = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micro = int(fraction.ljust(6, "0")) if fraction else 0
        if sign:
            factor = 1 if sign == "+" else -1
            tz = timezone(timedelta(hours=factor * int(off_hour), minutes=factor * int(off_minute)))
        elif zulu:
            tz = UTC
        else:
            tz = None
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz
        )
    except ValueError:
        raise error_at(SYNTAX, f"invalid date {match.group()!r}", text, pos) from None


def _number(match: re.Match, text: str, pos: int) -> int | float:
    """Convert a number match the way tomllib does, within the digit and range limits."""
    token = match.group()
    if len(token) > MAX_NUMBER_DIGITS:
        digits = token[2:] if token[1:2] in ("x", "o", "b") else token
        if count_digits(digits, hexadecimal=token[1:2] == "x") > MAX_NUMBER_DIGITS:
            raise error_at(NUMBER, f"number has more than {MAX_NUMBER_DIGITS} digits", text, pos)
    if match.group(1):
        value = float(token)
        if value in (float("inf"), float("-inf")):
            raise error_at(NUMBER, f"number {token} is too large for a 64-bit float", text, pos)
        return value
    value = int(token, 0)
    if not INT_MIN <= value <= INT_MAX:
        raise error_at(NUMBER, f"integer {token} does not fit in 64 bits", text, pos)
    return value


def unexpected(text: str, pos: int, expected: str) -> LoadError:
    """Build the error for an unexpected character where `expected` was due."""
    char = text[pos : pos + 1]
    if char in _CONTROL and char not in ("\t", "\n"):
        return control_char_error(text, pos)
    if char == "#":
        bad = _LINE_CONTROL.search(text, pos)
        if bad is not None and bad.group() != "\n":
            return control_char_error(text, bad.start(), "in a comment")
    return error_at(SYNTAX, f"expected {expected}, found {show_char(char)}", text, pos)
