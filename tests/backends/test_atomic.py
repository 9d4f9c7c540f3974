"""Outputs are atomic and contained: a failed run leaves earlier outputs untouched and no partial file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec import files
from mspec.backends.keras_model import build as keras_build
from mspec.cli import main
from mspec.files import write_atomic

from support.paths import ROOT

SEED = ROOT / "specs" / "seed" / "concat_independent.toml"


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.py"
    target.write_bytes(b"old contents\n")

    def fail_midway(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", fail_midway)
    with pytest.raises(OSError):
        write_atomic(target, b"new contents that never fully land\n")
    assert target.read_bytes() == b"old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.py"]


def test_interrupted_build_keeps_previous_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(SEED), "-o", str(tmp_path), "--source-only"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    result = runner.invoke(main, ["build", str(SEED), "-o", str(tmp_path), "--source-only"])
    assert result.exit_code != 0  # click reports the interruption ("Aborted!")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temporary file left either


def test_failed_model_save_leaves_no_partial_file(tmp_path: Path) -> None:
    class Exploding:
        def save(self, path: str) -> None:
            Path(path).write_bytes(b"half a model")
            raise RuntimeError("disk full")

    target = tmp_path / "model.keras"
    target.write_bytes(b"previous model")
    with pytest.raises(RuntimeError):
        keras_build.save_model(Exploding(), target)
    assert target.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_output_names_come_from_validated_model_names(tmp_path: Path) -> None:
    spec = tmp_path / "escape.toml"
    spec.write_text('[model]\nname = "../../evil"\n[inputs.a]\nshape = [2]\n[outputs.o]\nfrom = "a"\n')
    result = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out"), "--source-only"])
    assert result.exit_code == 1 and "MS107" in result.output
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escape.toml"]


def test_outputs_get_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.py"
    write_atomic(target, b"x = 1\n")
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert target.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777
