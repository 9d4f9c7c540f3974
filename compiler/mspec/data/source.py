"""Open a data file (.npz, .csv, .parquet) and stream its named columns in chunks of rows.

Every reader keeps only one chunk in memory at a time: NPZ arrays are read
row range by row range straight from the archive (never whole), CSV through
pyarrow's streaming reader, Parquet through `ParquetFile.iter_batches`.
pyarrow is imported only when a CSV or Parquet file is opened, so NPZ data
needs only numpy. A directory or a glob pattern is a data set of many
Parquet files (mspec.data.dataset), read as one source.

A file that cannot be read, wherever that is found (its header, the check's
full scan, a batch half way through training), raises DataError: one line
naming the file, where in it (row group and column, array, line) and why.
The readers' own exceptions are turned into it here, once, for every caller.
"""

from __future__ import annotations

import codecs
import csv
import math
import mmap
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

FORMATS = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INSTALL_HINT = "install mspec[data]"
# CSV blocks: pyarrow parses this many bytes at a time (its own default is 1 MiB).
CSV_BLOCK_BYTES = 4 << 20


class DataError(Exception):
    """A data file that cannot be read at all: missing, unreadable, unsupported or corrupt.

    The message names the file, what could not be read in it and why:
    "data.parquet: cannot read as parquet: row group 0, column 'x': Unexpected end of stream".
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CsvNumberError(DataError):
    """A CSV column read as numbers holds a cell that is not one (`column` names it).

    The data checks catch it to read that column again as text and count its bad cells.
    """

    def __init__(self, message: str, column: str):
        super().__init__(message)
        self.column = column


# What the readers raise on a file they cannot read, besides pyarrow's own errors: the OS's,
# numpy's .npy header parser's (ValueError), the zip archive's and its decompressor's.
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    NotImplementedError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
)
# Modules whose every exception is about the bytes being read (pyarrow's ArrowException and
# its subclasses; a compressed zip member's decompressors).
READ_ERROR_MODULES = ("pyarrow", "zipfile", "zlib", "lzma", "_lzma", "bz2", "_bz2")
# A reason longer than this is cut: pyarrow quotes whole rows, which may be megabytes long.
REASON_CHARS = 300


def is_read_error(error: BaseException) -> bool:
    """Whether an exception says that a file's bytes could not be read (not a fault of mspec's own)."""
    if isinstance(error, READ_ERRORS):
        return True
    return type(error).__module__.split(".")[0] in READ_ERROR_MODULES


def reason(error: BaseException) -> str:
    """An exception as one short printable line: several lines joined, control characters escaped."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror  # "Permission denied", without the path said twice
    elif isinstance(error, UnicodeDecodeError):
        text = f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})"
    else:
        text = str(error) or type(error).__name__
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


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

    Every failure to read the file, when it is opened or at any later read,
    is raised as a DataError naming the file (`reading` turns the readers'
    own exceptions into one): callers never see a reader's traceback.
    Subclasses implement `_columns`, `_num_rows` and `_read`.

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

    @cached_property
    def columns(self) -> dict[str, ColumnInfo]:
        with self.reading(opening=True):
            return self._columns()

    @cached_property
    def num_rows(self) -> int:
        with self.reading():
            return self._num_rows()

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
        as float64, except those named in `text`, read as strings. Raises
        DataError when the file cannot be read, whenever that is found.
        """
        # The context spans the yields: a failure in the middle of the file is caught too.
        with self.reading():
            yield from self._read(list(names), max(1, int(chunk_rows)), start, stop, set(text))

    @contextmanager
    def reading(self, where: str = "", *, opening: bool = False) -> Iterator[None]:
        """Turn a reader's exception into a DataError: "{path}: cannot read as {format}: {where}: {why}".

        `opening` (the header is being read) adds what the file's first bytes
        say it holds when that is not the format its suffix names.
        """
        try:
            yield
        except DataError:
            raise
        except Exception as error:
            if not is_read_error(error):
                raise
            raise DataError(self.cannot_read(error, where, opening=opening)) from error

    def cannot_read(self, error: BaseException | str, where: str = "", *, opening: bool = False) -> str:
        why = error if isinstance(error, str) else reason(error)
        if opening:
            kind = sniff(self.path)
            if kind == "empty":
                why = "the file is empty (0 bytes)"
            elif kind is not None:
                note = _mismatch_note(self.format, kind, error)
                why = why.rstrip(".") + note if note else why
        return f"{self.path}: cannot read as {self.format}: " + (f"{where}: " if where else "") + why

    def _columns(self) -> dict[str, ColumnInfo]:
        raise NotImplementedError

    def _num_rows(self) -> int:
        raise NotImplementedError

    def _read(
        self, names: list[str], chunk_rows: int, start: int, stop: int | None, text: set[str]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r}>"


# What a file's first bytes say it is: (prefix, kind).
MAGIC = (
    (b"PAR1", "parquet"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip archive
    (b"\x93NUMPY", "npy"),
    (b"\x1f\x8b", "gzip"),
    (b"\xff\xfe", "utf-16"),  # what spreadsheets save as "Unicode text"
    (b"\xfe\xff", "utf-16"),
)
SNIFF_BYTES = 4096


def sniff(path: str) -> str | None:
    """What a file holds, by its first bytes: empty, parquet, zip, npy, gzip, utf-16, text or binary."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return None
    if not head:
        return "empty"
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head:
        return "binary"
    try:
        # Incremental: a character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        # Text in another encoding (Latin-1, Windows-1252) has few control characters.
        controls = sum(byte < 0x20 and byte not in b"\t\r\n" for byte in head)
        return "binary" if controls > len(head) // 100 else "text"
    return "text"


