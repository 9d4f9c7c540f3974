"""The one escaping function per diagram language: every label and id passes through it.

Spec names are identifiers, but descriptions, messages and layer parameters
are free text, and a diagram must show them as text, never as syntax.
"""

from __future__ import annotations

import re

# C0 and C1 controls (newlines are handled first), and lone surrogates, which
# cannot be written as UTF-8: each becomes a visible replacement character.
_UNPRINTABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _plain_lines(text: str) -> list[str]:
    """Split into lines on any newline convention, tabs as spaces, other controls made visible."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return [_UNPRINTABLE.sub("\ufffd", line) for line in text.split("\n")]


def dot_quote(text: str) -> str:
    """Return `text` as a double-quoted DOT string that Graphviz shows literally.

    Backslashes are doubled, so no escString (`\\N`, `\\l`, `\\G` ...) survives;
    quotes are escaped, so the string cannot end early; `&` becomes `&amp;`,
    as Graphviz decodes HTML entities even in plain labels; newlines become
    DOT's centred line break `\\n`. The result is always quoted, so it can
    never start an HTML label (`<...>`), which only an unquoted id can.
    """
    lines = []
    for line in _plain_lines(text):
        lines.append(line.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;"))
    return '"' + "\\n".join(lines) + '"'


# Characters with a meaning in Mermaid flowchart syntax, or in the HTML that
# Mermaid renders labels into, written as Mermaid's entity codes (`#quot;`,
# `#35;` ...) so that they show literally. One pass over the text, so a code
# that escaping writes is never escaped again.
_MERMAID_CODES = {
    "#": "#35;",
    "&": "#amp;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "{": "#123;",
    "}": "#125;",
    "[": "#91;",
    "]": "#93;",
    "|": "#124;",
    "`": "#96;",
}
_MERMAID_SPECIAL = re.compile("[" + re.escape("".join(_MERMAID_CODES)) + "]")


def mermaid_quote(text: str) -> str:
    """Return `text` as a double-quoted Mermaid label that renders literally.

    Syntax characters become entity codes, newlines become `<br/>`, and
    unicode is kept as it is.
    """
    lines = [_MERMAID_SPECIAL.sub(lambda m: _MERMAID_CODES[m.group()], line) for line in _plain_lines(text)]
    return '"' + "<br/>".join(lines) + '"'
