"""Write an imported spec document as TOML (laid out like the hand-written specs) or JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

SECTIONS = ("model", "inputs", "shared", "branches", "merges", "outputs", "compile")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
# A list of steps longer than this on one line is written one step per line.
INLINE_WIDTH = 100


def render(document: dict[str, Any], fmt: str) -> str:
    """Return the document as `toml` or `json` text, ending with a newline."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt == "toml":
        return render_toml(document)
    raise ValueError(f"unknown format {fmt!r}")


def render_toml(document: dict[str, Any]) -> str:
    """Write a spec document as TOML: one table per entry, steps as inline tables."""
    blocks = []
    for section in SECTIONS:
        if section not in document:
            continue
        content = document[section]
        if section in ("model", "compile"):
            blocks.append(_table(section, content))
        else:
            blocks.extend(_table(f"{section}.{_key(name)}", entry) for name, entry in content.items())
    return "\n".join(blocks)


class Unrepresentable(ValueError):
    """A value TOML cannot hold (null); `where` is its dotted path in the document."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where


def _table(header: str, content: dict[str, Any]) -> str:
    lines = [f"[{header}]"]
    for key, value in content.items():
        where = f"{header}.{key}"
        if key == "layers" and isinstance(value, list):
            lines.append(_steps(value, where))
        else:
            lines.append(f"{_key(key)} = {toml_value(value, where)}")
    return "\n".join(lines) + "\n"


def _steps(steps: list[Any], where: str) -> str:
    one_line = f"layers = {toml_value(steps, where)}"
    if len(steps) <= 1 and len(one_line) <= INLINE_WIDTH:
        return one_line
    items = "".join(f"    {toml_value(step, f'{where}[{i}]')},\n" for i, step in enumerate(steps))
    return "layers = [\n" + items + "]"


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_string(text: str) -> str:
    """Return a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any, where: str = "value") -> str:
    """Return one TOML value: inline tables and arrays for dicts and lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unrepresentable(where, f"{value!r} has no place in a spec")
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return (
            "{ " + ", ".join(f"{_key(k)} = {toml_value(v, f'{where}.{k}')}" for k, v in value.items()) + " }"
        )
    if value is None:
        raise Unrepresentable(where, "TOML has no null")
    raise TypeError(f"cannot write {type(value).__name__} in TOML")
