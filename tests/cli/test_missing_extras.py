"""Commands that train, score or export, run where numpy (so every extra that needs it) is not installed.

The pre-commit hook installs the core only, and a user may call `mspec fit`
there: each command must end in one line naming the extra to install, exit 2,
and never show a traceback. A process of its own hides numpy
(`sys.modules["numpy"] = None` makes every import of it fail as a missing
module does).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import ROOT

WITHOUT_NUMPY = """
import sys
sys.modules["numpy"] = None
from mspec.cli import main
main(sys.argv[1:], prog_name="mspec")
"""

SPEC = str(ROOT / "specs" / "churn.toml")


@pytest.mark.parametrize(
    "command, extra",
    [
        (["fit", SPEC, "--data", "{data}", "-o", "{out}"], "mspec[fit]"),
        (["explain", SPEC, "--model", "{model}", "--data", "{data}"], "mspec[fit]"),
        (["predict", SPEC, "--model", "{model}", "--data", "{data}", "-o", "{out}/p.parquet"], "mspec[fit]"),
        (["evaluate", SPEC, "--model", "{model}", "--data", "{data}"], "mspec[fit]"),
        (["export", SPEC, "--model", "{model}", "--format", "onnx", "-o", "{out}/m.onnx"], "mspec[export]"),
        (["compare", SPEC, SPEC, "--data", "{data}", "-o", "{out}"], "mspec[fit]"),
        (["tune", SPEC, "--data", "{data}", "--trials", "2", "-o", "{out}"], "mspec[tune]"),
        (["init", "--data", "{data}", "--target", "churned", "-o", "{out}/spec.toml"], "mspec[data]"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_a_command_needing_an_extra_names_it_in_one_line(command: list, extra: str, tmp_path: Path) -> None:
    data, model = tmp_path / "rows.parquet", tmp_path / "churn.keras"
    data.write_bytes(b"PAR1")
    model.write_bytes(b"PK")
    args = [part.format(data=data, model=model, out=tmp_path / "out") for part in command]
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_NUMPY, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "numpy" in lines[0] and "not installed" in lines[0] and extra in lines[0], done.stderr
    assert not (tmp_path / "out").exists()
