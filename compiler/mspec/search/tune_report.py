"""A tune written out: the best spec, every trial as a CSV row, and a plot of the study.

<name>.trials.csv has one row per trial, in trial order: number, state
(complete, pruned, failed, running), score, one column per [search] key,
epochs, seconds, and the reason of a pruned or failed trial (points the
static check rejected are pruned trials whose reason says so).
<name>.tune.png shows the score of every completed trial with the best so
far, and each parameter's importance (Optuna's PED-ANOVA) once enough trials
completed. All three files are written atomically.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from pathlib import Path
from typing import Any

from .tune import TuneResult

PANEL_INCHES = (5.0, 3.6)


def write_tune(outcome: TuneResult, study: Any, folder: Path, name: str, spec_path: str) -> list[Path]:
    """Write <name>.best.toml (or .json), <name>.trials.csv and <name>.tune.png; return their paths."""
    from ..files import write_atomic

    suffix = ".json" if str(spec_path).endswith(".json") else ".toml"
    files = {
        folder / f"{name}.best{suffix}": outcome.best_spec.encode(),
        folder / f"{name}.trials.csv": trials_csv(outcome).encode(),
        folder / f"{name}.tune.png": tune_png(outcome, study),
    }
    for path, data in files.items():
        write_atomic(path, data)
    return list(files)


def trials_csv(outcome: TuneResult) -> str:
    keys = list(dict.fromkeys(key for trial in outcome.trials for key in trial.values))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "state", outcome.metric, *keys, "epochs", "seconds", "reason"])
    for trial in outcome.trials:
        writer.writerow(
            [
                trial.number,
                trial.state,
                _cell(trial.score),
                *(_cell(trial.values.get(key)) for key in keys),
                _cell(trial.epochs),
                _cell(trial.seconds),
                trial.reason,
            ]
        )
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def tune_png(outcome: TuneResult, study: Any) -> bytes:
    """Two panels: each completed trial's score and the best so far; the parameters' importance."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(PANEL_INCHES[0] * 2, PANEL_INCHES[1]), layout="constrained")
    history, importance = figure.subplots(1, 2)
    done = [t for t in outcome.trials if t.state == "complete" and t.score is not None]
    pruned = [t for t in outcome.trials if t.state == "pruned" and t.score is not None]
    rejected = sum(1 for t in outcome.trials if t.reason.startswith("rejected"))
    pick = min if outcome.direction == "minimize" else max
    best_so_far, best = [], None
    for trial in done:
        best = trial.score if best is None else pick(best, trial.score)
        best_so_far.append(best)
    history.plot([t.number for t in done], [t.score for t in done], "o", markersize=4, label="trial")
    if pruned:
        history.plot(
            [t.number for t in pruned],
            [t.score for t in pruned],
            "x",
            markersize=5,
            label="pruned (best epoch)",
        )
    history.step([t.number for t in done], best_so_far, where="post", label="best so far")
    note = f"\n{rejected} invalid point{'s' if rejected != 1 else ''} rejected, not shown" if rejected else ""
    history.set_title(f"{outcome.metric} ({outcome.direction}){note}", fontsize=10)
    history.set_xlabel("trial")
    history.xaxis.set_major_locator(MaxNLocator(integer=True))
    history.grid(alpha=0.3)
    history.legend(fontsize=8)
    scores = _importances(study)
    if scores:
        names = list(scores)[::-1]
        importance.barh(names, [scores[n] for n in names])
        importance.set_xlabel("importance (Optuna's PED-ANOVA)")
    else:
        importance.text(0.5, 0.5, "needs more completed trials", ha="center", va="center", fontsize=9)
        importance.set_xticks([])
        importance.set_yticks([])
    importance.set_title("parameter importance", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def _importances(study: Any) -> dict[str, float]:
    """Each parameter's importance, or nothing when the completed trials cannot tell (too few, all equal)."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2:
        return {}
    evaluator = optuna.importance.PedAnovaImportanceEvaluator()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "importances will be equal" on a few trials: the plot shows it
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except Exception:  # Optuna refuses a study whose trials do not vary, or share no parameter
        return {}
