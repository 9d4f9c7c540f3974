"""What each column of a data file holds, measured in one streamed pass: the facts `mspec init` decides by.

Every column is read chunk by chunk through mspec.data's readers (the same
ones `lint --data` and `fit` use, so that what is measured here is what they
will read): missing values, the range of the numbers and whether they are
whole, the number of distinct values (counted exactly up to DISTINCT_CAP),
the length and words of text, list lengths. Only one chunk is in memory at a
time; the distinct values of a column are kept until there are more than
DISTINCT_CAP of them. Numbers with fractions are not counted (their count
decides nothing).

A CSV file has no types: a column is read as numbers when every cell reads as
one (as the data checks decide), as text otherwise, which takes one more pass.

Needs numpy and pyarrow (imported when a file is profiled).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# Distinct values counted exactly up to this many; more is "many" (None).
DISTINCT_CAP = 100_000
# Rows read at a time.
CHUNK_ROWS = 1 << 16
# Text that is a date or a time: ISO dates (with a time or not), d/m/y or m/d/y, times of day.
DATE_PATTERN = (
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)\s*$"
)

SCALAR, LIST, NESTED = "scalar", "list", "nested"
NUMBER, TEXT, DATE, OTHER = "number", "text", "date", "other"


@dataclass
class ColumnProfile:
    """One column (or NPZ array) as measured over every row of the file.

    `shape` is scalar (one value per row), list (one list of values per row)
    or nested (lists of lists, arrays of rank 3 and more); `values` says what
    the scalars are: number, text, date (a date, time or timestamp type, or
    text that reads as dates) or other (structs, maps, bytes). For lists, the
    number facts are about the values in the lists.
    """

    name: str
    type: str  # as the file declares it ("int64", "list<item: int32>", "csv")
    shape: str = SCALAR
    values: str = NUMBER
    rows: int = 0
    integer_type: bool = False  # the file declares whole numbers (an integer or boolean type)
    missing: int = 0  # rows with a null (a value or a list), or a NaN
    infinite: int = 0
    whole: bool = True  # every finite value is a whole number
    low: float | None = None
    high: float | None = None
    distinct: int | None = 0  # None: more than DISTINCT_CAP
    chars: int = 0  # text: characters, summed over the values
    words: int = 0  # text: words (runs of non-space characters), summed
    longest: int = 0  # text: the longest value, in characters
    dates: int = 0  # text: values that read as dates or times
    min_length: int | None = None  # lists: the shortest and the longest
    max_length: int | None = None
    zero_rows: int = 0  # lists of numbers: rows whose list holds only zeros
    finite: int = 0  # numbers: finite values seen, their mean and the sum of squared deviations from it
    mean: float = 0.0
    squares: float = 0.0

    @property
    def present(self) -> int:
        """Rows with a value."""
        return self.rows - self.missing

    @property
    def variance(self) -> float | None:
        """The variance of the finite numbers (None without any)."""
        return self.squares / self.finite if self.finite else None


class _Counter:
    """The running count of a column's distinct values, given up past DISTINCT_CAP."""

    def __init__(self) -> None:
        self.seen: set | None = set()

    def add(self, values: list) -> None:
        if self.seen is None:
            return
        self.seen.update(values)
        if len(self.seen) > DISTINCT_CAP:
            self.seen = None

    @property
    def count(self) -> int | None:
        return None if self.seen is None else len(self.seen)


def profile_data(path: str | os.PathLike) -> tuple[Any, list[ColumnProfile]]:
    """Open a data file (or data set) and measure every column; return the source and the profiles.

    Raises mspec.data.DataError when the file cannot be read.
    """
    from ..data.source import open_data

    source = open_data(path)
    profiles = {name: _declared(info) for name, info in source.columns.items()}
    rows = source.num_rows
    read = [name for name, p in profiles.items() if p.values not in (DATE, OTHER)]
    text = {name for name, p in profiles.items() if p.values == TEXT}
    if source.format == "csv":
        text = _csv_text_columns(source, read)
        for name in text:
            profiles[name].values = TEXT
    counters = {name: _Counter() for name in read}
    for _, chunk in source.read(read, CHUNK_ROWS, text=text):
        for name, values in chunk.items():
            _measure(profiles[name], counters[name], values)
    for name, profile in profiles.items():
        profile.rows = rows
        if name in counters:
            profile.distinct = counters[name].count
    return source, list(profiles.values())


