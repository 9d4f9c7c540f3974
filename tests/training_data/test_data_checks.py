"""`mspec lint SPEC --data PATH`: one broken data file per check, in every format it applies to.

Each finding must exit 1, name the input or output and the data file and
column, and point at the spec line of the input or output it binds to.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from click.testing import CliRunner  # noqa: E402

from mspec.cli import main  # noqa: E402

ROWS = 200
SPEC = """\
[model]
name = "churn"

[inputs.num]
shape = [3]
columns = ["age", "income", "tenure"]

[inputs.tokens]
shape = [5]
dtype = "int32"
columns = ["t0", "t1", "t2", "t3", "t4"]

[inputs.flag]
shape = [1]

[branches.t]
from = "tokens"
layers = [
  { type = "Embedding", input_dim = 100, output_dim = 8, mask_zero = true },
  { type = "GlobalAveragePooling1D" },
]

[merges.joined]
type = "Concatenate"
from = ["num", "t", "flag"]

[outputs.label]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"

[outputs.kind]
from = "joined"
layers = [{ type = "Dense", units = 4, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"
column = "klass"
"""
LINES = SPEC.splitlines()
FORMATS = ("npz", "csv", "parquet")
# The data codes come from data files, not specs: tests/cases/ cannot hold them, this file tests each.
DATA_CODES = {
    "MS501", "MS502", "MS503", "MS504", "MS505", "MS506", "MS507", "MS508", "MS509",
}  # fmt: skip


def spec_line(entry: str, key: str | None = None) -> int:
    """The 1-based line of `[entry]`, or of `key = ` within it."""
    start = LINES.index(f"[{entry}]")
    if key is None:
        return start + 1
    return next(i for i in range(start, len(LINES)) if LINES[i].startswith(f"{key} =")) + 1


def good_columns(rows: int = ROWS) -> dict:
    rng = np.random.default_rng(0)
    columns = {
        "age": rng.random(rows),
        "income": rng.random(rows),
        "tenure": rng.random(rows),
        "flag": rng.integers(0, 2, rows).astype(np.float64),
        "label": rng.integers(0, 2, rows).astype(np.float64),
        "klass": rng.integers(0, 4, rows),
    }
    for i in range(5):
        columns[f"t{i}"] = rng.integers(0, 100, rows)
    return columns


def write(fmt: str, columns: dict, folder: Path, name: str = "data") -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "npz":
        np.savez(path, **columns)
    else:
        table = pa.table({k: v if isinstance(v, pa.Array) else _arrow(v) for k, v in columns.items()})
        if fmt == "parquet":
            pq.write_table(table, path, row_group_size=64)
        else:
            pacsv.write_csv(table, path)
    return path


def _arrow(array):
    if array.ndim == 1:
        return pa.array(array)
    return pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1)), array.shape[1])


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec.toml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(data: Path, *extra: str):
    return CliRunner().invoke(main, ["lint", "spec.toml", "--data", data.name, *extra])


def assert_finding(result, code: str, line: int, *words: str) -> str:
    """Exit 1, no traceback, and a `spec.toml:LINE:COL: CODE error` line naming every word."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    found = [x for x in result.output.splitlines() if f" {code} error: " in x]
    assert found, result.output
    matching = [x for x in found if x.startswith(f"spec.toml:{line}:")]
    assert matching, (line, found)
    for word in words:
        assert word in matching[0], (word, matching[0])
    return matching[0]


@pytest.mark.parametrize("fmt", FORMATS)
def test_good_data_passes(folder: Path, fmt: str) -> None:
    result = lint(write(fmt, good_columns(), folder))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("1 file checked: 0 errors, 0 warnings")


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_column(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["flags"] = columns.pop("flag")
    data = write(fmt, columns, folder)
    line = assert_finding(lint(data), "MS501", spec_line("inputs.flag"), "input 'flag'", data.name, "'flag'")
    assert "did you mean 'flags'?" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_listed_column_points_at_columns(folder: Path, fmt: str) -> None:
    columns = good_columns()
    del columns["t3"]
    data = write(fmt, columns, folder)
    assert_finding(lint(data), "MS501", spec_line("inputs.tokens", "columns"), "input 'tokens'", "'t3'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_label_column_points_at_column_key(folder: Path, fmt: str) -> None:
    columns = good_columns()
    del columns["klass"]
    data = write(fmt, columns, folder)
    assert_finding(lint(data), "MS501", spec_line("outputs.kind", "column"), "output 'kind'", "'klass'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_extra_column_is_a_warning(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["customer_id"] = np.arange(ROWS)
    result = lint(write(fmt, columns, folder))
    assert result.exit_code == 0, result.output
    assert " MS502 warning: " in result.output and "'customer_id'" in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_rows(folder: Path, fmt: str) -> None:
    data = write(fmt, good_columns(0), folder)
    assert_finding(lint(data), "MS503", spec_line("inputs.num"), data.name, "no rows")


def test_npz_row_counts_differ(folder: Path) -> None:
    columns = good_columns()
    columns["flag"] = columns["flag"][:150]
    data = write("npz", columns, folder)
    assert_finding(lint(data), "MS504", spec_line("inputs.flag"), "input 'flag'", "'flag'", "150 rows")


@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_example_shape(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["flag"] = np.zeros((ROWS, 2))  # the input takes one value per row
    data = write(fmt, columns, folder)
    assert_finding(lint(data), "MS505", spec_line("inputs.flag"), "input 'flag'", "'flag'", data.name, "(1,)")


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_where_numbers_are_expected(folder: Path, fmt: str) -> None:
    columns = good_columns()
    ages = columns["age"].astype(str)
    ages[17] = "forty"
    columns["age"] = ages
    data = write(fmt, columns, folder)
    line = assert_finding(
        lint(data), "MS506", spec_line("inputs.num", "columns"), "input 'num'", "'age'", data.name, "text"
    )
    if fmt == "csv":
        assert "row 17" in line and "'forty'" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_fractional_ids(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["t2"] = columns["t2"].astype(np.float64)
    columns["t2"][5] = 2.5
    data = write(fmt, columns, folder)
    line = assert_finding(
        lint(data), "MS506", spec_line("inputs.tokens", "columns"), "input 'tokens'", "'t2'"
    )
    assert "row 5" in line and "Embedding" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_nan_and_infinity(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["flag"][9] = np.inf
    data = write(fmt, columns, folder)
    line = assert_finding(lint(data), "MS507", spec_line("inputs.flag"), "input 'flag'", "'flag'", data.name)
    assert "row 9" in line


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_values(folder: Path, fmt: str) -> None:
    columns = good_columns()
    income = columns["income"].tolist()
    income[3] = None
    columns["income"] = pa.array(income)
    data = write(fmt, columns, folder)
    line = assert_finding(lint(data), "MS507", spec_line("inputs.num", "columns"), "input 'num'", "'income'")
    assert "missing values" in line and "row 3" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_nan_labels(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["label"][4] = np.inf
    data = write(fmt, columns, folder)
    assert_finding(lint(data), "MS507", spec_line("outputs.label"), "output 'label'", "'label'")


@pytest.mark.parametrize("fmt", FORMATS)
def test_ids_out_of_range(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["t0"][[7, 8]] = [100, 250]
    columns["t4"][11] = -3
    data = write(fmt, columns, folder)
    result = lint(data)
    line = assert_finding(result, "MS508", spec_line("inputs.tokens", "columns"), "input 'tokens'", "'t0'")
    assert "ids up to 250" in line and "2 values" in line and "row 7" in line and "input_dim = 100" in line
    assert "0 is the padding id" in line and "at least 251" in line
    assert any("'t4'" in x and "negative ids down to -3" in x for x in result.output.splitlines())


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_labels_outside_0_1(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["label"][12] = 2
    data = write(fmt, columns, folder)
    line = assert_finding(
        lint(data), "MS509", spec_line("outputs.label"), "output 'label'", "'label'", data.name
    )
    assert "binary_crossentropy" in line and "row 12" in line


@pytest.mark.parametrize("fmt", FORMATS)
def test_class_index_outside_units(folder: Path, fmt: str) -> None:
    columns = good_columns()
    columns["klass"][20] = 4
    data = write(fmt, columns, folder)
    line = assert_finding(
        lint(data), "MS509", spec_line("outputs.kind", "column"), "output 'kind'", "'klass'"
    )
    assert "[0, 4)" in line and "row 20" in line


@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_one_hot_width(folder: Path, fmt: str) -> None:
    spec = SPEC.replace('loss = "sparse_categorical_crossentropy"', 'loss = "categorical_crossentropy"')
    (folder / "spec.toml").write_text(spec)
    columns = good_columns()
    columns["klass"] = np.eye(3)[columns["klass"] % 3]  # 3 wide, the output has 4 units
    data = write(fmt, columns, folder)
    line = assert_finding(
        lint(data), "MS509", spec_line("outputs.kind", "column"), "output 'kind'", "'klass'"
    )
    assert "(4,)" in line


def test_json_format_and_spec_errors_first(folder: Path) -> None:
    columns = good_columns()
    columns["klass"][0] = 9
    result = lint(write("npz", columns, folder), "--format", "json")
    assert result.exit_code == 1
    assert '"code": "MS509"' in result.output
    # A spec with errors: its data is not checked.
    (folder / "spec.toml").write_text(SPEC.replace("units = 4", "units = 0"))
    result = lint(folder / "data.npz")
    assert result.exit_code == 1 and "MS104" in result.output and "MS509" not in result.output


def test_unreadable_data_exits_2(folder: Path) -> None:
    for name, text in (("missing.parquet", None), ("data.txt", "x"), ("broken.parquet", "not parquet")):
        if text is not None:
            (folder / name).write_text(text)
        result = lint(folder / name)
        assert result.exit_code == 2, result.output
        assert name in result.output and "Traceback" not in result.output


def test_data_needs_one_spec(folder: Path) -> None:
    result = CliRunner().invoke(main, ["lint", "spec.toml", "spec.toml", "--data", "x.npz"])
    assert result.exit_code == 2 and "one spec file" in result.output


def test_lint_data_imports_no_framework(folder: Path) -> None:
    data = write("parquet", good_columns(), folder)
    code = (
        "import sys\n"
        "from mspec.cli import main\n"
        "try:\n"
        f"    main(['lint', 'spec.toml', '--data', {data.name!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_lint_without_data_imports_no_data_reader(folder: Path) -> None:
    code = (
        "import sys\n"
        "from mspec.cli import main\n"
        "try:\n"
        "    main(['lint', 'spec.toml'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('pyarrow', 'mspec.data', 'tensorflow', 'keras', 'jax') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_data_code_is_tested() -> None:
    from mspec.diagnostics import CODES

    assert {code for code in CODES if code.startswith("MS5")} == DATA_CODES
    source = Path(__file__).read_text()
    untested = [code for code in sorted(DATA_CODES) if source.count(code) < 2]
    assert not untested, f"data codes without a test: {untested}"
