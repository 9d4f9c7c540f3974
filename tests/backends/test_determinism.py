"""Every output is byte-identical across runs, hash seeds, and reorderings of a spec's keys.

The order of entries within a section is meaningful (the order of `inputs`
is the order of the model's inputs, and generated code follows the spec),
so the reorderings tested are those of sections and of keys inside tables.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mspec.backends.codegen import generate_source
from mspec.backends.draw import to_dot, to_mermaid
from mspec.backends.summary import render_summary
from mspec.pipeline import check_bytes

from support.paths import ROOT
from support.spec_files import SPEC_FILES, spec_data

ENTRY_SECTIONS = {"inputs", "shared", "branches", "merges", "outputs"}

# Runs mspec in a fresh interpreter and prints every text output it makes.
PROBE = """
import json, sys
from mspec.pipeline import check_file
from mspec.backends.codegen import generate_source
from mspec.backends.draw import to_dot, to_mermaid
from mspec.backends.summary import render_summary
for path in sys.argv[1:]:
    result = check_file(path)
    print(json.dumps([d.to_json() for d in result.diagnostics]))
    if result.ok:
        print(render_summary(result.graph))
        print(generate_source(result.graph, path))
"""


def outputs(raw: bytes, name: str) -> str:
    result = check_bytes(raw, name)
    text = json.dumps([d.to_json() for d in result.diagnostics])
    if result.graph is not None:
        text += to_dot(result.graph, result.diagnostics) + to_mermaid(result.graph, result.diagnostics)
    if result.ok:
        text += render_summary(result.graph) + generate_source(result.graph, "spec")
    return text


def shuffled(value, rng: random.Random, *, keep_order: bool = False):
    """Shuffle dict keys at every level, except the entry order of named sections."""
    if isinstance(value, dict):
        keys = list(value)
        if not keep_order:
            rng.shuffle(keys)
        return {k: shuffled(value[k], rng, keep_order=k in ENTRY_SECTIONS and not keep_order) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_reordered_keys_change_nothing(spec: Path) -> None:
    data = spec_data(spec)
    expected = outputs(json.dumps(data).encode(), "spec.json")
    for seed in range(5):
        reordered = json.dumps(shuffled(data, random.Random(seed))).encode()
        assert outputs(reordered, "spec.json") == expected


def test_outputs_are_identical_across_hash_seeds() -> None:
    paths = [str(p.relative_to(ROOT)) for p in SPEC_FILES] + [
        "tests/cases/cycle.toml",
        "tests/cases/merge_shapes.toml",
    ]
    results = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT / "compiler")}
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *paths], capture_output=True, text=True, cwd=ROOT, env=env
        )
        assert done.returncode == 0, done.stderr
        results.add(done.stdout)
    assert len(results) == 1
