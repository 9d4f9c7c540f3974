"""Training data: open a file (.npz, .csv, .parquet), bind its columns to a spec, stream and check it.

Needs numpy (and pyarrow for CSV and Parquet): the `data` extra. Never
imports TensorFlow, Keras or JAX.
"""

from __future__ import annotations

from .batches import iter_batches, load_arrays, shard_range
from .binding import Binding, IdLimit, InputBinding, OutputBinding, bind
from .checks import check_data
from .source import DataError, DataSource, open_data

__all__ = [
    "Binding",
    "DataError",
    "DataSource",
    "IdLimit",
    "InputBinding",
    "OutputBinding",
    "bind",
    "check_data",
    "iter_batches",
    "load_arrays",
    "open_data",
    "shard_range",
]
