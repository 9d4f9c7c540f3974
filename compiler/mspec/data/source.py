"""Open a data file (.npz, .csv, .parquet) and stream its named columns in chunks of rows.

This module holds what every reader shares (DataSource, DataError, opening
a file by its suffix); the readers are npz_source, parquet_source and
csv_source. Every reader keeps only one chunk in memory at a time: NPZ arrays are read
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
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

FORMATS = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
INSTALL_HINT = "install mspec[data]"


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
                note = mismatch_note(self.format, kind, error)
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


def mismatch_note(fmt: str, kind: str, error: BaseException | str) -> str:
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
    from .csv_source import CsvSource
    from .npz_source import NpzSource
    from .parquet_source import ParquetSource

    source = {"npz": NpzSource, "csv": CsvSource, "parquet": ParquetSource}[fmt](text)
    source.columns  # noqa: B018 - read the header now, so that a bad file fails here
    return source


def row_bounds(start: int, stop: int | None, total: int) -> tuple[int, int]:
    stop = total if stop is None else min(stop, total)
    return max(0, start), max(0, stop)
