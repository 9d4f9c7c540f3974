"""Synthetic training data for the example specs, with signals planted where we know them.

    python specs/data/make_data.py [--rows N] [--seed N] [-o DIR]

writes, into DIR (default build/data):
- concat_independent.npz: `input_1` (10 floats), `input_2` (5 floats) and the
  binary label `output` of the seed article's first example; the label
  depends on input_1's first two features and input_2's first one.
- churn.parquet: one row per customer for specs/churn.toml: list columns
  `demographics` (6 floats), `categories` and `amounts` (50 steps each, 0
  pads short histories) and the label `churned`. Churn depends strongly on the
  amounts spent, less on two demographic features, and a little on whether
  the customer bought from categories 900-999.

Needs numpy and pyarrow (the `data` extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def concat_independent(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    input_1 = rng.normal(size=(rows, 10)).astype("float32")
    input_2 = rng.normal(size=(rows, 5)).astype("float32")
    logit = 1.5 * input_1[:, 0] - input_1[:, 1] + 2.0 * input_2[:, 0]
    output = (logit + rng.normal(scale=0.5, size=rows) > 0).astype("float32")
    return {"input_1": input_1, "input_2": input_2, "output": output}


def churn(rows: int, seed: int = 0, steps: int = 50) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    demographics = rng.normal(size=(rows, 6)).astype("float32")
    lengths = rng.integers(5, steps + 1, size=rows)
    present = np.arange(steps)[None, :] < lengths[:, None]
    categories = np.where(present, rng.integers(1, 1000, size=(rows, steps)), 0).astype("int32")
    amounts = np.where(present, rng.gamma(2.0, 20.0, size=(rows, steps)), 0.0).astype("float32")
    spent = amounts.sum(axis=1) / lengths
    premium = (categories >= 900).sum(axis=1) / lengths
    logit = (
        -2.5 * (spent - spent.mean()) / spent.std()
        + 0.8 * demographics[:, 0]
        - 0.6 * demographics[:, 3]
        + 1.5 * (premium - premium.mean()) / premium.std()
    )
    churned = (logit + rng.logistic(size=rows) > 0.5).astype("float32")
    return {"demographics": demographics, "categories": categories, "amounts": amounts, "churned": churned}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def arrow_table(arrays: dict[str, np.ndarray]):
    """One row per example; arrays of rank 2 become fixed-size list columns."""
    import pyarrow as pa

    columns = {}
    for name, array in arrays.items():
        if array.ndim == 1:
            columns[name] = pa.array(array)
        else:
            flat = pa.array(array.reshape(-1))
            columns[name] = pa.FixedSizeListArray.from_arrays(flat, array.shape[1])
    return pa.table(columns)


def write_parquet(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow_table(arrays), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="examples per data set (default 4000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output-dir", type=Path, default=Path("build/data"))
    options = parser.parse_args()
    folder = options.output_dir
    write_npz(folder / "concat_independent.npz", concat_independent(options.rows, options.seed))
    write_parquet(folder / "churn.parquet", churn(options.rows, options.seed))
    for name in ("concat_independent.npz", "churn.parquet"):
        print(f"wrote {folder / name} ({options.rows:,} rows)")


if __name__ == "__main__":
    main()
