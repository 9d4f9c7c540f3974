"""What `mspec tune` costs against the Optuna + Keras loop a person writes, and how fast a space is checked.

Two measurements:

1. tune: `mspec tune` of the seed example (specs/seed/concat_independent.toml)
   with a [search] over the second branch's width (choices 16, 32, 64) and
   Adam's learning rate (a log range), [tune] pruning off, N trials of a few
   epochs on NPZ data (specs/data/make_data.py), validated on a file of its
   own, against the script a person writes for the same job: Optuna's TPE
   sampler with the same seed, an objective that builds the same model with
   keras.Input/Dense/Concatenate, seeds Keras, compiles, fits with
   validation data and returns the best val_loss; `study.optimize(n_trials=N)`,
   then the best values printed. Both run in fresh processes, in turns; we
   report the median wall time of each and the ratio mspec/script (target: at
   most 1.1). mspec also checks the spec, its space and the data before
   anything trains, checks every point, records each run's history and the
   branches' balance, and writes the best spec, the trials' CSV and the plot.
2. static check: the [search] of the seed example over 1,000 combinations
   (10 widths of each branch, 10 dropout rates: space_1000), checked
   by `check_search` in this process (median of several runs; target under
   2 s), and `mspec lint` of the spec in a fresh process (start-up included).

Times are printed, never asserted. Data files live in a temporary folder removed at the end.

    .venv/bin/python benchmarks/tune_vs_optuna.py [--runs N] [--trials N] [--rows N] [--epochs N]
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
SEED_SPEC = ROOT / "specs" / "seed" / "concat_independent.toml"
sys.path.insert(0, str(ROOT / "specs" / "data"))

import make_data  # noqa: E402

SEED = 0
BATCH_SIZE = 64

SEARCH = """
[compile]
optimizer = { type = "Adam", learning_rate = 0.001 }

[search]
"branches.x2.layers.0.units" = [16, 32, 64]
"compile.optimizer.learning_rate" = { low = 1e-4, high = 1e-2, log = true }

[tune]
metric = "val_loss"
pruning = false
"""

# The loop a person writes with Optuna and Keras for the same space; argv: train.npz, val.npz, trials, epochs.
HAND_WRITTEN = f"""
import sys
import numpy as np
import optuna
import keras
from keras import layers

optuna.logging.set_verbosity(optuna.logging.WARNING)
train, val = np.load(sys.argv[1]), np.load(sys.argv[2])
trials, epochs = int(sys.argv[3]), int(sys.argv[4])
x = {{"input_1": train["input_1"], "input_2": train["input_2"]}}
y = train["output"]
validation = ({{"input_1": val["input_1"], "input_2": val["input_2"]}}, val["output"])


def objective(trial):
    units = trial.suggest_categorical("branches.x2.layers.0.units", [16, 32, 64])
    learning_rate = trial.suggest_float("compile.optimizer.learning_rate", 1e-4, 1e-2, log=True)
    keras.utils.set_random_seed({SEED})
    input_1 = keras.Input(shape=(10,), name="input_1")
    input_2 = keras.Input(shape=(5,), name="input_2")
    x1 = layers.Dense(64, activation="relu")(input_1)
    x2 = layers.Dense(units, activation="relu")(input_2)
    merged = layers.Concatenate()([x1, x2])
    output = layers.Dense(1, activation="sigmoid", name="output")(merged)
    model = keras.Model(inputs=[input_1, input_2], outputs=output)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x, y, validation_data=validation, epochs=epochs, batch_size={BATCH_SIZE}, verbose=0
    )
    return min(history.history["val_loss"])


