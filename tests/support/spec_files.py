"""The specs shipped in specs/, which many tests run through every stage, and their plain data."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from support.paths import SPECS

SPEC_FILES = sorted(p for p in SPECS.rglob("*") if p.suffix in (".toml", ".json"))


def spec_data(path: Path) -> dict:
    """The document a spec file holds, as json or tomllib reads it (no positions, no checks)."""
    raw = path.read_bytes()
    return json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
