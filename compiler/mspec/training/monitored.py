"""The quantities Keras logs while a spec's model trains, named as Keras names them.

Early stopping and reduce_lr_on_plateau watch one of them by name. A name
Keras does not log is not an error to Keras: it warns at every epoch that the
quantity "is not available", never stops early and never restores the best
weights. `mspec fit` says so before TensorFlow starts (MS602).

How Keras 3 names them (`model.compile` then `fit`'s logs):
- `loss`, the total; with several outputs, also `<output>_loss` for each
  output that has a loss;
- each metric under its name: a metric written as a string keeps the string
  (`"acc"` logs `acc`); a metric written as a table takes its `name`, else
  its class's default name, else the class name in snake case (`AUC` logs
  `auc`, and `auc_1` for a second AUC made in the same process); with
  several outputs, prefixed by the output: `<output>_<name>`;
- every one of these again with `val_` when there is validation data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..spec.ir import Spec
from ..vocabulary import FAMILIES


@dataclass(frozen=True)
class Logged:
    """One logged quantity: its name, and whether Keras may number it (`auc_1`) to keep names unique."""

    name: str
    numbered: bool = False

    def matches(self, name: str) -> bool:
        if name == self.name:
            return True
        return self.numbered and re.fullmatch(re.escape(self.name) + r"_\d+", name) is not None


def logged_quantities(spec: Spec) -> list[Logged]:
    """What `fit` logs for the training data (without the `val_` copies), in Keras' order."""
    compile_ = spec.compile
    default_loss = compile_.loss if compile_ is not None else None
    default_metrics = list(compile_.metrics) if compile_ is not None else []
    several = len(spec.outputs) > 1
    found = [Logged("loss")]
    for name, output in spec.outputs.items():
        if several and (output.loss or default_loss) is not None:
            found.append(Logged(f"{name}_loss"))
    for name, output in spec.outputs.items():
        for metric in list(output.metrics) or default_metrics:
            logged = _metric_name(metric)
            if several:
                logged = Logged(f"{name}_{logged.name}", logged.numbered)
            found.append(logged)
    return found


def unlogged_monitor(spec: Spec, monitor: str) -> list[str] | None:
    """None when Keras logs `monitor`; else the names it does log (training ones, then val_)."""
    logged = logged_quantities(spec)
    base = monitor.removeprefix("val_")
    if any(quantity.matches(base) for quantity in logged):
        return None
    names = [quantity.name for quantity in logged]
    return names + [f"val_{name}" for name in names]


def _metric_name(metric) -> Logged:
    if isinstance(metric, str):
        return Logged(metric)
    arguments = dict(metric.args)
    if isinstance(arguments.get("name"), str):
        return Logged(arguments["name"])
    default = FAMILIES["metric"].defaults.get(metric.type, {}).get("name")
    if isinstance(default, str):
        return Logged(default)
    return Logged(snake_case(metric.type), numbered=True)


def snake_case(class_name: str) -> str:
    """A class name as Keras names its instances by default: AUC -> auc, MeanIoU -> mean_io_u."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", class_name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()