def _mismatch_note(fmt: str, kind: str, error: BaseException | str) -> str:
    """A note for a file that failed to open, when its bytes say why: another format, or truncated."""
    if kind == "parquet" and fmt == "parquet":
        # Only for pyarrow's complaints about the footer: not, say, a compression it lacks.
        if any(word in str(error).lower() for word in ("footer", "magic")):
            return "; the file starts like a Parquet file but its footer is missing or damaged (truncated?)"
        return ""
    if kind == "zip" and fmt == "npz" and isinstance(error, zipfile.BadZipFile):
        return "; the file starts like a zip archive but its directory is missing or damaged (truncated?)"
    notes = {
        "parquet": "the file is a Parquet file: name it .parquet",
        "zip": "the file is a zip archive (np.savez writes one): name it .npz",
        "npy": "the file is one .npy array (np.save): save the arrays with np.savez, as an .npz file",
        "gzip": "the file is gzip-compressed: decompress it first",
        "text": "the file holds text (a CSV file? name it .csv)",
        "utf-16": "the file holds UTF-16 text (a CSV file? save it as UTF-8, named .csv)",
        "binary": "the file holds binary data, not text",
    }
    expected = {"parquet": "parquet", "zip": "npz", "text": "csv"}  # the format each kind is
    if kind not in notes or expected.get(kind) == fmt or (kind == "binary" and fmt != "csv"):
        return ""
    return "; " + notes[kind]


