"""Writing predictions chunk by chunk to .parquet, .csv or .npz, atomically.

The file is written under a temporary name beside its place and renamed
onto it only once every chunk is in (mspec.files.temporary_beside): an
error, Ctrl-C or SIGTERM leaves the previous file, if any, as it was, and
no half-written one. Parquet and CSV are written as the chunks come
(pyarrow's ParquetWriter and CSVWriter), so memory holds one chunk; an NPZ
archive holds whole arrays, so its columns are gathered in memory and saved
at the end.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..files import readable_mode, temporary_beside

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".npz": "npz"}


def output_format(path: str | os.PathLike) -> str:
    """The format an output path names by its suffix; ValueError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{os.fspath(path)}: write predictions to a .parquet, .csv or .npz file")
    return FORMATS[suffix]


@contextlib.contextmanager
def chunk_writer(path: str | os.PathLike) -> Iterator[Any]:
    """A writer whose `write(columns)` takes one chunk ({name: values}); the file appears at the end."""
    target = Path(path)
    fmt = output_format(target)
    with temporary_beside(target) as temporary:
        writer = {"parquet": _ArrowWriter, "csv": _ArrowWriter, "npz": _NpzWriter}[fmt](temporary, fmt)
        try:
            yield writer
            writer.finish()
        finally:
            writer.close()
        os.chmod(temporary, readable_mode())
        os.replace(temporary, target)


def _arrow_array(pa: Any, values: Any) -> Any:
    if not isinstance(values, np.ndarray):
        return values  # a pyarrow Array read from the data file, copied as it is
    if values.ndim != 1:
        return pa.array(list(values.reshape(len(values), -1)))  # an NPZ array of several values per row
    return pa.array(values)


class _ArrowWriter:
    """Parquet or CSV through pyarrow, one record batch per chunk; the schema is the first chunk's."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self.writer = None
        self.schema = None

    def write(self, columns: dict[str, Any]) -> None:
        import pyarrow as pa

        table = pa.table({name: _arrow_array(pa, values) for name, values in columns.items()})
        if self.writer is None:
            self.schema = table.schema
            self.writer = self._open(table.schema)
        elif table.schema != self.schema:
            table = table.cast(self.schema)  # a kept column typed otherwise in another file of a data set
        self.writer.write_table(table)

    def _open(self, schema: Any) -> Any:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetWriter(str(self.path), schema)
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(str(self.path), schema)

    def finish(self) -> None:
        if self.writer is None:
            raise ValueError("no rows to predict: the data holds none")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class _NpzWriter:
    """An NPZ archive of one array per column, saved once every chunk is in."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.pieces: dict[str, list[np.ndarray]] = {}

    def write(self, columns: dict[str, Any]) -> None:
        for name, values in columns.items():
            if not isinstance(values, np.ndarray):
                values = values.to_numpy(zero_copy_only=False)
            self.pieces.setdefault(name, []).append(values)

    def finish(self) -> None:
        if not self.pieces:
            raise ValueError("no rows to predict: the data holds none")
        arrays = {name: np.concatenate(parts) for name, parts in self.pieces.items()}
        with open(self.path, "wb") as stream:
            np.savez(stream, **arrays)

    def close(self) -> None:
        self.pieces = {}
