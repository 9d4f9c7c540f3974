"""A data set of many Parquet files, named by a directory or a glob pattern, read as one table.

Which files, and in which order:

- a directory holds the Parquet files (`.parquet`, `.pq`) found in it and in
  its subdirectories; a glob pattern (`'parts/*.parquet'`, `**` for any depth)
  the files it matches. mspec expands the pattern itself: quote it on the
  command line;
- a file or folder whose name starts with `_` or `.` is skipped, as Spark and
  pyarrow do (`_SUCCESS`, `_metadata`, `.part-0.parquet.crc`); any other file
  that is not a Parquet file is an error naming it, so that nothing is left
  out unnoticed. Directory names such as `year=2024` are not read as columns;
- the rows are those of the files one after the other, the files in the
  natural order of their paths relative to the directory (or to the part of
  the pattern before its first wildcard): `part-2` before `part-10`, and
  numbers compared as numbers wherever they are in the path; each file's rows
  in their order.

Every file's footer is read when the data set is opened (its schema and row
count); a row range reads only the files, and in them only the row groups,
that hold its rows (each file is a `ParquetSource`), and each file is closed
once read: a data set may have more files than a process may hold open, and
two reads at once (training and validation batches) never share a file.

The columns the spec binds must be in every file with the same kind of
values (text, numbers, lists of the same depth and fixed sizes; integer and
float widths may differ, and a column holding only nulls fits any type):
`schema_problems` lists the files that differ, `bind` reports them, and a
read of such a column raises DataError naming the file.

The data set's fingerprint (`dataset_sha256`, in the run record) is the
SHA-256 of one line per file, in reading order: its relative path (with `/`),
a tab, its size in bytes, a tab, the SHA-256 of its bytes, a newline. A
directory and a pattern that pick the same files have the same fingerprint.
"""

from __future__ import annotations

import bisect
import glob
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePath
from typing import Any

from .parquet_source import ParquetSource, arrow_info
from .source import ColumnInfo, DataError, DataSource, pyarrow_modules, row_bounds

PARQUET_SUFFIXES = (".parquet", ".pq")
# Files and folders whose name starts so are not part of the data set (Spark's and pyarrow's rule).
SKIPPED_PREFIXES = ("_", ".")
WILDCARDS = "*?["
SKIPPED_NOTE = "names starting with '_' or '.' are skipped"
# Files named, at most, in a message listing several.
NAMED_FILES = 5


@dataclass(frozen=True)
class Part:
    """One file of a data set: its path (as found) and its path relative to the data set's root."""

    path: str
    relative: str


def is_pattern(path: str) -> bool:
    """Whether a path holds a glob wildcard (`*`, `?` or `[`)."""
    return any(c in path for c in WILDCARDS)


def is_dataset(path: str | os.PathLike) -> bool:
    """A directory, or a glob pattern that is not itself the name of a file."""
    text = os.fspath(path)
    return os.path.isdir(text) or (is_pattern(text) and not os.path.exists(text))


def natural_key(relative: str) -> tuple[list[Any], str]:
    """Sort key: digit runs compared as numbers ('part-2' before 'part-10'), then the text itself."""
    pieces = re.split(r"(\d+)", relative)
    return [int(p) if i % 2 else p for i, p in enumerate(pieces)], relative


def _skipped(relative: str) -> bool:
    return any(name.startswith(SKIPPED_PREFIXES) for name in PurePath(relative).parts)


def _names(paths: list[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:NAMED_FILES])
    return shown + (f" (and {len(paths) - NAMED_FILES} more)" if len(paths) > NAMED_FILES else "")


def list_parts(path: str | os.PathLike) -> list[Part]:
    """The Parquet files of a directory or a glob pattern, in reading order; DataError if there is none."""
    text = os.fspath(path)
    if os.path.isdir(text):
        parts, others = _directory_parts(text)
        where = "the directory holds"
        if not parts and not others:
            raise DataError(
                f"{text}: is a directory but holds no Parquet file (named .parquet or .pq; {SKIPPED_NOTE})"
            )
    else:
        parts, others = _pattern_parts(text)
        where = "the pattern matches"
        if not parts and not others:
            raise DataError(f"{text}: no Parquet file matches the pattern ({SKIPPED_NOTE})")
    if others:
        narrow = "" if os.path.isdir(text) else ", or narrow the pattern (e.g. 'parts/*.parquet')"
        raise DataError(
            f"{text}: {where} files that are not Parquet files: {_names(others)}: a data set of many "
            f"files reads Parquet files only ({SKIPPED_NOTE}); move the others away{narrow}"
        )
    return sorted(parts, key=lambda part: natural_key(part.relative))


