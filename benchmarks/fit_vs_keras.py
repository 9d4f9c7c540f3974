"""What `mspec fit` costs: against the hand-written Keras script, checking data, and streaming memory.

Three measurements, each in fresh processes:

1. fit: `mspec fit -q` of the seed example (specs/seed/concat_independent.toml)
   on 200,000 rows of NPZ data (specs/data/make_data.py), 5 epochs of
   batches of 256, against the script a person writes for the same job: the
   same model with keras.Input/Dense/Concatenate, compiled the same way, the
   arrays loaded with numpy, `model.fit(x, y, epochs, batch_size,
   verbose=2)` and `model.save`. Both print one line per epoch and save the
   model; mspec also checks the spec and the data first, records the
   branches' balance after each epoch, and writes the history (JSON and PNG)
   and the run record. Run in turns; we report the median wall time of each,
   the ratio mspec/Keras (target: at most 1.1) and the quartiles of each
   side's times and of the per-pair ratios, since the machine's load moves
   every figure.
2. fixed cost: `mspec fit -q` of the seed example on Parquet files of
   8,000 rows (8 epochs) and 100,000 rows (3 epochs), at mspec's default
   batch of 32, against the script a person writes for a Parquet file
   (pyarrow's read_table, the columns as NumPy arrays, `model.fit`,
   `model.save`). What mspec adds on top is the same on both (the spec and
   data checks, the balance measurement, history, plot and run record), so
   it weighs most on the small one (target: ratio at most 1.05).
3. lint --data: `mspec lint SPEC --data FILE.parquet` on 1,000,000 rows of a
   three-input spec (a [4] numeric input, a [1] int32 id into an
   Embedding(1000, 8), an [8] numeric input; a binary label), which reads
   and checks every row; median wall time (target: at most 2 s), beside
   `mspec lint SPEC` alone (the start-up and the spec check).
4. streaming: one epoch of `mspec fit --stream --epochs 1 --batch-size 1024`
   of the seed example over a Parquet file of 5,000,000 rows (row groups of
   100,000, written in chunks). We report the fit process's peak RSS (from
   wait4's resource usage) against the size of the data in memory (rows x
   bytes per row) and the file's size, beside two references: the same
   command on 10,000 rows (the floor: Python, TensorFlow, the model) and
   `--no-stream` on 1,000,000 rows (the whole data in memory). Streaming is
   bounded when its peak stays near the floor however large the file is.

Times are printed, never asserted. Data files live in a temporary folder
removed at the end.

    .venv/bin/python benchmarks/fit_vs_keras.py [--runs N] [--quick] [--only fit|fixed|lint|stream]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]
SEED_SPEC = ROOT / "specs" / "seed" / "concat_independent.toml"
sys.path.insert(0, str(ROOT / "specs" / "data"))

import make_data  # noqa: E402

EPOCHS = 5
BATCH_SIZE = 256
STREAM_BATCH_SIZE = 1024
# The fixed cost: a small and a larger Parquet file, at mspec's default batch size.
PARQUET_CASES = ((8_000, 8), (100_000, 3))
SMALL_BATCH_SIZE = 32
ROW_GROUP = 100_000
MB = 1 << 20

# The seed article's example 1 as a person writes it, compiled; `x` and `y` are read before it.
MODEL = """
input_1 = keras.Input(shape=(10,), name="input_1")
input_2 = keras.Input(shape=(5,), name="input_2")
x1 = layers.Dense(64, activation="relu")(input_1)
x2 = layers.Dense(32, activation="relu")(input_2)
merged = layers.Concatenate()([x1, x2])
output = layers.Dense(1, activation="sigmoid", name="output")(merged)
model = keras.Model(inputs=[input_1, input_2], outputs=output, name="concat_independent")
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

# Trained on NPZ arrays: argv = data.npz, output folder.
HAND_WRITTEN = f"""
import sys
import numpy as np
import keras
from keras import layers

arrays = np.load(sys.argv[1])
x = {{"input_1": arrays["input_1"], "input_2": arrays["input_2"]}}
y = arrays["output"]
{MODEL}
model.fit(x, y, epochs={EPOCHS}, batch_size={BATCH_SIZE}, verbose=2)
model.save(sys.argv[2] + "/concat_independent.keras")
"""

