"""Wide files and odd CSV files: columns picked by name, one finding per root cause, long headers.

`columns = { prefix = "..." }` and `{ glob = "..." }` pick an input's columns
in the file's order (never the labels or a column named elsewhere); a table
picking none, or picking a number of columns other than the last dimension,
is a located finding in `lint --data` and `fit`. A CSV file without a header
line, or separated by ';' or tabs, is one MS501 finding, not one per column.
A header longer than pyarrow's first block is read whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from click.testing import CliRunner  # noqa: E402

from mspec.api import check_text  # noqa: E402
from mspec.cli import main  # noqa: E402
from mspec.data import bind, iter_batches, load_arrays, open_data  # noqa: E402

ROWS = 40
SPEC = """\
[model]
name = "wide"

[inputs.pixels]
shape = [4]
columns = { glob = "px_*" }

[inputs.demo]
shape = [2]
columns = { prefix = "demographics_" }

[inputs.age]
shape = [1]

[merges.joined]
type = "Concatenate"
from = ["pixels", "demo", "age"]

[outputs.label]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""
LINES = SPEC.splitlines()


def at(line: str, col: int) -> str:
    """`spec.toml:LINE:COL:` of the spec line `line`."""
    return f"spec.toml:{LINES.index(line) + 1}:{col}:"


PIXELS_AT = at('columns = { glob = "px_*" }', 11)
DEMO_AT = at('columns = { prefix = "demographics_" }', 11)
FIRST_INPUT_AT = at("[inputs.pixels]", 1)


def wide_columns(rows: int = ROWS) -> dict[str, np.ndarray]:
    """Pixels and demographics interleaved, so that the file's order is not the sorted order."""
    rng = np.random.default_rng(0)
    return {
        "id": np.arange(rows, dtype=np.float64),
        "px_3": rng.random(rows),
        "demographics_income": rng.random(rows),
        "px_0": rng.random(rows),
        "age": rng.random(rows),
        "px_2": rng.random(rows),
        "demographics_age": rng.random(rows),
        "px_1": rng.random(rows),
        "label": rng.integers(0, 2, rows).astype(np.float64),
    }


def write(fmt: str, columns: dict[str, np.ndarray], folder: Path, name: str = "data") -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "npz":
        np.savez(path, **columns)
    elif fmt == "parquet":
        pq.write_table(pa.table(columns), path)
    else:
        pacsv.write_csv(pa.table(columns), path)
    return path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec.toml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(data: Path, spec: str = "spec.toml"):
    return CliRunner().invoke(main, ["lint", spec, "--data", data.name])


def error_lines(output: str, code: str) -> list[str]:
    return [line for line in output.splitlines() if f" {code} error: " in line]


# --- columns picked by name -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "npz"])
def test_tables_pick_columns_in_the_file_order(folder: Path, fmt: str) -> None:
    columns = wide_columns()
    data = write(fmt, columns, folder)
    result = lint(data)
    assert result.exit_code == 0, result.output
    # 'id' is the only column left over.
    assert "1 column binds" in result.output or "1 array binds" in result.output, result.output
    assert "'id'" in result.output
    source = open_data(data)
    binding, _ = bind(check_text(SPEC, name="spec.toml"), source)
    assert binding.inputs["pixels"].columns == ("px_3", "px_0", "px_2", "px_1")
    assert binding.inputs["demo"].columns == ("demographics_income", "demographics_age")
    x, y = load_arrays(source, binding)
    expected = np.stack([columns[c] for c in ("px_3", "px_0", "px_2", "px_1")], axis=-1)
    np.testing.assert_array_equal(x["pixels"], expected.astype(np.float32))
    streamed = np.concatenate([batch["pixels"] for batch, _ in iter_batches(source, binding, 16)])
    np.testing.assert_array_equal(streamed, x["pixels"])
    np.testing.assert_array_equal(y["label"], columns["label"].astype(np.float32))


def test_a_table_never_picks_the_labels_or_a_named_column(folder: Path) -> None:
    spec = SPEC.replace('columns = { glob = "px_*" }', 'columns = { glob = "*" }').replace(
        "shape = [4]", "shape = [7]"
    )
    (folder / "every.toml").write_text(spec)
    data = write("csv", wide_columns(), folder)
    result = lint(data, "every.toml")
    assert result.exit_code == 0, result.output
    assert "MS502" not in result.output  # every column is bound
    binding, _ = bind(check_text(spec, name="every.toml"), open_data(data))
    # Every column but the labels and 'age' (an input that reads its own name). The columns
    # `demo` picks with its own table are taken by both: tables do not exclude each other.
    assert binding.inputs["pixels"].columns == (
        "id", "px_3", "demographics_income", "px_0", "px_2", "demographics_age", "px_1"
    )  # fmt: skip


