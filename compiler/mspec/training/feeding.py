"""What `model.fit` is given: NumPy arrays when the data fits in memory, else a streamed tf.data pipeline.

Data that fits in memory (the usual case) is handed to Keras exactly as a
person would hand it: dicts of NumPy arrays keyed by input and output name,
so that mspec trains at Keras' own speed. Larger files are streamed in
record batches through `tf.data`, so memory stays bounded by a window of
rows whatever the file's size; rows are then shuffled within that window.

Class weights become per-output sample weights, which Keras supports for
models with several outputs (its `class_weight` argument does not).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

# Above this estimated size in memory, training data is streamed.
STREAM_ABOVE_BYTES = 1 << 30
# Rows shuffled together when streaming: a window of this many batches.
SHUFFLE_WINDOW_BATCHES = 64
_ITEM_BYTES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "bool": 1,
    "string": 64,
}


def row_bytes(spec: Any) -> int:
    """Estimate one example's size in memory from the inputs' shapes (unknown sizes count 1)."""
    total = 0
    for spec_input in spec.inputs.values():
        size = math.prod(d if isinstance(d, int) else 1 for d in spec_input.shape)
        total += size * _ITEM_BYTES.get(spec_input.dtype, 8)
    return total + 8 * len(spec.outputs)


def predict_inputs(x: dict[str, np.ndarray]) -> dict[str, Any]:
    """The inputs as `model.predict` takes them: text as tf.string tensors.

    Keras' predict refuses NumPy arrays of str or object ("Invalid dtype:
    object"); fit is given the same text through its own data adapter.
    """
    if not any(array.dtype.kind in "OUS" for array in x.values()):
        return x
    import tensorflow as tf

    return {name: tf.constant(array) for name, array in x.items()}  # one kind of value: all tensors


def should_stream(spec: Any, rows: int, forced: bool | None) -> bool:
    # Keras' NumPy path refuses arrays of Python strings; tf.data carries them as tf.string.
    if any(spec_input.dtype == "string" for spec_input in spec.inputs.values()):
        return True
    if forced is not None:
        return forced
    return rows * row_bytes(spec) > STREAM_ABOVE_BYTES


def sample_weights(
    y: dict[str, np.ndarray], class_weight: dict[str, dict[int, float]]
) -> dict[str, np.ndarray] | None:
    """Per-example weights from per-output class weights; outputs without class weights weigh 1."""
    if not class_weight:
        return None
    weights = {}
    for output, labels in y.items():
        table = class_weight.get(output)
        if table is None:
            weights[output] = np.ones(len(labels), dtype="float32")
            continue
        ids = class_ids(labels)
        lookup = np.ones(max(max(table), int(ids.max(initial=0))) + 1, dtype="float32")
        for label, weight in table.items():
            lookup[label] = weight
        weights[output] = lookup[ids]
    return weights


def class_ids(labels: np.ndarray) -> np.ndarray:
    """The class of each example: the label itself, or the index of a one-hot row."""
    labels = np.asarray(labels)
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        return labels.reshape(len(labels), -1).argmax(axis=-1)
    return np.rint(labels.reshape(len(labels))).astype("int64")


@dataclass
class InMemory:
    """Arrays for `model.fit(x, y, sample_weight=...)`."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    sample_weight: dict[str, np.ndarray] | None

    @property
    def rows(self) -> int:
        return len(next(iter(self.x.values())))

    def take(self, rows: slice) -> InMemory:
        def cut(arrays):
            return None if arrays is None else {k: v[rows] for k, v in arrays.items()}

        return InMemory(cut(self.x), cut(self.y), cut(self.sample_weight))

    def for_keras(self, output_names: list[str]) -> tuple[Any, Any, Any]:
        """(x, y, sample_weight) in the form Keras expects.

        Inputs go by name; labels and weights as a list in the model's output
        order (Keras matches a dict of labels to a list of outputs in some
        code paths only), or bare arrays for a single output.
        """
        y, weights = self.y, self.sample_weight
        if len(output_names) == 1:
            (name,) = output_names
            return self.x, y[name], None if weights is None else weights[name]
        return (
            self.x,
            [y[n] for n in output_names],
            None if weights is None else [weights[n] for n in output_names],
        )


