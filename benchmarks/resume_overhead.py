"""What the backup after every epoch (`mspec fit --resume`) costs a run that is never interrupted.

`mspec.fit` with an output folder backs the run up after each epoch
(mspec.training.checkpoint: the weights and the optimizer's state through
Keras' save_weights, the random states, the history; each file fsynced and
renamed into place). Each case trains the same seeded run twice per round, in
turns, in this process (TensorFlow loads once): with the backup, and with the
backup turned off (the runner is given no backup, as without an output folder;
the outputs are written in both). We print the median wall time of each side,
the ratio with/without, and the backup's own cost per epoch.

Cases:
- tiny: the seed example (about 1,000 weights) on 2,000 rows, 10 epochs of 63
  batches: short epochs, the worst case for a cost paid once per epoch.
- rows: the seed example on 50,000 rows, 3 epochs.
- wide: a 256-wide input through two Dense(1024) (1.3 million weights, 16 MB
  of weights and Adam slots written per epoch) on 4,000 rows, 5 epochs.

Times are printed, never asserted.

    .venv/bin/python benchmarks/resume_overhead.py [--runs N] [--only tiny|rows|wide]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "specs" / "data"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from taking_turns import in_turns  # noqa: E402

from make_data import concat_independent, write_npz  # noqa: E402

EXAMPLE_1 = ROOT / "specs" / "seed" / "concat_independent.toml"

WIDE = """
    [model]
    name = "wide"

    [inputs.x]
    shape = [256]

    [branches.hidden]
    from = "x"
    layers = [
      { type = "Dense", units = 1024, activation = "relu" },
      { type = "Dense", units = 1024, activation = "relu" },
    ]

    [outputs.y]
    from = "hidden"
    layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
    loss = "binary_crossentropy"

    [compile]
    optimizer = "adam"
    """


def cases(folder: Path) -> dict[str, tuple[Path, Path, dict]]:
    tiny = folder / "tiny.npz"
    write_npz(tiny, concat_independent(2_000, seed=1))
    rows = folder / "rows.npz"
    write_npz(rows, concat_independent(50_000, seed=2))
    wide_spec = folder / "wide.toml"
    wide_spec.write_text(textwrap.dedent(WIDE))
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4_000, 256)).astype("float32")
    wide = folder / "wide.npz"
    write_npz(wide, {"x": x, "y": (x[:, 0] > 0).astype("float32")})
    return {
        "tiny": (EXAMPLE_1, tiny, {"epochs": 10, "batch_size": 32}),
        "rows": (EXAMPLE_1, rows, {"epochs": 3, "batch_size": 32}),
        "wide": (wide_spec, wide, {"epochs": 5, "batch_size": 64}),
    }


def timed_fit(spec: Path, data: Path, out: Path, settings: dict, backup: bool) -> float:
    import mspec
    from mspec.training import runner

    started = time.perf_counter()
    if backup:
        mspec.fit(spec, data, output_dir=out, seed=0, verbose=0, log=lambda _: None, **settings)
    else:
        with mock.patch.object(runner, "_prepare_backup", return_value=(None, 0)):
            mspec.fit(spec, data, output_dir=out, seed=0, verbose=0, log=lambda _: None, **settings)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds per case (default 5)")
    parser.add_argument("--only", choices=["tiny", "rows", "wide"], help="one case only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mspec-resume-") as folder:
        for name, (spec, data, settings) in cases(Path(folder)).items():
            if args.only and name != args.only:
                continue
            out = Path(folder) / f"out-{name}"
            timed_fit(spec, data, out, settings, backup=True)  # warm-up: Keras, the data's page cache
            times = in_turns(
                {
                    "with": lambda s=spec, d=data, o=out, t=settings: timed_fit(s, d, o, t, True),
                    "without": lambda s=spec, d=data, o=out, t=settings: timed_fit(s, d, o, t, False),
                },
                args.runs,
            )
            with_backup, without = statistics.median(times["with"]), statistics.median(times["without"])
            per_epoch = (with_backup - without) / settings["epochs"]
            print(
                f"{name}: with backup {with_backup:.2f} s, without {without:.2f} s (medians of {args.runs}), "
                f"ratio {with_backup / without:.3f}, {per_epoch * 1000:+.0f} ms per epoch"
            )


if __name__ == "__main__":
    main()
