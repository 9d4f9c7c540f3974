"""Data sets of many Parquet files (a directory, a glob): read as one, checked per file, sharded by file.

The same rows written as one file and as a data set of parts must check,
train and explain alike; findings name the part file and the row in it; a
part whose schema differs, an empty directory and a pattern matching nothing
are said to be so; a shard reads only the parts (and row groups) holding it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from click.testing import CliRunner  # noqa: E402

from mspec.cli import main  # noqa: E402
from mspec.data import (  # noqa: E402
    DataError,
    ParquetDataset,
    bind,
    check_data,
    dataset_sha256,
    iter_batches,
    list_parts,
    load_arrays,
    open_data,
)
from mspec.pipeline import check_bytes  # noqa: E402
from mspec.training.feeding import shard_rows  # noqa: E402

from support.commands import NO_FRAMEWORK, run_mspec  # noqa: E402

SPEC = """\
[model]
name = "parts"

[inputs.num]
shape = [2]
columns = ["a", "b"]

[inputs.seq]
shape = [3]

[merges.joined]
type = "Concatenate"
from = ["num", "seq"]

[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""
LINES = SPEC.splitlines()
# Rows per part: part-0 .. part-2, written so that their names sort wrongly as text (part-10).
PART_ROWS = {"part-2": 30, "part-10": 25, "part-33": 45}
ROW_GROUP_ROWS = 10


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(LINES) if line.startswith(text)) + 1


def columns(rows: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    a, b = rng.random(rows), rng.random(rows)
    return {
        "a": a,
        "b": b,
        "seq": rng.random((rows, 3)),
        "y": (a + b > 1).astype(np.float64),
    }


def table(data: dict) -> pa.Table:
    arrays = {}
    for name, values in data.items():
        if isinstance(values, pa.Array):
            arrays[name] = values
        elif values.ndim == 2:
            arrays[name] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def write_parts(folder: Path, edit=None, whole: bool = True) -> tuple[Path, Path]:
    """Parts in folder/parts/ (a _SUCCESS marker and a hidden file too), their rows in folder/all.parquet."""
    parts = folder / "parts"
    parts.mkdir(parents=True)
    pieces = []
    for seed, (name, rows) in enumerate(PART_ROWS.items()):
        data = columns(rows, seed)
        if edit is not None:
            data = edit(name, data)
        pieces.append(data)
        pq.write_table(table(data), parts / f"{name}.parquet", row_group_size=ROW_GROUP_ROWS)
    (parts / "_SUCCESS").write_bytes(b"")
    (parts / ".part-2.parquet.crc").write_bytes(b"\x00\x01")
    if whole:
        rows = {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}
        pq.write_table(table(rows), folder / "all.parquet", row_group_size=ROW_GROUP_ROWS)
    return parts, folder / "all.parquet"


def checked():
    result = check_bytes(SPEC.encode(), "spec.toml")
    assert result.ok, [d.format() for d in result.diagnostics]
    return result


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "spec.toml").write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def lint(data: str):
    return CliRunner().invoke(main, ["lint", "spec.toml", "--data", data])


# --- which files, in which order ------------------------------------------------------------


def test_parts_are_read_in_natural_order_of_their_paths_as_the_one_file(folder: Path) -> None:
    _, whole = write_parts(folder)
    assert [part.relative for part in list_parts("parts")] == [
        "part-2.parquet", "part-10.parquet", "part-33.parquet"
    ]  # fmt: skip
    result = checked()
    for data in ("parts", "parts/*.parquet", "part*/part-*.*"):
        source = open_data(data)
        assert isinstance(source, ParquetDataset)
        assert source.num_rows == sum(PART_ROWS.values())
        assert source.names == ["a", "b", "seq", "y"]
        x, y = load_arrays(source, bind(result, source)[0])
        one = open_data(whole)
        x_one, y_one = load_arrays(one, bind(result, one)[0])
        for name in x_one:
            np.testing.assert_array_equal(x[name], x_one[name])
        np.testing.assert_array_equal(y["y"], y_one["y"])


