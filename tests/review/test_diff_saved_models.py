"""`mspec diff` with saved Keras models as sides: imported on the fly, as data, without Keras.

The files in tests/data/keras_versions hold one model saved by five Keras
versions; `mspec import` turns each into a spec. Building a model to save
needs Keras: tests/review/test_diff_keras.py does that for the review specs.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import mspec
from mspec.cli import main
from mspec.pipeline import import_spec

from support.commands import NO_FRAMEWORK, run_mspec
from support.paths import DATA

VERSIONS = sorted((DATA / "keras_versions").glob("*.keras"))
OLDEST = DATA / "keras_versions" / "keras_3_8.keras"


@pytest.mark.parametrize("saved", VERSIONS, ids=lambda p: p.stem)
def test_one_model_saved_by_each_keras_version_is_the_same(saved: Path) -> None:
    diff = mspec.diff(OLDEST, saved)
    assert diff.same, diff.text()
    assert diff.old.weights == diff.new.weights == 1_209


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_saved_model_against_its_imported_spec(tmp_path: Path, fmt: str) -> None:
    spec = tmp_path / f"imported.{fmt}"
    imported = import_spec(OLDEST, fmt, str(spec))
    assert imported.ok
    spec.write_text(imported.text)
    for old, new in ((OLDEST, spec), (spec, OLDEST)):
        assert mspec.diff(old, new).same


def test_the_configuration_as_json_is_a_side_too(tmp_path: Path) -> None:
    # What model.to_json() writes: the archive's config.json.
    with zipfile.ZipFile(OLDEST) as archive:
        config = json.loads(archive.read("config.json"))
    (tmp_path / "model.json").write_text(json.dumps(config))
    diff = mspec.diff(tmp_path / "model.json", OLDEST)
    assert diff.same
    assert diff.old.name == "versions"


def test_an_edited_spec_against_the_saved_model(tmp_path: Path) -> None:
    imported = import_spec(OLDEST, "toml", str(tmp_path / "spec.toml"))
    text = imported.text
    units = next(line for line in text.splitlines() if "Dense" in line and "units" in line)
    edited = units.replace("units = ", "units = 1")  # 8 becomes 18, say
    (tmp_path / "spec.toml").write_text(text.replace(units, edited, 1))
    diff = mspec.diff(OLDEST, tmp_path / "spec.toml")
    assert [c.kind for c in diff.changes] == ["params"]
    assert list(diff.changes[0].params) == ["units"]
    assert diff.weight_delta and diff.weight_delta > 0


def test_a_file_that_is_no_model_cannot_be_read(tmp_path: Path) -> None:
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(main, ["diff", str(OLDEST), str(broken)])
    assert result.exit_code == 2
    assert "broken.keras: not a Keras model" in result.output


@pytest.mark.slow
def test_no_framework_reads_a_saved_model(tmp_path: Path) -> None:
    done = run_mspec("diff", str(OLDEST), str(VERSIONS[-1]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(NO_FRAMEWORK)
