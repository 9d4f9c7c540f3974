"""CSV files (a header line, comma-separated, UTF-8) streamed through pyarrow's CSV reader."""

from __future__ import annotations

import csv
import mmap
import os
import re

from .source import (
    ColumnInfo,
    CsvNumberError,
    DataError,
    DataSource,
    is_read_error,
    mismatch_note,
    pyarrow_modules,
    sniff,
)

# CSV blocks: pyarrow parses this many bytes at a time (its own default is 1 MiB).
CSV_BLOCK_BYTES = 4 << 20
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
            raise DataError(self.cannot_read(mismatch_note("csv", kind, "").removeprefix("; ")))
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
                                "not a header line" + mismatch_note("csv", sniff(self.path) or "", "")
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