def _declared(info: Any) -> ColumnProfile:
    """What the file's header says of a column, before any row is read."""
    profile = ColumnProfile(info.name, info.type)
    if info.type == "csv":
        return profile  # read as numbers until a cell says otherwise (_csv_text_columns)
    if info.shape is not None:  # an NPZ array: its dtype and the shape of one example
        rank = len(info.shape)
        profile.shape = SCALAR if rank == 0 else LIST if rank == 1 else NESTED
        import numpy as np

        kind = np.dtype(info.type).kind
        profile.values = TEXT if info.text else NUMBER if kind in "iufb" else OTHER
        profile.integer_type = kind in "iub"
        return profile
    profile.shape = SCALAR if not info.rank else LIST if info.rank == 1 else NESTED
    scalar = info.type
    for _ in range(info.rank or 0):
        scalar = scalar.split("<", 1)[1].split(":", 1)[1].strip() if "<" in scalar else scalar
    profile.values, profile.integer_type = _value_kind(info.type, scalar, info.text)
    return profile


def _value_kind(full: str, scalar: str, text: bool) -> tuple[str, bool]:
    """(values, integer_type) from an Arrow type's name: the innermost type of a list decides."""
    name = scalar.rstrip(">]").strip()
    if name.startswith(("date", "timestamp", "time", "duration")):
        return DATE, False
    if text:
        # Bytes that are not text (binary) are not categories mspec can look up.
        return (OTHER, False) if "binary" in name and "dictionary" not in full else (TEXT, False)
    if name.startswith(("int", "uint", "bool")):
        return NUMBER, True
    if name.startswith(("float", "double", "halffloat", "decimal")):
        return NUMBER, False
    return OTHER, False


def _csv_text_columns(source: Any, names: list[str]) -> set[str]:
    """The CSV columns holding a cell that does not read as a number (a first pass, read as text)."""
    from ..data.checks import NUMBER_PATTERN
    from ..data.source import pyarrow_modules

    _, pc = pyarrow_modules()
    text: set[str] = set()
    for _, chunk in source.read(names, CHUNK_ROWS, text=set(names)):
        for name, values in chunk.items():
            if name in text:
                continue
            numbers = pc.match_substring_regex(values.fill_null(""), NUMBER_PATTERN, ignore_case=True)
            if not pc.all(numbers).as_py():
                text.add(name)
    return text


def _measure(profile: ColumnProfile, counter: _Counter, values: Any) -> None:
    """Add one chunk of a column to its profile."""
    import numpy as np

    from ..data.arrays import structure

    info = structure(values)
    rows = info.rows
    missing_rows = np.zeros(rows, dtype=bool)
    if info.array is not None:  # NPZ: numpy already, one example per row
        flat = info.array.reshape(rows, -1)
        if info.array.ndim == 2:  # one list per row, all of one length
            profile.min_length = profile.max_length = info.array.shape[1]
        if profile.values == TEXT:
            _measure_text(profile, counter, _arrow_text(flat.reshape(-1)))
            return
        _measure_numbers(profile, counter, flat.astype(np.float64), missing_rows)
        return
    if info.lengths:
        lengths = info.lengths[0]
        present = info.present[0]
        if present is not None:
            missing_rows |= ~present
        shown = lengths if present is None else lengths[present]
        if len(shown):
            low, high = int(shown.min()), int(shown.max())
            profile.min_length = low if profile.min_length is None else min(profile.min_length, low)
            profile.max_length = high if profile.max_length is None else max(profile.max_length, high)
    flat_values = info.values
    if profile.values == TEXT:
        _measure_text(profile, counter, flat_values)
        profile.missing += int(missing_rows.sum())
        return
    numbers = _numbers(flat_values)
    if len(info.lengths) == 1 and profile.min_length == profile.max_length and profile.min_length:
        # Lists of one length (so far): one row per line, to find the rows of zeros and each row's nulls.
        width = profile.min_length
        if len(numbers) == rows * width and not info.null_lists:
            _measure_numbers(profile, counter, numbers.reshape(rows, width), missing_rows)
            return
    if info.lengths:
        # Lists of several lengths are left out whatever they hold; count what is cheap to count.
        nan = np.isnan(numbers)
        profile.missing += int(missing_rows.sum()) + int(nan.any())
        _number_range(profile, counter, numbers[~nan])
        return
    _measure_numbers(profile, counter, numbers.reshape(rows, 1), missing_rows)


