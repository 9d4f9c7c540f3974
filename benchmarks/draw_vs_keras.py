"""How long `mspec draw` takes to draw the seed article's example 1, against Keras' `plot_model`.

Both run as fresh processes, several times, each writing an SVG: `mspec draw`
reads, checks and draws the spec; the Keras script imports Keras, builds the
equivalent hand-written model and calls `keras.utils.plot_model` with shapes.
We report the median wall times and their ratio. Then `mspec draw` of
generated specs of about 1,000 nodes to SVG, with and without --collapse
(target: under 10 s).

`plot_model` needs the `pydot` package, which mspec itself does not use:
`make bench` installs it with the `bench` extra (`pip install -e
'.[tensorflow,bench]'`); without it (or without TensorFlow) the Keras side
is skipped with a message. Both sides need Graphviz's `dot`.

    .venv/bin/python benchmarks/draw_vs_keras.py [--runs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "seed" / "concat_independent.toml"
# The generated specs come from the tests' support package, so that the draw tests and this
# benchmark measure the same graph.
sys.path.insert(0, str(ROOT / "tests"))

from support.wide_specs import generated_spec  # noqa: E402

KERAS_SCRIPT = """
import sys
import keras
from keras import layers
input_1 = keras.Input(shape=(10,), name="input_1")
input_2 = keras.Input(shape=(5,), name="input_2")
x1 = layers.Dense(64, activation="relu", name="x1")(input_1)
x2 = layers.Dense(32, activation="relu", name="x2")(input_2)
merged = layers.Concatenate(name="merged")([x1, x2])
output = layers.Dense(1, activation="sigmoid", name="output")(merged)
model = keras.Model(inputs=[input_1, input_2], outputs=output, name="concat_independent")
keras.utils.plot_model(model, to_file=sys.argv[1], show_shapes=True, show_layer_names=True)
"""


def median_seconds(command: list[str], runs: int) -> float:
    """Return the median wall time of `runs` fresh processes running `command` (which must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def keras_problem() -> str | None:
    """Say why the Keras side cannot run here, or return None."""
    for module in ("tensorflow", "pydot"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install {module} into the venv to compare)"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("dot") is None:
        sys.exit("Graphviz's `dot` is needed: apt-get install graphviz")
    mspec = [sys.executable, "-m", "mspec", "draw"]

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        print(f"seed example 1 to SVG, median of {args.runs} fresh processes")
        draw_t = median_seconds([*mspec, str(SPEC), "-o", str(out / "mspec.svg")], args.runs)
        print(f"  mspec draw              {draw_t:7.3f} s")
        problem = keras_problem()
        if problem is None:
            keras = [sys.executable, "-c", KERAS_SCRIPT, str(out / "keras.svg")]
            keras_t = median_seconds(keras, args.runs)
            print(f"  Keras plot_model        {keras_t:7.3f} s")
            print(f"  ratio draw/plot_model   {draw_t / keras_t:7.3f}")
        else:
            print(f"  Keras plot_model        skipped: {problem}")

        runs = max(3, args.runs // 2)
        for inputs, depth in ((50, 19), (100, 19)):
            spec = out / f"generated_{inputs}.toml"
            spec.write_text(generated_spec(inputs, depth))
            nodes = inputs * (depth + 1) + inputs // 5 + 2
            for flag in ([], ["--collapse"]):
                seconds = median_seconds([*mspec, str(spec), *flag, "-o", str(out / "generated.svg")], runs)
                label = f"{nodes:,} nodes{' --collapse' if flag else ''}"
                print(f"  generated spec, {label:<22} {seconds:6.3f} s  (median of {runs})")


if __name__ == "__main__":
    main()
