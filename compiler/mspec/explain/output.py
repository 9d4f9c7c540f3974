"""An explanation as text (a table per output), as JSON, and as a PNG (a bar chart per output)."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from .importance import Explanation, OutputReport, Score


def to_json(explanation: Explanation) -> dict[str, Any]:
    """outputs.<output>.baseline, outputs.<output>.inputs.<input>.importance and .std, groups, balance."""

    def score(value: Score, rank: int | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if rank is not None:
            entry["rank"] = rank
        entry |= {
            "importance": _number(value.importance),
            "std": _number(value.std),
            "repeats": [_number(v) for v in value.repeats],
            "metric_drop": _number(value.metric_drop),
            "metric_std": _number(value.metric_std),
            "ablation": _number(value.ablation),
            "ablation_metric_drop": _number(value.ablation_metric_drop),
        }
        return entry

    outputs = {}
    for name, report in explanation.outputs.items():
        outputs[name] = {
            "loss": report.loss,
            "metric": report.metric,
            "metric_higher_is_better": report.metric_higher_is_better,
            "baseline": {"loss": _number(report.baseline_loss), "metric": _number(report.baseline_metric)},
            "inputs": {
                input_name: score(value, rank)
                for rank, (input_name, value) in enumerate(report.inputs.items(), start=1)
            },
            "groups": {group: score(value) for group, value in report.groups.items()},
        }
    return {
        "model": explanation.model,
        "data": explanation.data,
        "rows": explanation.rows,
        "repeats": explanation.repeats,
        "seed": explanation.seed,
        "outputs": outputs,
        "ablated_with": {
            name: {
                "kind": replacement.kind,
                "value": _json_value(replacement.value),
                "neutral": replacement.neutral,
                "why": replacement.reason,
            }
            for name, replacement in explanation.ablations.items()
        },
        "balance": None
        if explanation.balance is None
        else {
            "source": explanation.balance_source,
            "merges": {
                merge: {
                    branch: {"share": _number(share), "inputs": explanation.balance_inputs[merge][branch]}
                    for branch, share in branches.items()
                }
                for merge, branches in explanation.balance.items()
            },
        },
    }


def to_text(explanation: Explanation) -> str:
    """A table per output, inputs ranked, with the spread over the repeats; then the balance."""
    lines = [
        f"{explanation.model}: {explanation.rows} rows of {explanation.data}, "
        f"{explanation.repeats} shuffle{'s' if explanation.repeats != 1 else ''} per input, "
        f"seed {explanation.seed}"
    ]
    for report in explanation.outputs.values():
        lines.append("")
        lines += _output_table(report, explanation.repeats)
    if explanation.ablations:
        lines.append("")
        lines.append("ablated: each input replaced in every row by")
        width = max(len(name) for name in explanation.ablations)
        for name, replacement in explanation.ablations.items():
            lines.append(f"  {name.ljust(width)}  {replacement.describe()}")
    lines.append("")
    if explanation.balance is None:
        lines.append("balance: not recorded (no <model>.history.json from `mspec fit` beside the model)")
    else:
        lines.append(
            "balance at the end of training (share of the gradient at each merge, "
            f"from {explanation.balance_source}):"
        )
        for merge, branches in explanation.balance.items():
            parts = []
            for branch, share in sorted(branches.items(), key=lambda item: -(item[1] or 0)):
                inputs = explanation.balance_inputs[merge][branch]
                via = "" if inputs == [branch] else f" ({', '.join(inputs)})"
                parts.append(f"{branch}{via} {_fixed(share, 2)}")
            lines.append(f"  {merge}: " + ", ".join(parts))
    return "\n".join(lines) + "\n"


def _output_table(report: OutputReport, repeats: int) -> list[str]:
    metric = report.metric
    baseline = f"loss {report.loss} {_fixed(report.baseline_loss)}"
    if metric is not None:
        baseline += f", {metric} {_fixed(report.baseline_metric)}"
    change = "drop" if report.metric_higher_is_better else "increase"
    header = ["rank", "input", "shuffled: loss +", "± std"]
    if metric is not None:
        header += [f"{metric} {change}", "± std"]
    header += ["ablated: loss +"]
    if metric is not None:
        header += [f"{metric} {change}"]
    rows = []

    def row(rank: str, name: str, score: Score) -> list[str]:
        cells = [rank, name, _fixed(score.importance), _fixed(score.std)]
        if metric is not None:
            cells += [_fixed(score.metric_drop), _fixed(score.metric_std)]
        cells += [_fixed(score.ablation)]
        if metric is not None:
            cells += [_fixed(score.ablation_metric_drop)]
        return cells

    for rank, (name, score) in enumerate(report.inputs.items(), start=1):
        rows.append(row(str(rank), name, score))
    for name, score in report.groups.items():
        rows.append(row("group", name, score))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {i for i in range(len(header)) if i >= 2}

    def render(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    lines = [f"output {report.name}: baseline {baseline}", render(header).rstrip()]
    lines.append("-" * len(lines[-1]))
    lines += [render(r).rstrip() for r in rows]
    return lines


def to_png(explanation: Explanation) -> bytes:
    """One horizontal bar chart per output: loss increase when shuffled (error bars: std) and ablated."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    reports = list(explanation.outputs.values())
    heights = [max(2.2, 0.55 * (len(r.inputs) + len(r.groups)) + 1.2) for r in reports]
    figure = Figure(figsize=(7.5, sum(heights)), layout="constrained")
    model = Path(explanation.model).name
    figure.suptitle(
        f"{model}: what each input adds ({explanation.rows} rows of {Path(explanation.data).name})"
    )
    axes = figure.subplots(len(reports), 1, squeeze=False, height_ratios=heights)
    for ax, report in zip((row[0] for row in axes), reports, strict=True):
        entries = list(report.inputs.items()) + [(f"[{k}]", v) for k, v in report.groups.items()]
        names = [name for name, _ in entries][::-1]
        scores = [score for _, score in entries][::-1]
        positions = range(len(entries))
        ax.barh(
            [p + 0.2 for p in positions],
            [s.importance for s in scores],
            height=0.38,
            xerr=[s.std for s in scores],
            capsize=3,
            label=f"shuffled (mean ± std of {explanation.repeats})",
            color="#3b6ea8",
        )
        ax.barh(
            [p - 0.2 for p in positions],
            [s.ablation for s in scores],
            height=0.38,
            label="replaced by a value carrying no information (see the text report)",
            color="#c9a54a",
        )
        ax.set_yticks(list(positions), names)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(
            f"increase of {report.name}'s loss ({report.loss}; baseline {_fixed(report.baseline_loss)})"
        )
        title = f"output {report.name}"
        if report.metric is not None:
            title += f" ({report.metric} {_fixed(report.baseline_metric)})"
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def _json_value(value: Any) -> Any:
    """A replacement for JSON: one value repeated at every position is given once."""
    import numpy as np

    array = np.asarray(value)
    flat = array.reshape(-1)
    if flat.size and all(v == flat[0] for v in flat):
        array = flat[0]
    if array.dtype.kind == "f":
        return np.round(array.astype("float64"), 6).tolist()
    return array.tolist()


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _fixed(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"