# Trained on a Parquet file: argv = data.parquet, output folder, epochs.
HAND_WRITTEN_PARQUET = f"""
import sys
import keras
import pyarrow.parquet as pq
from keras import layers

table = pq.read_table(sys.argv[1])


def column(name, width=None):
    values = table.column(name).combine_chunks()
    return values.flatten().to_numpy().reshape(-1, width) if width else values.to_numpy()


x = {{"input_1": column("input_1", 10), "input_2": column("input_2", 5)}}
y = column("output")
{MODEL}
model.fit(x, y, epochs=int(sys.argv[3]), batch_size={SMALL_BATCH_SIZE}, verbose=2)
model.save(sys.argv[2] + "/concat_independent.keras")
"""

# Three inputs of three kinds, for the data check.
THREE_INPUTS = """
[model]
name = "three_inputs"

[inputs.measures]
shape = [4]

[inputs.item]
shape = [1]
dtype = "int32"
kind = "categorical"

[inputs.profile]
shape = [8]

[branches.measure_features]
from = "measures"
layers = [{ type = "Dense", units = 16, activation = "relu" }]

[branches.item_embedding]
from = "item"
layers = [{ type = "Embedding", input_dim = 1000, output_dim = 8 }, { type = "Flatten" }]

[branches.profile_features]
from = "profile"
layers = [{ type = "Dense", units = 16, activation = "relu" }]

[merges.features]
type = "Concatenate"
from = ["measure_features", "item_embedding", "profile_features"]

[outputs.label]
from = "features"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"
metrics = ["accuracy"]

[compile]
optimizer = "adam"
"""


# --- running ----------------------------------------------------------------


def mspec(*arguments: str | Path) -> list[str]:
    return [sys.executable, "-m", "mspec", *map(str, arguments)]


