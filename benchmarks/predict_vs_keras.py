"""What `mspec predict` costs against the hand-written script, in time and in memory.

The seed example 1 (specs/seed/concat_independent.toml) is trained once,
one epoch on 20,000 rows. Then 1,000,000 rows (--rows) of its inputs, with
an id column and no labels, are written to a Parquet file (row groups of
100,000), and predicted in fresh processes, in turns:

- mspec: `mspec predict SPEC --model M --data FILE -o OUT.parquet --keep id`,
  which checks the spec and the data first, then reads, predicts and writes
  in chunks of about 32 MB of inputs (493,447 rows of this spec);
- Keras: the script a person writes for the same job: pyarrow's read_table
  of the whole file, the columns as NumPy arrays, `model.predict(x,
  batch_size=1024)`, and a Parquet file of the same three columns (id,
  output_prob, output at 0.5) written with pyarrow.

We report the median wall time of each, the ratio of the medians
mspec/Keras, the quartiles of the per-pair ratios, and the peak RSS of each
process (its own, from wait4's ru_maxrss; the median over the runs) beside
the size of the data in memory (rows x bytes per row). mspec holds one
chunk at a time; the script holds the whole file, its arrays and its
predictions. Times are printed, never asserted. Data files live in a
temporary folder removed at the end.

    .venv/bin/python benchmarks/predict_vs_keras.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from fit_vs_keras import MB, ROOT, SEED_SPEC, make_data, mspec, quartiles, run, write_parquet_in_chunks
from taking_turns import in_turns

TRAIN_ROWS = 20_000
BATCH_SIZE = 1024

# Predicts a Parquet file: argv = model, data.parquet, output.parquet.
HAND_WRITTEN = f"""
import sys
import keras
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

model = keras.saving.load_model(sys.argv[1])
table = pq.read_table(sys.argv[2], columns=["id", "input_1", "input_2"])


def column(name, width):
    return table.column(name).combine_chunks().flatten().to_numpy().reshape(-1, width)


x = {{"input_1": column("input_1", 10), "input_2": column("input_2", 5)}}
probability = model.predict(x, batch_size={BATCH_SIZE}, verbose=0)[:, 0]
out = pa.table(
    {{
        "id": table.column("id"),
        "output_prob": probability,
        "output": (probability >= 0.5).astype("int64"),
    }}
)
pq.write_table(out, sys.argv[3])
"""


def with_ids(rows: int, seed: int) -> dict[str, np.ndarray]:
    arrays = make_data.concat_independent(rows, seed)
    del arrays["output"]  # predicting needs no labels
    return {"id": np.arange(seed * 100_000, seed * 100_000 + rows, dtype="int64"), **arrays}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to predict (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per side (default 5)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mspec-predict-bench-") as name:
        folder = Path(name)
        train = folder / "train.npz"
        make_data.write_npz(train, make_data.concat_independent(TRAIN_ROWS))
        run(mspec("fit", SEED_SPEC, "--data", train, "--epochs", 1, "-q", "-o", folder))
        model = folder / "concat_independent.keras"
        data = folder / "new.parquet"
        write_parquet_in_chunks(data, with_ids, options.rows, min(100_000, options.rows))
        row_bytes = sum(a[:1].nbytes for a in with_ids(1, 0).values())
        keras_out, mspec_out = folder / "keras.parquet", folder / "mspec.parquet"
        keras = [sys.executable, "-c", HAND_WRITTEN, str(model), str(data), str(keras_out)]
        predict = mspec(
            "predict", SEED_SPEC, "--model", model, "--data", data, "-o", mspec_out, "--keep", "id"
        )
        run(keras)  # warm the file cache once each
        run(predict)
        samples = in_turns({"keras": lambda: run(keras), "mspec": lambda: run(predict)}, options.runs)
        _same_predictions(keras_out, mspec_out)
    keras_times = [seconds for seconds, _ in samples["keras"]]
    mspec_times = [seconds for seconds, _ in samples["mspec"]]
    keras_rss = statistics.median(rss for _, rss in samples["keras"])
    mspec_rss = statistics.median(rss for _, rss in samples["mspec"])
    ratios = [m / k for m, k in zip(mspec_times, keras_times, strict=True)]
    keras_time, mspec_time = statistics.median(keras_times), statistics.median(mspec_times)
    print(
        f"predict of the seed example 1: {options.rows:,} rows (Parquet, {row_bytes} bytes per row, "
        f"{options.rows * row_bytes / MB:,.0f} MB in memory), median of {options.runs} fresh processes"
    )
    print(f"  Keras script  {keras_time:6.2f} s   quartiles {_shown(quartiles(keras_times))}")
    print(f"  mspec predict {mspec_time:6.2f} s   quartiles {_shown(quartiles(mspec_times))}")
    print(
        f"  ratio of the medians mspec/Keras: {mspec_time / keras_time:.3f} "
        f"(per-pair ratios, quartiles {_shown(quartiles(ratios), '.3f')})"
    )
    print(f"  peak RSS: Keras script {keras_rss / MB:,.0f} MB, mspec predict {mspec_rss / MB:,.0f} MB")


def _same_predictions(keras_out: Path, mspec_out: Path) -> None:
    """Both sides wrote the same rows: a benchmark of different work would mean nothing."""
    import pyarrow.parquet as pq

    mine, theirs = pq.read_table(mspec_out), pq.read_table(keras_out)
    assert mine.column("id").equals(theirs.column("id")), "the ids differ"
    np.testing.assert_allclose(
        mine.column("output_prob").to_numpy(), theirs.column("output_prob").to_numpy(), rtol=1e-5
    )


def _shown(values: tuple[float, ...], spec: str = ".2f") -> str:
    return " / ".join(format(v, spec) for v in values)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    main()
