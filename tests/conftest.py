"""Shared test set-up: the --update-golden flag, paths, and the test tiers.

Two tiers: `make test` runs everything (what CI runs); `make test-fast`
(`pytest -m "not keras and not slow"`) leaves out what needs TensorFlow or
Keras (marked `keras`) and what takes seconds (marked `slow`: pre-commit
environments, subprocesses, many models). In that tier, modules that import
Keras when collected are not collected at all, so no TensorFlow is loaded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from support.paths import ROOT

sys.path.insert(0, str(ROOT / "compiler"))

# Modules whose every test is slow: each installs a pre-commit hook environment.
SLOW_MODULES = {"test_precommit.py"}

# A module-level `pytest.importorskip("keras")`: collecting the module imports TensorFlow.
_IMPORTS_KERAS = re.compile(r'^(?:\w+ = )?pytest\.importorskip\("keras"\)', re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite golden files (expected diagnostics, generated outputs) from the current behaviour.",
    )


def _deselects_keras(config: pytest.Config) -> bool:
    return "not keras" in (config.option.markexpr or "")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not (collection_path.name.startswith("test_") and collection_path.suffix == ".py"):
        return None
    if _deselects_keras(config) and _IMPORTS_KERAS.search(collection_path.read_text(encoding="utf-8")):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
