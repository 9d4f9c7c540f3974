"""The repository's folders as the tests see them."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
CASES = TESTS / "cases"
GOLDEN = TESTS / "golden"
DATA = TESTS / "data"
SPECS = ROOT / "specs"
