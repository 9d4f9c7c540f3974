"""Do the balance verdicts of `mspec fit` (MS603, MS604) fire when they should, and only then?

A planted-signal matrix. One model, three input branches concatenated, of
widths 8 (`narrow`), 32 (`middle`) and 1,024 (`wide`) values per example;
two kinds of branch:

- dense: numeric inputs of 4, 16 and 512 features, each through one Dense
  layer (the wide branch is the wide input an image or text embedding gives);
- embedding: sequences of 12 ids out of 60, each through an Embedding and a
  GlobalAveragePooling1D.

The label is planted in the narrowest branch's input, in the widest one's,
in every one (each a third of the signal), or in none (pure noise). Every
cell is trained with `mspec.training.fit` for 2 and for 20 epochs and the
warnings are recorded. What each verdict should say:

- MS604 (dead input) should fire on a branch exactly when its input carries
  no signal: never on a branch the label is planted in.
- MS603 (overwhelms) should fire on a branch when it takes more than the
  threshold (0.9) of the gradient once training has settled: averaged over
  the last 5 epochs of the 20-epoch run of the same cell. Its cause is the
  branch's width (or scale) when the same branch also takes more than the
  threshold with no signal planted at all (the `none` cell of that kind),
  and the signal otherwise; the hint must name that cause (narrow it, or it
  may simply carry the signal).

    .venv/bin/python benchmarks/balance_matrix.py [--rows 2000] [--seeds 0,1] [--format text|markdown|json]
                                                  [--save MATRIX.json]

The test module tests/explain/test_balance_matrix.py runs a few cells of it
on small data.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KINDS = ("dense", "embedding", "mixed")
SIGNALS = ("narrowest", "widest", "every", "none")
EPOCHS = (2, 20)
# Branch name -> (values per example at the merge, numeric features of its input).
BRANCHES = {"narrow": (8, 4), "middle": (32, 16), "wide": (1024, 512)}
CARRIERS = {"narrowest": ("narrow",), "widest": ("wide",), "every": tuple(BRANCHES), "none": ()}
VOCABULARY = 60
STEPS = 12
THRESHOLD = 0.9
# Epochs at the end of the long run whose shares say where the balance settled.
SETTLED_EPOCHS = 5


def spec_text(kind: str, epochs: int, seed: int, batch_size: int = 32) -> str:
    """The spec of one cell: three branches of one kind, concatenated, one sigmoid output."""
    lines = ["[model]", f'name = "planted_{kind}"']
    for branch, (width, features) in BRANCHES.items():
        if _layer(kind, branch) == "dense":
            lines += [f"[inputs.{branch}_in]", f"shape = [{features}]"]
            layers = f'[{{ type = "Dense", units = {width}, activation = "relu" }}]'
        else:
            lines += [f"[inputs.{branch}_in]", f"shape = [{STEPS}]", 'dtype = "int32"']
            layers = (
                f'[{{ type = "Embedding", input_dim = {VOCABULARY}, output_dim = {width} }}, '
                '{ type = "GlobalAveragePooling1D" }]'
            )
        lines += [f"[branches.{branch}]", f'from = "{branch}_in"', f"layers = {layers}"]
    lines += [
        "[merges.joined]",
        'type = "Concatenate"',
        "from = [" + ", ".join(f'"{b}"' for b in BRANCHES) + "]",
        "[outputs.label]",
        'from = "joined"',
        'layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]',
        'loss = "binary_crossentropy"',
        'metrics = ["accuracy"]',
        "[compile]",
        'optimizer = { type = "Adam", learning_rate = 0.003 }',
        "[lint]",
        'ignore = ["MS712"]',  # the width ratio is the point of the matrix
        "[train]",
        f"epochs = {epochs}",
        f"batch_size = {batch_size}",
        f"seed = {seed}",
    ]
    return "\n".join(lines) + "\n"


def planted(kind: str, signal: str, rows: int, seed: int) -> dict[str, np.ndarray]:
    """Inputs for every branch and a label planted in the branches `signal` names (none: noise)."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    scores = {}
    for branch, (_, features) in BRANCHES.items():
        if _layer(kind, branch) == "dense":
            x = rng.normal(size=(rows, features)).astype("float32")
            score = x[:, :4] @ np.array([1.0, -1.0, 0.7, 0.5])
        else:
            x = rng.integers(1, VOCABULARY, size=(rows, STEPS)).astype("int32")
            score = (x < VOCABULARY // 2).mean(axis=1)  # the share of "low" ids in the sequence
        arrays[f"{branch}_in"] = x
        scores[branch] = (score - score.mean()) / score.std()
    carriers = CARRIERS[signal]
    score = sum((scores[b] for b in carriers), np.zeros(rows)) / max(1.0, np.sqrt(len(carriers)))
    arrays["label"] = (2.0 * score + rng.logistic(size=rows) > 0).astype("float32")
    return arrays


def _layer(kind: str, branch: str) -> str:
    """The branch's layer: `mixed` reads ids in its narrow branch only, as the churn example does."""
    if kind == "mixed":
        return "embedding" if branch == "narrow" else "dense"
    return kind


@dataclass
class Verdict:
    code: str
    branch: str
    cause: str | None  # MS603: "width", "scale" or "signal", read from the hint


@dataclass
class Cell:
    kind: str
    signal: str
    epochs: int
    seed: int
    shares: dict[str, list[float | None]]  # branch -> share per epoch
    verdicts: list[Verdict]
    initial: dict[str, float | None] = field(default_factory=dict)  # branch -> share before training
    expected: list[str] = field(default_factory=list)  # filled by `judge`
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.signal, self.seed)