def test_batches_across_part_boundaries_are_the_rows_of_the_one_file(folder: Path) -> None:
    _, whole = write_parts(folder)
    result = checked()
    source, one = open_data("parts"), open_data(whole)
    rows = slice(22, 71)  # from part-2 through part-10 into part-33
    got = list(iter_batches(source, bind(result, source)[0], 7, rows=rows))
    want = list(iter_batches(one, bind(result, one)[0], 7, rows=rows))
    assert [len(y["y"]) for _, y in got] == [7] * 7
    for (x, y), (x_one, y_one) in zip(got, want, strict=True):
        np.testing.assert_array_equal(x["num"], x_one["num"])
        np.testing.assert_array_equal(y["y"], y_one["y"])


def test_a_subdirectory_is_read_and_skipped_names_are_left_out(folder: Path) -> None:
    write_parts(folder)
    (folder / "parts" / "more").mkdir()
    pq.write_table(table(columns(5, 9)), folder / "parts" / "more" / "part-1.parquet")
    (folder / "parts" / "_tmp").mkdir()
    (folder / "parts" / "_tmp" / "notes.txt").write_text("not data")
    relative = [part.relative for part in list_parts("parts")]
    assert relative == ["more/part-1.parquet", "part-2.parquet", "part-10.parquet", "part-33.parquet"]
    assert open_data("parts").num_rows == sum(PART_ROWS.values()) + 5


# --- lint names the file of each finding ------------------------------------------------------


def broken(name: str, data: dict) -> dict:
    if name == "part-10":
        data["b"][7] = np.nan  # row 30 + 7 = 37 of the data set
    if name == "part-33":
        data["y"][3] = 2.0  # row 55 + 3 = 58 of the data set
    return data


@pytest.mark.parametrize("data", ["parts", "parts/*.parquet"])
def test_lint_names_the_part_file_and_its_row(folder: Path, data: str) -> None:
    write_parts(folder, broken)
    done = lint(data)
    assert done.exit_code == 1, done.output
    lines = [line for line in done.output.splitlines() if " error: " in line]
    assert len(lines) == 2, done.output
    nan, label = sorted(lines, key=lambda line: "MS509" in line)
    assert nan.startswith(f"spec.toml:{line_of('columns')}:")
    assert "MS507 error: input 'num': column 'b' of " + data in nan
    assert "1 value, the first in row 7 of parts/part-10.parquet (row 37 of the data set)" in nan
    assert label.startswith(f"spec.toml:{line_of('[outputs.y]')}:1: MS509 error: output 'y': column 'y'")
    assert "the first in row 3 of parts/part-33.parquet (row 58 of the data set)" in label


def test_lint_of_the_same_rows_in_one_file_keeps_its_wording(folder: Path) -> None:
    _, whole = write_parts(folder, broken)
    done = lint(whole.name)
    assert done.exit_code == 1, done.output
    assert "column 'b' of all.parquet has NaN or infinite values: 1 value, the first in row 37 (nan)" in (
        done.output
    )
    assert "1 value, the first in row 58 (values from 2 to 2)" in done.output
    assert "of the data set" not in done.output


def test_lint_of_a_clean_data_set_finds_nothing(folder: Path) -> None:
    write_parts(folder)
    done = lint("parts")
    assert done.exit_code == 0, done.output
    assert "0 errors, 0 warnings" in done.output


# --- a part unlike the others ------------------------------------------------------------------


def test_a_part_lacking_a_bound_column_is_named(folder: Path) -> None:
    write_parts(
        folder,
        lambda name, data: {k: v for k, v in data.items() if name != "part-33" or k != "b"},
        whole=False,
    )
    done = lint("parts")
    assert done.exit_code == 1, done.output
    (line,) = [line for line in done.output.splitlines() if " error: " in line]
    assert f"spec.toml:{line_of('columns')}:" in line
    assert (
        "MS501 error: input 'num': 1 of the 3 files of parts lacks column 'b': 'parts/part-33.parquet'"
        in line
    )
    assert "parts/part-2.parquet has it" in line