def open_data(path: str | os.PathLike) -> DataSource:
    """Open a data file by its suffix and read its header; raise DataError when it cannot be used.

    A directory or a glob pattern is a data set of many Parquet files, read as
    one (mspec.data.dataset).
    """
    text = os.fspath(path)
    from .dataset import is_dataset, open_dataset

    if is_dataset(text):
        return open_dataset(text)
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
    if not os.path.isfile(text):
        raise DataError(f"{text}: not a regular file (a pipe or a device): save the data to a file")
    try:
        with open(text, "rb"):
            pass
    except OSError as error:
        raise DataError(f"{text}: cannot open: {reason(error)}") from error
    source = {"npz": NpzSource, "csv": CsvSource, "parquet": ParquetSource}[fmt](text)
    source.columns  # noqa: B018 - read the header now, so that a bad file fails here
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
                name = info.filename[: -len(".npy")]
                with self.reading(f"array {name!r}"):
                    members[name] = self._member(archive, info, name)
        return members

    def _member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> _Member:
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            try:
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
                raise
            except Exception as error:
                # numpy parses the header as a Python literal: damaged bytes raise
                # SyntaxError, tokenize's TokenError, TypeError ... all of them mean the same.
                raise ValueError(f"its .npy header is damaged ({reason(error)})") from error
            offset = handle.tell()
        if dtype.hasobject:
            raise DataError(
                f"{self.path}: array {name!r} holds Python objects (pickled), which mspec "
                "never loads: save strings as a fixed-width string array (np.str_)"
            )
        # The header's shape against the bytes the archive holds: a cut file is found here, not mid-run.
        needed = dtype.itemsize * math.prod(shape)  # Python ints: a damaged shape cannot wrap around
        held = info.file_size - offset
        if held < needed:
            raise EOFError(
                f"its header says shape {tuple(shape)} of {dtype} ({needed:,} bytes), "
                f"but the archive holds {max(held, 0):,} bytes of it (the file is truncated?)"
            )
        return _Member(name, info.filename, dtype, tuple(shape), fortran, offset)

    def _columns(self) -> dict[str, ColumnInfo]:
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

    def _num_rows(self) -> int:
        """The smallest row count of the arrays (they should all be equal)."""
        counts = [n for n in self.row_counts.values() if n is not None]
        return min(counts) if counts else 0

    def _read(self, names, chunk_rows, start, stop, text):
        members = [self._members[name] for name in names]
        counts = [m.shape[0] if m.shape else 0 for m in members]
        begin, end = _bounds(start, stop, min(counts) if counts else 0)
        with zipfile.ZipFile(self.path) as archive:
            handles = []
            try:
                for m in members:
                    with self.reading(f"array {m.name!r}"):
                        handles.append(self._open_at(archive, m, begin))
                row = begin
                while row < end:
                    count = min(chunk_rows, end - row)
                    chunk = {}
                    for m, handle in zip(members, handles, strict=True):
                        with self.reading(f"array {m.name!r}"):
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
            raise EOFError(
                f"the data ends at row {row + len(raw) // max(m.row_bytes, 1)} (the file is truncated?)"
            )
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
    """A Parquet file: one column per name; list columns hold one sequence (or matrix) per row.

    A failure names the row group and the column: they are found, once the
    reader has failed, by reading the row groups from the failing row on, a
    column at a time.
    """

    format = "parquet"

    @cached_property
    def _file(self):
        pyarrow_modules()
        import pyarrow.parquet as pq

        # Without pre-buffering: pyarrow would otherwise read every requested row group ahead.
        # A file closed by `close` is opened again with the footer already read.
        return pq.ParquetFile(self.path, pre_buffer=False, metadata=self.__dict__.get("_metadata"))

    @cached_property
    def arrow_schema(self):
        """The file's schema as pyarrow types (read from its footer)."""
        with self.reading(opening=True):
            return self._file.schema_arrow

    def reader(self) -> ParquetSource:
        """Another source over the same file for one read of its own: its footer is not read again.

        A data set reads each file through its own reader, closed when the read ends, so that
        reads in two threads (training and validation batches) never share an open file.
        """
        other = ParquetSource(self.path)
        file = self.__dict__.get("_file")
        other._metadata = file.metadata if file is not None else self.__dict__.get("_metadata")
        for name in ("num_rows", "arrow_schema"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    def close(self) -> None:
        """Close the file (a later read opens it again, without reading its footer again)."""
        file = self.__dict__.pop("_file", None)
        if file is not None:
            self._metadata = file.metadata
            file.close()

    def _columns(self) -> dict[str, ColumnInfo]:
        schema = self._file.schema_arrow
        rows = self._num_rows()
        return {field.name: _arrow_info(field.name, field.type, rows) for field in schema}

    def _num_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def _read(self, names, chunk_rows, start, stop, text):
        begin, end = _bounds(start, stop, self.num_rows)
        if begin >= end or not names:
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
        if first is None:
            return
        row = first
        try:
            batches = self._file.iter_batches(batch_size=chunk_rows, row_groups=groups, columns=names)
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
        except Exception as error:
            if not is_read_error(error):
                raise
            raise DataError(self.cannot_read(error, self._broken(groups, row, names))) from error

    def _broken(self, groups: list[int], row: int, names: list[str]) -> str:
        """Where reading failed: the first row group from `row` on, and its column, that fail again."""
        metadata = self._file.metadata
        first = 0
        for index in range(metadata.num_row_groups):
            size = metadata.row_group(index).num_rows
            if index in groups and first + size > row:
                for name in names:
                    try:
                        self._file.read_row_group(index, columns=[name])
                    except Exception as error:
                        if not is_read_error(error):
                            raise
                        return f"row group {index}, column {name!r}"
            first += size
        return f"row {row:,}"


# --- CSV ---------------------------------------------------------------------

# A first line longer than this is not a header: the file is not a CSV file.
MAX_HEADER_BYTES = 64 << 20
# Ragged-row search: lines tried, at most, to find the line of the row pyarrow quotes.
MAX_LINE_CANDIDATES = 10_000
_CONVERSION = re.compile(r"In CSV column #(\d+): CSV conversion error to (\w+): (.*)", re.DOTALL)
_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+): ?")
NOT_UTF8 = "not UTF-8 text: mspec reads CSV files as UTF-8 (save the file as UTF-8)"
# Delimiters mspec does not read, found in a header that pyarrow read as one column.
OTHER_DELIMITERS = (";", "\t", "|")
DELIMITER_HINT = "mspec reads comma-separated files: save the file with ',' between cells"