def _directory_parts(root: str) -> tuple[list[Part], list[str]]:
    parts, others = [], []

    def fail(error: OSError) -> None:
        raise DataError(f"{error.filename or root}: cannot list the directory: {error.strerror or error}")

    for folder, folders, names in os.walk(root, onerror=fail):
        folders[:] = [name for name in folders if not name.startswith(SKIPPED_PREFIXES)]
        for name in names:
            if name.startswith(SKIPPED_PREFIXES):
                continue
            full = os.path.join(folder, name)
            relative = PurePath(os.path.relpath(full, root)).as_posix()
            if name.lower().endswith(PARQUET_SUFFIXES) and os.path.isfile(full):
                parts.append(Part(full, relative))
            else:
                others.append(full)
    return parts, sorted(others, key=natural_key)


def _pattern_root(pattern: str) -> str:
    """The part of a pattern before its first wildcard, up to a separator: the folder it searches."""
    root = pattern
    while is_pattern(root):
        root = os.path.dirname(root)
    return root or os.curdir


def _pattern_parts(pattern: str) -> tuple[list[Part], list[str]]:
    root = _pattern_root(pattern)
    parts, others = [], []
    for match in glob.glob(pattern, recursive=True):
        relative = PurePath(os.path.relpath(match, root)).as_posix()
        if _skipped(relative):
            continue
        if match.lower().endswith(PARQUET_SUFFIXES) and os.path.isfile(match):
            parts.append(Part(match, relative))
        else:
            others.append(match + (os.sep if os.path.isdir(match) else ""))
    return parts, sorted(others, key=natural_key)