def split_rows(rows: int, validation_split: float) -> tuple[slice, slice | None]:
    """Training and validation rows: the last fraction is held out, as Keras' validation_split does."""
    if not validation_split:
        return slice(0, rows), None
    held_out = max(1, int(rows * validation_split))
    return slice(0, rows - held_out), slice(rows - held_out, rows)


def shard_rows(rows: slice, shard: tuple[int, int]) -> slice:
    """Process `index` of `count` reads an equal contiguous block (the remainder is left out).

    Equal blocks keep the processes of a multi-worker run in step: each runs
    the same number of batches per epoch.
    """
    index, count = shard
    if count == 1:
        return rows
    each = (rows.stop - rows.start) // count
    start = rows.start + index * each
    return slice(start, start + each)


def streamed(
    source: Any,
    binding: Any,
    rows: slice,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int | None,
    output_names: list[str],
    class_weight: dict[str, dict[int, float]],
    signature: tuple[Any, Any],
    first_epoch: int = 0,
):
    """A tf.data pipeline over `rows` of the file, read in record batches: only those rows, never all.

    Each pass (epoch) shuffles with the seed's next child; `first_epoch` is the
    first pass's index, so that a resumed run shuffles as the run it continues.
    """
    import tensorflow as tf

    from ..data import iter_batches

    epoch_seed = np.random.SeedSequence(seed, n_children_spawned=first_epoch)

    def generate() -> Iterator[tuple[Any, ...]]:
        rng = np.random.default_rng(epoch_seed.spawn(1)[0])
        window = batch_size * (SHUFFLE_WINDOW_BATCHES if shuffle else 1)
        # Only `rows` are read (a data set of many files: only the files holding them), in windows from
        # their first row, so that every window but the last holds whole batches.
        for x, y in iter_batches(source, binding, window, rows=rows):
            order = rng.permutation(len(next(iter(x.values())))) if shuffle else None
            chunk = InMemory(x, y, sample_weights(y, class_weight))
            if order is not None:
                chunk = chunk.take(order)
            for start in range(0, chunk.rows, batch_size):
                x_part, y_part, weights = chunk.take(slice(start, start + batch_size)).for_keras(output_names)
                # tf.data wants tuples where Keras takes lists.
                if weights is None:
                    yield x_part, _tuple(y_part)
                else:
                    yield x_part, _tuple(y_part), _tuple(weights)

    x_sig, y_sig = signature
    if class_weight:
        signature = (x_sig, y_sig, _weight_signature(y_sig, output_names))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=tuple(signature))
    steps = math.ceil((rows.stop - rows.start) / batch_size)
    return dataset.apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _weight_signature(y_sig: Any, output_names: list[str]):
    import tensorflow as tf

    spec = tf.TensorSpec(shape=(None,), dtype=tf.float32)
    return spec if len(output_names) == 1 else tuple(spec for _ in output_names)


def tensor_signature(x: dict[str, np.ndarray], y: dict[str, np.ndarray], output_names: list[str]):
    """The tf.data signature of a batch, read from a first small batch of the file."""
    import tensorflow as tf

    def spec(array: np.ndarray):
        dtype = tf.string if array.dtype.kind in "OUS" else tf.as_dtype(array.dtype)
        return tf.TensorSpec(shape=(None, *array.shape[1:]), dtype=dtype)

    x_sig = {k: spec(v) for k, v in x.items()}
    y_sig = spec(y[output_names[0]]) if len(output_names) == 1 else tuple(spec(y[k]) for k in output_names)
    return x_sig, y_sig
