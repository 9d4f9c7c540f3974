"""Check a loaded document against the spec language and build the validated `Spec`.

This module walks the document's sections: it reports unknown and missing
sections, validates [model] and every named entry (an input with its shape
and columns here; steps in `steps`, names in `names`, [compile] and [train]
in `training_sections`), and gathers the entries that pass into the `Spec`.

Validation goes on after an error so that one run reports every mistake in a
file; an invalid entry is kept out of the `Spec` (or kept with `call=None`)
so later stages do not report follow-on errors about it.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    INVALID_NAME,
    INVALID_VALUE,
    MISSING_KEY,
    OUT_OF_RANGE,
    UNKNOWN_KEY,
    WRONG_TYPE,
)
from ..diagnostics.suggest import did_you_mean
from ..syntax.document import DataPath, Document
from .collector import Collector, render
from .ir import Chain, Output, Spec
from .models import BranchSpec, ColumnSelector, InputSpec, ModelInfo, OutputSpec, SpecFile
from .names import LAYER_NAME_RE, NAME_RE, NAMED_SECTIONS, check_layer_names_unique, check_names
from .steps import validate_merge, validate_step, validate_steps
from .training_sections import validate_compile, validate_train

# LAYER_NAME_RE is also read from here by the JSON schema and the importer.
__all__ = ["LAYER_NAME_RE", "validate"]

TOP_LEVEL_KEYS = tuple(field.alias or name for name, field in SpecFile.model_fields.items())


def validate(document: Document) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a document; return the Spec (None if unusable) and the diagnostics."""
    out = Collector(document)
    data = document.data
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            out.error(UNKNOWN_KEY, (key,), f"unknown section {key!r}", did_you_mean(key, TOP_LEVEL_KEYS))
    for key in ("model", "inputs", "outputs"):
        if key not in data:
            out.error(
                MISSING_KEY,
                (),
                f"the spec has no [{key}] section",
                "a spec needs [model] with a name, at least one input and one output",
            )
    check_names(out, data)
    check_layer_names_unique(out, data)

    info = out.check(ModelInfo, data["model"], ("model",), "[model]") if "model" in data else None
    spec = Spec(document, info.name if info else "model", info.description if info else None)
    if info is not None:
        spec.outputs_as = info.outputs_as
    for section in NAMED_SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            out.error(WRONG_TYPE, (section,), f"[{section}] should be a table of named entries", at="value")
            continue
        for name, raw in table.items():
            before = len(out.diagnostics)
            _validate_entry(out, spec, section, name, raw)
            if len(out.diagnostics) > before:
                spec.broken.add(name)
    if "compile" in data:
        spec.compile = validate_compile(out, data["compile"])
    if "train" in data:
        spec.train = validate_train(out, data["train"], data.get("outputs"))
    out.diagnostics.sort()
    return (spec if info else None), out.diagnostics


def _validate_entry(out: Collector, spec: Spec, section: str, name: str, raw: Any) -> None:
    path: DataPath = (section, name)
    what = f"{section}.{name}"
    if section == "inputs":
        entry = out.check(InputSpec, raw, path, f"input {name!r}")
        shape = raw.get("shape") if isinstance(raw, dict) else None
        dims_ok = _check_dimensions(out, shape, path) if isinstance(shape, list) else False
        if entry is not None and entry.columns is not None:
            dims_ok = _check_columns(out, entry, path) and dims_ok
        if entry is not None and dims_ok:
            spec.inputs[name] = entry
    elif section == "shared":
        step = validate_step(out, raw, path, what, allow_shared=False)
        spec.shared[name] = step.call if step else None
    elif section == "merges":
        merge = validate_merge(out, name, raw, path)
        if merge is not None:
            spec.merges[name] = merge
    elif section == "branches":
        entry = out.check(BranchSpec, raw, path, f"branch {name!r}")
        if entry is not None:
            spec.branches[name] = Chain(
                name, entry.source, validate_steps(out, entry.layers, path, what), path
            )
    else:
        entry = out.check(OutputSpec, raw, path, f"output {name!r}")
        if entry is not None:
            spec.outputs[name] = Output(
                name,
                entry.source,
                validate_steps(out, entry.layers, path, what),
                path,
                entry.loss,
                entry.loss_weight,
                tuple(entry.metrics),
                entry.column,
            )


def _check_columns(out: Collector, entry: InputSpec, path: DataPath) -> bool:
    """An input's `columns`: a list of distinct names, as many as its last dimension when known.

    A table picking columns by name ({ prefix = ... }, { glob = ... }) needs a
    last axis to stack them on; how many it picks is known, and checked by
    `stacking_problem`, once the data file is read.
    """
    where = (*path, "columns")
    if isinstance(entry.columns, ColumnSelector):
        if not entry.shape:
            out.error(
                INVALID_VALUE,
                where,
                f"input {path[1]!r} stacks the columns {entry.columns.describe()} picks along its last "
                "axis, but its shape is []",
                "give it shape [N], N the number of columns it picks",
                at="value",
            )
            return False
        return True
    ok = True
    seen: set[str] = set()
    for index, column in enumerate(entry.columns or ()):
        if column in seen:
            out.error(
                INVALID_VALUE, (*where, index), f"input {path[1]!r} lists column {column!r} twice", at="value"
            )
            ok = False
        seen.add(column)
    count = len(entry.columns or ())
    if not entry.shape:
        out.error(
            INVALID_VALUE,
            where,
            f"input {path[1]!r} stacks {count} column(s) along its last axis but its shape is []",
            f"give it shape [{count}]",
            at="value",
        )
        return False
    problem = stacking_problem(path[1], count, entry.shape)
    if problem is not None:
        out.error(INVALID_VALUE, where, *problem, at="value")
        ok = False
    return ok


def stacking_problem(name: str, count: int, shape: list | tuple, picked: str = "") -> tuple[str, str] | None:
    """(message, hint) when `count` stacked columns do not fill the input's last dimension, if it is a number.

    Used for a list of columns when the spec is checked (MS105), and for the
    columns a table picks (`picked`, e.g. 'of train.csv that { prefix = "px_" } picks')
    when the data file is read (MS505).
    """
    last = shape[-1] if shape else None
    if not isinstance(last, int) or isinstance(last, bool) or last == count:
        return None
    what = f"{count} column(s)" + (f" ({picked})" if picked else "")
    message = (
        f"input {name!r} stacks {what} along its last axis, but the last dimension of its shape is {last}"
    )
    if picked:
        return message, f"make the last dimension {count}, or pick {last} columns"
    return message, f"list {last} columns, or make the last dimension {count}"


def _check_dimensions(out: Collector, shape: list, path: DataPath) -> bool:
    """Check each dimension: a positive integer, a name, or null."""
    ok = True
    for index, dim in enumerate(shape):
        where = (*path, "shape", index)
        what = f"dimension {index + 1} of input {path[1]!r}"
        if dim is None or (isinstance(dim, int) and not isinstance(dim, bool) and dim > 0):
            continue
        ok = False
        if isinstance(dim, int) and not isinstance(dim, bool):
            out.error(
                OUT_OF_RANGE,
                where,
                f"{what} should be a positive integer, got {dim}",
                "use null (JSON) or a name to leave a size unknown",
                at="value",
            )
        elif isinstance(dim, str):
            if NAME_RE.match(dim):
                ok = True
            else:
                out.error(INVALID_NAME, where, f"{what}: name {dim!r} is not an identifier", at="value")
        else:
            out.error(
                WRONG_TYPE,
                where,
                f"{what} should be a positive integer, a name or null, got {render(dim)}",
                at="value",
            )
    return ok
