"""A small writer for indented source text, and Python literals formatted as ruff formats them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ...vocabulary import KerasObject

INDENT = "    "
LINE_LENGTH = 88  # ruff format's default: generated code must be stable under it


class SourceWriter:
    """Collects lines at the current indentation level."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    def line(self, text: str = "") -> None:
        self._lines.append(INDENT * self._level + text if text else "")

    def blank(self) -> None:
        """Add one empty line, never two in a row and never at the top of a block."""
        if self._lines and self._lines[-1] != "" and not self._lines[-1].endswith(":"):
            self._lines.append("")

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    @property
    def width(self) -> int:
        """Characters left on a line at the current indentation."""
        return LINE_LENGTH - len(INDENT) * self._level

    def call(self, prefix: str, arguments: Sequence[str], trailer: str | None = None) -> None:
        """Write `prefix(arguments)` or `prefix(arguments)(trailer)` as ruff format lays it out.

        Like ruff (and Black), a line that is too long is split at its last
        bracket when the part before it fits, else at the first bracket; the
        bracket's content goes on one indented line if it fits, else one item
        per line with a trailing comma.
        """
        joined = ", ".join(arguments)
        suffix = f"({trailer})" if trailer is not None else ""
        if len(f"{prefix}({joined}){suffix}") <= self.width:
            self.line(f"{prefix}({joined}){suffix}")
            return
        head = f"{prefix}({joined})("
        if trailer is not None and len(head) <= self.width:
            self.line(head)
            with self.indent():
                self._content(_split_items(trailer))
            self.line(")")
            return
        self.line(f"{prefix}(")
        with self.indent():
            self._content(list(arguments))
        self.line(f"){suffix}")

    def _content(self, items: list[str]) -> None:
        joined = ", ".join(items)
        if len(joined) <= self.width:
            self.line(joined)
        elif len(items) == 1 and _bracketed(items[0]):
            self._item(items[0], "")
        else:
            for item in items:
                # The trailing comma keeps ruff format from joining the lines again.
                self._item(item, ",")

    def _item(self, item: str, end: str) -> None:
        """Write one item, splitting a too-long `name=[...]` or `{...}` at its brackets."""
        match = _bracketed(item)
        if len(item) + len(end) <= self.width or not match:
            self.line(item + end)
            return
        head, inner, close = match
        self.line(head)
        with self.indent():
            for part in _split_items(inner):
                self._item(part, ",")
        self.line(close + end)

    def text(self) -> str:
        while self._lines and self._lines[-1] == "":
            self._lines.pop()
        return "\n".join(self._lines) + "\n"


def _bracketed(item: str) -> tuple[str, str, str] | None:
    """Split `loss={...}` into ("loss={", "...", "}") if the item ends a bracket it opened."""
    if not item or item[-1] not in ")]}":
        return None
    opening = {")": "(", "]": "[", "}": "{"}[item[-1]]
    depth, quote = 0, None
    for index, char in enumerate(item):
        if quote:
            quote = None if char == quote and item[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            if depth == 0 and char == opening and _closes_at_end(item, index):
                return item[: index + 1], item[index + 1 : -1], item[-1]
            depth += 1
        elif char in ")]}":
            depth -= 1
    return None


def _closes_at_end(item: str, start: int) -> bool:
    depth, quote = 0, None
    for index in range(start, len(item)):
        char = item[index]
        if quote:
            quote = None if char == quote and item[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index == len(item) - 1
    return False


def _split_items(text: str) -> list[str]:
    """Split `a, "b, c", [d, e]` at its top-level commas, outside strings and brackets."""
    items, depth, start, quote = [], 0, 0, None
    for index, char in enumerate(text):
        if quote:
            quote = None if char == quote and text[index - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    items.append(text[start:].strip())
    return [item for item in items if item]


def py_str(value: str) -> str:
    """Return a Python string literal for `value`, built by repr(), in double quotes where possible."""
    literal = repr(value)
    if literal.startswith("'") and '"' not in value and "'" not in value:
        literal = '"' + literal[1:-1] + '"'
    return literal


def py_literal(value, *, sequence: type = tuple) -> str:
    """Render plain data as Python source; lists become tuples unless `sequence` is list.

    Layer arguments such as kernel sizes are written as tuples, as Keras'
    own examples write them; compile settings (metrics) as lists.
    """
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, KerasObject):
        return keras_object_source(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        items = [py_literal(v, sequence=sequence) for v in value]
        if sequence is list:
            return "[" + ", ".join(items) + "]"
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = (f"{py_str(str(k))}: {py_literal(v, sequence=sequence)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as a Python literal")


def keras_object_source(obj: KerasObject) -> str:
    """The Python expression generated code writes for a Keras object: `keras.losses.Huber(delta=2.0)`."""
    args = ", ".join(f"{name}={py_literal(value, sequence=list)}" for name, value in obj.args)
    return f"keras.{obj.module}.{obj.type}({args})"
