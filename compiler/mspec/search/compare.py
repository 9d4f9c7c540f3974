"""Fit several specs on the same data with the same seeds, and set their results side by side.

Every spec is checked first, and so is their agreement: the same inputs and
outputs, bound to the data the same way (agreement.py, MS807). Then each
repeat r trains every spec with seed `seed + r` through `mspec.fit` (the
same training, seeding and run record as `mspec fit`), so that the specs
differ only in what they say, and the repeats only in their seed. After each
fit, `mspec.explain` measures every input's permutation importance on the
validation data (the training data when there is none).

Per spec and output, `summarize` gives the best validation loss (at the best
epoch of the total loss, the one early stopping would keep) and the
metrics at that epoch, as mean and standard deviation over the repeats; the
epochs to the best; the parameter count; the wall time; each input's
importance. report.py writes them as JSON, Markdown and a plot.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..frontend import CheckResult

# Shuffles per input when measuring importance after each fit (explain's own default is 5).
EXPLAIN_REPEATS = 3
# The row of a multi-output model's summed loss, beside each output's own.
ALL_OUTPUTS = "(all outputs)"


@dataclass
class Run:
    """One fit of one spec: its seed, history, best epoch, size, time and input importance."""

    seed: int
    history: dict[str, list[float | None]]
    best_epoch: int | None
    params: int
    wall_time: float
    importance: dict[str, dict[str, float]] | None = None  # output -> input -> loss increase


@dataclass
class Entry:
    """One spec of a comparison and its runs, one per repeat."""

    label: str
    path: str
    model: str
    outputs: list[str]
    inputs: list[str]
    runs: list[Run] = field(default_factory=list)


@dataclass
class Comparison:
    """The result of `compare`: every spec's runs, and the files written."""

    entries: list[Entry]
    data: str
    validation: str | None
    seeds: list[int]
    validated: bool  # whether the histories hold validation losses (val_...)
    written: list[Path] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return "val_" if self.validated else ""


def compare(
    specs: Sequence[str | os.PathLike | CheckResult],
    data: str | os.PathLike,
    *,
    validation: str | os.PathLike | None = None,
    repeats: int = 1,
    seed: int = 0,
    output_dir: str | os.PathLike | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    importance: bool = True,
    verbose: str | int = 0,
    log: Callable[[str], None] = print,
) -> Comparison:
    """Fit every spec `repeats` times on `data` (seeds seed, seed + 1, ...); return and write the comparison.

    With `output_dir`, writes compare.json, compare.md and compare.png there.
    Raises mspec.FitError, before Keras is imported, when a spec or the data
    has errors or the specs do not read the data the same way (MS807).
    """
    from ..training.runner import FitError, check_before_fit
    from ..training.runner import fit as run_fit
    from .agreement import disagreements

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if len(specs) < 2:
        raise ValueError("give at least two specs to compare")
    results = [_checked(spec) for spec in specs]
    mismatches = disagreements(results)
    if any(d.is_error for d in mismatches):
        raise FitError(mismatches)
    for result in results:
        check_before_fit(result, data, validation)  # every spec's data findings before the first fit
    labels = _labels([result.path for result in results])
    entries = [
        Entry(label, str(result.path), result.spec.name, list(result.spec.outputs), list(result.spec.inputs))
        for label, result in zip(labels, results, strict=True)
    ]
    seeds = [seed + r for r in range(repeats)]
    said: set[str] = set()
    from ..training.quiet import import_keras
    from .logs import framework_logs_quieted

    import_keras()  # before the first fit, so that its wall time is not the import's

    def once(line: str) -> None:
        if line not in said:  # each spec's warnings are the same at every repeat
            said.add(line)
            log(line)

    with framework_logs_quieted():
        for repeat, run_seed in enumerate(seeds, start=1):
            for entry, result in zip(entries, results, strict=True):
                fitted = run_fit(
                    result,
                    data,
                    validation=validation,
                    epochs=epochs,
                    batch_size=batch_size,
                    seed=run_seed,
                    verbose=verbose,
                    log=once,
                )
                run = Run(
                    run_seed,
                    fitted.history,
                    fitted.run.get("best_epoch"),
                    int(fitted.model.count_params()),
                    float(fitted.run["wall_time_seconds"]),
                )
                if importance:
                    run.importance = _importance(result, fitted.model, validation or data, run_seed)
                entry.runs.append(run)
                log(_progress(entry, run, repeat, repeats))
    comparison = Comparison(
        entries,
        str(data),
        None if validation is None else str(validation),
        seeds,
        validated=all("val_loss" in run.history for entry in entries for run in entry.runs),
    )
    if output_dir is not None:
        from .compare_report import write_comparison

        comparison.written = write_comparison(comparison, Path(output_dir))
    return comparison


def _checked(spec: str | os.PathLike | CheckResult) -> CheckResult:
    from ..pipeline import check_file
    from ..training.runner import FitError

    result = spec if isinstance(spec, CheckResult) else check_file(spec)
    if not result.ok or result.spec is None:
        raise FitError(result.diagnostics)
    return result


