"""Compare text with a golden file, or rewrite it under --update-golden."""

from __future__ import annotations

from pathlib import Path


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Assert `actual` equals the golden file (rewritten instead when `update`)."""
    if update:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run pytest --update-golden to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"output differs from {path.name} (run pytest --update-golden if intended)"