def test_a_part_holding_text_where_the_others_hold_numbers_is_named(folder: Path) -> None:
    def text(name: str, data: dict) -> dict:
        if name == "part-10":
            data["a"] = pa.array([f"{v:.3f}" for v in data["a"]])
        return data

    write_parts(folder, text, whole=False)
    done = lint("parts/*.parquet")
    assert done.exit_code == 1, done.output
    (line,) = [line for line in done.output.splitlines() if " error: " in line]
    assert (
        "MS506 error: input 'num': column 'a' of parts/part-10.parquet holds text (string), "
        "but parts/part-2.parquet of the same data set holds numbers (double)"
    ) in line


def test_a_part_with_lists_of_another_size_is_named_and_reading_it_fails(folder: Path) -> None:
    def wider(name: str, data: dict) -> dict:
        if name == "part-33":
            data["seq"] = np.zeros((len(data["seq"]), 4))
        return data

    write_parts(folder, wider, whole=False)
    result = checked()
    diagnostics = check_data(result, "parts")
    assert [d.code for d in diagnostics if d.is_error] == ["MS505"]
    assert "column 'seq' of parts/part-33.parquet holds lists of numbers (fixed_size_list" in (
        diagnostics[0].message
    )
    source = open_data("parts")
    binding, _ = bind(result, source)
    assert "seq" in binding.missing  # never read by the checks nor by training
    with pytest.raises(DataError, match=r"^parts/part-33\.parquet: column 'seq' holds lists of numbers"):
        list(source.read(["seq"], 100))


def test_widths_of_numbers_may_differ_and_a_part_of_nulls_is_missing_values(folder: Path) -> None:
    def narrow(name: str, data: dict) -> dict:
        if name == "part-2":
            data["a"] = pa.array(data["a"], type=pa.float32())
        if name == "part-10":
            data["b"] = pa.nulls(len(data["b"]))
        return data

    write_parts(folder, narrow, whole=False)
    diagnostics = check_data(checked(), "parts")
    assert [d.code for d in diagnostics] == ["MS507"], [d.format() for d in diagnostics]
    assert (
        "column 'b' of parts has missing values (null): 25 values, "
        "the first in row 0 of parts/part-10.parquet (row 30 of the data set)"
    ) in diagnostics[0].message


def test_a_damaged_part_is_named(folder: Path) -> None:
    write_parts(folder)
    part = folder / "parts" / "part-10.parquet"
    part.write_bytes(part.read_bytes()[:-20])
    done = lint("parts")
    assert done.exit_code == 2, done.output
    assert "mspec: parts/part-10.parquet: cannot read as parquet: " in done.output
    assert "Traceback" not in done.output


# --- nothing to read ------------------------------------------------------------------------------


def test_an_empty_directory_or_a_pattern_matching_nothing_is_said_so(folder: Path) -> None:
    (folder / "empty").mkdir()
    (folder / "empty" / "_SUCCESS").write_bytes(b"")
    done = lint("empty")
    assert done.exit_code == 2, done.output
    assert "mspec: empty: is a directory but holds no Parquet file (named .parquet or .pq;" in done.output
    done = lint("nothing/*.parquet")
    assert done.exit_code == 2, done.output
    assert "mspec: nothing/*.parquet: no Parquet file matches the pattern" in done.output