study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed={SEED}))
study.optimize(objective, n_trials=trials)
print("best", study.best_value, study.best_params)
"""


def space_1000() -> str:
    """The seed example with 10 x 10 x 10 choices: both branches' widths and a dropout rate after x1."""
    widths = ", ".join(str(8 * (i + 1)) for i in range(10))
    rates = ", ".join(f"{0.05 * i:.2f}" for i in range(10))
    text = SEED_SPEC.read_text().replace(
        'layers = [{ type = "Dense", units = 64, activation = "relu" }]',
        'layers = [{ type = "Dense", units = 64, activation = "relu" }, { type = "Dropout", rate = 0.1 }]',
    )
    return (
        text
        + f'\n[search]\n"branches.x1.layers.0.units" = [{widths}]\n'
        + f'"branches.x2.layers.0.units" = [{widths}]\n'
        + f'"branches.x1.layers.1.rate" = [{rates}]\n'
    )


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds


def quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.2f}"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.2f}-{high:.2f}"


def bench_tune(folder: Path, runs: int, trials: int, rows: int, epochs: int) -> None:
    train, val = folder / "train.npz", folder / "val.npz"
    make_data.write_npz(train, make_data.concat_independent(rows, seed=0))
    make_data.write_npz(val, make_data.concat_independent(rows // 4, seed=1))
    spec = folder / "tuned.toml"
    spec.write_text(
        SEED_SPEC.read_text().replace('[compile]\noptimizer = "adam"\n', "")
        + SEARCH
        + f"\n[train]\nbatch_size = {BATCH_SIZE}\n"
    )
    script = folder / "hand_written.py"
    script.write_text(HAND_WRITTEN)
    mspec_tune = [
        sys.executable, "-m", "mspec", "tune", str(spec), "--data", str(train), "--validation", str(val),
        "--trials", str(trials), "--epochs", str(epochs), "--seed", str(SEED), "-o", str(folder / "out"),
    ]  # fmt: skip
    by_hand = [sys.executable, str(script), str(train), str(val), str(trials), str(epochs)]
    samples = in_turns({"mspec": lambda: timed(mspec_tune), "script": lambda: timed(by_hand)}, runs)
    ours, theirs = statistics.median(samples["mspec"]), statistics.median(samples["script"])
    ratios = [a / b for a, b in zip(samples["mspec"], samples["script"], strict=True)]
    print(f"tune: {trials} trials of {epochs} epochs on {rows:,} rows, {runs} runs each (fresh processes)")
    print(f"  mspec tune          median {ours:6.2f} s  (quartiles {quartiles(samples['mspec'])})")
    print(f"  Optuna + Keras loop median {theirs:6.2f} s  (quartiles {quartiles(samples['script'])})")
    pairs = quartiles(ratios)
    print(f"  ratio mspec/script  {ours / theirs:.3f}  (per-pair quartiles {pairs}; target <= 1.1)")


def bench_static_check(folder: Path, runs: int) -> None:
    from mspec.frontend import check_document
    from mspec.search_space.static_check import check_search
    from mspec.syntax.load import load_file

    spec = folder / "space_1000.toml"
    spec.write_text(space_1000())
    document = load_file(spec)
    times = []
    report = None
    for _ in range(max(runs, 5)):
        start = time.perf_counter()
        report = check_search(check_document(document))
        times.append(time.perf_counter() - start)
    assert report is not None
    lint = [timed([sys.executable, "-m", "mspec", "lint", str(spec)]) for _ in range(max(runs, 3))]
    print(f"static check of a {report.checked:,}-point space ({report.invalid} invalid)")
    print(f"  check_search        median {statistics.median(times):6.3f} s  (target < 2 s)")
    print(f"  mspec lint (process) median {statistics.median(lint):5.3f} s  (start-up included)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--trials", type=int, default=8, help="trials per tune (default 8)")
    parser.add_argument("--rows", type=int, default=20_000, help="training rows (default 20,000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial (default 3)")
    parser.add_argument("--only", choices=("tune", "static"), help="run one measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mspec-tune-bench-") as folder:
        if args.only in (None, "static"):
            bench_static_check(Path(folder), args.runs)
        if args.only in (None, "tune"):
            bench_tune(Path(folder), args.runs, args.trials, args.rows, args.epochs)


if __name__ == "__main__":
    main()