def dataset_sha256(path: str | os.PathLike) -> str:
    """The data set's fingerprint: SHA-256 of a line "PATH<tab>SIZE<tab>SHA256" per file, in reading order."""
    digest = hashlib.sha256()
    for part in list_parts(path):
        file_digest = hashlib.sha256()
        size = 0
        try:
            with open(part.path, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    file_digest.update(block)
                    size += len(block)
        except OSError as error:
            raise DataError(f"{part.path}: cannot open: {error.strerror or error}") from error
        digest.update(f"{part.relative}\t{size}\t{file_digest.hexdigest()}\n".encode())
    return digest.hexdigest()


# --- kinds of values -------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What a column holds, as far as a data set's files must agree: the values, the list sizes."""

    values: str  # "text", "numbers", "nulls", or the arrow type of other values
    sizes: tuple[int | None, ...]  # per list level: its fixed size, or None

    def fits(self, other: Kind) -> bool:
        if (self.values == "nulls" and not self.sizes) or (other.values == "nulls" and not other.sizes):
            return True  # a column with no value at all: its nulls are reported as missing values
        if self.values != other.values or len(self.sizes) != len(other.sizes):
            return False
        return all(a is None or b is None or a == b for a, b in zip(self.sizes, other.sizes, strict=True))


def kind_of(arrow_type: Any) -> Kind:
    pa, _ = pyarrow_modules()
    sizes: list[int | None] = []
    value = arrow_type
    while pa.types.is_list(value) or pa.types.is_large_list(value) or pa.types.is_fixed_size_list(value):
        sizes.append(value.list_size if pa.types.is_fixed_size_list(value) else None)
        value = value.value_type
    if pa.types.is_dictionary(value):
        value = value.value_type
    text = ("string", "large_string", "binary", "large_binary")
    numbers = ("integer", "floating", "boolean", "decimal")
    if any(getattr(pa.types, f"is_{name}")(value) for name in text):
        values = "text"
    elif any(getattr(pa.types, f"is_{name}")(value) for name in numbers):
        values = "numbers"
    elif pa.types.is_null(value):
        values = "nulls"
    else:
        values = str(value)
    return Kind(values, tuple(sizes))


def describe(arrow_type: Any) -> str:
    """'numbers (double)', 'text (string)', 'lists of numbers (list<element: float>)'."""
    kind = kind_of(arrow_type)
    what = kind.values if kind.values in ("text", "numbers", "nulls") else f"values of type {kind.values}"
    what = "only nulls" if what == "nulls" else what
    if kind.sizes:
        what = f"{'lists of ' * len(kind.sizes)}{what}"
    return f"{what} ({arrow_type})"


@dataclass(frozen=True)
class SchemaProblem:
    """A bound column that some files of a data set lack, or hold with another kind of values."""

    column: str
    files: tuple[str, ...]  # the files at fault, in reading order
    reference: str  # the file whose type the data set takes for the column
    expected: str  # that type, described
    found: str | None = None  # the first file at fault's type, described (None: the column is missing)
    text_or_numbers: bool = False  # the files disagree on text against numbers (not on list shapes)


class ParquetDataset(DataSource):
    """Many Parquet files read as one: their rows one file after the other (see the module's docstring).

    `parts` are the files' own sources (each read through a reader of its own,
    whose rows count in the part's `rows_read`); `rows_read` counts the rows
    read from all of them. A column's type is that of the first file holding it (the
    first whose values are not all null); the columns are those of the first
    file, then those the other files add.
    """

    format = "parquet"

    def __init__(self, path: str | os.PathLike, parts: list[Part]):
        super().__init__(path)
        self.files = [part.path for part in parts]
        self.parts = [ParquetSource(part.path) for part in parts]
        self._alike: set[tuple[str, ...]] = set()  # column lists every file holds alike

    @cached_property
    def starts(self) -> list[int]:
        """The first row of each file in the data set, then the number of rows."""
        starts = [0]
        for part in self.parts:
            starts.append(starts[-1] + part.num_rows)
        return starts

    def _num_rows(self) -> int:
        return self.starts[-1]

    def _columns(self) -> dict[str, ColumnInfo]:
        types: dict[str, Any] = {}
        for part in self.parts:
            try:
                schema = part.arrow_schema
                part.num_rows  # noqa: B018 - from the footer, read now
            finally:
                part.close()  # a data set may have more files than a process may hold open
            for field in schema:
                known = types.get(field.name)
                if known is None or (kind_of(known).values == "nulls" != kind_of(field.type).values):
                    types[field.name] = field.type
        rows = self.starts[-1]
        return {name: arrow_info(name, arrow_type, rows) for name, arrow_type in types.items()}

    def _reference(self, column: str) -> tuple[ParquetSource, Any] | None:
        """The file whose type of `column` the data set takes, and that type."""
        first = None
        for part in self.parts:
            if column in part.arrow_schema.names:
                arrow_type = part.arrow_schema.field(column).type
                if kind_of(arrow_type).values != "nulls":
                    return part, arrow_type
                first = first or (part, arrow_type)
        return first

    def schema_problems(self, columns: list[str]) -> list[SchemaProblem]:
        """The columns (of `columns`, present in some file) that not every file holds alike."""
        problems = []
        for column in columns:
            reference = self._reference(column)
            if reference is None:
                continue  # in no file: a missing column, reported as such
            ref_part, ref_type = reference
            ref_kind = kind_of(ref_type)
            lacking, differing = [], []
            for part in self.parts:
                schema = part.arrow_schema
                if column not in schema.names:
                    lacking.append(part.path)
                elif not kind_of(schema.field(column).type).fits(ref_kind):
                    differing.append((part.path, schema.field(column).type))
            expected = describe(ref_type)
            if lacking:
                problems.append(SchemaProblem(column, tuple(lacking), ref_part.path, expected))
            if differing:
                first_type = differing[0][1]
                problems.append(
                    SchemaProblem(
                        column,
                        tuple(path for path, _ in differing),
                        ref_part.path,
                        expected,
                        describe(first_type),
                        kind_of(first_type).values != ref_kind.values,
                    )
                )
        return problems

    def locate(self, row: int) -> tuple[str, int]:
        """The file holding a row of the data set, and the row's index within that file."""
        index = max(bisect.bisect_right(self.starts, row) - 1, 0)
        index = min(index, len(self.parts) - 1)
        return self.files[index], row - self.starts[index]

    def _read(self, names, chunk_rows, start, stop, text) -> Iterator[tuple[int, dict[str, Any]]]:
        begin, end = row_bounds(start, stop, self.num_rows)
        if begin >= end or not names:
            return
        if tuple(names) not in self._alike:
            problems = self.schema_problems(names)
            if problems:
                raise DataError(mismatch_message(self.path, problems[0]))
            self._alike.add(tuple(names))
        index = max(bisect.bisect_right(self.starts, begin) - 1, 0)
        for part, offset in zip(self.parts[index:], self.starts[index:], strict=False):
            if offset >= end:
                break
            lo, hi = max(begin - offset, 0), min(end - offset, part.num_rows)
            if lo >= hi:
                continue
            reader = part.reader()
            chunks = reader.read(names, chunk_rows, lo, hi, text=text)
            try:
                before = 0
                for row, chunk in chunks:
                    read, before = reader.rows_read - before, reader.rows_read
                    part.rows_read += read
                    self.rows_read += read
                    yield offset + row, chunk
            finally:
                chunks.close()
                reader.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r}: {len(self.parts)} files>"


def mismatch_message(path: str, problem: SchemaProblem) -> str:
    """A schema problem as the one line of a DataError, naming the first file at fault."""
    file = problem.files[0]
    more = len(problem.files) - 1
    others = f" (and {more} other file{'s' if more != 1 else ''} of the data set)" if more else ""
    if problem.found is None:
        return (
            f"{file}: has no column {problem.column!r}{others}, which {problem.reference} of the same "
            f"data set {path} has"
        )
    return (
        f"{file}: column {problem.column!r} holds {problem.found}{others}, but {problem.reference} of the "
        f"same data set {path} holds {problem.expected}"
    )


def open_dataset(path: str | os.PathLike) -> ParquetDataset:
    """Find a data set's files and read their footers; DataError when there is none or one is unreadable."""
    source = ParquetDataset(path, list_parts(path))
    source.columns  # noqa: B018 - every footer, read now, so that a bad file fails here
    return source