def run(command: Sequence[str], ok_codes: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Run a fresh process to its end; return its wall time and peak RSS in bytes (its own, from wait4)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in ok_codes:
            out.seek(0)
            sys.exit(f"{' '.join(command)} exited with {code}:\n{out.read().decode(errors='replace')}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports kilobytes


def seconds_in(folder: Path, command: Sequence[str]) -> float:
    """Wall time of a command writing into a fresh empty folder (the last argument)."""
    with tempfile.TemporaryDirectory(dir=folder) as out:
        return run([*command, out])[0]


def seconds_out(folder: Path, command: Sequence[str]) -> float:
    """Wall time of a command whose "{out}" argument is a fresh empty folder."""
    with tempfile.TemporaryDirectory(dir=folder) as out:
        return run([out if part == "{out}" else part for part in command])[0]


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


# --- data -------------------------------------------------------------------


def write_parquet_in_chunks(path: Path, make, rows: int, row_group: int = ROW_GROUP) -> None:
    """Write `make(count, seed)` arrays chunk by chunk, one row group each: the generator stays small."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for index, start in enumerate(range(0, rows, row_group)):
            table = make_data.arrow_table(make(min(row_group, rows - start), index))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=row_group)
    finally:
        if writer is not None:
            writer.close()


def three_inputs(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    measures = rng.normal(size=(rows, 4)).astype("float32")
    item = rng.integers(0, 1000, size=rows).astype("int32")
    profile = rng.normal(size=(rows, 8)).astype("float32")
    logit = measures[:, 0] + profile[:, 1] + (item >= 900)
    label = (logit + rng.normal(size=rows) > 0.5).astype("float32")
    return {"measures": measures, "item": item, "profile": profile, "label": label}


def bytes_per_row(arrays: dict[str, np.ndarray]) -> int:
    return sum(array[:1].nbytes for array in arrays.values())


# --- the three measurements -------------------------------------------------


def fit_against_keras(folder: Path, rows: int, runs: int) -> None:
    data = folder / "concat_independent.npz"
    make_data.write_npz(data, make_data.concat_independent(rows))
    keras = [sys.executable, "-c", HAND_WRITTEN, str(data)]
    fit = mspec("fit", SEED_SPEC, "--data", data, "--epochs", EPOCHS, "--batch-size", BATCH_SIZE, "-q", "-o")
    # Warm the file cache once each, so that neither side pays for the first read of TensorFlow.
    seconds_in(folder, keras)
    seconds_in(folder, fit)
    times = in_turns(
        {"keras": lambda: seconds_in(folder, keras), "mspec": lambda: seconds_in(folder, fit)}, runs
    )
    keras_times, mspec_times = times["keras"], times["mspec"]
    keras_time, mspec_time = statistics.median(keras_times), statistics.median(mspec_times)
    ratios = [m / k for m, k in zip(mspec_times, keras_times, strict=True)]
    print(
        f"1. fit of the seed example 1: {rows:,} rows (NPZ), {EPOCHS} epochs, batch {BATCH_SIZE}, "
        f"median of {runs} fresh processes"
    )
    k1, _, k3 = quartiles(keras_times)
    m1, _, m3 = quartiles(mspec_times)
    r1, _, r3 = quartiles(ratios)
    print(f"  hand-written Keras script  {keras_time:6.2f} s   (quartiles {k1:.2f} .. {k3:.2f} s)")
    print(f"  mspec fit -q               {mspec_time:6.2f} s   (quartiles {m1:.2f} .. {m3:.2f} s)")
    print(f"  ratio mspec/Keras          {mspec_time / keras_time:6.3f}  (target <= 1.1)")
    print(f"  per-run ratios             {r1:.3f} .. {r3:.3f} (quartiles)")
    print(f"  all runs: keras {' '.join(f'{t:.2f}' for t in keras_times)}")
    print(f"            mspec {' '.join(f'{t:.2f}' for t in mspec_times)}")


def fixed_cost(folder: Path, cases: Sequence[tuple[int, int]], runs: int) -> None:
    """mspec fit against the hand-written Parquet script, small and large: what mspec adds per run."""
    print(
        f"2. fixed cost: Parquet data, batch {SMALL_BATCH_SIZE}, against pyarrow + model.fit + model.save, "
        f"median of {runs} fresh processes in turns"
    )
    for rows, epochs in cases:
        data = folder / f"fixed_{rows}.parquet"
        make_data.write_parquet(data, make_data.concat_independent(rows))
        keras = [sys.executable, "-c", HAND_WRITTEN_PARQUET, str(data), "{out}", str(epochs)]
        fit = mspec("fit", SEED_SPEC, "--data", data, "--epochs", epochs, "-q", "-o", "{out}")
        sides = {
            "keras": functools.partial(seconds_out, folder, keras),
            "mspec": functools.partial(seconds_out, folder, fit),
        }
        for measure in sides.values():
            measure()  # the file cache
        times = in_turns(sides, runs)
        keras_time, mspec_time = statistics.median(times["keras"]), statistics.median(times["mspec"])
        ratios = [m / k for m, k in zip(times["mspec"], times["keras"], strict=True)]
        r1, r2, r3 = quartiles(ratios)
        print(
            f"  {rows:>9,} rows x {epochs} epochs: Keras {keras_time:6.2f} s, mspec {mspec_time:6.2f} s, "
            f"ratio of medians {mspec_time / keras_time:.3f}, per-run ratios {r1:.3f} .. {r3:.3f} "
            f"(median {r2:.3f}); mspec adds {mspec_time - keras_time:+.2f} s (target: ratio <= 1.05)"
        )


def lint_data(folder: Path, rows: int, runs: int) -> None:
    spec = folder / "three_inputs.toml"
    spec.write_text(THREE_INPUTS)
    data = folder / "three_inputs.parquet"
    write_parquet_in_chunks(data, three_inputs, rows)
    with_data = mspec("lint", spec, "--data", data)
    alone = mspec("lint", spec)
    run(with_data)  # the file cache
    times = in_turns(
        {"data": lambda: run(with_data)[0], "spec": lambda: run(alone)[0]},
        runs,
    )
    data_time, spec_time = statistics.median(times["data"]), statistics.median(times["spec"])
    d1, _, d3 = quartiles(times["data"])
    size = data.stat().st_size / MB
    print(
        f"3. lint --data: {rows:,} rows of 3 inputs ([4] float, [1] int32 id, [8] float) and a label, "
        f"Parquet {size:.1f} MB, median of {runs} fresh processes"
    )
    print(
        f"  mspec lint SPEC --data     {data_time:6.2f} s   (quartiles {d1:.2f} .. {d3:.2f} s; target <= 2 s)"
    )
    print(f"  mspec lint SPEC alone      {spec_time:6.2f} s")
    print(f"  the data check itself      {data_time - spec_time:6.2f} s")


def streaming(folder: Path, rows: int, floor_rows: int, in_memory_rows: int) -> None:
    per_row = bytes_per_row(make_data.concat_independent(1))

    def fit_once(name: str, count: int, stream: bool) -> tuple[float, int, int]:
        data = folder / f"{name}.parquet"
        write_parquet_in_chunks(data, make_data.concat_independent, count)
        flag = "--stream" if stream else "--no-stream"
        command = mspec(
            "fit", SEED_SPEC, "--data", data, flag, "--epochs", 1, "--batch-size", STREAM_BATCH_SIZE, "-q"
        )
        with tempfile.TemporaryDirectory(dir=folder) as out:
            seconds, peak = run([*command, "-o", out])
        size = data.stat().st_size
        data.unlink()
        return seconds, peak, size

    floor_time, floor_peak, _ = fit_once("floor", floor_rows, stream=True)
    memory_time, memory_peak, memory_size = fit_once("in_memory", in_memory_rows, stream=False)
    stream_time, stream_peak, stream_size = fit_once("streamed", rows, stream=True)

    def line(label: str, count: int, seconds: float, peak: int, size: int | None) -> None:
        file = "" if size is None else f", file {size / MB:6.1f} MB"
        print(
            f"  {label:<22} {count:>10,} rows: peak RSS {peak / MB:7.1f} MB, "
            f"data in memory {count * per_row / MB:7.1f} MB{file}, {seconds:5.1f} s"
        )

    print(
        f"4. streaming: one epoch of the seed example 1, batch {STREAM_BATCH_SIZE}, Parquet in row groups "
        f"of {ROW_GROUP:,} ({per_row} bytes per row in memory)"
    )
    line("--stream (floor)", floor_rows, floor_time, floor_peak, None)
    line("--no-stream", in_memory_rows, memory_time, memory_peak, memory_size)
    line("--stream", rows, stream_time, stream_peak, stream_size)
    print(
        f"  bound: peak RSS {stream_peak / MB:.0f} MB with data of {rows * per_row / MB:.0f} MB in memory "
        f"({stream_size / MB:.0f} MB on disk); {(stream_peak - floor_peak) / MB:+.0f} MB over the floor "
        f"of {floor_peak / MB:.0f} MB, where --no-stream of {in_memory_rows * per_row / MB:.0f} MB "
        f"takes {(memory_peak - floor_peak) / MB:+.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes of each side (default 7)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer rows and 2 runs")
    parser.add_argument("--only", choices=["fit", "fixed", "lint", "stream"], help="run one measurement only")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory(prefix="mspec-fit-bench-") as name:
        folder = Path(name)
        measures = {
            "fit": lambda: fit_against_keras(folder, 200_000 // scale, runs),
            "fixed": lambda: fixed_cost(folder, [(r // scale, e) for r, e in PARQUET_CASES], runs),
            "lint": lambda: lint_data(folder, 1_000_000 // scale, runs),
            "stream": lambda: streaming(folder, 5_000_000 // scale, 10_000, 1_000_000 // scale),
        }
        for name, measure in measures.items():
            if args.only in (None, name):
                measure()
                print()


if __name__ == "__main__":
    main()