def test_a_table_that_picks_nothing_is_located_with_the_names_it_nearly_picks(folder: Path) -> None:
    columns = wide_columns()
    columns = {k.replace("demographics_", "Demographics_"): v for k, v in columns.items()}
    result = lint(write("csv", columns, folder))
    assert result.exit_code == 1, result.output
    found = error_lines(result.output, "MS501")
    assert found == [
        f"{DEMO_AT} MS501 error: input 'demo': no column of data.csv matches "
        '{ prefix = "demographics_" } (columns near it: '
        "'Demographics_income', 'Demographics_age'; correct the prefix)"
    ], result.output


def test_a_misspelt_prefix_suggests_the_close_names(folder: Path) -> None:
    columns = {k.replace("demographics_", "demografics_"): v for k, v in wide_columns().items()}
    result = lint(write("parquet", columns, folder))
    assert result.exit_code == 1
    (line,) = error_lines(result.output, "MS501")
    assert line.startswith(f"{DEMO_AT} MS501 error: input 'demo': no column of data.parquet matches")
    assert "(columns near it: 'demografics_income', 'demografics_age'; correct the prefix)" in line


def test_a_glob_that_picks_nothing_lists_the_file_when_nothing_is_near(folder: Path) -> None:
    columns = {k.replace("px_", "pixel"): v for k, v in wide_columns().items()}
    result = lint(write("npz", columns, folder))
    (line,) = error_lines(result.output, "MS501")
    assert line.startswith(f"{PIXELS_AT} MS501 error: input 'pixels': no array of data.npz matches")
    assert '{ glob = "px_*" }' in line and "correct the pattern" in line
    assert "'pixel3'" in line


def test_picking_other_than_the_last_dimension_is_ms505(folder: Path) -> None:
    columns = wide_columns()
    columns["px_4"] = columns["px_0"] * 2
    result = lint(write("csv", columns, folder))
    assert result.exit_code == 1, result.output
    assert error_lines(result.output, "MS505") == [
        f"{PIXELS_AT} MS505 error: input 'pixels' stacks 5 column(s) (the columns of data.csv that "
        "{ glob = \"px_*\" } picks: 'px_3', 'px_0', 'px_2', 'px_1', 'px_4') along its last axis, "
        "but the last dimension of its shape is 4 (make the last dimension 5, or pick 4 columns)"
    ], result.output


