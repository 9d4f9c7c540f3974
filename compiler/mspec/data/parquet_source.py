"""Parquet files read by row group through ParquetFile.iter_batches, one chunk of rows at a time."""

from __future__ import annotations

from functools import cached_property

from .source import (
    ColumnInfo,
    DataError,
    DataSource,
    is_read_error,
    pyarrow_modules,
    row_bounds,
)


def arrow_info(name: str, arrow_type, rows: int | None = None) -> ColumnInfo:
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
        return {field.name: arrow_info(field.name, field.type, rows) for field in schema}

    def _num_rows(self) -> int:
        return int(self._file.metadata.num_rows)

    def _read(self, names, chunk_rows, start, stop, text):
        begin, end = row_bounds(start, stop, self.num_rows)
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
