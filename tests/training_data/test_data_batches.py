"""Streaming bound data: shards cover every row once, list columns become dense arrays, bounded memory."""

from __future__ import annotations

import itertools
import tracemalloc
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from mspec.data import DataError, bind, iter_batches, load_arrays, open_data, shard_range  # noqa: E402
from mspec.pipeline import check_bytes  # noqa: E402

TABULAR = """
[model]
name = "tabular"

[inputs.num]
shape = [2]
columns = ["row", "x"]

[inputs.cat]
shape = [1]
dtype = "int32"

[branches.c]
from = "cat"
layers = [{ type = "Embedding", input_dim = 10, output_dim = 4 }, { type = "Flatten" }]

[merges.joined]
type = "Concatenate"
from = ["num", "c"]

[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"
"""

SEQUENCES = """
[model]
name = "sequences"

[inputs.tokens]
shape = [6]
dtype = "int32"

[inputs.frames]
shape = [4, 3]

[branches.t]
from = "tokens"
layers = [{ type = "Embedding", input_dim = 50, output_dim = 4 }, { type = "GlobalAveragePooling1D" }]

[branches.f]
from = "frames"
layers = [{ type = "GlobalAveragePooling1D" }]

[merges.joined]
type = "Concatenate"
from = ["t", "f"]

[outputs.y]
from = "joined"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
"""


def checked(text: str):
    result = check_bytes(text.encode(), "spec.toml")
    assert result.ok, [d.format() for d in result.diagnostics]
    return result


def tabular(rows: int) -> dict:
    return {
        "row": np.arange(rows, dtype=np.float64),
        "x": np.linspace(0, 1, rows),
        "cat": np.arange(rows) % 10,
        "y": np.arange(rows) % 3,
    }


def write(fmt: str, columns: dict, folder: Path, *, row_group: int = 100) -> Path:
    path = folder / f"data.{fmt}"
    if fmt == "npz":
        np.savez(path, **columns)
    else:
        table = pa.table(columns)
        if fmt == "parquet":
            pq.write_table(table, path, row_group_size=row_group)
        else:
            pacsv.write_csv(table, path)
    return path


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
@pytest.mark.parametrize(("shards", "batch"), [(1, 64), (3, 50), (4, 7), (7, 1000)])
def test_shards_cover_every_row_once(tmp_path: Path, fmt: str, shards: int, batch: int) -> None:
    rows = 1003
    source = open_data(write(fmt, tabular(rows), tmp_path))
    binding, diagnostics = bind(checked(TABULAR), source)
    assert not diagnostics and source.num_rows == rows
    seen = []
    for index in range(shards):
        for x, y in iter_batches(source, binding, batch, index, shards):
            assert len(x["num"]) <= batch and len(y["y"]) == len(x["num"]) == len(x["cat"])
            assert x["num"].shape[1:] == (2,) and x["num"].dtype == np.float32
            assert x["cat"].shape[1:] == (1,) and x["cat"].dtype == np.int32
            assert y["y"].dtype == np.int32
            np.testing.assert_array_equal(x["cat"][:, 0], x["num"][:, 0].astype(int) % 10)
            seen.append(x["num"][:, 0].astype(int))
    order = np.concatenate(seen)
    np.testing.assert_array_equal(np.sort(order), np.arange(rows))  # every row exactly once
    np.testing.assert_array_equal(order, np.arange(rows))  # contiguous shards, in order


def test_shard_range_is_contiguous_and_exhaustive() -> None:
    for total in (0, 1, 10, 101):
        for count in (1, 2, 3, 8):
            ranges = [shard_range(total, i, count) for i in range(count)]
            assert ranges[0][0] == 0 and ranges[-1][1] == total
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    with pytest.raises(ValueError):
        shard_range(10, 2, 2)


def test_batches_are_full_but_the_last(tmp_path: Path) -> None:
    source = open_data(write("parquet", tabular(250), tmp_path, row_group=30))
    binding, _ = bind(checked(TABULAR), source)
    sizes = [len(x["num"]) for x, _ in iter_batches(source, binding, 64)]
    assert sizes == [64, 64, 64, 58]
    x, y = next(iter_batches(source, binding, 10, outputs=False))
    assert y == {} and set(x) == {"num", "cat"}


@pytest.mark.parametrize("fmt", ["npz", "csv", "parquet"])
def test_load_arrays_whole_and_slice(tmp_path: Path, fmt: str) -> None:
    source = open_data(write(fmt, tabular(300), tmp_path))
    binding, _ = bind(checked(TABULAR), source)
    x, y = load_arrays(source, binding)
    assert x["num"].shape == (300, 2) and y["y"].shape == (300,)
    x, y = load_arrays(source, binding, rows=slice(120, 135))
    np.testing.assert_array_equal(x["num"][:, 0], np.arange(120, 135))
    np.testing.assert_array_equal(y["y"], np.arange(120, 135) % 3)


