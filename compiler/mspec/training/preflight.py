"""Everything `fit` checks before any framework is imported: the spec is trainable, the data fits it.

A run that would fail inside Keras (an output without a loss, data of the
wrong shape, ids past an Embedding's vocabulary, ...) is stopped here, with
located diagnostics, in a fraction of the time TensorFlow takes to import.
"""

from __future__ import annotations

from pathlib import Path

from ..diagnostics import Diagnostic
from ..diagnostics.rules import FIT_CONTRADICTORY_SETTINGS, FIT_OUTPUT_WITHOUT_LOSS
from ..diagnostics.suggest import did_you_mean
from ..frontend import CheckResult
from .monitored import unlogged_monitor
from .settings import FitSettings


def loss_of(result: CheckResult, output: str) -> str | None:
    """The loss an output trains with: its own, or the [compile] default."""
    spec = result.spec
    own = spec.outputs[output].loss
    if own is not None:
        return own
    return spec.compile.loss if spec.compile is not None else None


def loss_diagnostics(result: CheckResult) -> list[Diagnostic]:
    """Outputs without a loss (MS601): fit cannot train them, explain cannot score them."""
    found: list[Diagnostic] = []
    for name, output in result.spec.outputs.items():
        if loss_of(result, name) is None:
            found.append(
                FIT_OUTPUT_WITHOUT_LOSS.at(
                    result.graph.document, output.path,
                    f"output {name!r} has no loss, so it cannot be trained",
                    'give it one, e.g. loss = "mean_squared_error", or set [compile] loss for every output',
                    node=name,
                )
            )  # fmt: skip
    return found


def settings_diagnostics(
    result: CheckResult, settings: FitSettings, *, has_validation: bool
) -> list[Diagnostic]:
    """[train] settings that contradict each other or the command line (MS602): fit's own checks."""
    graph = result.graph
    found: list[Diagnostic] = []
    if settings.distribute == "multi_worker" and settings.validation_split:
        found.append(
            FIT_CONTRADICTORY_SETTINGS.at(
                graph.document, ("train", "validation_split"),
                "validation_split cannot be used with distribute = 'multi_worker'",
                "give each process its validation rows with --validation PATH instead "
                "(it takes the place of validation_split), or pass --validation-split 0",
            )
        )  # fmt: skip
    validated = has_validation or bool(settings.validation_split)
    for section, watcher in (
        ("early_stopping", settings.early_stopping),
        ("reduce_lr_on_plateau", settings.reduce_lr_on_plateau),
    ):
        if watcher is None:
            continue
        if watcher.monitor.startswith("val_") and not validated:
            found.append(
                FIT_CONTRADICTORY_SETTINGS.at(
                    graph.document, ("train", section),
                    f"{section} watches {watcher.monitor!r}, but there is no validation data",
                    "set [train] validation_split, pass --validation PATH, or watch a training metric "
                    '(monitor = "loss")',
                )
            )  # fmt: skip
            continue
        logged = unlogged_monitor(result.spec, watcher.monitor)
        if logged is not None:
            names = logged if validated else [name for name in logged if not name.startswith("val_")]
            listed = "Keras logs " + ", ".join(repr(name) for name in names)
            suggestion = did_you_mean(watcher.monitor, names)
            found.append(
                FIT_CONTRADICTORY_SETTINGS.at(
                    graph.document, ("train", section, "monitor"),
                    f"{section} watches {watcher.monitor!r}, which Keras does not log for this model: "
                    "it would warn every epoch and never act",
                    f"{suggestion} {listed}" if suggestion else listed,
                    at="value",
                )
            )  # fmt: skip
    return found


def data_diagnostics(
    result: CheckResult,
    data: str | Path,
    validation: str | Path | None,
    shard: tuple[int, int] | None = None,
    *,
    labels: bool = True,
    kept: tuple[str, ...] = (),
) -> list[Diagnostic]:
    """The data checks of `mspec lint --data`, on the training data and the validation data.

    Reported as lint reports them: the spec's [lint] table and the project's
    [tool.mspec] selection apply (an ignored warning is not printed by fit
    either). With `shard` (this process' index, the number of processes of a
    multi-worker run), only the rows this process trains and validates on are
    read: every process checks its own share, and none reads the whole data.
    """
    from ..data import check_data
    from .feeding import shard_rows

    rows = None if shard is None else (lambda total: shard_rows(slice(0, total), shard))
    found = []
    for path in (data, validation):
        if path is None:
            continue
        found.extend(check_data(result, path, rows, labels=labels, kept=kept))
        if shard is not None:
            found.extend(_empty_shards(result, path, shard))
    return result.reported(found)


def _empty_shards(result: CheckResult, path: str | Path, shard: tuple[int, int]) -> list[Diagnostic]:
    """Fewer rows than processes: each process would train on none (Keras fails on an empty epoch)."""
    from ..data import open_data

    total = open_data(path).num_rows
    if total == 0 or total >= shard[1]:
        return []
    return [
        FIT_CONTRADICTORY_SETTINGS.at(
            result.graph.document, ("train", "distribute"),
            f"{shard[1]} processes share the {total} row{'s' if total != 1 else ''} of {path}: "
            "each process takes an equal block of rows, so every block is empty",
            "use fewer processes, or more data",
        )
    ]  # fmt: skip
