"""The command line as a user runs it: output format, exit codes, no TensorFlow for lint."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mspec.cli import main

from support.paths import CASES, ROOT
from support.spec_files import SPEC_FILES

BROKEN = CASES / "seed_interaction.toml"


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_specs_lint_clean() -> None:
    result = run("lint", "specs")
    assert result.exit_code == 0, result.output
    assert f"{len(SPEC_FILES)} files checked: 0 errors" in result.output


def test_broken_spec_exits_1_with_located_line() -> None:
    result = run("lint", str(BROKEN.relative_to(ROOT)))
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(
        "tests/cases/seed_interaction.toml:21:1: MS301 error: Multiply needs equal shapes"
    )


def test_json_format_is_machine_readable() -> None:
    result = run("lint", "--format", "json", str(BROKEN.relative_to(ROOT)))
    assert result.exit_code == 1
    findings = json.loads(result.output)
    assert findings[0]["code"] == "MS301" and findings[0]["line"] == 21 and findings[0]["severity"] == "error"


def test_missing_file_exits_2() -> None:
    result = run("lint", "no/such/spec.toml")
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_unknown_option_exits_2() -> None:
    assert run("lint", "--bogus", "specs").exit_code == 2


def test_summary_prints_totals() -> None:
    result = run("summary", "specs/seed/concat_independent.toml")
    assert result.exit_code == 0, result.output
    assert "Total params: 993" in result.output
    assert "(None, 96)" in result.output


def test_summary_totals_only_what_the_model_keeps() -> None:
    """An unused branch is drawn in the table but, as in Keras' model, not counted."""
    result = run("summary", "tests/cases/unused.toml")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines() if line.strip()}
    assert rows["side"][-2] == "18"  # Dense(2) on 8 features: still listed with its weights
    total = int(rows["Total"][2].replace(",", ""))
    assert total == sum(int(rows[name][-2]) for name in ("x", "out"))
    assert "Left out of the model (no output depends on them): side" in result.output


def test_summary_of_broken_spec_exits_1() -> None:
    result = run("summary", str(BROKEN.relative_to(ROOT)))
    assert result.exit_code == 1
    assert "MS301" in result.output


def test_schema_is_json() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "Layer_Dense" in schema["$defs"]


def test_lint_never_imports_tensorflow_or_keras() -> None:
    probe = (
        "import sys; from mspec.cli import main\n"
        "try:\n    main(['lint', 'specs', 'tests/cases'])\nexcept SystemExit: pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax', 'torch'))\n"
        "print('IMPORTED', bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "compiler"), "PATH": "/usr/bin:/bin"},
    )
    assert "IMPORTED []" in out.stdout, out.stdout + out.stderr


def test_python_dash_m_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mspec", "--version"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "compiler"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0 and "mspec" in out.stdout
