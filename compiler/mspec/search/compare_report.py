"""A comparison written out: compare.json (everything), compare.md (a table for a pull request), compare.png.

The plot has one panel per output: each spec's validation loss per epoch,
the mean over the repeats as a line and one standard deviation either side
as a band (over the repeats that reached that epoch: early stopping may end
some sooner). All three files are written at once, each atomically.
"""

from __future__ import annotations

import io
import json
import math
import statistics
from pathlib import Path
from typing import Any

from .compare import ALL_OUTPUTS, Comparison, Spread, Summary, output_keys, summarize

PANEL_INCHES = (5.0, 3.6)


def write_comparison(comparison: Comparison, folder: Path) -> list[Path]:
    """Write compare.json, compare.md and compare.png into `folder`; return their paths."""
    from ..files import write_atomic

    summaries = summarize(comparison)
    files = {
        folder / "compare.json": (json.dumps(to_json(comparison, summaries), indent=2) + "\n").encode(),
        folder / "compare.md": to_markdown(comparison, summaries).encode(),
        folder / "compare.png": to_png(comparison),
    }
    for path, data in files.items():
        write_atomic(path, data)
    return list(files)


def _spread(spread: Spread) -> dict[str, Any]:
    return {"mean": spread.mean, "std": spread.std, "values": spread.values}


def to_json(comparison: Comparison, summaries: list[Summary]) -> dict[str, Any]:
    specs = []
    for entry, summary in zip(comparison.entries, summaries, strict=True):
        specs.append(
            {
                "label": entry.label,
                "path": entry.path,
                "model": entry.model,
                "parameters": summary.params,
                "epochs_to_best": _spread(summary.epochs_to_best),
                "wall_time_seconds": _spread(summary.wall_time),
                "outputs": {
                    name: {
                        "loss_key": output.loss_key,
                        "loss": _spread(output.loss),
                        "metrics": {key: _spread(value) for key, value in output.metrics.items()},
                        "importance": {key: _spread(value) for key, value in output.importance.items()},
                    }
                    for name, output in summary.outputs.items()
                },
                "runs": [
                    {
                        "seed": run.seed,
                        "best_epoch": run.best_epoch,
                        "wall_time_seconds": run.wall_time,
                        "history": run.history,
                        "importance": run.importance,
                    }
                    for run in entry.runs
                ],
            }
        )
    return {
        "data": comparison.data,
        "validation": comparison.validation,
        "seeds": comparison.seeds,
        "scored_on": "validation" if comparison.validated else "training (no validation data)",
        "specs": specs,
    }


def to_markdown(comparison: Comparison, summaries: list[Summary]) -> str:
    """One table per output (loss and metrics at the best epoch, size, time), then input importance."""
    repeats = len(comparison.seeds)
    seeds = ", ".join(str(s) for s in comparison.seeds)
    scored = (
        f"validation data {comparison.validation}"
        if comparison.validation
        else "the validation rows of each spec's [train] validation_split"
        if comparison.validated
        else "the training data (no validation data given)"
    )
    lines = [
        f"# {' vs '.join(s.label for s in summaries)}",
        "",
        f"Trained on {comparison.data}, scored on {scored}; {repeats} repeat{'s' if repeats != 1 else ''} "
        f"per spec with seeds {seeds}, the same for every spec. Values are at each run's best epoch "
        "(lowest total loss), as mean ± standard deviation over the repeats.",
    ]
    outputs = list(dict.fromkeys(name for s in summaries for name in s.outputs))
    for output in outputs:
        lines += ["", f"## {output}" if output != ALL_OUTPUTS else "## All outputs (the total loss)", ""]
        metric_keys = list(
            dict.fromkeys(k for s in summaries if output in s.outputs for k in s.outputs[output].metrics)
        )
        loss_key = next(s.outputs[output].loss_key for s in summaries if output in s.outputs)
        header = ["spec", f"best {loss_key}", *metric_keys, "epochs to best", "parameters", "wall time (s)"]
        lines += [_row(header), _row(["---"] * len(header))]
        for summary in summaries:
            own = summary.outputs.get(output)
            cells = [summary.label]
            if own is None:
                cells += ["n/a"] * (1 + len(metric_keys))
            else:
                cells.append(own.loss.shown())
                cells += [own.metrics[k].shown() if k in own.metrics else "n/a" for k in metric_keys]
            cells += [summary.epochs_to_best.shown(1), f"{summary.params:,}", summary.wall_time.shown(1)]
            lines.append(_row(cells))
        inputs = list(
            dict.fromkeys(i for s in summaries if output in s.outputs for i in s.outputs[output].importance)
        )
        if inputs:
            lines += [
                "",
                "Input importance: the rise of the loss when the input's rows are shuffled "
                "(`mspec explain`).",
                "",
                _row(["input", *(s.label for s in summaries)]),
                _row(["---"] * (1 + len(summaries))),
            ]
            for name in inputs:
                cells = [name]
                for summary in summaries:
                    own = summary.outputs.get(output)
                    spread = own.importance.get(name) if own is not None else None
                    cells.append(spread.shown() if spread is not None else "n/a")
                lines.append(_row(cells))
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def to_png(comparison: Comparison) -> bytes:
    """Validation loss per epoch of every spec, one panel per output: mean line, ±1 std band."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    prefix = comparison.prefix
    panels: dict[str, dict[str, str]] = {}  # output -> spec label -> history key
    for entry in comparison.entries:
        keys = output_keys(list(entry.runs[0].history), entry.outputs, prefix)
        for output, (loss_key, _) in keys.items():
            if output != ALL_OUTPUTS:
                panels.setdefault(output, {})[entry.label] = loss_key
    figure = Figure(figsize=(PANEL_INCHES[0] * len(panels), PANEL_INCHES[1]), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (output, by_label) in zip(axes, panels.items(), strict=True):
        for entry in comparison.entries:
            key = by_label.get(entry.label)
            if key is None:
                continue
            mean, low, high = _band([run.history.get(key, []) for run in entry.runs])
            epochs = range(1, len(mean) + 1)
            (line,) = ax.plot(epochs, mean, marker="o", markersize=3, label=entry.label)
            ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(f"{output}: {'validation' if comparison.validated else 'training'} loss", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def _band(curves: list[list[float | None]]) -> tuple[list[float], list[float], list[float]]:
    """Per epoch, the mean over the runs that reached it, and mean ∓ std (the mean alone for one run)."""
    length = max((len(c) for c in curves), default=0)
    mean, low, high = [], [], []
    for epoch in range(length):
        values = [c[epoch] for c in curves if epoch < len(c) and c[epoch] is not None]
        if not values:
            mean.append(math.nan)
            low.append(math.nan)
            high.append(math.nan)
            continue
        centre = statistics.fmean(values)
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        mean.append(centre)
        low.append(centre - spread)
        high.append(centre + spread)
    return mean, low, high
