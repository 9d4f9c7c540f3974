"""How long `mspec explain` takes, against the hand-written permutation loop it replaces.

The churn example (docs/explain/churn.toml: 3 inputs) is trained once with
`mspec fit` on 10,000 rows; then, in fresh processes run in turns:

- `mspec explain` on 10,000 other rows, 5 shuffles per input: it checks the
  spec and the data, loads the model, and measures permutation importance
  (loss and AUC) and ablation of every input;
- the loop a person writes: load the model and the arrays, `model.evaluate`
  the baseline, then for each input and each of 5 repeats shuffle that input
  with a NumPy permutation and `model.evaluate` again (no ablation).

Both predict in batches of 1,024 rows (`mspec explain`'s default; the loop
is given the same). We report the median wall times and their ratio
(target: at most 1.1), with the spread of the per-pair ratios.

    .venv/bin/python benchmarks/explain_vs_loop.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from taking_turns import in_turns

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "explain" / "churn.toml"
sys.path.insert(0, str(SPEC.parent))

from churn import churn_data  # noqa: E402

REPEATS = 5
BATCH_SIZE = 1024

HAND_WRITTEN = f"""
import sys
import numpy as np
import keras

model = keras.saving.load_model(sys.argv[1])
arrays = np.load(sys.argv[2])
inputs = ["purchases", "demographics", "browsing"]
x = {{name: arrays[name] for name in inputs}}
y = arrays["churned"]
baseline = model.evaluate(x, y, batch_size={BATCH_SIZE}, verbose=0, return_dict=True)
rng = np.random.default_rng(0)
for name in inputs:
    increases = []
    for _ in range({REPEATS}):
        shuffled = dict(x)
        shuffled[name] = x[name][rng.permutation(len(y))]
        scores = model.evaluate(shuffled, y, batch_size={BATCH_SIZE}, verbose=0, return_dict=True)
        increases.append(scores["loss"] - baseline["loss"])
    print(name, np.mean(increases), np.std(increases))
"""


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        np.savez(folder / "train.npz", **churn_data(10_000, seed=1))
        np.savez(folder / "test.npz", **churn_data(10_000, seed=2))
        python = [sys.executable, "-m", "mspec"]
        subprocess.run(
            [*python, "fit", str(SPEC), "--data", str(folder / "train.npz"), "-o", str(folder), "-q"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        model, data = str(folder / "churn_signals.keras"), str(folder / "test.npz")
        mspec = [*python, "explain", str(SPEC), "--model", model, "--data", data]
        mspec += ["--repeats", str(REPEATS), "--batch-size", str(BATCH_SIZE), "--format", "json"]
        loop = [sys.executable, "-c", HAND_WRITTEN, model, data]
        seconds(loop)  # warm the file cache for both
        samples = in_turns({"mspec": lambda: seconds(mspec), "loop": lambda: seconds(loop)}, args.runs)
    ours, theirs = statistics.median(samples["mspec"]), statistics.median(samples["loop"])
    ratios = sorted(a / b for a, b in zip(samples["mspec"], samples["loop"], strict=True))
    print(f"mspec explain (check, load, permutation + ablation): median {ours:.2f} s")
    print(f"hand-written loop (load, 16 x model.evaluate):        median {theirs:.2f} s")
    print(f"ratio {ours / theirs:.2f} (per-pair ratios {ratios[0]:.2f} to {ratios[-1]:.2f}; target <= 1.1)")


if __name__ == "__main__":
    main()
