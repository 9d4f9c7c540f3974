"""Training data: open a file (.npz, .csv, .parquet) or a data set of many Parquet files (a directory,
a glob pattern), bind its columns to a spec, stream and check it.

Needs numpy (and pyarrow for CSV and Parquet): the `data` extra. Never
imports TensorFlow, Keras or JAX.
"""

from __future__ import annotations

from .batches import iter_batches, load_arrays, shard_range
from .binding import Binding, IdLimit, InputBinding, OutputBinding, bind
from .checks import check_data
from .dataset import ParquetDataset, dataset_sha256, is_dataset, list_parts
from .source import DataError, DataSource, open_data

__all__ = [
    "Binding",
    "DataError",
    "DataSource",
    "IdLimit",
    "InputBinding",
    "OutputBinding",
    "ParquetDataset",
    "bind",
    "check_data",
    "dataset_sha256",
    "is_dataset",
    "iter_batches",
    "list_parts",
    "load_arrays",
    "open_data",
    "shard_range",
]