def _numbers(values: Any) -> Any:
    """A pyarrow Array of numbers as float64 numpy, nulls as NaN."""
    import numpy as np

    from ..data.source import pyarrow_modules

    pa, pc = pyarrow_modules()
    if not pa.types.is_floating(values.type):
        values = pc.cast(values, pa.float64())
    return values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _measure_numbers(profile: ColumnProfile, counter: _Counter, table: Any, missing_rows: Any) -> None:
    """Numbers, one row per line of `table`: missing rows, infinities, range, wholeness, distinct values."""
    import numpy as np

    nan = np.isnan(table)
    missing_rows = missing_rows | nan.any(axis=1)
    profile.missing += int(missing_rows.sum())
    finite_mask = np.isfinite(table)
    profile.infinite += int((~finite_mask & ~nan).any(axis=1).sum())
    if table.shape[1] > 1:
        profile.zero_rows += int(((table == 0) & ~missing_rows[:, None]).all(axis=1).sum())
    _number_range(profile, counter, table[finite_mask])


def _number_range(profile: ColumnProfile, counter: _Counter, finite: Any) -> None:
    import numpy as np

    if not len(finite):
        return
    # Chan's merge of this chunk's mean and squared deviations into the running ones: no cancellation.
    n, mean = len(finite), float(finite.mean())
    squares = float(((finite - mean) ** 2).sum())
    total = profile.finite + n
    delta = mean - profile.mean
    profile.squares += squares + delta * delta * profile.finite * n / total
    profile.mean += delta * n / total
    profile.finite = total
    low, high = float(finite.min()), float(finite.max())
    profile.low = low if profile.low is None else min(profile.low, low)
    profile.high = high if profile.high is None else max(profile.high, high)
    if profile.whole and not np.all(np.floor(finite) == finite):
        profile.whole = False
    if profile.whole:
        counter.add(np.unique(finite).astype(np.int64).tolist())
    else:
        counter.seen = None  # numbers with fractions: their count decides nothing


def _arrow_text(values: Any) -> Any:
    from ..data.source import pyarrow_modules

    pa, _ = pyarrow_modules()
    return pa.array([None if v is None else str(v) for v in values.tolist()], type=pa.string())


def _measure_text(profile: ColumnProfile, counter: _Counter, values: Any) -> None:
    """Text: missing values, lengths, words, values that read as dates, distinct values."""
    from ..data.source import pyarrow_modules

    pa, pc = pyarrow_modules()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    profile.missing += values.null_count
    present = values.drop_null()
    if not len(present):
        return
    lengths = pc.utf8_length(present)
    profile.chars += int(pc.sum(lengths).as_py() or 0)
    profile.longest = max(profile.longest, int(pc.max(lengths).as_py() or 0))
    profile.words += int(pc.sum(pc.count_substring_regex(present, r"\S+")).as_py() or 0)
    profile.dates += int(pc.sum(pc.match_substring_regex(present, DATE_PATTERN)).as_py() or 0)
    counter.add(pc.unique(present).to_pylist())
