"""Synthetic churn data with planted signals, and the README's example: fit, then explain.

Purchases carry a strong signal, demographics a weaker one, and browsing a
signal of its own (how often two pages were both visited: an interaction
between two of its 32 columns) that a 2-unit branch struggles to learn.

    .venv/bin/python docs/explain/churn.py [FOLDER]    # default: build/churn_signals

writes FOLDER/churn.npz and FOLDER/churn_test.npz, runs `mspec fit` and
`mspec explain`, and copies the two pictures to docs/explain/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def churn_data(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Arrays named after the spec's inputs and output: purchases, demographics, browsing, churned."""
    rng = np.random.default_rng(seed)
    purchases = rng.normal(size=(rows, 8)).astype("float32")
    demographics = rng.normal(size=(rows, 4)).astype("float32")
    browsing = rng.normal(size=(rows, 32)).astype("float32")
    score = (
        1.5 * purchases[:, 0]
        - 1.0 * purchases[:, 1]
        + 0.6 * demographics[:, 0]
        + 1.0 * browsing[:, 3] * browsing[:, 7]
        + 0.5 * rng.normal(size=rows)
    )
    churned = (score > 0).astype("float32")
    return {"purchases": purchases, "demographics": demographics, "browsing": browsing, "churned": churned}


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "churn_signals"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "churn.npz", **churn_data(10_000, seed=1))
    np.savez(folder / "churn_test.npz", **churn_data(10_000, seed=2))
    mspec = [sys.executable, "-m", "mspec"]
    spec = str(HERE / "churn.toml")
    subprocess.run(
        [*mspec, "fit", spec, "--data", str(folder / "churn.npz"), "-o", str(folder), "-q"], check=True
    )
    report = folder / "churn_signals.explain.png"
    explain = [*mspec, "explain", spec, "--model", str(folder / "churn_signals.keras")]
    explain += [
        "--data",
        str(folder / "churn_test.npz"),
        "--group",
        "purchases,demographics",
        "-o",
        str(report),
    ]
    subprocess.run(explain, check=True)
    shutil.copyfile(report, HERE / "churn_signals.explain.png")
    shutil.copyfile(folder / "churn_signals.history.png", HERE / "churn_signals.history.png")


if __name__ == "__main__":
    main()
