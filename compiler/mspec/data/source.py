"""Open a data file (.npz, .csv, .parquet) and stream its named columns in chunks of rows.

Every reader keeps only one chunk in memory at a time: NPZ arrays are read
row range by row range straight from the archive (never whole), CSV through
pyarrow's streaming reader, Parquet through `ParquetFile.iter_batches`.
pyarrow is imported only when a CSV or Parquet file is opened, so NPZ data
needs only numpy.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

FORMATS = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INSTALL_HINT = "install mspec[data]"
# CSV blocks: pyarrow parses this many bytes at a time (its own default is 1 MiB).
CSV_BLOCK_BYTES = 4 << 20


class DataError(Exception):
    """A data file that cannot be read at all: missing, unreadable, unsupported or corrupt."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def pyarrow_modules():
    """Import pyarrow and the parts mspec uses, or say which extra to install."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError as error:
        raise DataError(f"reading CSV and Parquet files needs pyarrow: {INSTALL_HINT}") from error
    return pa, pc


@dataclass(frozen=True)
class ColumnInfo:
    """What the file says about one column or array before any row is read.

    `text` is true for string (or bytes) values; `rank` is the number of axes of
    one example when the file declares it (NPZ arrays, Parquet fixed-size
    lists), the list nesting depth otherwise (None for CSV, whose cells are scalars
    and whose types are known only once read). `shape` is one example's shape when
    fixed by the file (NPZ).
    """

    name: str
    type: str
    text: bool = False
    rank: int | None = None
    shape: tuple[int, ...] | None = None
    rows: int | None = None


class DataSource:
    """One data file: its format, column (or array) names and row count.

    `rows_read` counts the rows every reader has taken from the file so far
    (per column read); tests use it to check that shards read only their rows.
    """

    format: str = ""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.rows_read = 0

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    @property
    def columns(self) -> dict[str, ColumnInfo]:
        raise NotImplementedError

    @property
    def num_rows(self) -> int:
        raise NotImplementedError

    def read(
        self,
        names: Iterable[str],
        chunk_rows: int,
        start: int = 0,
        stop: int | None = None,
        *,
        text: Iterable[str] = (),
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (first row, {name: values}) for rows [start, stop), at most `chunk_rows` at a time.

        Values are numpy arrays of shape (rows, *example) for NPZ, pyarrow
        Arrays (possibly list-typed) for CSV and Parquet. CSV columns are read
        as float64, except those named in `text`, read as strings.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r}>"


def open_data(path: str | os.PathLike) -> DataSource:
    """Open a data file by its suffix; raise DataError when it cannot be used."""
    text = os.fspath(path)
    suffix = os.path.splitext(text)[1].lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise DataError(
            f"{text}: unsupported data format {suffix or '(no suffix)'!r}: use .npz, .csv or .parquet"
        )
    if not os.path.exists(text):
        raise DataError(f"{text}: no such file")
    if os.path.isdir(text):
        raise DataError(f"{text}: is a directory, not a data file")
    source = {"npz": NpzSource, "csv": CsvSource, "parquet": ParquetSource}[fmt](text)
    try:
        source.columns  # noqa: B018 - read the header now, so that a bad file fails here
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{text}: cannot read as {fmt}: {error}") from error
    except Exception as error:  # pyarrow's ArrowInvalid and friends
        if type(error).__module__.startswith("pyarrow"):
            raise DataError(f"{text}: cannot read as {fmt}: {error}") from error
        raise
    return source


def _bounds(start: int, stop: int | None, total: int) -> tuple[int, int]:
    stop = total if stop is None else min(stop, total)
    return max(0, start), max(0, stop)


# --- NPZ ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One .npy array inside the archive: where its data starts, and its layout."""

    name: str
    member: str
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool
    offset: int

    @property
    def row_bytes(self) -> int:
        return int(self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64)))


