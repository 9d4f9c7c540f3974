"""Parse JSON spec text into data plus the position of every key and value."""

from __future__ import annotations

import re
from json import JSONDecodeError
from json.decoder import scanstring

from .document import Document, LoadError
from .lexer import (
    check_surrogates,
    collector_paused,
    control_char_error,
    count_digits,
    error_at,
    make_document,
    position,
    show_char,
    strip_bom,
)
from .limits import (
    DUPLICATE,
    ENCODING,
    INT_MAX,
    INT_MIN,
    LIMIT,
    MAX_DEPTH,
    MAX_NUMBER_DIGITS,
    NOT_A_TABLE,
    NUMBER,
    SYNTAX,
)

# The parser is a loop over an explicit stack (no recursion, so no nesting
# depth can overflow the interpreter stack). Each step is one compiled regular
# expression that takes the common case whole: `, "key": value` in an object
# or `, value` in an array, the value being a scalar without escapes or the
# opening of a container. Anything else (strings with escapes, and every
# error) goes to slower code that decodes or diagnoses it.
_WS = r"[ \t\n\r]*+"
# A valid number or literal is never directly followed by one of these;
# requiring that sends `01`, `1.`, `2x` or `truex` to the diagnosing code.
_WORD_END = r"(?![0-9A-Za-z_.+-])"
_VALUES = (
    r'"([^"\\\x00-\x1f]*+)"'  # string without escapes
    rf"|(-?(?:0|[1-9][0-9]*+)){_WORD_END}"  # integer
    rf"|(-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++(?:[eE][-+]?[0-9]++)?|[eE][-+]?[0-9]++)){_WORD_END}"  # float
    rf"|(true){_WORD_END}|(false){_WORD_END}|(null){_WORD_END}"
    r"|(\{)|(\[)"
)
_STRING, _INT, _FLOAT, _TRUE, _FALSE, _NULL, _OBJECT, _ARRAY = range(1, 9)
_DECODED = 0  # a string already decoded by the slow path
_KEY = r'"([^"\\\x00-\x1f]*+)"' + _WS + ":" + _WS
_VALUE = re.compile(_WS + f"(?:{_VALUES})")
# Group 1 is the closing bracket, group 2 the key, then the value groups.
_OBJECT_FIRST = re.compile(_WS + rf"(?:(\}})|{_KEY}(?:{_VALUES}))")
_OBJECT_NEXT = re.compile(_WS + rf"(?:(\}})|,{_WS}{_KEY}(?:{_VALUES}))")
# Group 1 is the closing bracket, then the value groups.
_ARRAY_FIRST = re.compile(_WS + rf"(?:(\])|{_VALUES})")
_ARRAY_NEXT = re.compile(_WS + rf"(?:(\])|,{_WS}(?:{_VALUES}))")
_SKIP_WS = re.compile(_WS)
_LOOSE_NUMBER = re.compile(r"-?[0-9A-Za-z_.+-]*")
_WORD = re.compile(r"[0-9A-Za-z_]+")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_CONTROL = frozenset(chr(i) for i in range(32)) - frozenset(" \t\n\r")
_LITERALS = {_TRUE: True, _FALSE: False, _NULL: None}
_INFINITIES = (float("inf"), float("-inf"))


def parse_json(text: str, path: str) -> Document:
    """Parse JSON text whose top level must be an object."""
    text = strip_bom(text)
    check_surrogates(text)
    start = _SKIP_WS.match(text).end()
    if start == len(text):
        raise error_at(SYNTAX, "empty file: expected a JSON object", text, start)
    key_pos: dict = {}
    value_pos: dict = {(): 0}
    with collector_paused():
        if text.startswith(("{", "["), start):
            root, end = _parse_container(text, start, key_pos, value_pos)
        else:
            match = _VALUE.match(text, start)
            if match is None:
                root, _, end = _slow_value(text, start)
            else:
                root, end = _scalar(text, match.lastindex, match.group(match.lastindex), start), match.end()
        end = _SKIP_WS.match(text, end).end()
        if end != len(text):
            raise _unexpected(text, end, "end of file after the top-level value")
        if type(root) is not dict:
            kind = "an array" if type(root) is list else f"a {_type_name(root)}"
            raise error_at(
                NOT_A_TABLE,
                f"the top level must be a JSON object, not {kind}",
                text,
                start,
                'wrap the content in an object, e.g. {"layers": ...}',
            )
        return make_document(path, text, root, key_pos, value_pos)


