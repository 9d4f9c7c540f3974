"""Write the designed spec as TOML, with its comments, or as JSON (which holds none).

Values are written by the importer's TOML writer (`toml_value`), so that
strings, numbers and inline tables read back as they were meant.
"""

from __future__ import annotations

import json
import re
import textwrap

from ..importer.spec_text import toml_string, toml_value
from .design import Design, Table

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Comments are wrapped to this width.
WIDTH = 100


def render(design: Design, fmt: str) -> str:
    """The spec as `toml` (commented) or `json` text, ending with a newline."""
    if fmt == "json":
        return json.dumps(design.document(), indent=2, ensure_ascii=False) + "\n"
    if fmt != "toml":
        raise ValueError(f"unknown format {fmt!r}")
    blocks = ["\n".join(_comment(line) for line in design.header) + "\n"] if design.header else []
    blocks += [_table(table) for table in design.tables]
    return "\n".join(blocks)


def _comment(text: str, indent: str = "") -> str:
    """A comment, wrapped; a line that starts with spaces keeps them on every line it wraps to."""
    if not text:
        return f"{indent}#"
    lead = text[: len(text) - len(text.lstrip(" "))]
    lines = textwrap.wrap(
        text.strip(), WIDTH - len(indent) - 2 - len(lead), break_long_words=False, break_on_hyphens=False
    )
    first, *rest = lines or [""]
    out = [f"{indent}# {lead}{first}"] + [f"{indent}# {lead}  {line}" for line in rest]
    return "\n".join(out)


def _table(table: Table) -> str:
    lines = [_comment(line) for line in table.comments]
    lines.append("[" + ".".join(_key(part) for part in table.path) + "]")
    for key, value in table.values.items():
        where = ".".join(table.path) + f".{key}"
        if key == "layers":
            lines.append(_steps(value, table.step_comments, where))
        else:
            lines.append(_assignment(key, value, where))
    return "\n".join(lines) + "\n"


def _assignment(key: str, value, where: str) -> str:
    """`key = value`; a list too long for one line is written one item per line."""
    line = f"{_key(key)} = {toml_value(value, where)}"
    if len(line) <= WIDTH or not isinstance(value, list):
        return line
    items = "".join(f"    {toml_value(item, f'{where}[{i}]')},\n" for i, item in enumerate(value))
    return f"{_key(key)} = [\n{items}]"


def _steps(steps: list, comments: list[str], where: str) -> str:
    """One step per line, each followed by its comment (if any)."""
    if len(steps) == 1 and not any(comments):
        return f"layers = {toml_value(steps, where)}"
    lines = ["layers = ["]
    for i, step in enumerate(steps):
        comment = comments[i] if i < len(comments) else ""
        line = f"    {toml_value(step, f'{where}[{i}]')},"
        lines.append(f"{line}  # {comment}" if comment else line)
    lines.append("]")
    return "\n".join(lines)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)
