"""NPZ archives (np.savez, np.savez_compressed) read row range by row range, never whole or unpickled."""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .source import (
    ColumnInfo,
    DataError,
    DataSource,
    reason,
    row_bounds,
)


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
        begin, end = row_bounds(start, stop, min(counts) if counts else 0)
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
