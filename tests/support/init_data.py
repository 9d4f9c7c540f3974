"""Data files for the tests of `mspec init`: every kind of column, and the kinds it must leave out.

`churn_columns` returns numpy arrays (and lists for the ragged column) keyed
by column name, in the order the file holds them; `LEFT_OUT` names the
columns init must leave out and a word its reason must hold. The files are
written by `write_parquet`, `write_csv` and `write_npz`.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

ROWS = 160
SEQUENCE = 8
# Column -> a word the reason for leaving it out must hold.
LEFT_OUT = {
    "customer_id": "unique per row",
    "notes": "free text",
    "signup": "dates",
    "signup_day": "dates",
    "country": "constant",
    "email": "unique per row",
    "visits": "pad them to one length",
    "row_number": "row number",
}
TARGETS = ("churned", "segment", "spend")
WORDS = ("the", "customer", "called", "about", "billing", "issue", "again", "twice")


def churn_columns(rows: int = ROWS, seed: int = 0) -> dict[str, object]:
    """One row per customer: every kind of feature, columns to leave out, and three targets."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, SEQUENCE + 1, size=rows)
    present = np.arange(SEQUENCE)[None, :] < lengths[:, None]
    start = datetime.date(2021, 1, 1)
    days = rng.integers(0, 700, size=rows)
    return {
        "customer_id": np.arange(5000, 5000 + rows, dtype=np.int64),
        "row_number": np.arange(rows, dtype=np.int64),
        "usage_calls": rng.normal(size=rows),
        "usage_minutes": rng.gamma(2.0, 30.0, size=rows),
        "usage_data": rng.gamma(1.5, 3.0, size=rows).astype(np.float32),
        "age": rng.integers(18, 90, size=rows),
        "is_premium": rng.integers(0, 2, size=rows).astype(bool),
        "region_id": rng.integers(0, 40, size=rows).astype(np.int32),
        "store_code": rng.choice(np.array([3, 170, 990, 5000, 12000]), size=rows),
        "rating": rng.integers(1, 6, size=rows),
        "plan": rng.choice(np.array(["basic", "plus", "premium", "family"]), size=rows),
        "notes": np.array([" ".join(rng.choice(WORDS, size=7)) for _ in range(rows)]),
        "signup": np.array([start + datetime.timedelta(days=int(d)) for d in days]),
        "signup_day": np.array([str(start + datetime.timedelta(days=int(d))) for d in days]),
        "country": np.full(rows, "FR"),
        "email": np.array([f"customer{i}@example.com" for i in range(rows)]),
        "categories": np.where(present, rng.integers(1, 60, size=(rows, SEQUENCE)), 0).astype(np.int32),
        "amounts": rng.gamma(2.0, 20.0, size=(rows, SEQUENCE)).astype(np.float32),
        "visits": [list(range(int(n))) for n in rng.integers(1, 5, size=rows)],
        "churned": (rng.random(rows) < 0.3).astype(np.int64),
        "segment": rng.integers(0, 4, size=rows),
        "spend": rng.gamma(2.0, 100.0, size=rows),
    }


def arrow_table(columns: dict[str, object]):
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.ndim == 2:
            flat = pa.array(values.reshape(-1))
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        elif isinstance(values, np.ndarray) and values.dtype == object:
            arrays[name] = pa.array(values.tolist())  # dates
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def write_parquet(path: Path, columns: dict[str, object]) -> Path:
    import pyarrow.parquet as pq

    pq.write_table(arrow_table(columns), path)
    return path


def scalar_columns(columns: dict[str, object]) -> dict[str, object]:
    """The columns a CSV file can hold: one value per cell."""
    return {
        name: values
        for name, values in columns.items()
        if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype != object
    }


def write_csv(path: Path, columns: dict[str, object]) -> Path:
    import pyarrow.csv as pacsv

    pacsv.write_csv(arrow_table(scalar_columns(columns)), path)
    return path


def write_npz(path: Path, columns: dict[str, object]) -> Path:
    arrays = {
        name: values
        for name, values in columns.items()
        if isinstance(values, np.ndarray) and values.dtype.kind in "iufb"
    }
    np.savez(path, **arrays)
    return path
