"""`mspec build` as a user runs it: what it writes, what it refuses, and what it prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec import keras_build
from mspec.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "specs" / "seed" / "concat_independent.toml"
BROKEN = ROOT / "tests" / "cases" / "seed_interaction.toml"


def build(*args: str):
    return CliRunner().invoke(main, ["build", *args])


def test_source_only_writes_source_and_nothing_else(tmp_path: Path) -> None:
    result = build(str(SEED), "-o", str(tmp_path), "--source-only")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.py"]


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    build(str(SEED), "-o", str(tmp_path / "a"), "--source-only")
    build(str(SEED), "-o", str(tmp_path / "b"), "--source-only")
    first = (tmp_path / "a" / "concat_independent.py").read_bytes()
    assert first == (tmp_path / "b" / "concat_independent.py").read_bytes()


def test_spec_with_errors_builds_nothing(tmp_path: Path) -> None:
    result = build(str(BROKEN), "-o", str(tmp_path))
    assert result.exit_code == 1
    assert "MS301 error" in result.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_without_keras_source_is_written_and_exit_is_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keras_build, "keras_available", lambda: False)
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "Keras is not installed" in result.output and "--source-only" in result.output
    assert (tmp_path / "concat_independent.py").exists()
    assert not (tmp_path / "concat_independent.keras").exists()


@pytest.mark.keras
def test_build_saves_a_loadable_model(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    result = build(str(SEED), "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["concat_independent.keras", "concat_independent.py"]
    model = keras.saving.load_model(tmp_path / "concat_independent.keras")
    assert model.count_params() == 993
    assert "993 parameters" in result.output


def test_build_check_finds_stale_and_missing_sources(tmp_path: Path) -> None:
    assert build(str(SEED), "-o", str(tmp_path), "--check").exit_code == 1  # missing
    assert build(str(SEED), "-o", str(tmp_path), "--source-only").exit_code == 0
    before = sorted(tmp_path.iterdir())
    assert build(str(SEED), "-o", str(tmp_path), "--check").exit_code == 0
    source = tmp_path / "concat_independent.py"
    source.write_text(source.read_text().replace("64", "65"))
    result = build(str(SEED), "-o", str(tmp_path), "--check")
    assert result.exit_code == 1 and "out of date" in result.output
    assert sorted(tmp_path.iterdir()) == before  # --check writes nothing