def _parse_container(text: str, pos: int, key_pos: dict, value_pos: dict) -> tuple[object, int]:
    """Parse the object or array opening at `pos`, with everything nested in it."""
    object_first, object_next = _OBJECT_FIRST.match, _OBJECT_NEXT.match
    array_first, array_next = _ARRAY_FIRST.match, _ARRAY_NEXT.match
    # Frames of the containers being filled, outermost first; `target` and
    # `slot` say where the next opened container goes.
    stack: list = []
    result = target = slot = None
    path: tuple = ()
    while True:
        # A container opens at `pos` for `path`.
        if len(path) >= MAX_DEPTH:
            raise error_at(LIMIT, f"nesting is deeper than the limit of {MAX_DEPTH} levels", text, pos)
        is_object = text[pos] == "{"
        container: dict | list = {} if is_object else []
        if target is None:
            result = container
        elif slot is None:
            target.append(container)
        else:
            target[slot] = container
        cpath = path
        pos += 1
        first = True
        while True:
            if is_object:
                match = (object_first if first else object_next)(text, pos)
                shift = 2
            else:
                match = (array_first if first else array_next)(text, pos)
                shift = 1
            if match is not None:
                group = match.lastindex
                pos = match.end()
                if group == 1:  # the closing bracket
                    if not stack:
                        return result, pos
                    container, cpath, is_object = stack.pop()
                    first = False
                    continue
                kind = group - shift
                # A string's group is its content: the value starts at the quote before it.
                vstart = match.start(group) - (kind == _STRING)
                token = match.group(group)
                if is_object:
                    key = match.group(2)
                    kstart = match.start(2) - 1
            else:
                if is_object:
                    key, kstart, pos = _slow_member(text, pos, first)
                else:
                    pos = _slow_separator(text, pos, first)
                match = _VALUE.match(text, pos)
                if match is None:
                    token, vstart, pos = _slow_value(text, pos)
                    kind = _DECODED
                else:
                    kind = match.lastindex
                    vstart = match.start(kind) - (kind == _STRING)
                    token = match.group(kind)
                    pos = match.end()
            first = False
            if is_object:
                path = (*cpath, key)
                if key in container:
                    line = position(text, key_pos[path])[0]
                    raise error_at(
                        DUPLICATE, f"duplicate key {key!r} (first defined on line {line})", text, kstart
                    )
                key_pos[path] = kstart
            else:
                path = (*cpath, len(container))
            value_pos[path] = vstart
            if kind >= _OBJECT:
                stack.append((container, cpath, is_object))
                target, slot, pos = container, key if is_object else None, vstart
                break
            if kind in (_STRING, _DECODED):
                value = token
            elif kind == _INT and len(token) < 19:
                value = int(token)
            else:
                value = _scalar(text, kind, token, vstart)
            if is_object:
                container[key] = value
            else:
                container.append(value)