def sequence_table(rows: int, *, fixed: bool) -> pa.Table:
    tokens = (np.arange(rows * 6).reshape(rows, 6) % 50).astype(np.int64)
    frames = np.arange(rows * 12, dtype=np.float64).reshape(rows, 4, 3)
    if fixed:
        token_column = pa.FixedSizeListArray.from_arrays(pa.array(tokens.reshape(-1)), 6)
        inner = pa.FixedSizeListArray.from_arrays(pa.array(frames.reshape(-1)), 3)
        frame_column = pa.FixedSizeListArray.from_arrays(inner, 4)
    else:
        token_column = pa.array([list(r) for r in tokens])
        frame_column = pa.array([[list(step) for step in r] for r in frames])
    return pa.table({"tokens": token_column, "frames": frame_column, "y": np.arange(rows) % 2})


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed_size_list", "list"])
def test_parquet_list_columns_become_sequences(tmp_path: Path, fixed: bool) -> None:
    rows = 90
    path = tmp_path / "seq.parquet"
    pq.write_table(sequence_table(rows, fixed=fixed), path, row_group_size=40)
    source = open_data(path)
    result = checked(SEQUENCES)
    binding, diagnostics = bind(result, source)
    assert not diagnostics
    x, y = load_arrays(source, binding)
    assert x["tokens"].shape == (rows, 6) and x["tokens"].dtype == np.int32
    assert x["frames"].shape == (rows, 4, 3) and x["frames"].dtype == np.float32
    np.testing.assert_array_equal(x["frames"][5], np.arange(60, 72).reshape(4, 3))
    assert y["y"].dtype == np.float32
    batches = list(iter_batches(source, binding, 32, 1, 2))
    np.testing.assert_array_equal(np.concatenate([b[0]["tokens"] for b in batches]), x["tokens"][45:])

    from mspec.data import check_data

    assert check_data(result, path) == []


def test_ragged_sequences_are_reported_and_refused(tmp_path: Path) -> None:
    table = sequence_table(50, fixed=False)
    tokens = table.column("tokens").to_pylist()
    tokens[7] = tokens[7][:4]
    table = table.set_column(0, "tokens", pa.array(tokens))
    path = tmp_path / "ragged.parquet"
    pq.write_table(table, path)
    result = checked(SEQUENCES)
    from mspec.data import check_data

    found = [d for d in check_data(result, path) if d.code == "MS505"]
    assert found and "row 7" in found[0].message and "'tokens'" in found[0].message
    source = open_data(path)
    binding, _ = bind(result, source)
    with pytest.raises(DataError, match="tokens"):
        list(iter_batches(source, binding, 16))


def _stream_peak(source, binding, batch: int) -> tuple[int, int, int]:
    """Iterate every batch; return (rows seen, tracemalloc peak, largest pyarrow allocation)."""
    tracemalloc.start()
    arrow_peak = pa.total_allocated_bytes()
    rows = 0
    try:
        for x, _ in iter_batches(source, binding, batch):
            rows += len(x["num"])
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak, arrow_peak


WIDE = TABULAR.replace('shape = [2]\ncolumns = ["row", "x"]', "shape = [64]")


def _wide(rows: int) -> dict:
    return {
        "num": np.random.default_rng(1).random((rows, 64)),
        "cat": np.arange(rows) % 10,
        "y": np.arange(rows) % 3,
    }


def test_npz_streaming_memory_is_bounded_by_the_batch(tmp_path: Path) -> None:
    rows = 100_000  # 51 MB of float64 in `num`
    path = tmp_path / "wide.npz"
    np.savez(path, **_wide(rows))
    source = open_data(path)
    binding, _ = bind(checked(WIDE), source)
    seen, peak, _ = _stream_peak(source, binding, 100)
    assert seen == rows
    # One chunk of 1024 rows of 64 float64 is 0.5 MB: reading whole arrays would need 51 MB.
    assert peak < 8 << 20, peak
    assert source.rows_read == rows * 3


def test_parquet_streaming_memory_is_bounded_and_shards_read_their_rows(tmp_path: Path) -> None:
    rows = 100_000
    columns = _wide(rows)
    table = pa.table(
        {
            "num": pa.FixedSizeListArray.from_arrays(pa.array(columns["num"].reshape(-1)), 64),
            "cat": columns["cat"],
            "y": columns["y"],
        }
    )
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path, row_group_size=2000)
    del table, columns
    source = open_data(path)
    binding, _ = bind(checked(WIDE), source)
    before = pa.total_allocated_bytes()
    seen, peak, arrow_peak = _stream_peak(source, binding, 100)
    assert seen == rows
    assert peak < 8 << 20, peak
    assert arrow_peak - before < 16 << 20, arrow_peak - before  # the file holds 51 MB of `num`
    # A shard reads only the row groups that hold its rows.
    source = open_data(path)
    list(iter_batches(source, binding, 100, 1, 4))
    assert source.rows_read <= (rows // 4 + 2000) * 3


def test_csv_streaming_memory_is_bounded(tmp_path: Path) -> None:
    rows = 30_000
    columns = _wide(rows)
    table = {f"c{i}": columns["num"][:, i] for i in range(64)}
    table.update(cat=columns["cat"], y=columns["y"])
    path = tmp_path / "wide.csv"
    pacsv.write_csv(pa.table(table), path)
    spec = WIDE.replace(
        "shape = [64]", f"shape = [64]\ncolumns = {[f'c{i}' for i in range(64)]!r}".replace("'", '"')
    )
    source = open_data(path)
    binding, _ = bind(checked(spec), source)
    assert path.stat().st_size > 30 << 20
    before = pa.total_allocated_bytes()
    seen, peak, arrow_peak = _stream_peak(source, binding, 100)
    assert seen == rows
    assert peak < 16 << 20, peak
    assert arrow_peak - before < 24 << 20, arrow_peak - before


def test_pickled_npz_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, num=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="never loads"):
        open_data(path)