def _labels(paths: list[str]) -> list[str]:
    """Each spec's name in the report: its file's stem, or its path where two stems are the same."""
    stems = [Path(path).stem for path in paths]
    return [stem if stems.count(stem) == 1 else str(path) for stem, path in zip(stems, paths, strict=True)]


def _importance(result: CheckResult, model: Any, data: str | os.PathLike, seed: int) -> dict:
    from ..explain.importance import explain

    explanation = explain(result, model, data, repeats=EXPLAIN_REPEATS, seed=seed)
    return {
        output: {name: score.importance for name, score in report.inputs.items()}
        for output, report in explanation.outputs.items()
    }


def _progress(entry: Entry, run: Run, repeat: int, repeats: int) -> str:
    key = "val_loss" if "val_loss" in run.history else "loss"
    values = [v for v in run.history.get(key, []) if v is not None]
    best = f"best {key} {min(values):.4f} at epoch {run.best_epoch}" if values else f"no {key}"
    return f"{entry.label} (repeat {repeat}/{repeats}, seed {run.seed}): {best}, {run.wall_time:.1f} s"


# --- Summaries -----------------------------------------------------------------------------------------


@dataclass
class Spread:
    """The mean and standard deviation of one quantity over the repeats (std None for one repeat)."""

    mean: float | None
    std: float | None
    values: list[float | None]

    @classmethod
    def of(cls, values: list[float | None]) -> Spread:
        known = [v for v in values if v is not None and math.isfinite(v)]
        if not known:
            return cls(None, None, values)
        std = statistics.stdev(known) if len(known) > 1 else None
        return cls(statistics.fmean(known), std, values)

    def shown(self, digits: int = 4) -> str:
        if self.mean is None:
            return "n/a"
        text = f"{self.mean:.{digits}f}"
        return text + (f" ± {self.std:.{digits}f}" if self.std is not None else "")


@dataclass
class OutputSummary:
    """One output of one spec: its loss and metrics at the best epoch, over the repeats."""

    loss_key: str
    loss: Spread
    metrics: dict[str, Spread]
    importance: dict[str, Spread]


@dataclass
class Summary:
    """One spec over its repeats."""

    label: str
    epochs_to_best: Spread
    params: int
    wall_time: Spread
    outputs: dict[str, OutputSummary]


def output_keys(history_keys: list[str], outputs: list[str], prefix: str) -> dict[str, tuple[str, list[str]]]:
    """Per output, its loss key and metric keys as Keras logs them (prefix "val_" or "").

    One output: `val_loss`, `val_accuracy` ...; several: each output's
    `val_<output>_loss`, `val_<output>_<metric>`, and ALL_OUTPUTS for the sum.
    """
    own = [k for k in history_keys if k.startswith(prefix) and "/" not in k]
    if prefix == "":
        own = [k for k in own if not k.startswith("val_")]
    if len(outputs) == 1:
        loss = f"{prefix}loss"
        return {outputs[0]: (loss, [k for k in own if k != loss])}
    found: dict[str, tuple[str, list[str]]] = {ALL_OUTPUTS: (f"{prefix}loss", [])}
    taken: set[str] = {f"{prefix}loss"}
    for output in sorted(outputs, key=len, reverse=True):  # the longest name first: a_b before a
        start = f"{prefix}{output}_"
        mine = [k for k in own if k.startswith(start) and k not in taken]
        taken.update(mine)
        loss = f"{start}loss"
        found[output] = (loss, [k for k in mine if k != loss])
    return {name: found[name] for name in [ALL_OUTPUTS, *outputs]}


def summarize(comparison: Comparison) -> list[Summary]:
    """Every spec's summary, in the order given."""
    summaries = []
    prefix = comparison.prefix
    for entry in comparison.entries:
        first = entry.runs[0].history
        keys = output_keys(list(first), entry.outputs, prefix)
        outputs = {}
        for output, (loss_key, metric_keys) in keys.items():
            outputs[output] = OutputSummary(
                loss_key,
                Spread.of([_at_best(run, loss_key) for run in entry.runs]),
                {key: Spread.of([_at_best(run, key) for run in entry.runs]) for key in metric_keys},
                _importance_spread(entry, output),
            )
        summaries.append(
            Summary(
                entry.label,
                Spread.of([run.best_epoch for run in entry.runs]),
                entry.runs[0].params,
                Spread.of([run.wall_time for run in entry.runs]),
                outputs,
            )
        )
    return summaries


def _at_best(run: Run, key: str) -> float | None:
    """The value of `key` at the run's best epoch (the last epoch when there is none)."""
    values = run.history.get(key)
    if not values:
        return None
    index = (run.best_epoch - 1) if run.best_epoch else len(values) - 1
    return values[index] if index < len(values) else None


def _importance_spread(entry: Entry, output: str) -> dict[str, Spread]:
    if any(run.importance is None or output not in run.importance for run in entry.runs):
        return {}
    return {
        name: Spread.of([run.importance[output].get(name) for run in entry.runs])  # type: ignore[index]
        for name in entry.inputs
    }
