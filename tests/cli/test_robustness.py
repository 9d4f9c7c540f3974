"""Bad input of any kind ends in diagnostics (exit 1) or a clear message (exit 2), never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mspec.backends.codegen import generate_source
from mspec.backends.draw import to_dot, to_mermaid
from mspec.backends.summary import render_summary
from mspec.cli import main
from mspec.pipeline import check_bytes

from support.document_paths import parent_of, value_paths
from support.spec_files import SPEC_FILES, spec_data

BAD_INPUTS = {
    "empty.toml": b"",
    "empty.json": b"",
    "binary.toml": bytes(range(256)) * 4,
    "broken.toml": b"[model\nname = ",
    "broken.json": b'{"model": {"name": "x"',
    "wrong_types.json": b'{"model": 1, "inputs": [], "outputs": "x"}',
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "deep.toml": b"x = " + b"[" * 100_000 + b"]" * 100_000,
    "huge_number.json": b'{"model": {"name": "x"}, "inputs": {"a": {"shape": [' + b"9" * 5000 + b"]}}}",
    "huge_float.toml": b"[model]\nname = 1e999\n",
    "null_everywhere.json": b'{"model": null, "inputs": null, "outputs": null}',
    "strings_for_tables.toml": b'model = "m"\ninputs = "i"\noutputs = "o"\n',
    "lists_for_tables.json": b'{"model": [], "inputs": {"a": []}, "outputs": {"o": []}}',
    "bools.json": b'{"model": {"name": true}, "inputs": {"a": {"shape": true}}, "outputs": {"o": 0}}',
    "latin1.toml": '[model]\nname = "café"\n'.encode("latin-1"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gives_diagnostics_and_exit_1(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name])
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{path}:" in result.output and " error: " in result.output


def test_directory_as_summary_argument_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["summary", str(tmp_path)])
    assert result.exit_code == 2


def test_broken_symlink_exits_2(tmp_path: Path) -> None:
    link = tmp_path / "gone.toml"
    link.symlink_to(tmp_path / "missing.toml")
    result = CliRunner().invoke(main, ["lint", str(link)])
    assert result.exit_code == 2
    assert "no such file" in result.output


# --- fuzzing: mutate the data of valid specs -------------------------------


SPEC_DATA = [spec_data(path) for path in SPEC_FILES]
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def mutated_specs(draw):
    data = json.loads(json.dumps(draw(st.sampled_from(SPEC_DATA))))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in value_paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = parent_of(data, path)
        action = draw(st.sampled_from(["delete", "replace", "duplicate", "rename"]))
        key = path[-1]
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(ODD_VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(parent[key])
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = parent.pop(key)
    return data


# MSPEC_FUZZ_EXAMPLES raises the number of cases (e.g. 5000 for a long run).
FUZZ_EXAMPLES = int(os.environ.get("MSPEC_FUZZ_EXAMPLES", "200"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_mutated_specs_never_crash(data: dict) -> None:
    raw = json.dumps(data).encode()
    result = check_bytes(raw, "fuzz.json")
    assert all(d.line >= 1 and d.col >= 1 for d in result.diagnostics)
    if result.graph is not None:  # broken specs are drawn too
        to_dot(result.graph, result.diagnostics)
        to_mermaid(result.graph, result.diagnostics)
    if result.ok and result.graph is not None:
        render_summary(result.graph)
        compile(generate_source(result.graph, "fuzz.json"), "fuzz.py", "exec")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(raw: bytes) -> None:
    for name in ("fuzz.toml", "fuzz.json"):
        result = check_bytes(raw, name)
        assert result.ok or result.diagnostics