TOKENS_SPEC = """\
[model]
name = "tokens"

[inputs.tokens]
shape = ["length"]
dtype = "int32"
columns = { prefix = "t" }

[branches.e]
from = "tokens"
layers = [{ type = "Embedding", input_dim = 10, output_dim = 2 }, { type = "GlobalAveragePooling1D" }]

[outputs.label]
from = "e"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def test_an_unknown_last_dimension_takes_any_number_of_picked_columns(folder: Path) -> None:
    rng = np.random.default_rng(3)
    columns = {f"t{i}": rng.integers(0, 10, ROWS) for i in range(6)}
    columns["label"] = rng.integers(0, 2, ROWS)
    data = write("parquet", columns, folder)
    (folder / "tokens.toml").write_text(TOKENS_SPEC)
    result = lint(data, "tokens.toml")
    assert result.exit_code == 0, result.output
    source = open_data(data)
    binding, _ = bind(check_text(TOKENS_SPEC, name="tokens.toml"), source)
    x, _ = load_arrays(source, binding)
    assert x["tokens"].shape == (ROWS, 6) and x["tokens"].dtype == np.int32


def spec_errors(columns: str, shape: str = "[4]") -> list[str]:
    text = SPEC.replace('columns = { glob = "px_*" }', f"columns = {columns}").replace(
        "shape = [4]", f"shape = {shape}"
    )
    return [d.format() for d in check_text(text, name="spec.toml").diagnostics]


@pytest.mark.parametrize(
    ("columns", "shape", "expected"),
    [
        (
            '{ prefix = "a", glob = "b*" }',
            "[4]",
            f"{PIXELS_AT} MS105 error: input 'pixels' key 'columns': give one of `prefix` or `glob`",
        ),
        (
            "{}",
            "[4]",
            f"{PIXELS_AT} MS105 error: input 'pixels' key 'columns': give one of `prefix` or `glob`",
        ),
        (
            '{ prefix = "" }',
            "[4]",
            'the text to match is empty: to take every other column, write { glob = "*" }',
        ),
        ('{ prefx = "a" }', "[4]", "MS101 error: unknown key 'prefx' in input 'pixels'"),
        ("{ glob = 3 }", "[4]", "MS103 error: input 'pixels' key 'glob' should be a valid string, got 3"),
        (
            '"px_*"',
            "[4]",
            f"{PIXELS_AT} MS103 error: input 'pixels' key 'columns' should be a list of column names, "
            'or a table { prefix = "..." } or { glob = "..." }, got string \'px_*\'',
        ),
        (
            '{ glob = "px_*" }',
            "[]",
            f"{PIXELS_AT} MS105 error: input 'pixels' stacks the columns {{ glob = \"px_*\" }} picks "
            "along its last axis, but its shape is [] (give it shape [N], N the number of columns it picks)",
        ),
    ],
)
def test_a_bad_table_is_a_spec_error(columns: str, shape: str, expected: str) -> None:
    found = spec_errors(columns, shape)
    assert len(found) == 1 and expected in found[0], found


def test_the_list_form_is_checked_as_before() -> None:
    assert spec_errors('["a", "b", "c", "d"]') == []
    assert spec_errors('["a", "b", "c"]') == [
        f"{PIXELS_AT} MS105 error: input 'pixels' stacks 3 column(s) along its last axis, but the last "
        "dimension of its shape is 4 (list 4 columns, or make the last dimension 3)"
    ]
    assert spec_errors('["a", "a", "b", "c"]') == [
        f"spec.toml:{PIXELS_AT.split(':')[1]}:17: MS105 error: input 'pixels' lists column 'a' twice"
    ]
    assert spec_errors("[]") == [
        f"{PIXELS_AT} MS104 error: input 'pixels' key 'columns' List should have at least 1 item after "
        "validation, not 0, got a list"
    ]


def test_the_schema_takes_a_list_or_one_table() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from mspec.backends.schema import spec_schema

    schema = spec_schema()
    base = {
        "model": {"name": "m"},
        "inputs": {"x": {"shape": [2]}},
        "outputs": {"y": {"from": "x"}},
    }
    for columns in (["a", "b"], {"prefix": "a_"}, {"glob": "a_*"}):
        base["inputs"]["x"]["columns"] = columns
        jsonschema.validate(base, schema)
        assert check_text(__import__("json").dumps(base), fmt="json").ok
    for columns in ({"prefix": "a", "glob": "b"}, {}, {"prefix": ""}, {"prefx": "a"}, [], "a"):
        base["inputs"]["x"]["columns"] = columns
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(base, schema)
        assert not check_text(__import__("json").dumps(base), fmt="json").ok


# --- one root cause, one finding ------------------------------------------------------------


def write_text_csv(folder: Path, name: str, columns: dict[str, np.ndarray], sep: str, header: bool) -> Path:
    path = folder / name
    lines = [sep.join(columns)] if header else []
    lines += [sep.join(repr(float(v[i])) for v in columns.values()) for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def shown(path: Path) -> str:
    """The file's first line as a finding quotes it: cut to 60 characters."""
    line = path.read_text().split("\n", 1)[0]
    return repr(line if len(line) <= 60 else line[:57] + "...")


def test_a_csv_without_a_header_is_one_finding(folder: Path) -> None:
    data = write_text_csv(folder, "data.csv", wide_columns(), ",", header=False)
    result = lint(data)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"{FIRST_INPUT_AT} MS501 error: data.csv has no header line: its first line {shown(data)} holds "
        "numbers, not column names, so none of the columns the spec binds is found (add a first line "
        "naming the columns, e.g. age,income,label: mspec binds columns by name)",
        "1 file checked: 1 error, 0 warnings",
    ]


