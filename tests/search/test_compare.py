"""`mspec compare`: specs fitted on the same data with the same seeds; refused if they read it differently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import mspec  # noqa: E402

from make_data import concat_independent, write_npz  # noqa: E402
from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402
from support.paths import ROOT  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

CONCAT = ROOT / "specs" / "seed" / "concat_independent.toml"


def multiply_variant(folder: Path) -> Path:
    """The article's first example with both branches 64 wide, multiplied instead of concatenated."""
    text = CONCAT.read_text().replace("units = 32", "units = 64").replace('"Concatenate"', '"Multiply"')
    path = folder / "multiply.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare-data")
    write_npz(folder / "train.npz", concat_independent(400, seed=0))
    write_npz(folder / "val.npz", concat_independent(200, seed=1))
    return folder / "train.npz", folder / "val.npz"


def test_two_specs_two_repeats_same_seeds_and_files(tmp_path: Path, data: tuple[Path, Path]) -> None:
    train, val = data
    variant = multiply_variant(tmp_path)
    out = tmp_path / "out"
    comparison = mspec.compare(
        [CONCAT, variant], train, validation=val, repeats=2, seed=3, epochs=2, output_dir=out, log=print
    )
    assert sorted(p.name for p in comparison.written) == ["compare.json", "compare.md", "compare.png"]
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "compare.json").read_text())
    assert report["seeds"] == [3, 4]
    assert [spec["label"] for spec in report["specs"]] == ["concat_independent", "multiply"]
    for spec in report["specs"]:
        assert [run["seed"] for run in spec["runs"]] == [3, 4]  # the same seeds for every spec
        loss = spec["outputs"]["output"]["loss"]
        best = [min(run["history"]["val_loss"]) for run in spec["runs"]]
        assert loss["values"] == pytest.approx(best)
        assert loss["std"] is not None
        assert set(spec["outputs"]["output"]["importance"]) == {"input_1", "input_2"}
    assert report["specs"][0]["parameters"] == 993  # the article's count for its first example
    markdown = (out / "compare.md").read_text()
    assert "| concat_independent | " in markdown and "| multiply | " in markdown
    assert "best val_loss" in markdown and "val_accuracy" in markdown

    # Equal seeds give equal runs: fitting one spec alone with a repeat's seed gives what compare recorded.
    alone = mspec.fit(variant, train, validation=val, seed=4, epochs=2, verbose=0, log=lambda _: None)
    recorded = report["specs"][1]["runs"][1]["history"]["val_loss"]
    assert alone.history["val_loss"] == pytest.approx(recorded, rel=1e-6)


def test_specs_that_read_the_data_differently_are_refused_before_any_framework(
    tmp_path: Path, data: tuple[Path, Path]
) -> None:
    train, _ = data
    other = tmp_path / "other.toml"
    other.write_text(
        CONCAT.read_text()
        .replace("shape = [5]", "shape = [4]")
        .replace("[outputs.output]", '[inputs.extra]\nshape = [2]\n\n[outputs.output]\ncolumn = "label"')
    )
    run = run_mspec("compare", str(CONCAT), str(other), "--data", str(train), "-o", str(tmp_path / "out"))
    assert run.returncode == 1, run.stderr
    assert run.stdout.endswith(NO_FRAMEWORK)
    findings = [line for line in run.stdout.splitlines() if " MS807 " in line]
    text = other.read_text().splitlines()
    shape_line = next(i for i, line in enumerate(text, 1) if line == "shape = [4]")
    assert f"{other}:{shape_line}:1: MS807 error: input 'input_2' has shape [4], but [5] in {CONCAT}" in (
        "\n".join(findings)
    )
    assert any("input 'extra' is not in" in f for f in findings)
    assert any("output 'output' has column 'label', but none (the default)" in f for f in findings)
    assert len(findings) == 3
    assert "mspec: not compared: 3 errors in the specs or data" in run.stderr
    assert not (tmp_path / "out").exists()


def test_one_spec_is_a_usage_error(tmp_path: Path) -> None:
    run = run_mspec("compare", str(CONCAT), "--data", str(tmp_path / "x.npz"))
    assert run.returncode == 2
    assert "give two or more specs to compare" in run.stderr
