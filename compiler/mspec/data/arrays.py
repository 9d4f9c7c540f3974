"""Turn a chunk of one column (numpy, or a pyarrow Array with list nesting) into a dense numpy array.

List columns are converted without a Python loop per row: each nesting level
is flattened once (pyarrow), its lengths checked to be all equal (numpy), and
the flat values reshaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .source import DataError, pyarrow_modules


@dataclass
class Structure:
    """A column chunk taken apart: its flat values and, per list level, the lengths of the lists.

    `lengths[k]` has one entry per list at level k (level 0: one per row).
    `null_lists` counts missing lists (a null instead of a list) at any level.
    `values` is the flat pyarrow Array of scalars (for numpy input: None, and
    `array` holds the data itself).
    """

    rows: int
    lengths: list[np.ndarray] = field(default_factory=list)
    null_lists: int = 0
    first_null_list: int | None = None  # the row of the first missing list
    # Per list level, which lists are present (None: all of them); a missing list has length 0.
    present: list[np.ndarray | None] = field(default_factory=list)
    values: Any = None
    array: np.ndarray | None = None


def is_arrow(values: Any) -> bool:
    return not isinstance(values, np.ndarray)


def structure(values: Any) -> Structure:
    """Take a chunk apart into its list lengths and flat values."""
    if not is_arrow(values):
        return Structure(len(values), array=values)
    pa, pc = pyarrow_modules()
    info = Structure(len(values))
    current = values
    while _is_list(pa, current.type):
        present = None
        if current.null_count:
            info.null_lists += current.null_count
            present = _valid(current)
            index = int(np.argmin(present))
            row = _up(info.lengths, index)
            info.first_null_list = row if info.first_null_list is None else min(row, info.first_null_list)
        if pa.types.is_fixed_size_list(current.type):
            size = current.type.list_size
            lengths = np.full(len(current), size, dtype=np.int64)
            if present is not None:
                lengths[~present] = 0
        else:
            lengths = pc.list_value_length(current).to_numpy(zero_copy_only=False)
            lengths = np.nan_to_num(lengths, nan=0).astype(np.int64, copy=False)
        info.lengths.append(lengths)
        info.present.append(present)
        current = current.flatten()
    if pa.types.is_dictionary(current.type):
        current = current.dictionary_decode()
    info.values = current
    return info


def _up(lengths: list[np.ndarray], index: int) -> int:
    """Map an index at the list level below `lengths` up to its row."""
    for level in reversed(lengths):
        index = int(np.searchsorted(np.cumsum(level), index, side="right"))
    return index


def row_of(info: Structure, flat_index: int, level: int | None = None) -> int:
    """The row holding the value at `flat_index` (or the list at that index of list level `level`)."""
    if info.array is not None:
        per_row = int(np.prod(info.array.shape[1:], dtype=np.int64)) or 1
        return flat_index // per_row
    return _up(info.lengths[: len(info.lengths) if level is None else level], flat_index)


def _is_list(pa, arrow_type) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def _valid(array) -> np.ndarray:
    return array.is_valid().to_numpy(zero_copy_only=False)


def flat_numpy(values: Any) -> np.ndarray:
    """A pyarrow Array of scalars as numpy: numbers as numbers (nulls as NaN), text as objects."""
    pa, _ = pyarrow_modules()
    if pa.types.is_boolean(values.type):
        return values.to_numpy(zero_copy_only=False).astype(np.float64 if values.null_count else bool)
    return values.to_numpy(zero_copy_only=False)


def dense(values: Any, name: str, path: str) -> np.ndarray:
    """A column chunk (of the file `path`) as a numpy array of shape (rows, *example); DataError if ragged."""
    if not is_arrow(values):
        return values
    info = structure(values)
    dims = []
    for level, lengths in enumerate(info.lengths):
        if info.null_lists:
            raise DataError(f"{path}: column {name!r} has missing (null) lists")
        if len(lengths) and lengths.min() != lengths.max():
            raise DataError(
                f"{path}: column {name!r}: lists at depth {level + 1} have lengths from {lengths.min()} to "
                f"{lengths.max()} within one batch: pad them to one length"
            )
        size = int(lengths[0]) if len(lengths) else 0
        dims.append(size)
    return flat_numpy(info.values).reshape(info.rows, *dims)


def cast(array: np.ndarray, dtype: str) -> np.ndarray:
    """Give an array a spec dtype: "string" keeps text as str objects, integers round whole floats."""
    if dtype == "string":
        if array.dtype.kind == "S":
            return np.char.decode(array, "utf-8").astype(object)
        return array.astype(object) if array.dtype != object else array
    target = np.dtype(dtype)
    if target.kind in "iu" and array.dtype.kind == "f":
        array = np.rint(array)
    return array.astype(target, copy=False)