@pytest.mark.parametrize(("sep", "named"), [(";", "';'"), ("\t", "'\\t'")])
@pytest.mark.parametrize("decimal_comma", [False, True])
def test_a_csv_with_another_delimiter_is_one_finding(
    folder: Path, sep: str, named: str, decimal_comma: bool
) -> None:
    data = write_text_csv(folder, "data.csv", wide_columns(), sep, header=True)
    if decimal_comma:  # as such files are often written: every row then also splits at its commas
        data.write_text(data.read_text().replace(".", ","))
    result = lint(data)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"{FIRST_INPUT_AT} MS501 error: data.csv is not comma-separated: its header line {shown(data)} "
        f"holds {named} between names, so none of the columns the spec binds is found "
        "(mspec reads comma-separated files: save the file with ',' between cells)",
        "1 file checked: 1 error, 0 warnings",
    ]


def test_some_missing_columns_are_still_reported_one_by_one(folder: Path) -> None:
    columns = wide_columns()
    del columns["age"], columns["label"]
    result = lint(write("csv", columns, folder))
    found = error_lines(result.output, "MS501")
    assert len(found) == 2 and "no column 'age'" in found[0] and "no column 'label'" in found[1], found


# --- long headers ---------------------------------------------------------------------------

WIDE_SPEC = """\
[model]
name = "very_wide"

[inputs.features]
shape = [4999]
columns = { prefix = "feature_number_" }

[outputs.label]
from = "features"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def test_a_header_longer_than_the_first_block_is_read(folder: Path) -> None:
    names = [f"feature_number_{i:05d}" for i in range(4999)] + ["label"]
    values = np.random.default_rng(2).random((20, 4999))
    labels = np.arange(20) % 2
    data = folder / "wide.csv"
    rows = [
        ",".join(f"{v:.4f}" for v in row) + f",{label}" for row, label in zip(values, labels, strict=True)
    ]
    data.write_text(",".join(names) + "\n" + "\n".join(rows) + "\n")
    assert len(",".join(names)) > 64 << 10  # longer than the 64 KiB that used to hold the header
    (folder / "wide.toml").write_text(WIDE_SPEC)
    result = lint(data, "wide.toml")
    assert result.exit_code == 0, result.output
    source = open_data(data)
    assert list(source.columns) == names
    binding, _ = bind(check_text(WIDE_SPEC, name="wide.toml"), source)
    x, y = load_arrays(source, binding)
    assert x["features"].shape == (20, 4999)
    np.testing.assert_allclose(x["features"], values.round(4).astype(np.float32))
    np.testing.assert_array_equal(y["label"], labels)


# --- the same through `mspec fit`, which stops before any framework -------------------------


def fit(folder: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "mspec",
            "fit",
            "spec.toml",
            "--data",
            data.name,
            "-o",
            "out",
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def frameworks(stderr: str) -> set[str]:
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in stderr.splitlines() if "|" in line}
    return modules & {"tensorflow", "keras", "jax"}


@pytest.mark.slow
@pytest.mark.parametrize("case", ["nothing_picked", "headerless"])
def test_fit_reports_the_same_finding_before_any_framework(folder: Path, case: str) -> None:
    columns = wide_columns()
    if case == "nothing_picked":
        columns = {k.replace("demographics_", "Demographics_"): v for k, v in columns.items()}
        data = write("csv", columns, folder)
        expected = f"{DEMO_AT} MS501 error: input 'demo': no column of data.csv matches"
    else:
        data = write_text_csv(folder, "data.csv", columns, ",", header=False)
        expected = f"{FIRST_INPUT_AT} MS501 error: data.csv has no header line"
    done = fit(folder, data)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stdout.splitlines() if " error: " in line]
    assert len(errors) == 1 and errors[0].startswith(expected), done.stdout
    assert "Traceback" not in done.stderr and not frameworks(done.stderr)
    assert not (folder / "out").exists()


@pytest.mark.keras
@pytest.mark.slow
def test_fit_trains_on_columns_picked_by_name(folder: Path) -> None:
    pytest.importorskip("keras")
    import mspec

    data = write("csv", wide_columns(200), folder)
    trained = mspec.fit(folder / "spec.toml", data, epochs=1, seed=0, verbose=0, log=lambda _: None)
    shapes = {tensor.name.split(":")[0]: tuple(tensor.shape) for tensor in trained.model.inputs}
    assert shapes == {"pixels": (None, 4), "demo": (None, 2), "age": (None, 1)}, shapes
    assert len(trained.history["loss"]) == 1
