"""The [compile] and [train] sections: how the model is compiled and how `mspec fit` trains it.

[compile] is checked against its model, then its optimizer against Keras'
optimizers: a name Keras knows, or a table with a known `type` and that
optimizer's own arguments. [train] checks its callback sub-tables each
against their own keys, and its class weights by hand (per output, a quoted
class label -> a weight).
"""

from __future__ import annotations

from typing import Any

from ..diagnostics.rules import INVALID_VALUE, OUT_OF_RANGE, UNKNOWN_KEY, UNKNOWN_NODE, WRONG_TYPE
from ..diagnostics.suggest import did_you_mean
from ..syntax.document import DataPath
from ..vocabulary import OPTIMIZER_FLAGS, OPTIMIZER_NAMES, OPTIMIZER_SIGNED, OPTIMIZERS
from .collector import Collector, render
from .models import CompileSpec, EarlyStoppingSpec, ReduceLROnPlateauSpec, TrainSpec


def validate_compile(out: Collector, raw: Any) -> CompileSpec | None:
    """Check [compile], then its optimizer: a name Keras knows or a table of a known type's arguments."""
    entry = out.check(CompileSpec, raw, ("compile",), "[compile]")
    if entry is None:
        return None
    optimizer = entry.optimizer
    path: DataPath = ("compile", "optimizer")
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZER_NAMES:
            out.error(
                INVALID_VALUE,
                path,
                f"unknown optimizer {optimizer!r}",
                did_you_mean(optimizer, OPTIMIZER_NAMES),
                at="value",
            )
        return entry
    type_name = optimizer.get("type")
    if not isinstance(type_name, str) or type_name not in OPTIMIZERS:
        hint = did_you_mean(type_name, OPTIMIZERS) if isinstance(type_name, str) else None
        out.error(
            INVALID_VALUE,
            (*path, "type"),
            f"unknown optimizer type {type_name!r}",
            hint or "one of " + ", ".join(OPTIMIZERS),
            at="value",
        )
        return entry
    allowed = OPTIMIZERS[type_name]
    for key, value in optimizer.items():
        if key == "type":
            continue
        if key not in allowed:
            out.error(
                UNKNOWN_KEY,
                (*path, key),
                f"unknown key {key!r} for optimizer {type_name}",
                did_you_mean(key, allowed),
            )
        elif isinstance(value, bool) != (key in OPTIMIZER_FLAGS) or not isinstance(value, int | float):
            out.error(
                WRONG_TYPE,
                (*path, key),
                f"optimizer {key!r} has the wrong type, got {render(value)}",
                at="value",
            )
        elif not isinstance(value, bool) and value < 0 and key not in OPTIMIZER_SIGNED:
            out.error(
                OUT_OF_RANGE, (*path, key), f"optimizer {key!r} should be >= 0, got {value}", at="value"
            )
    return entry


def validate_train(out: Collector, raw: Any, outputs: Any) -> TrainSpec | None:
    """Check [train]: its sub-tables each against their own keys, class weights by hand."""
    if not isinstance(raw, dict):
        return out.check(TrainSpec, raw, ("train",), "[train]")
    raw = dict(raw)
    ok = True
    for key, model in (
        ("early_stopping", EarlyStoppingSpec),
        ("reduce_lr_on_plateau", ReduceLROnPlateauSpec),
    ):
        if isinstance(raw.get(key), dict):
            sub = out.check(model, raw[key], ("train", key), f"[train.{key}]")
            ok = ok and sub is not None
            raw[key] = sub
            if sub is None:
                del raw[key]
    weights = None
    if "class_weight" in raw:
        names = list(outputs) if isinstance(outputs, dict) else []
        weights = _check_class_weight(out, raw.pop("class_weight"), names)
        ok = ok and weights is not None
    entry = out.check(TrainSpec, raw, ("train",), "[train]")
    if entry is None or not ok:
        return None
    return entry.model_copy(update={"class_weight": weights or {}})


def _check_class_weight(out: Collector, raw: Any, outputs: list[str]) -> dict[str, dict[str, float]] | None:
    """Class weights: per output, a table of class label (a quoted non-negative integer) -> weight >= 0."""
    path: DataPath = ("train", "class_weight")
    if not isinstance(raw, dict):
        out.error(
            WRONG_TYPE,
            path,
            "[train] class_weight should be a table of outputs, got " + render(raw),
            at="value",
        )
        return None
    ok = True
    for output, weights in raw.items():
        where = (*path, output)
        if output not in outputs:
            out.error(
                UNKNOWN_NODE,
                where,
                f"[train] class_weight names unknown output {output!r}",
                did_you_mean(output, outputs) or "outputs are " + ", ".join(repr(n) for n in outputs),
            )
            ok = False
        if not isinstance(weights, dict):
            out.error(
                WRONG_TYPE,
                where,
                f"[train] class_weight for output {output!r} should be a table of class label -> weight, "
                f"got {render(weights)}",
                'for example { "0" = 1.0, "1" = 4.0 }',
                at="value",
            )
            ok = False
            continue
        for label, weight in weights.items():
            what = f"[train] class_weight for output {output!r}"
            if not (label.isascii() and label.isdigit()) or (len(label) > 1 and label[0] == "0"):
                out.error(
                    INVALID_VALUE,
                    (*where, label),
                    f"{what}: class label {label!r} is not a non-negative integer",
                    'write class labels as quoted integers: { "0" = 1.0, "1" = 2.5 }',
                )
                ok = False
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                out.error(
                    WRONG_TYPE,
                    (*where, label),
                    f"{what}: the weight of class {label!r} should be a number, got {render(weight)}",
                    at="value",
                )
                ok = False
            elif weight < 0:
                out.error(
                    OUT_OF_RANGE,
                    (*where, label),
                    f"{what}: the weight of class {label!r} should be >= 0, got {weight}",
                    at="value",
                )
                ok = False
    if not ok:
        return None
    return {output: {label: float(w) for label, w in weights.items()} for output, weights in raw.items()}