def _quiet(_: str) -> None:
    pass


def run_cell(
    kind: str, signal: str, epochs: int, rows: int, seed: int, folder: Path, batch_size: int = 32
) -> Cell:
    """Train one cell with `mspec.training.fit` and read its balance warnings."""
    from mspec.training import fit

    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / f"{kind}_{signal}_{epochs}_{seed}.toml"
    data = spec.with_suffix(".npz")
    spec.write_text(spec_text(kind, epochs, seed, batch_size))
    arrays = planted(kind, signal, rows, seed)
    np.savez(data, **arrays)
    before = _shares_before_training(spec, arrays)
    fitted = fit(spec, data, verbose=0, log=_quiet, callbacks=[before])
    shares = {b: list(fitted.history.get(f"balance/joined/{b}", [])) for b in BRANCHES}
    verdicts = [_verdict(w) for w in fitted.warnings if _ours(w)]
    return Cell(kind, signal, epochs, seed, shares, verdicts, before.shares)


def _shares_before_training(spec: Path, arrays: dict[str, np.ndarray]):
    """A callback measuring the branch shares before the first step, as `mspec fit` does (for `by_length`)."""
    import keras

    from mspec import check
    from mspec.training.balance import make_balance_callback

    class SharesBeforeTraining(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.shares: dict[str, float | None] = {}

        def on_train_begin(self, logs=None) -> None:
            result = check(spec)
            x = {name: arrays[name][:512] for name in result.spec.inputs}
            y = {"label": arrays["label"][:512]}
            measured = make_balance_callback(self.model, result.graph, x, y, THRESHOLD).measure()
            self.shares = {b: measured.get(f"balance/joined/{b}") for b in BRANCHES}

    return SharesBeforeTraining()


def _ours(warning) -> bool:
    return warning.code in ("MS603", "MS604")


def _verdict(warning) -> Verdict:
    branch = re.search(r"branch '([^']+)'", warning.message).group(1)
    cause = None
    if warning.code == "MS603":
        hint = warning.hint or ""
        cause = (
            "signal" if "carry the signal" in hint else "scale" if hint.startswith("normalize") else "width"
        )
    return Verdict(warning.code, branch, cause)


def settled(cell: Cell, branch: str) -> float:
    values = [v for v in cell.shares[branch][-SETTLED_EPOCHS:] if v is not None]
    return sum(values) / len(values) if values else 0.0


def judge(cells: list[Cell]) -> None:
    """Fill every cell's expected verdicts, the wrong ones it gave and the ones it missed.

    MS603's truth needs the 20-epoch run of the cell (where the balance
    settles) and of the `none` cell of its kind (what width alone does).
    """
    long_runs = {c.key: c for c in cells if c.epochs == max(EPOCHS)}
    for cell in cells:
        reference = long_runs.get(cell.key)
        baseline = long_runs.get((cell.kind, "none", cell.seed))
        expected: dict[tuple[str, str], str | None] = {}
        for branch in BRANCHES:
            if reference is not None and settled(reference, branch) > THRESHOLD:
                width = baseline is not None and settled(baseline, branch) > THRESHOLD
                expected[("MS603", branch)] = "width" if width else "signal"
        # Branches starved by a wide one are named by MS603; what they carry cannot be judged.
        starved = "width" in expected.values()
        for branch in BRANCHES:
            if branch not in CARRIERS[cell.signal] and not starved:
                expected[("MS604", branch)] = None
        cell.expected = [_name(code, branch, cause) for (code, branch), cause in expected.items()]
        given = {(v.code, v.branch): v.cause for v in cell.verdicts}
        cell.wrong = [
            _name(v.code, v.branch, v.cause)
            for v in cell.verdicts
            if (v.code, v.branch) not in expected or not _same_cause(v.cause, expected[(v.code, v.branch)])
        ]
        cell.missed = [
            _name(code, b, cause) for (code, b), cause in expected.items() if (code, b) not in given
        ]


def _same_cause(given: str | None, expected: str | None) -> bool:
    if expected is None:
        return True
    return given == expected or (given == "scale" and expected == "width")


def _name(code: str, branch: str, cause: str | None) -> str:
    return f"{code} {branch}" + (f" ({cause})" if cause else "")


def summary(cells: list[Cell]) -> list[dict]:
    """Per verdict and run length: how often it fired when it should, and when it should not."""
    rows = []
    for code in ("MS603", "MS604"):
        for epochs in EPOCHS:
            chosen = [c for c in cells if c.epochs == epochs]
            should = sum(1 for c in chosen for e in c.expected if e.startswith(code))
            hits = should - sum(1 for c in chosen for m in c.missed if m.startswith(code))
            given = sum(1 for c in chosen for v in c.verdicts if v.code == code)
            wrong = sum(1 for c in chosen for w in c.wrong if w.startswith(code))
            # Branch-cells where the verdict should not fire: every branch of every cell, less the expected.
            should_not = len(chosen) * len(BRANCHES) - should
            rows.append(
                {"verdict": code, "epochs": epochs, "should": should, "fired_when_should": hits,
                 "should_not": should_not, "fired_when_should_not": wrong, "fired": given}
            )  # fmt: skip
    return rows


def _previous_rule(values: list[float | None]) -> bool:
    """MS604 as it was decided before the rule waited for settled shares: from the last epoch on."""
    window = [v for v in values[len(values) // 2 :] if v is not None]
    return bool(window) and sum(window) / len(window) <= THRESHOLD and max(window) < 0.01


def by_length(cells: list[Cell]) -> list[dict]:
    """MS604 on the first n epochs of every long run, n = 1 .. 20: the measurement behind its rule.

    A run cut after n epochs is the run of n epochs (same seed, same batches). Counts, over every
    branch of every long cell, the MS604 warnings on branches with a planted signal (false alarms)
    and without (hits): those `mspec fit` gives (`mspec.training.verdicts`) and those of the rule
    before it.
    """
    from mspec import check_text
    from mspec.graph.merge_points import balance_points
    from mspec.training.verdicts import balance_diagnostics

    rows = []
    longest = max(EPOCHS)
    for n in range(1, longest + 1):
        row = {"epochs": n, "false_alarms": 0, "hits": 0, "previous_false_alarms": 0, "previous_hits": 0}
        for cell in (c for c in cells if c.epochs == longest):
            result = check_text(spec_text(cell.kind, n, cell.seed))
            (point,) = balance_points(result.graph)
            history = {f"balance/joined/{b}": cell.shares[b][:n] for b in BRANCHES}
            initial = {f"balance/joined/{b}": cell.initial.get(b) for b in BRANCHES}
            found = balance_diagnostics([point], history, THRESHOLD, result.document, initial)
            dead = {_verdict(d).branch for d in found if d.code == "MS604"}
            for branch in BRANCHES:
                carries = branch in CARRIERS[cell.signal]
                row["false_alarms" if carries else "hits"] += branch in dead
                previous = _previous_rule(cell.shares[branch][:n])
                row["previous_false_alarms" if carries else "previous_hits"] += previous
        rows.append(row)
    return rows


def _shares(cell: Cell) -> str:
    return " / ".join(
        "-" if not cell.shares[b] or cell.shares[b][-1] is None else f"{cell.shares[b][-1]:.3f}"
        for b in BRANCHES
    )


def render(cells: list[Cell], markdown: bool) -> str:
    header = [
        "kind",
        "signal in",
        "epochs",
        "seed",
        "last shares n / m / w",
        "fired",
        "should",
        "wrong",
        "missed",
    ]
    body = []
    for c in cells:
        fired = ", ".join(_name(v.code, v.branch, v.cause) for v in c.verdicts) or "-"
        body.append(
            [c.kind, c.signal, str(c.epochs), str(c.seed), _shares(c), fired,
             ", ".join(c.expected) or "-", ", ".join(c.wrong) or "-", ", ".join(c.missed) or "-"]
        )  # fmt: skip
    totals = [
        [r["verdict"], str(r["epochs"]), f"{r['fired_when_should']} of {r['should']}",
         f"{r['fired_when_should_not']} of {r['should_not']}"]
        for r in summary(cells)
    ]  # fmt: skip
    total_header = ["verdict", "epochs", "fired when it should", "fired when it should not"]
    lengths = [
        [
            str(r["epochs"]),
            f"{r['false_alarms']} / {r['hits']}",
            f"{r['previous_false_alarms']} / {r['previous_hits']}",
        ]
        for r in by_length(cells)
    ]
    length_header = ["epochs run", "MS604 on signal / on noise", "rule before: on signal / on noise"]
    return (
        _table(header, body, markdown)
        + "\n\n"
        + _table(total_header, totals, markdown)
        + "\n\n"
        + _table(length_header, lengths, markdown)
        + "\n"
    )


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("-" * len(lines[0]))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def run_matrix(
    rows: int, seeds: list[int], folder: Path, kinds=KINDS, signals=SIGNALS, epochs=EPOCHS, log=_quiet
) -> list[Cell]:
    cells = []
    for seed in seeds:
        for kind in kinds:
            for signal in signals:
                for count in epochs:
                    cells.append(run_cell(kind, signal, count, rows, seed, folder))
                    log(f"{kind} {signal} {count} epochs, seed {seed}: {_shares(cells[-1])}")
    judge(cells)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="training rows per cell (default 2000)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of data and training (default 0)")
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    parser.add_argument("--save", type=Path, help="also write the JSON document to this file")
    options = parser.parse_args()
    seeds = [int(s) for s in options.seeds.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        cells = run_matrix(options.rows, seeds, Path(folder), log=lambda line: print(line, file=sys.stderr))
    document = {
        "rows": options.rows,
        "seeds": seeds,
        "cells": [
            {"kind": c.kind, "signal": c.signal, "epochs": c.epochs, "seed": c.seed,
             "shares": c.shares, "before_training": c.initial,
             "fired": [_name(v.code, v.branch, v.cause) for v in c.verdicts],
             "expected": c.expected, "wrong": c.wrong, "missed": c.missed}
            for c in cells
        ],
        "summary": summary(cells),
        "by_length": by_length(cells),
    }  # fmt: skip
    if options.save is not None:
        options.save.write_text(json.dumps(document, indent=2) + "\n")
    if options.format == "json":
        print(json.dumps(document, indent=2))
    else:
        print(render(cells, options.format == "markdown"), end="")


if __name__ == "__main__":
    main()
