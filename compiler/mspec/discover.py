"""Finding spec files: by suffix in a directory walk, and by content among other TOML and JSON files.

A repository holds TOML and JSON files of every kind (pyproject.toml,
package.json, tsconfig.json ...). A file is taken for a spec when its top
level looks like one:

- it has a `model` table together with another spec section (`inputs`,
  `outputs`, `branches`, `merges`, `shared`) or nothing but spec sections;
- or both an `inputs` and an `outputs` table (a spec whose [model] is
  misspelt is still a spec);
- or it names the spec schema (`"$schema": ".../spec.schema.json"`, or a
  `#:schema` comment).

A file that does not parse is judged by its text: a `[model]`, `[inputs.X]`
or `[outputs.X]` table header, even unclosed (TOML), or a `"model": {` key with an
`"inputs"` or `"outputs"` key (JSON), so a spec with a syntax error is still
checked and reported. A directory walk passes over hidden directories
(.git, .venv ...), node_modules and __pycache__.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

SPEC_SUFFIXES = (".toml", ".json")
SECTIONS = ("inputs", "outputs", "branches", "merges", "shared")
TOP_LEVEL = frozenset({"$schema", "model", "compile", "train", "lint", *SECTIONS})
SKIPPED_DIRECTORIES = frozenset({"node_modules", "__pycache__"})
# Enough of a file to recognise it; a larger spec is still checked (and refused by the size limit).
READ_BYTES = 1 << 20

_SCHEMA = re.compile(rb"spec\.schema\.json")
_TOML_HEADER = re.compile(rb"^[ \t]*\[[ \t]*(model|inputs|outputs)\b", re.MULTILINE)
_JSON_MODEL = re.compile(rb'"model"\s*:\s*\{')
_JSON_SECTION = re.compile(rb'"(inputs|outputs)"\s*:')


def walk(directory: Path) -> Iterator[Path]:
    """The .toml and .json files under a directory, sorted, outside hidden and tool directories."""
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if any(p.startswith(".") or p in SKIPPED_DIRECTORIES for p in parts[:-1]):
            continue
        if path.suffix in SPEC_SUFFIXES and path.is_file():
            yield path


def is_spec_data(data: object) -> bool:
    """Whether a parsed file's top level is a spec's."""
    if not isinstance(data, dict):
        return False
    schema = data.get("$schema")
    if isinstance(schema, str) and "spec.schema.json" in schema:
        return True
    if isinstance(data.get("model"), dict) and (
        any(isinstance(data.get(s), dict) for s in SECTIONS) or set(data) <= TOP_LEVEL
    ):
        return True
    return isinstance(data.get("inputs"), dict) and isinstance(data.get("outputs"), dict)


def looks_like_spec(path: Path) -> bool:
    """Whether a TOML or JSON file is a spec, judged by its content; False when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(READ_BYTES)
    except OSError:
        return False
    return looks_like_spec_bytes(raw, path.suffix)


def looks_like_spec_bytes(raw: bytes, suffix: str) -> bool:
    """Whether the contents of a TOML (suffix ".toml") or JSON (".json") file are a spec's.

    For text that is not on disk, such as an editor's unsaved buffer.
    """
    if b"model" not in raw and b"inputs" not in raw:
        return False  # the common case, decided without parsing
    if _SCHEMA.search(raw[:4096]):
        return True
    try:
        text = raw.decode("utf-8")
        if suffix == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (UnicodeDecodeError, ValueError):
        # Not parseable (a syntax error, or cut at READ_BYTES): judge by the text.
        if suffix == ".json":
            return bool(_JSON_MODEL.search(raw)) and bool(_JSON_SECTION.search(raw))
        return bool(_TOML_HEADER.search(raw))
    return is_spec_data(data)