def _scalar(text: str, kind: int, token: str, start: int) -> object:
    """Convert a scalar token of the given kind, enforcing the number limits."""
    if kind == _STRING:
        return token
    if kind == _INT:
        if len(token.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise error_at(NUMBER, f"number has more than {MAX_NUMBER_DIGITS} digits", text, start)
        value = int(token)
        if not INT_MIN <= value <= INT_MAX:
            raise error_at(NUMBER, f"integer {token} does not fit in 64 bits", text, start)
        return value
    if kind == _FLOAT:
        if len(token) > MAX_NUMBER_DIGITS and count_digits(token) > MAX_NUMBER_DIGITS:
            raise error_at(NUMBER, f"number has more than {MAX_NUMBER_DIGITS} digits", text, start)
        value = float(token)
        if value in _INFINITIES:
            raise error_at(NUMBER, f"number {token} is too large for a 64-bit float", text, start)
        return value
    return _LITERALS[kind]


def _type_name(value: object) -> str:
    """Name the JSON type of a scalar for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    return "number"


def _string(text: str, quote: int) -> tuple[str, int]:
    """Decode the string starting at `quote` with json's own rules; return it and its end."""
    try:
        value, end = scanstring(text, quote + 1, True)
    except JSONDecodeError as exc:
        if exc.msg.startswith("Invalid control character"):
            if text[exc.pos] == "\n":
                raise error_at(
                    SYNTAX, "unterminated string: end of line before the closing '\"'", text, exc.pos
                ) from None
            raise control_char_error(text, exc.pos, "in a string; escape it") from None
        if exc.msg.startswith("Unterminated"):
            raise error_at(SYNTAX, "unterminated string: no closing '\"'", text, quote) from None
        # Point at the backslash, wherever in the escape json noticed the fault.
        at = text.rfind("\\", quote, exc.pos + 1)
        raise error_at(SYNTAX, f"invalid escape in string: {exc.msg}", text, at) from None
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise _surrogate_error(text, quote, end)
    return value, end


def _surrogate_error(text: str, quote: int, end: int) -> LoadError:
    """Locate the first `\\uD8xx`-style escape in a string that is not half of a pair."""
    pending = None
    for escape in _ESCAPE.finditer(text, quote + 1, end - 1):
        body = escape.group(1)
        code = int(body[1:], 16) if len(body) == 5 else -1
        if pending is not None:
            if 0xDC00 <= code <= 0xDFFF and escape.start() == pending.end():
                pending = None
                continue
            break
        if 0xD800 <= code <= 0xDBFF:
            pending = escape
        elif 0xDC00 <= code <= 0xDFFF:
            pending = escape
            break
    at = pending.start() if pending is not None else quote
    return error_at(ENCODING, "string escape is a lone surrogate, which is not a character", text, at)


def _slow_value(text: str, pos: int) -> tuple[object, int, int]:
    """Parse a value the fast pattern did not take: an escaped string, or diagnose the error."""
    pos = _SKIP_WS.match(text, pos).end()
    char = text[pos : pos + 1]
    if char == '"':
        value, end = _string(text, pos)
        return value, pos, end
    if text.startswith(("NaN", "Infinity", "-Infinity"), pos):
        word = _LOOSE_NUMBER.match(text, pos).group()
        raise error_at(NUMBER, f"{word} is not a JSON number: numbers must be finite", text, pos)
    if char == "-" or char.isdigit():
        token = _LOOSE_NUMBER.match(text, pos).group()
        raise error_at(SYNTAX, f"invalid number {token!r}", text, pos, _number_hint(token))
    if char in ("t", "f", "n"):
        word = _WORD.match(text, pos).group()
        raise error_at(SYNTAX, f"invalid literal {word!r}: expected true, false or null", text, pos)
    if char in ("]", "}") and _previous_char(text, pos) == ",":
        raise error_at(
            SYNTAX, f"expected a value after ',', found {char!r} (trailing commas are not allowed)", text, pos
        )
    raise _unexpected(text, pos, "a value")


def _slow_member(text: str, pos: int, first: bool) -> tuple[str, int, int]:
    """Parse `, "key":` where the fast pattern failed; return the key, its start and the value start."""
    pos = _SKIP_WS.match(text, pos).end()
    if not first:
        if not text.startswith(",", pos):
            raise _unexpected(text, pos, "',' or '}' after object member")
        pos = _SKIP_WS.match(text, pos + 1).end()
    char = text[pos : pos + 1]
    if char == '"':
        key, end = _string(text, pos)
        colon = _SKIP_WS.match(text, end).end()
        if not text.startswith(":", colon):
            raise _unexpected(text, colon, "':' after object key")
        return key, pos, _SKIP_WS.match(text, colon + 1).end()
    if char == "}" and not first:
        raise error_at(
            SYNTAX, "expected a key after ',', found '}' (trailing commas are not allowed)", text, pos
        )
    if char == "'" or char.isalpha() or char == "_":
        raise error_at(
            SYNTAX,
            f"expected a double-quoted key, found {show_char(char)}",
            text,
            pos,
            'write keys as "name"',
        )
    raise _unexpected(text, pos, "a double-quoted key" + (" or '}'" if first else ""))


def _slow_separator(text: str, pos: int, first: bool) -> int:
    """Skip to the next array element where the fast pattern failed; return its start."""
    pos = _SKIP_WS.match(text, pos).end()
    if first:
        return pos
    if not text.startswith(",", pos):
        raise _unexpected(text, pos, "',' or ']' after array element")
    return _SKIP_WS.match(text, pos + 1).end()


def _previous_char(text: str, pos: int) -> str:
    """Return the last non-whitespace character before `pos`."""
    return text[:pos].rstrip(" \t\n\r")[-1:]


def _number_hint(token: str) -> str | None:
    """Suggest the fix for the commonest malformed numbers."""
    digits = token.lstrip("-")
    if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        return "numbers cannot have leading zeros"
    if token.endswith(".") or ".e" in token.lower() or token.startswith(("-.", ".")):
        return "a decimal point needs digits on both sides"
    return None


def _unexpected(text: str, pos: int, expected: str) -> LoadError:
    """Build the error for an unexpected character where `expected` was due."""
    char = text[pos : pos + 1]
    if char in _CONTROL:
        return control_char_error(text, pos)
    if char == "/":
        return error_at(
            SYNTAX, f"expected {expected}, found '/' (comments are not allowed in JSON)", text, pos
        )
    if char == "'":
        return error_at(
            SYNTAX, f'expected {expected}, found "\'"', text, pos, "JSON strings use double quotes"
        )
    return error_at(SYNTAX, f"expected {expected}, found {show_char(char)}", text, pos)
