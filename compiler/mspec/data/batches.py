"""Batches of bound data as numpy arrays, streamed (iter_batches) or whole (load_arrays).

Shards are contiguous blocks of rows: shard i of n holds rows
[i * N // n, (i + 1) * N // n), so that every row is in exactly one shard and
each worker reads only its own part of a Parquet or NPZ file (a CSV file is
scanned from its start, the rows before the shard skipped).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .arrays import cast, dense
from .binding import SPARSE_LOSSES, Binding, InputBinding
from .source import DataError, DataSource

Arrays = dict[str, np.ndarray]
# Rows read from the file at a time, at least: tiny batches are cut from bigger reads.
MIN_CHUNK_ROWS = 1024
LOAD_CHUNK_ROWS = 65536


def shard_range(total: int, shard_index: int, shard_count: int) -> tuple[int, int]:
    """Rows [start, stop) of shard `shard_index` of `shard_count` over `total` rows."""
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ValueError(f"shard {shard_index} of {shard_count}: need 0 <= shard_index < shard_count")
    return shard_index * total // shard_count, (shard_index + 1) * total // shard_count


def iter_batches(
    source: DataSource,
    binding: Binding,
    batch_size: int,
    shard_index: int = 0,
    shard_count: int = 1,
    outputs: bool = True,
    rows: slice | None = None,
) -> Iterator[tuple[Arrays, Arrays]]:
    """Yield (x, y) batches of `batch_size` rows (the last one may be shorter).

    x maps input names to arrays of shape (b, *input shape) in the input's
    dtype; y maps output names to labels, shape (b,) or (b, k) as in the file
    (int32 for sparse categorical losses, float32 otherwise), or is empty when
    `outputs` is false. `rows` (a slice with step 1) restricts the rows read
    before sharding. Memory holds one chunk of max(batch_size, 1024) rows
    and one batch, whatever the size of the file.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    begin, end = _row_range(binding, rows)
    first, last = shard_range(end - begin, shard_index, shard_count)
    chunks = _chunks(source, binding, max(batch_size, MIN_CHUNK_ROWS), begin + first, begin + last, outputs)
    pending: list[tuple[Arrays, Arrays]] = []
    held = 0
    for x, y in chunks:
        pending.append((x, y))
        held += _rows(x, y)
        while held >= batch_size:
            batch, pending, held = _take(pending, batch_size)
            yield batch
    if held:
        yield _join(pending)


def load_arrays(source: DataSource, binding: Binding, rows: slice | None = None) -> tuple[Arrays, Arrays]:
    """Every bound row (or the rows of `rows`, a slice with step 1) in memory, as one batch."""
    begin, end = _row_range(binding, rows)
    pieces = list(_chunks(source, binding, LOAD_CHUNK_ROWS, begin, end, True))
    if not pieces:
        return _empty(binding)
    return _join(pieces)


def _row_range(binding: Binding, rows: slice | None) -> tuple[int, int]:
    if binding.missing:
        raise DataError(
            f"{binding.source.path} lacks {', '.join(repr(c) for c in binding.missing)}: "
            "run `mspec lint SPEC --data PATH` for the details"
        )
    total = binding.num_rows
    if rows is None:
        return 0, total
    start, stop, step = rows.indices(total)
    if step != 1:
        raise ValueError("rows must be a slice with step 1")
    return start, max(start, stop)


def _chunks(source: DataSource, binding: Binding, chunk_rows: int, start: int, stop: int, outputs: bool):
    names = [c for b in binding.inputs.values() for c in b.columns]
    if outputs:
        names += [b.column for b in binding.outputs.values()]
    names = list(dict.fromkeys(names))
    if start >= stop:
        return
    for _, chunk in source.read(names, chunk_rows, start, stop, text=binding.text_columns):
        columns = {name: dense(values, name, source.path) for name, values in chunk.items()}
        x = {name: input_array(b, columns) for name, b in binding.inputs.items()}
        y = {}
        if outputs:
            y = {name: label_array(columns[b.column], b.loss) for name, b in binding.outputs.items()}
        yield x, y


def input_array(b: InputBinding, columns: Arrays) -> np.ndarray:
    """Assemble one input from its column arrays: stacked, or one column (a trailing 1 added if needed)."""
    if b.stacked:
        array = np.stack([columns[c] for c in b.columns], axis=-1)
    else:
        array = columns[b.columns[0]]
        if b.shape and b.shape[-1] == 1 and array.ndim == len(b.shape):
            array = array[..., np.newaxis]
    return cast(array, b.dtype)


def label_array(array: np.ndarray, loss: str) -> np.ndarray:
    return cast(array, "int32" if loss in SPARSE_LOSSES else "float32")


def _rows(x: Arrays, y: Arrays) -> int:
    for array in (*x.values(), *y.values()):
        return len(array)
    return 0


def _take(pending: list[tuple[Arrays, Arrays]], size: int):
    """Cut the first `size` rows off the pending pieces: (batch, rest, rows left)."""
    taken, rest, count = [], [], 0
    for x, y in pending:
        n = _rows(x, y)
        if count >= size:
            rest.append((x, y))
        elif count + n <= size:
            taken.append((x, y))
            count += n
        else:
            cut = size - count
            taken.append(({k: v[:cut] for k, v in x.items()}, {k: v[:cut] for k, v in y.items()}))
            rest.append(({k: v[cut:] for k, v in x.items()}, {k: v[cut:] for k, v in y.items()}))
            count = size
    return _join(taken), rest, sum(_rows(x, y) for x, y in rest)


def _join(pieces: list[tuple[Arrays, Arrays]]) -> tuple[Arrays, Arrays]:
    if len(pieces) == 1:
        return pieces[0]
    x0, y0 = pieces[0]
    x = {k: np.concatenate([p[0][k] for p in pieces]) for k in x0}
    y = {k: np.concatenate([p[1][k] for p in pieces]) for k in y0}
    return x, y


def _empty(binding: Binding) -> tuple[Arrays, Arrays]:
    """Zero rows, with the right dtypes (unknown dimensions as 0)."""

    def zeros(shape, dtype):
        dims = [d if isinstance(d, int) else 0 for d in shape]
        return cast(np.zeros((0, *dims)), dtype)

    x = {name: zeros(b.shape, b.dtype) for name, b in binding.inputs.items()}
    y = {name: label_array(np.zeros((0,)), b.loss) for name, b in binding.outputs.items()}
    return x, y
