"""Write a spec's data back as text: the best point of a tune, as a plain spec.

TOML is laid out like the hand-written specs: one table per section and per
named entry, values as inline tables and arrays, long lists of steps one
step per line. A JSON spec stays JSON. The comments of the original file are
not carried over (the data holds none); a header comment says where the
spec comes from.
"""

from __future__ import annotations

import json
from typing import Any

from ..importer.spec_text import toml_string, toml_value

# Sections made of named entries, each written as its own table: [inputs.NAME], [branches.NAME] ...
NAMED = ("inputs", "shared", "branches", "merges", "outputs")
# A list of steps longer than this on one line is written one step per line.
INLINE_WIDTH = 100


def render_spec(data: dict[str, Any], fmt: str, header: str = "") -> str:
    """The spec `data` as `toml` or `json` text; `header` becomes a comment at the top of TOML."""
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if lines:
        lines.append("")
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    lines += [f"{_key(k)} = {toml_value(v, k)}" for k, v in scalars.items()]
    if scalars:
        lines.append("")
    for section, content in data.items():
        if not isinstance(content, dict):
            continue
        if section in NAMED:
            for name, entry in content.items():
                lines += _table(f"{section}.{_key(name)}", entry)
        else:
            lines += _table(_key(section), content)
    return "\n".join(lines).rstrip("\n") + "\n"


def _table(header: str, content: Any) -> list[str]:
    if not isinstance(content, dict):  # an entry that is not a table: the spec is wrong, keep it as it is
        return [f"{header} = {toml_value(content, header)}", ""]
    lines = [f"[{header}]"]
    for key, value in content.items():
        where = f"{header}.{key}"
        if key == "layers" and isinstance(value, list):
            lines.append(_steps(value, where))
        else:
            lines.append(f"{_key(key)} = {toml_value(value, where)}")
    lines.append("")
    return lines


def _steps(steps: list[Any], where: str) -> str:
    one_line = f"layers = {toml_value(steps, where)}"
    if len(steps) <= 1 and len(one_line) <= INLINE_WIDTH:
        return one_line
    items = "".join(f"    {toml_value(step, f'{where}[{i}]')},\n" for i, step in enumerate(steps))
    return "layers = [\n" + items + "]"


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else toml_string(key)