class NpzSource(DataSource):
    """A NumPy archive (np.savez or np.savez_compressed): one array per name, rows on axis 0.

    Arrays are read straight from the archive's members, a row range at a time;
    pickled object arrays are refused, never loaded.
    """

    format = "npz"

    @cached_property
    def _members(self) -> dict[str, _Member]:
        members = {}
        with zipfile.ZipFile(self.path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
                    offset = handle.tell()
                name = info.filename[: -len(".npy")]
                if dtype.hasobject:
                    raise DataError(
                        f"{self.path}: array {name!r} holds Python objects (pickled), which mspec "
                        "never loads: save strings as a fixed-width string array (np.str_)"
                    )
                members[name] = _Member(name, info.filename, dtype, tuple(shape), fortran, offset)
        return members

    @cached_property
    def columns(self) -> dict[str, ColumnInfo]:
        return {
            name: ColumnInfo(
                name,
                str(m.dtype),
                text=m.dtype.kind in "US",
                rank=max(len(m.shape) - 1, 0),
                shape=m.shape[1:],
                rows=m.shape[0] if m.shape else None,
            )
            for name, m in self._members.items()
        }

    @property
    def row_counts(self) -> dict[str, int | None]:
        """Each array's number of rows (None for a 0-d array, which has no rows)."""
        return {name: info.rows for name, info in self.columns.items()}

    @property
    def num_rows(self) -> int:
        """The smallest row count of the arrays (they should all be equal)."""
        counts = [n for n in self.row_counts.values() if n is not None]
        return min(counts) if counts else 0

    def read(self, names, chunk_rows, start=0, stop=None, *, text=()):
        names = list(names)
        members = [self._members[name] for name in names]
        counts = [m.shape[0] if m.shape else 0 for m in members]
        begin, end = _bounds(start, stop, min(counts) if counts else 0)
        chunk_rows = max(1, int(chunk_rows))
        with zipfile.ZipFile(self.path) as archive:
            handles = []
            try:
                for m in members:
                    handles.append(self._open_at(archive, m, begin))
                row = begin
                while row < end:
                    count = min(chunk_rows, end - row)
                    chunk = {}
                    for m, handle in zip(members, handles, strict=True):
                        chunk[m.name] = self._rows(handle, m, row, count)
                    self.rows_read += count * len(members)
                    yield row, chunk
                    row += count
            finally:
                for handle in handles:
                    if not isinstance(handle, np.ndarray):
                        handle.close()

    def _open_at(self, archive: zipfile.ZipFile, m: _Member, row: int):
        if m.fortran and len(m.shape) > 1:
            # Column-major data cannot be read by rows: this array is read whole.
            with archive.open(m.member) as handle:
                return np.lib.format.read_array(handle, allow_pickle=False)
        handle = archive.open(m.member)
        handle.seek(m.offset + row * m.row_bytes)
        return handle

    @staticmethod
    def _rows(handle, m: _Member, row: int, count: int) -> np.ndarray:
        if isinstance(handle, np.ndarray):
            return handle[row : row + count]
        size = count * m.row_bytes
        raw = handle.read(size)
        if len(raw) != size:
            raise DataError(f"array {m.name!r} ends early: the archive is truncated")
        return np.frombuffer(raw, dtype=m.dtype).reshape(count, *m.shape[1:])


# --- Parquet -----------------------------------------------------------------


def _arrow_info(name: str, arrow_type, rows: int | None = None) -> ColumnInfo:
    pa, _ = pyarrow_modules()
    rank = 0
    value = arrow_type
    while pa.types.is_list(value) or pa.types.is_large_list(value) or pa.types.is_fixed_size_list(value):
        rank += 1
        value = value.value_type
    text = pa.types.is_string(value) or pa.types.is_large_string(value) or pa.types.is_binary(value)
    text = text or pa.types.is_large_binary(value) or pa.types.is_dictionary(value)
    return ColumnInfo(name, str(arrow_type), text=text, rank=rank, rows=rows)


class ParquetSource(DataSource):
    """A Parquet file: one column per name; list columns hold one sequence (or matrix) per row."""

    format = "parquet"

    @cached_property
    def _file(self):
        pyarrow_modules()
        import pyarrow.parquet as pq

        # Without pre-buffering: pyarrow would otherwise read every requested row group ahead.
        return pq.ParquetFile(self.path, pre_buffer=False)

    @cached_property
    def columns(self) -> dict[str, ColumnInfo]:
        schema = self._file.schema_arrow
        rows = self.num_rows
        return {field.name: _arrow_info(field.name, field.type, rows) for field in schema}

    @property
    def num_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def read(self, names, chunk_rows, start=0, stop=None, *, text=()):
        names = list(names)
        begin, end = _bounds(start, stop, self.num_rows)
        if begin >= end:
            return
        metadata = self._file.metadata
        groups, first = [], None
        row = 0
        for index in range(metadata.num_row_groups):
            size = metadata.row_group(index).num_rows
            if row < end and row + size > begin:
                groups.append(index)
                first = row if first is None else first
            row += size
        if not names or first is None:
            return
        row = first
        batches = self._file.iter_batches(
            batch_size=max(1, int(chunk_rows)), row_groups=groups, columns=names
        )
        for batch in batches:
            count = batch.num_rows
            self.rows_read += count * len(names)
            lo, hi = max(begin, row), min(end, row + count)
            if lo < hi:
                batch = batch.slice(lo - row, hi - lo)
                yield lo, {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
            row += count
            if row >= end:
                break


# --- CSV ---------------------------------------------------------------------


class CsvSource(DataSource):
    """A CSV file with a header line: one scalar value per cell."""

    format = "csv"

    def _reader(self, names: list[str] | None, text=(), *, block: int = CSV_BLOCK_BYTES):
        pa, _ = pyarrow_modules()
        import pyarrow.csv as pacsv

        convert = None
        if names is not None:
            text = set(text)
            convert = pacsv.ConvertOptions(
                include_columns=names,
                column_types={n: pa.string() if n in text else pa.float64() for n in names},
            )
        # A memory map, not a file: pyarrow reads a file ahead into its own buffers, many blocks at once.
        return pacsv.open_csv(
            pa.memory_map(self.path),
            read_options=pacsv.ReadOptions(block_size=block),
            convert_options=convert,
        )

    @cached_property
    def columns(self) -> dict[str, ColumnInfo]:
        # The header (and the types pyarrow infers from the first block, not used).
        reader = self._reader(None, block=1 << 16)
        try:
            names = reader.schema.names
        finally:
            reader.close()
        return {name: ColumnInfo(name, "csv", rank=0) for name in names}

    @cached_property
    def num_rows(self) -> int:
        """Rows counted by a streaming scan of one column, read as text (quoted newlines count right)."""
        if not self.columns:
            return 0
        first = next(iter(self.columns))
        reader = self._reader([first], text=[first])
        try:
            return sum(batch.num_rows for batch in reader)
        finally:
            reader.close()

    def read(self, names, chunk_rows, start=0, stop=None, *, text=()):
        names = list(names)
        if not names:
            return
        begin = max(0, start)
        reader = self._reader(names, text)
        try:
            row = 0
            for batch in reader:
                count = batch.num_rows
                self.rows_read += count * len(names)
                lo, hi = max(begin, row), row + count if stop is None else min(stop, row + count)
                # A CSV block may hold many more rows than a chunk: hand it out in chunks.
                while lo < hi:
                    size = min(int(chunk_rows), hi - lo)
                    piece = batch.slice(lo - row, size)
                    yield lo, {name: piece.column(i) for i, name in enumerate(piece.schema.names)}
                    lo += size
                row += count
                if stop is not None and row >= stop:
                    break
        finally:
            reader.close()
