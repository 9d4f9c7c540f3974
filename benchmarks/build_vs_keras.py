"""How long `mspec build` of the seed example takes, against the hand-written Keras script it replaces.

Both import TensorFlow, build the seed article's example 1 and save it as a
`.keras` file; mspec also loads, checks and generates the source first (in
parallel with its Keras worker's import of TensorFlow). We report the median
wall time over fresh processes, run alternately, and the ratio (target: at
most 1.1), with the spread of the per-pair ratios since the machine's load
moves every figure.

    .venv/bin/python benchmarks/build_vs_keras.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "seed" / "concat_independent.toml"

# The article's example 1, as a person writes it, saved like `mspec build` saves.
HAND_WRITTEN = """
import sys
import keras
from keras import layers

input_1 = keras.Input(shape=(10,), name="input_1")
input_2 = keras.Input(shape=(5,), name="input_2")
x1 = layers.Dense(64, activation="relu")(input_1)
x2 = layers.Dense(32, activation="relu")(input_2)
merged = layers.Concatenate()([x1, x2])
output = layers.Dense(1, activation="sigmoid", name="output")(merged)
model = keras.Model(inputs=[input_1, input_2], outputs=output, name="concat_independent")
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.save(sys.argv[1] + "/concat_independent.keras")
"""


def seconds(command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([*command, folder], check=True, capture_output=True, cwd=ROOT)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    mspec = [sys.executable, "-m", "mspec", "build", str(SPEC), "-o"]
    keras = [sys.executable, "-c", HAND_WRITTEN]
    # Warm the file cache once so that neither side pays for the first read of TensorFlow.
    seconds(keras)
    times = in_turns({"keras": lambda: seconds(keras), "mspec": lambda: seconds(mspec)}, args.runs)
    keras_times, mspec_times = times["keras"], times["mspec"]
    keras_time, mspec_time = statistics.median(keras_times), statistics.median(mspec_times)
    print(f"build + save of the seed example 1, median of {args.runs} fresh processes")
    print(f"  hand-written Keras script  {keras_time:6.2f} s")
    print(f"  mspec build                {mspec_time:6.2f} s")
    print(f"  ratio mspec/Keras          {mspec_time / keras_time:6.3f}  (target <= 1.1)")
    pairs = sorted(m / k for m, k in zip(mspec_times, keras_times, strict=True))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
    print(f"  per-run ratios             {quartiles[0]:.3f} .. {quartiles[2]:.3f} (quartiles)")


if __name__ == "__main__":
    main()
