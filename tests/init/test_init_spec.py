"""mspec init: the spec written for a data file reads every column as its values call for, says why,
lints and binds to that file with no finding, and bad requests end in one line, nothing written.

No framework is needed: fitting the written specs is tested in test_init_fit.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("pyarrow")

import pyarrow as pa
import pyarrow.parquet as pq

import mspec
from mspec.cli import main
from mspec.pipeline import check_training_data
from mspec.scaffold.kinds import embedding_width

from support.commands import NO_FRAMEWORK, run_mspec
from support.golden import check_golden
from support.init_data import (
    LEFT_OUT,
    ROWS,
    SEQUENCE,
    TARGETS,
    churn_columns,
    scalar_columns,
    write_csv,
    write_npz,
    write_parquet,
)
from support.paths import ROOT

GOLDEN = Path(__file__).parent / "golden_churn.toml"


@pytest.fixture(scope="module")
def columns() -> dict[str, object]:
    return churn_columns()


@pytest.fixture
def parquet(tmp_path: Path, columns: dict[str, object]) -> Path:
    return write_parquet(tmp_path / "churn.parquet", columns)


def clean(spec: Path, data: Path) -> list[str]:
    """Every finding of `mspec lint` and of `mspec lint --data` on the spec written."""
    checked = mspec.check(spec)
    found = [d.format() for d in checked.diagnostics]
    if checked.ok:
        found += [d.format() for d in check_training_data(checked, data)]
    return found


def steps(document: dict, branch: str) -> list[dict]:
    return document["branches"][branch]["layers"]


def bound_columns(document: dict, available: list[str]) -> set[str]:
    """The columns the spec's inputs read, by name, list or prefix."""
    bound = set()
    for name, entry in document["inputs"].items():
        picked = entry.get("columns")
        if picked is None:
            bound.add(name)
        elif isinstance(picked, dict):
            bound |= {c for c in available if c.startswith(picked["prefix"])}
        else:
            bound |= set(picked)
    return bound


def test_the_spec_written_lints_and_binds_with_no_finding(tmp_path: Path, parquet: Path) -> None:
    result = mspec.init(parquet, TARGETS, output=tmp_path / "churn.toml")
    assert result.diagnostics == [] and result.path == tmp_path / "churn.toml"
    assert clean(result.path, parquet) == []


def test_each_column_is_read_as_its_values_call_for(parquet: Path, columns: dict) -> None:
    document = tomllib.loads(mspec.init(parquet, TARGETS).text)
    inputs = document["inputs"]
    # Numbers named alike are picked by their prefix; the other numbers are listed together.
    assert inputs["usage"]["columns"] == {"prefix": "usage_"} and inputs["usage"]["shape"] == [3]
    assert inputs["numeric"]["columns"] == ["age", "is_premium"]
    assert [s["type"] for s in steps(document, "numeric_features")] == ["Normalization", "Dense"]
    # Dense ids: an Embedding with a row per id up to the largest.
    region = steps(document, "region_id_features")[0]
    assert region["type"] == "Embedding" and region["input_dim"] == columns["region_id"].max() + 1
    assert inputs["region_id"]["dtype"] == "int32"
    # Ids spread thin over their range: looked up first, one row per id seen (and one for unseen ids).
    seen = len(np.unique(columns["store_code"]))
    lookup, embedding, _ = steps(document, "store_code_features")
    assert lookup == {"type": "IntegerLookup", "max_tokens": seen + 1}
    assert embedding["input_dim"] == seen + 1
    # Small codes (ratings 1 to 5) are ids too.
    assert steps(document, "rating_features")[0]["input_dim"] == columns["rating"].max() + 1
    # Categories as text: a lookup adapted by fit, then an Embedding.
    assert inputs["plan"]["dtype"] == "string"
    assert steps(document, "plan_features")[0]["type"] == "StringLookup"
    # A sequence of ids, 0 padding: masked, then averaged; a sequence of numbers: normalized.
    assert inputs["categories"]["shape"] == [SEQUENCE]
    ids, pooling = steps(document, "categories_features")
    assert ids["mask_zero"] is True and ids["input_dim"] == columns["categories"].max() + 1
    assert pooling["type"] == "GlobalAveragePooling1D"
    assert [s["type"] for s in steps(document, "amounts_features")] == ["Normalization", "Dense"]
    # One output per target, as its labels call for.
    outputs = document["outputs"]
    assert outputs["churned"]["loss"] == "binary_crossentropy"
    assert outputs["churned"]["layers"][-1]["activation"] == "sigmoid"
    assert outputs["segment"]["loss"] == "sparse_categorical_crossentropy"
    assert outputs["segment"]["layers"][-1]["units"] == columns["segment"].max() + 1
    assert outputs["spend"]["loss"] == "mse" and "activation" not in outputs["spend"]["layers"][-1]
    # Beside other outputs, a regression loss is scaled to start near 1.
    assert outputs["spend"]["loss_weight"] == pytest.approx(1 / columns["spend"].var(), rel=0.01)
    assert document["train"]["validation_split"] > 0 and document["train"]["early_stopping"]


