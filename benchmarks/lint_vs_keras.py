"""How long `mspec lint` takes to find the seed article's example 3 error, against Keras finding it.

The alternative a user has without mspec is to run the model script and
wait for Keras to raise. Both run as fresh processes, several times; we
report the median wall time, the peak resident memory, and their ratios.
Then lint of an imported real model (keras.applications.ResNet50, 177
layers) against building it in Keras, and lint time for generated specs of
10,000 and 20,000 nodes (the second should take at most about twice the
first).

    .venv/bin/python benchmarks/lint_vs_keras.py [--runs N]
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
from pathlib import Path

from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "cases" / "seed_interaction.toml"

KERAS_SCRIPT = """
import keras
from keras import layers
input_a = keras.Input(shape=(10,), name="input_a")
input_b = keras.Input(shape=(5,), name="input_b")
x_a = layers.Dense(64, activation="relu")(input_a)
x_b = layers.Dense(32, activation="relu")(input_b)
try:
    interaction = layers.Multiply()([x_a, x_b])
except ValueError as error:
    print("Keras:", str(error).splitlines()[0])
"""


def measure_once(command: list[str]) -> tuple[float, float]:
    """Return (seconds, peak MB) of one fresh process running `command`, as a user starts it."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)  # this child's own resource usage, peak memory included
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return seconds, usage.ru_maxrss / 1024


def measure(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Return each command's (median seconds, median peak MB) over `runs` fresh processes, in turns."""
    samples = in_turns(
        {name: functools.partial(measure_once, command) for name, command in commands.items()}, runs
    )
    return {
        name: (statistics.median(s for s, _ in taken), statistics.median(m for _, m in taken))
        for name, taken in samples.items()
    }


RESNET_SCRIPT = """
import keras
model = keras.applications.ResNet50(weights=None)
print("Keras:", model.count_params(), "parameters")
"""


def imported_resnet50(folder: Path) -> Path:
    """Write ResNet50's configuration (with Keras, in a child process) and import it as a spec."""
    from mspec.importer import import_model

    config = folder / "resnet50.json"
    script = f"{RESNET_SCRIPT}\nopen({str(config)!r}, 'w').write(model.to_json())\n"
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, cwd=ROOT)
    result = import_model(config)
    if not result.ok:
        raise SystemExit("\n".join(d.format() for d in result.diagnostics))
    spec = folder / "resnet50.toml"
    spec.write_text(result.text)
    return spec


def generated_spec(nodes: int) -> str:
    """A chain-heavy spec with `nodes` layer nodes: inputs, branches and merges."""
    lines = ['[model]\nname = "generated"\n']
    width = 8
    branches = nodes // 2
    for i in range(branches // 50 + 1):
        lines.append(f"[inputs.in_{i}]\nshape = [{width}]\n")
    previous = None
    for i in range(branches):
        source = f"in_{i // 50}" if i % 50 == 0 else f"b_{i - 1}"
        lines.append(
            f'[branches.b_{i}]\nfrom = "{source}"\nlayers = [{{ type = "Dense", units = {width} }}]\n'
        )
        if previous is not None and i % 50 != 0:
            lines.append(f'[merges.m_{i}]\ntype = "Add"\nfrom = ["b_{i}", "{previous}"]\n')
            previous = f"m_{i}"
        else:
            previous = f"b_{i}"
    lines.append(f'[outputs.out]\nfrom = "{previous}"\nloss = "mse"\n')
    return "\n".join(lines)


def lint(spec: Path) -> list[str]:
    return [sys.executable, "-m", "mspec", "lint", "-q", str(spec)]


def compare_with_keras(spec: Path, script: str, label: str, runs: int) -> None:
    """Print the medians of `mspec lint SPEC` and of a Keras script, and their ratios."""
    results = measure({"lint": lint(spec), "keras": [sys.executable, "-c", script]}, runs)
    (lint_t, lint_m), (keras_t, keras_m) = results["lint"], results["keras"]
    print(f"  mspec lint       {lint_t:7.3f} s  {lint_m:7.1f} MB peak")
    print(f"  {label:16} {keras_t:7.3f} s  {keras_m:7.1f} MB peak")
    print(f"  ratio lint/Keras {lint_t / keras_t:7.3f} time  {lint_m / keras_m:7.3f} memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    print(f"seed example 3, median of {args.runs} fresh processes, run alternately")
    compare_with_keras(SPEC, KERAS_SCRIPT, "Keras script", args.runs)

    with tempfile.TemporaryDirectory() as folder:
        print(f"imported keras.applications.ResNet50, median of {args.runs} fresh processes")
        spec = imported_resnet50(Path(folder))
        compare_with_keras(spec, RESNET_SCRIPT, "Keras build", args.runs)

        commands = {}
        for nodes in (10_000, 20_000):
            path = Path(folder) / f"generated_{nodes}.toml"
            path.write_text(generated_spec(nodes))
            commands[nodes] = lint(path)
        results = measure(commands, args.runs)
        for nodes, (seconds, megabytes) in results.items():
            print(f"  generated spec, {nodes:6} nodes: {seconds:6.3f} s  {megabytes:7.1f} MB peak")
        print(f"  doubling ratio (20,000 / 10,000 nodes): {results[20_000][0] / results[10_000][0]:.2f}")


if __name__ == "__main__":
    main()