def test_other_files_in_a_data_set_are_named(folder: Path) -> None:
    write_parts(folder)
    (folder / "parts" / "readme.txt").write_text("the parts")
    (folder / "parts" / "extra.csv").write_text("a,b\n1,2\n")
    done = lint("parts")
    assert done.exit_code == 2, done.output
    assert (
        "mspec: parts: the directory holds files that are not Parquet files: "
        "'parts/extra.csv', 'parts/readme.txt'"
    ) in done.output
    done = lint("parts/*")
    assert done.exit_code == 2, done.output
    assert "the pattern matches files that are not Parquet files" in done.output
    assert "narrow the pattern (e.g. 'parts/*.parquet')" in done.output


@pytest.mark.slow
@pytest.mark.parametrize("command", ["fit", "explain"])
def test_fit_and_explain_on_nothing_exit_2_before_any_framework(folder: Path, command: str) -> None:
    (folder / "empty").mkdir()
    (folder / "model.keras").write_bytes(b"")
    model = ["--model", "model.keras"] if command == "explain" else []
    for data, said in (("empty", "is a directory but holds no Parquet file"), ("no/*.pq", "matches")):
        done = run_mspec(command, "spec.toml", *model, "--data", data, "-o", str(folder / "out"))
        assert done.returncode == 2, done.stderr
        assert f": {data}: " in done.stderr and said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout.endswith(NO_FRAMEWORK), done.stdout
    assert not (folder / "out").exists()


# --- shards read only their parts -------------------------------------------------------------------