def test_columns_that_cannot_be_read_are_left_out_with_their_reason(parquet: Path, columns: dict) -> None:
    result = mspec.init(parquet, TARGETS)
    document = tomllib.loads(result.text)
    assert not bound_columns(document, list(columns)) & set(LEFT_OUT)
    assert {f.column for f in result.findings} == set(LEFT_OUT)
    for finding in result.findings:
        assert LEFT_OUT[finding.column] in finding.message, finding.message
        # ... and the spec says so too, in its comments.
        assert re.search(rf"^#\s+{finding.column}: .*{LEFT_OUT[finding.column]}", result.text, re.M)
    # The data's left-out columns are not reported as unbound when the data is checked.
    assert document["lint"]["ignore"] == ["MS502"]


def test_comments_say_why_each_choice_was_made(parquet: Path, columns: dict) -> None:
    text = mspec.init(parquet, TARGETS).text
    distinct = len(np.unique(columns["region_id"]))
    width, _ = embedding_width(distinct)
    assert f"output_dim = {width} }},  # embedding {width}: {distinct} distinct ids" in text
    assert "# region_id: whole numbers from 0 to" in text and "its name ends in 'id'" in text
    assert "# rating: whole numbers from 1 to 5, 5 distinct values: small codes" in text
    assert "# churned: binary: labels 0 and 1" in text
    assert f"# segment: {columns['segment'].max() + 1} classes" in text
    assert "# spend: regression" in text


def test_embedding_widths_follow_the_cardinality() -> None:
    # The power of two nearest distinct ** 0.4, from 4 to 32.
    assert embedding_width(1240)[0] == 16  # 1240 ** 0.4 = 17.3
    assert embedding_width(200)[0] == 8  # 8.3
    assert embedding_width(3)[0] == 4  # 1.6, raised to the least width
    assert embedding_width(10**6)[0] == 32  # 251, lowered to the greatest
    assert "embedding 16: 1,240 distinct ids" in embedding_width(1240)[1]


def test_no_branch_overwhelms_another(tmp_path: Path) -> None:
    # 60 unrelated numbers (the widest numeric branch) beside three codes (the narrowest embedding).
    rng = np.random.default_rng(1)
    table = {f"m{i}x": rng.normal(size=80) for i in range(60)}
    table |= {"level": rng.integers(0, 3, size=80), "label": rng.integers(0, 2, size=80)}
    data = write_parquet(tmp_path / "wide.parquet", table)
    result = mspec.init(data, ["label"], output=tmp_path / "wide.toml")
    document = tomllib.loads(result.text)
    assert document["inputs"]["numeric"]["shape"] == [60] and "level" in document["inputs"]
    assert clean(result.path, data) == []  # no MS712 (concatenate imbalance) among them


