"""The lazy registry's index matches what the layer modules register."""

from __future__ import annotations

import subprocess
import sys

from mspec.layers import KIND_MODULES, REGISTRY, load_all


def test_index_matches_registrations() -> None:
    registered = load_all()
    assert sorted(registered) == sorted(KIND_MODULES)
    for name, kind in registered.items():
        assert kind.params.__module__ == f"mspec.layers.{KIND_MODULES[name]}", name


def test_lookup_loads_only_the_needed_module() -> None:
    probe = (
        "import sys\n"
        "from mspec.layers import REGISTRY\n"
        "assert REGISTRY['Dense'].name == 'Dense'\n"
        "print(sorted(m for m in sys.modules if m.startswith('mspec.layers.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = done.stdout.strip()
    assert "mspec.layers.core" in loaded
    assert "mspec.layers.convolutional" not in loaded and "mspec.layers.rnn" not in loaded


def test_unknown_names_are_missing() -> None:
    assert "Dens" not in REGISTRY
    assert REGISTRY.get("Dens") is None
    assert REGISTRY.get(42) is None
