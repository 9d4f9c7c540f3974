"""Predict with a trained model on data, streamed: one row out per row in, in order, written chunk by chunk.

The data is bound and checked as `mspec fit` binds and checks it, before
Keras is imported, except that labels are not needed: an output's label
column may be absent, and is neither read nor checked when present. Rows
are read in chunks of about CHUNK_BYTES of inputs (only the inputs' columns
and the kept ones; at least one batch), each chunk predicted in one
`model.predict` call and written at once (mspec.scoring.writers), so memory
holds one chunk whatever the file's size (an NPZ output excepted: its
arrays are assembled at the end). Chunks are large because every
`model.predict` call costs Keras a new data pipeline (about 0.15 s): in
chunks of 65,536 rows, 1,000,000 rows of the seed example took 5.2 s
against 2.9 s in chunks of 262,144 or more. The columns
each output is written as are named in mspec.scoring.columns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..frontend import CheckResult
from ..training.feeding import predict_inputs
from .columns import DEFAULT_THRESHOLD, output_kinds
from .writers import chunk_writer, output_format

# Bytes of inputs (as the spec's shapes and dtypes estimate them) read, predicted and written at a time.
CHUNK_BYTES = 32 << 20
# Rows per batch of model.predict.
DEFAULT_BATCH_SIZE = 1024


@dataclass
class Prediction:
    """What `predict` wrote: the file, its rows and columns, and how many chunks the data was read in."""

    path: Path
    rows: int
    columns: list[str]
    chunks: int
    warnings: list[Any] = field(default_factory=list)


def predict(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike | Any,
    data: str | os.PathLike,
    output: str | os.PathLike,
    *,
    keep: Sequence[str] = (),
    threshold: float = DEFAULT_THRESHOLD,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_rows: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Prediction:
    """Predict every row of `data` with `model` (a .keras file or a keras.Model); write them to `output`.

    `output` is a .parquet, .csv or .npz file, written atomically. `keep`
    names columns of the data copied first into every row of the output
    (ids, keys; any column, bound to the spec or not). `chunk_rows` is the
    rows read, predicted and written at a time (default: about CHUNK_BYTES of inputs). Raises
    mspec.training.FitError, before Keras is imported, when the spec or the
    data is wrong; DataError when the data cannot be read; ValueError for a
    wrong argument (output suffix, threshold, a kept column the data lacks).
    """
    from ..training.runner import check_before_explain

    output_format(output)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold}: give a probability between 0 and 1")
    if batch_size < 1 or (chunk_rows is not None and chunk_rows < 1):
        raise ValueError("batch_size and chunk_rows must be at least 1")
    keep = tuple(dict.fromkeys(keep))
    result, warnings = check_before_explain(spec, data, labels=False, kept=keep)
    for warning in warnings if log else ():
        log(warning.format())

    from ..data import bind, open_data

    source = open_data(data)
    binding, _ = bind(result, source, labels=False, kept=keep)
    _check_kept(keep, source, binding, result)
    kinds = output_kinds(result)
    chunk_rows = chunk_rows or default_chunk_rows(result, batch_size)

    from .model import by_output, load_model, output_names

    keras_model = load_model(model)
    names = output_names(keras_model, result)
    rows = chunks = 0
    written: list[str] = []
    with chunk_writer(output) as writer:
        for x, kept in _chunks(source, binding, keep, chunk_rows):
            predicted = keras_model.predict(predict_inputs(x), batch_size=batch_size, verbose=0)
            predicted = by_output(predicted, names)
            columns: dict[str, Any] = dict(kept)
            for name in result.spec.outputs:  # in the spec's order, whatever the model's
                columns.update(kinds[name].columns(np.asarray(predicted[name]), threshold))
            writer.write(columns)
            written = written or list(columns)
            rows += len(next(iter(x.values())))
            chunks += 1
    return Prediction(Path(output), rows, written, chunks, [w for w in warnings if not w.is_error])


def default_chunk_rows(result: CheckResult, batch_size: int) -> int:
    """Rows per chunk: about CHUNK_BYTES of inputs, and at least one batch."""
    from ..training.feeding import row_bytes

    return max(batch_size, CHUNK_BYTES // max(1, row_bytes(result.spec)))


def _check_kept(keep: tuple[str, ...], source: Any, binding: Any, result: CheckResult) -> None:
    """Kept columns must be in the data, one value per row, and not named like a prediction's column."""
    for column in keep:
        info = source.columns.get(column)
        if info is None:
            raise ValueError(f"--keep {column}: {source.path} has no column {column!r}")
        if info.rows is not None and info.rows != binding.num_rows:
            raise ValueError(
                f"--keep {column}: {source.path} holds {info.rows} rows of it, "
                f"and {binding.num_rows} of the inputs"
            )
        clash = [o for o in result.spec.outputs if column == o or column.startswith(f"{o}_")]
        if clash:
            raise ValueError(
                f"--keep {column}: the predictions of output {clash[0]!r} are written in columns named "
                f"{clash[0]!r} and {clash[0]}_...; rename the column"
            )


def _chunks(source: Any, binding: Any, keep: tuple[str, ...], chunk_rows: int) -> Iterator[tuple[dict, dict]]:
    """(inputs by name, kept columns as read) for `chunk_rows` rows at a time, in the file's order."""
    from ..data.arrays import dense
    from ..data.batches import input_array

    bound = list(dict.fromkeys(c for b in binding.inputs.values() for c in b.columns))
    text = set(binding.text_columns)
    if source.format == "csv":
        text |= {c for c in keep if c not in bound}  # copied as written: "007" stays "007"
    names = list(dict.fromkeys(bound + list(keep)))
    for _, chunk in source.read(names, chunk_rows, 0, binding.num_rows, text=text):
        columns = {name: dense(chunk[name], name, source.path) for name in bound}
        x = {name: input_array(b, columns) for name, b in binding.inputs.items()}
        yield x, {name: chunk[name] for name in keep}