@pytest.mark.parametrize("processes", [2, 3, 4])
def test_each_process_reads_only_the_parts_and_row_groups_holding_its_rows(
    folder: Path, processes: int
) -> None:
    _, whole = write_parts(folder)
    result = checked()
    total = sum(PART_ROWS.values())
    one = open_data(whole)
    seen = []
    for index in range(processes):
        source = open_data("parts")
        binding, _ = bind(result, source)
        rows = shard_rows(slice(0, total), (index, processes))
        x, y = load_arrays(source, binding, rows=rows)
        x_one, y_one = load_arrays(one, bind(result, one)[0], rows=rows)
        np.testing.assert_array_equal(x["num"], x_one["num"])
        np.testing.assert_array_equal(y["y"], y_one["y"])
        seen.append(len(y["y"]))
        # Each part read holds some of the shard's rows; the others are not read at all.
        for part, start, stop in zip(source.parts, source.starts, source.starts[1:], strict=False):
            holds = start < rows.stop and rows.start < stop
            assert (part.rows_read > 0) == holds, (part.path, rows, part.rows_read)
        # Whole row groups only: at most one group's slack at each end of the shard, per column read.
        columns_read = 4
        assert source.rows_read <= (rows.stop - rows.start + 2 * ROW_GROUP_ROWS) * columns_read
        assert source.rows_read < total * columns_read
    assert seen == [total // processes] * processes


def test_a_data_set_is_opened_with_its_files_closed(folder: Path) -> None:
    write_parts(folder)
    source = open_data("parts")
    result = checked()
    load_arrays(source, bind(result, source)[0], rows=slice(0, 5))
    assert all("_file" not in part.__dict__ for part in source.parts)


# --- the run record's fingerprint ----------------------------------------------------------------------


def test_the_fingerprint_hashes_paths_sizes_and_bytes(folder: Path) -> None:
    import hashlib

    write_parts(folder)
    lines = ""
    for name in PART_ROWS:
        data = (folder / "parts" / f"{name}.parquet").read_bytes()
        lines += f"{name}.parquet\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n"
    expected = hashlib.sha256(lines.encode()).hexdigest()
    assert dataset_sha256("parts") == dataset_sha256("parts/*.parquet") == expected
    (folder / "parts" / "_SUCCESS").write_text("written later")  # skipped: the fingerprint is unchanged
    assert dataset_sha256("parts") == expected
    (folder / "parts" / "part-2.parquet").rename(folder / "parts" / "part-99.parquet")
    assert dataset_sha256("parts") != expected  # the same bytes, in another order


# --- fit and explain -------------------------------------------------------------------------------------


@pytest.mark.keras
@pytest.mark.slow
def test_fit_and_explain_on_a_directory_match_the_one_file(folder: Path) -> None:
    pytest.importorskip("keras")
    import mspec
    from mspec.explain import explain
    from mspec.training import record

    parts, whole = write_parts(folder)
    (folder / "held").mkdir()
    held = columns(40, 7)
    pq.write_table(table({k: v[:15] for k, v in held.items()}), folder / "held" / "a.parquet")
    pq.write_table(table({k: v[15:] for k, v in held.items()}), folder / "held" / "b.parquet")
    pq.write_table(table(held), folder / "held.parquet")

    def quiet_fit(data, validation, out):
        return mspec.fit(
            folder / "spec.toml", data, validation=validation, output_dir=folder / out,
            seed=3, epochs=2, batch_size=16, verbose=0, log=lambda _: None,
        )  # fmt: skip

    by_parts = quiet_fit(parts, folder / "held", "by_parts")
    by_file = quiet_fit(whole, folder / "held.parquet", "by_file")
    for a, b in zip(by_parts.model.get_weights(), by_file.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert by_parts.history == by_file.history
    assert by_parts.run["data"] == {"path": str(parts), "sha256": dataset_sha256(parts)}
    assert by_file.run["data"]["sha256"] == record.sha256_of(whole)
    assert by_parts.run["validation_data"]["sha256"] == dataset_sha256(folder / "held")

    on_parts = explain(folder / "spec.toml", by_file.model, folder / "held", seed=1, repeats=2)
    on_file = explain(folder / "spec.toml", by_file.model, folder / "held.parquet", seed=1, repeats=2)
    assert on_parts.rows == on_file.rows == 40
    for name, report in on_file.outputs.items():
        assert on_parts.outputs[name].baseline_loss == report.baseline_loss
        for input_name, score in report.inputs.items():
            assert on_parts.outputs[name].inputs[input_name].repeats == score.repeats

    done = CliRunner().invoke(
        main,
        ["explain", "spec.toml", "--model", "by_file/parts.keras", "--data", "held/*.parquet",
         "--format", "json", "--repeats", "2", "--seed", "1"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["rows"] == 40


@pytest.mark.keras
@pytest.mark.slow
def test_streamed_from_a_directory_validates_on_every_held_out_row(folder: Path) -> None:
    """Streamed (rows read a window at a time) or in memory, the same batches: the same losses.

    The held-out rows (the last 30 of 100, batches of 16) start inside a batch of the file:
    each is validated once, however the windows fall.
    """
    pytest.importorskip("keras")
    import mspec

    (folder / "spec.toml").write_text(SPEC + "\n[train]\nshuffle = false\nvalidation_split = 0.3\n")
    parts, _ = write_parts(folder)
    runs = {}
    for stream in (True, False):
        runs[stream] = mspec.fit(
            folder / "spec.toml", parts, stream=stream,
            seed=3, epochs=2, batch_size=16, verbose=0, log=lambda _: None,
        )  # fmt: skip
    streamed, in_memory = runs[True].history, runs[False].history
    assert streamed.keys() == in_memory.keys() >= {"loss", "val_loss"}
    for key, values in in_memory.items():
        assert streamed[key] == pytest.approx(values, rel=1e-5), key


def test_two_reads_at_once_never_share_an_open_file(folder: Path) -> None:
    """Training and validation batches may be read in two threads: a read ends closing only its files."""
    write_parts(folder)
    source = open_data("parts")
    first, second = source.read(["a", "seq"], 4), source.read(["a", "seq"], 4)
    assert next(first)[0] == next(second)[0] == 0
    first.close()
    rows = [(row, len(chunk["a"])) for row, chunk in second]
    assert rows[0] == (4, 4) and sum(count for _, count in rows) == sum(PART_ROWS.values()) - 4
    assert source.rows_read == (sum(PART_ROWS.values()) + 4) * 2  # two columns