class CsvSource(DataSource):
    """A comma-separated file with a header line, in UTF-8: one scalar value per cell.

    The header line is found and parsed on its own, whatever its length and
    whatever the rows after it hold; the rows are read by pyarrow's streaming
    reader, in blocks at least twice as long as the header.
    """

    format = "csv"
    block_bytes = CSV_BLOCK_BYTES

    def _reader(self, names: list[str], text=()):
        pa, _ = pyarrow_modules()
        import pyarrow.csv as pacsv

        text = set(text)
        convert = pacsv.ConvertOptions(
            include_columns=names,
            column_types={n: pa.string() if n in text else pa.float64() for n in names},
        )
        # A memory map, not a file: pyarrow reads a file ahead into its own buffers, many blocks at once.
        return pacsv.open_csv(
            pa.memory_map(self.path),
            read_options=pacsv.ReadOptions(block_size=self.block_bytes),
            convert_options=convert,
        )

    def _columns(self) -> dict[str, ColumnInfo]:
        kind = sniff(self.path)
        if kind == "utf-16":
            raise DataError(self.cannot_read("the file is UTF-16 text, " + NOT_UTF8))
        if kind not in ("text", "empty", None):  # binary data, or another format's magic bytes
            raise DataError(self.cannot_read(_mismatch_note("csv", kind, "").removeprefix("; ")))
        header = self._header_line()
        pa, _ = pyarrow_modules()
        import pyarrow.csv as pacsv

        try:
            # pyarrow parses the header (quotes, a byte order mark) exactly as it will for the rows.
            parsed = pacsv.read_csv(
                pa.py_buffer(header + b"\n"), read_options=pacsv.ReadOptions(block_size=len(header) + 2)
            )
            names = parsed.column_names
        except UnicodeDecodeError as error:
            byte = f"byte 0x{error.object[error.start]:02x} is " if error.object else ""
            raise DataError(self.cannot_read(byte + NOT_UTF8, "the header line")) from error
        # The first block of rows must hold the whole header line (pyarrow finds no line otherwise).
        self.block_bytes = max(CSV_BLOCK_BYTES, 2 * (len(header) + 1))
        return {name: ColumnInfo(name, "csv", rank=0) for name in names}

    def _header_line(self) -> bytes:
        """The file's first line that is not empty (pyarrow skips empty lines before the header too)."""
        with open(self.path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise DataError(self.cannot_read("the file is empty (0 bytes)"))
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                start = 0
                while start < len(data):
                    end = data.find(b"\n", start, start + MAX_HEADER_BYTES + 1)
                    if end < 0 and len(data) - start > MAX_HEADER_BYTES:
                        raise DataError(
                            self.cannot_read(
                                f"its first line is longer than {MAX_HEADER_BYTES >> 20} MiB: "
                                "not a header line" + _mismatch_note("csv", sniff(self.path) or "", "")
                            )
                        )
                    end = len(data) if end < 0 else end
                    line = data[start:end].rstrip(b"\r")
                    if line:
                        return line
                    start = end + 1
        raise DataError(self.cannot_read("no header line: the file holds empty lines only"))

    def _num_rows(self) -> int:
        """Rows counted by a streaming scan of one column, read as text (quoted newlines count right)."""
        if not self.columns:
            return 0
        first = next(iter(self.columns))
        return sum(len(chunk[first]) for _, chunk in self._read([first], 1 << 30, 0, None, {first}))

    def _read(self, names, chunk_rows, start, stop, text):
        if not names:
            return
        begin = max(0, start)
        reader = None
        try:
            # Opening parses the first block already: its errors are read errors like the later ones.
            reader = self._reader(names, text)
            row = 0
            for batch in reader:
                count = batch.num_rows
                self.rows_read += count * len(names)
                lo, hi = max(begin, row), row + count if stop is None else min(stop, row + count)
                # A CSV block may hold many more rows than a chunk: hand it out in chunks.
                while lo < hi:
                    size = min(chunk_rows, hi - lo)
                    piece = batch.slice(lo - row, size)
                    yield lo, {name: piece.column(i) for i, name in enumerate(piece.schema.names)}
                    lo += size
                row += count
                if stop is not None and row >= stop:
                    break
        except Exception as error:
            if not is_read_error(error):
                raise
            raise self._csv_error(error) from error
        finally:
            if reader is not None:
                reader.close()

    def _csv_error(self, error: Exception) -> DataError:
        """pyarrow's CSV error in the user's terms: the column or the line, and what is wrong."""
        message = str(error)
        conversion = _CONVERSION.search(message)
        if conversion is not None:
            index, target, detail = int(conversion.group(1)), conversion.group(2), conversion.group(3)
            names = list(self.columns)
            column = names[index] if index < len(names) else f"#{index}"
            where = f"column {column!r}"
            if "invalid UTF8" in detail:
                return DataError(self.cannot_read(NOT_UTF8, where))
            if target != "string":
                value = detail.strip().removeprefix("invalid value ")
                return CsvNumberError(self.cannot_read(f"{value} is not a number", where), column)
            return DataError(self.cannot_read(error, where))
        ragged = _RAGGED.search(message)
        if ragged is not None:
            expected, got = int(ragged.group(1)), int(ragged.group(2))
            quoted = message[ragged.end() :].rstrip()
            line = _line_of_row(self.path, quoted.removesuffix(" ..."), got)
            where = f"line {line:,}" if line is not None else "a row"
            why = f"{got} cell{'s' if got != 1 else ''} where the header has {expected}: {_excerpt(quoted)}"
            found = delimiter_in_header(list(self.columns))
            if found:
                why += f" (the header holds {found!r} between names: {DELIMITER_HINT})"
            return DataError(self.cannot_read(why, where))
        if isinstance(error, UnicodeDecodeError):
            return DataError(self.cannot_read(NOT_UTF8))
        return DataError(self.cannot_read(error))


def _excerpt(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def delimiter_in_header(names: list[str]) -> str | None:
    """The delimiter (';', tab or '|') that most header cells hold: the file is not comma-separated.

    Read with ',' such a header is one cell ('a;b;c'), or a few when names hold commas.
    """
    for delimiter in OTHER_DELIMITERS:
        if names and sum(delimiter in name for name in names) * 2 > len(names):
            return delimiter
    return None


def _line_of_row(path: str, start: str, cells: int) -> int | None:
    """The 1-based number of the first line that starts with `start` and has `cells` cells (None: not found).

    pyarrow quotes a ragged row by its text (the start of it, for a long row)
    but not its line; the first line that starts so and has as many cells is
    that row: an earlier one would have been reported first.
    """
    needle = start.encode("utf-8")
    if not needle:
        return None
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            line, counted = 1, 0  # the newlines in data[:counted] are counted in `line`
            at = data.find(needle)
            for _ in range(MAX_LINE_CANDIDATES):
                if at < 0:
                    return None
                if at == 0 or data[at - 1] == ord("\n"):
                    end = data.find(b"\n", at)
                    text = data[at : len(data) if end < 0 else end].decode("utf-8", "replace")
                    if len(next(csv.reader([text.rstrip("\r")]), [])) == cells:
                        while counted < at:  # newlines before it, counted a slice at a time
                            piece = data[counted : min(at, counted + (1 << 24))]
                            line += piece.count(b"\n")
                            counted += len(piece)
                        return line
                at = data.find(needle, at + 1)
    except (OSError, ValueError, csv.Error):
        return None
    return None