def test_csv_and_npz_files_give_specs_that_bind(tmp_path: Path, columns: dict) -> None:
    csv = write_csv(tmp_path / "churn.csv", columns)
    result = mspec.init(csv, TARGETS, output=tmp_path / "from_csv.toml")
    document = tomllib.loads(result.text)
    # CSV has no types: whole numbers named as ids are ids all the same.
    assert steps(document, "region_id_features")[0]["type"] == "Embedding"
    assert {f.column for f in result.findings} == set(LEFT_OUT) & set(scalar_columns(columns))
    assert clean(result.path, csv) == []
    npz = write_npz(tmp_path / "churn.npz", columns)
    result = mspec.init(npz, TARGETS, output=tmp_path / "from_npz.toml")
    document = tomllib.loads(result.text)
    assert document["inputs"]["categories"]["shape"] == [SEQUENCE]
    assert clean(result.path, npz) == []


def test_a_directory_of_parquet_files_is_one_data_set(tmp_path: Path, columns: dict) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    table = pq.read_table(write_parquet(tmp_path / "all.parquet", columns))
    pq.write_table(table.slice(0, ROWS // 2), folder / "part-0.parquet")
    pq.write_table(table.slice(ROWS // 2), folder / "part-1.parquet")
    result = mspec.init(folder, TARGETS, output=tmp_path / "parts.toml")
    assert result.name == "parts" and result.rows == ROWS
    assert clean(result.path, folder) == []


def test_the_same_file_gives_the_same_spec_in_toml_and_json(tmp_path: Path, columns: dict) -> None:
    first = mspec.init(write_parquet(tmp_path / "a.parquet", columns), TARGETS, name="churn").text
    again = mspec.init(write_parquet(tmp_path / "b.parquet", columns), TARGETS, name="churn").text
    assert first.replace("a.parquet", "b.parquet") == again
    as_json = mspec.init(tmp_path / "a.parquet", TARGETS, fmt="json", name="churn").text
    assert json.loads(as_json) == tomllib.loads(first)


def test_golden_spec(tmp_path: Path, columns: dict, monkeypatch, update_golden: bool) -> None:
    monkeypatch.chdir(tmp_path)
    write_parquet(Path("churn.parquet"), columns)
    check_golden(GOLDEN, mspec.init("churn.parquet", TARGETS).text, update_golden)


def run(*args: str, cwd: Path) -> tuple[int, str]:
    """`mspec init ARGS` run in a new folder under `cwd`: exit status, output, and the specs in the folder."""
    folder = cwd / f"run{len(list(cwd.glob('run*')))}"
    folder.mkdir()
    with contextlib.chdir(folder):
        result = CliRunner().invoke(main, ["init", *args], catch_exceptions=False)
    written = sorted(p.name for p in folder.iterdir() if p.suffix in (".toml", ".json"))
    return result.exit_code, result.output + f"\nWRITTEN: {written}"


def test_the_default_output_is_named_after_the_data(tmp_path: Path, parquet: Path) -> None:
    code, output = run("--data", str(parquet), "--target", "churned", cwd=tmp_path)
    assert code == 0, output
    assert "wrote churn.toml" in output and "WRITTEN: ['churn.toml']" in output
    assert "mspec: warning: column 'notes' left out: free text" in output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--target", "churnd"], "target 'churnd': {data} has no column 'churnd' (did you mean 'churned'?)"),
        (["--target", "country"], "target 'country' holds text"),
        (
            ["--target", "churned", "--exclude", "emial"],
            "--exclude 'emial': {data} has no column 'emial' (did you mean 'email'?)",
        ),
    ],
)
def test_a_target_or_column_the_data_cannot_give_is_refused(
    tmp_path: Path, parquet: Path, arguments: list[str], expected: str
) -> None:
    code, output = run("--data", str(parquet), *arguments, cwd=tmp_path)
    assert code == 1
    assert f"mspec: not written: {expected.format(data=parquet)}" in output
    assert "WRITTEN: []" in output


def test_a_target_with_one_value_is_refused(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "flat.parquet", {"x": np.arange(20.0), "y": np.ones(20)})
    code, output = run("--data", str(data), "--target", "y", cwd=tmp_path)
    assert code == 1 and "target 'y' holds one value (1) in every row" in output
    assert "WRITTEN: []" in output


def test_empty_and_unreadable_files_end_in_one_line(tmp_path: Path, parquet: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(parquet.read_bytes()[:200])
    for data, code, words in [
        (empty, 2, "the file is empty (0 bytes)"),
        (header_only, 1, "holds no rows"),
        (truncated, 2, "cannot read as parquet"),
        (tmp_path / "missing.parquet", 2, "no such file"),
    ]:
        ended = run_mspec("init", "--data", str(data), "--target", "a", "-o", str(tmp_path / "out.toml"))
        assert ended.returncode == code, ended.stderr
        assert ended.stderr.startswith("mspec: not written: ") and words in ended.stderr
        assert "Traceback" not in ended.stderr and ended.stdout == NO_FRAMEWORK
        assert not (tmp_path / "out.toml").exists()


def test_an_existing_spec_is_replaced_only_with_force(tmp_path: Path, parquet: Path) -> None:
    spec = tmp_path / "churn.toml"
    spec.write_text("# mine\n")
    code, output = run("--data", str(parquet), "--target", "churned", "-o", str(spec), cwd=tmp_path)
    assert code == 1 and "exists: give --force to replace it" in output
    assert spec.read_text() == "# mine\n"
    code, output = run(
        "--data", str(parquet), "--target", "churned", "-o", str(spec), "--force", cwd=tmp_path
    )
    assert code == 0 and spec.read_text().startswith("# A first spec written by `mspec init`")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_the_api_refuses_a_missing_target_before_writing(tmp_path: Path, parquet: Path) -> None:
    with pytest.raises(mspec.InitError, match="did you mean 'spend'"):
        mspec.init(parquet, ["spent"], output=tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()


def test_a_list_target_and_a_target_with_missing_labels_are_refused(tmp_path: Path) -> None:
    table = pa.table(
        {"x": np.arange(10.0), "seq": pa.array([[1, 2]] * 10), "y": pa.array([0.0, 1.0] * 4 + [None, 1.0])}
    )
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(mspec.InitError, match="holds lists"):
        mspec.init(tmp_path / "t.parquet", ["seq"])
    with pytest.raises(mspec.InitError, match="1 row of 10 without a usable label"):
        mspec.init(tmp_path / "t.parquet", ["y"])


def test_without_the_data_extra_init_says_what_to_install(tmp_path: Path, parquet: Path) -> None:
    # The core install (pre-commit's) has neither numpy nor pyarrow: the command line still loads.
    code = (
        "import sys\n"
        "sys.modules['numpy'] = sys.modules['pyarrow'] = None\n"
        "from mspec.cli import main\n"
        "main(sys.argv[1:], prog_name='mspec')\n"
    )
    arguments = ["init", "--data", str(parquet), "--target", "churned", "-o", str(tmp_path / "x.toml")]
    ended = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True)
    assert ended.returncode == 2
    assert ended.stderr == (
        "mspec: not written: reading the data needs numpy, which is not installed; "
        "install the extra with: pip install 'mspec[data]'\n"
    )


def test_the_readme_tour_shows_what_init_writes(tmp_path: Path) -> None:
    from make_data import churn
    from make_data import write_parquet as write_arrays

    data = Path("build/data/churn.parquet")
    with contextlib.chdir(tmp_path):
        write_arrays(data, churn(4000))  # what `python specs/data/make_data.py` writes
        ended = CliRunner().invoke(main, ["init", "--data", str(data), "--target", "churned"])
        text = Path("churn.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A short tour")[1].split("## Training")[0]
    assert ended.exit_code == 0 and ended.output.strip() in tour
    shown = tour.split("```toml\n")[1].split("```")[0]
    assert set(shown.splitlines()) - {""} <= set(text.splitlines())
