"""Check a loaded document against the spec language and build the validated `Spec`.

Validation goes on after an error so that one run reports every mistake in a
file; an invalid entry is kept out of the `Spec` (or kept with `call=None`)
so later stages do not report follow-on errors about it.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Diagnostic, Severity
from ..diagnostics.suggest import did_you_mean
from ..layers import REGISTRY
from ..layers.call import LayerCall
from ..syntax.source import DataPath, Document
from ..vocabulary import (
    LAYER_ALIASES,
    OPTIMIZER_FLAGS,
    OPTIMIZER_NAMES,
    OPTIMIZER_SIGNED,
    OPTIMIZERS,
    rank_problem,
)
from .ir import Chain, Merge, Output, Spec, Step
from .models import (
    NAME_PATTERN,
    BranchSpec,
    CompileSpec,
    EarlyStoppingSpec,
    InputSpec,
    ModelInfo,
    OutputSpec,
    ReduceLROnPlateauSpec,
    SpecFile,
    TrainSpec,
)
from .weight_ranks import weight_ranks

NAMED_SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")
SECTION_ENTRY = {
    "inputs": "input",
    "shared": "shared layer",
    "branches": "branch",
    "merges": "merge",
    "outputs": "output",
}
TOP_LEVEL_KEYS = tuple(field.alias or name for name, field in SpecFile.model_fields.items())

# Layers whose configuration carries code or loads external files: a spec
# must never be a way to run arbitrary code.
CODE_CARRYING_LAYERS = {
    "Lambda": "it runs arbitrary Python code",
    "TFSMLayer": "it loads an external SavedModel",
    "TorchModuleWrapper": "it wraps arbitrary PyTorch code",
    "JaxLayer": "it wraps arbitrary JAX code",
    "FlaxLayer": "it wraps arbitrary Flax code",
}
CODE_CARRYING_KEYS = ("module", "class_name", "registered_name", "custom_objects", "function", "config")

_NAME_RE = re.compile(NAME_PATTERN)
# A Keras layer name a step may give: plain text Keras accepts (no "/", no spaces).
LAYER_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,254}$")
_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
}


class _Collector:
    """Accumulates diagnostics for one document."""

    def __init__(self, document: Document):
        self.document = document
        self.diagnostics: list[Diagnostic] = []

    def error(
        self, code: str, path: DataPath, message: str, hint: str | None = None, *, at: str = "key"
    ) -> None:
        loc = self.document.locate(path, prefer=at)
        self.diagnostics.append(
            Diagnostic(self.document.path, loc.line, loc.col, code, Severity.ERROR, message, hint)
        )

    def check(self, model: type[BaseModel], value: Any, path: DataPath, what: str) -> Any | None:
        """Validate `value` with `model`; report every error and return None on failure."""
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            self.report_pydantic(exc, value, path, what, allowed=_keys_of(model))
            return None

    def report_pydantic(self, exc: ValidationError, value: Any, path: DataPath, what: str, allowed) -> None:
        """Turn pydantic errors into located diagnostics, merging a union's alternatives."""
        grouped: dict[DataPath, list[dict]] = {}
        for err in exc.errors(include_url=False):
            grouped.setdefault(_data_path(value, err["loc"]), []).append(err)
        for rel, errors in grouped.items():
            self._one_pydantic(errors, value, path, rel, what, allowed)

    def _one_pydantic(self, errors, value, path, rel, what, allowed) -> None:
        err = errors[0]
        kind = err["type"]
        full = path + rel
        key = next((p for p in reversed(rel) if isinstance(p, str)), None)
        subject = f"{what} key {key!r}" if key else what
        if kind == "extra_forbidden":
            self.error("MS101", full, f"unknown key {key!r} in {what}", did_you_mean(str(key), allowed))
        elif kind == "missing":
            missing = err["loc"][-1]
            self.error("MS102", full, f"{what} is missing required key {missing!r}")
        elif kind == "literal_error":
            choices = re.findall(r"'([^']*)'", err["ctx"]["expected"]) if err.get("ctx") else []
            got = _lookup(value, rel)
            hint = did_you_mean(got, choices) if isinstance(got, str) else None
            if hint is None and len(choices) <= 6:
                hint = "expected one of " + ", ".join(repr(c) for c in choices)
            self.error("MS105", full, f"{subject} has unknown value {_render(got)}", hint, at="value")
        elif kind in _RANGE_ERRORS:
            self.error(
                "MS104",
                full,
                f"{subject} {_should(err['msg'])}, got {_render(_lookup(value, rel))}",
                at="value",
            )
        elif kind in {"value_error", "assertion_error"}:
            self.error("MS105", full, f"{subject}: {err['msg'].removeprefix('Value error, ')}", at="value")
        else:
            wanted = " or ".join(dict.fromkeys(_should(e["msg"]) for e in errors))
            self.error("MS103", full, f"{subject} {wanted}, got {_render(_lookup(value, rel))}", at="value")


def validate(document: Document) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a document; return the Spec (None if unusable) and the diagnostics."""
    out = _Collector(document)
    data = document.data
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            out.error("MS101", (key,), f"unknown section {key!r}", did_you_mean(key, TOP_LEVEL_KEYS))
    for key in ("model", "inputs", "outputs"):
        if key not in data:
            out.error(
                "MS102",
                (),
                f"the spec has no [{key}] section",
                "a spec needs [model] with a name, at least one input and one output",
            )
    _check_names(out, data)
    _check_layer_names_unique(out, data)

    info = out.check(ModelInfo, data["model"], ("model",), "[model]") if "model" in data else None
    spec = Spec(document, info.name if info else "model", info.description if info else None)
    if info is not None:
        spec.outputs_as = info.outputs_as
    for section in NAMED_SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            out.error("MS103", (section,), f"[{section}] should be a table of named entries", at="value")
            continue
        for name, raw in table.items():
            before = len(out.diagnostics)
            _validate_entry(out, spec, section, name, raw)
            if len(out.diagnostics) > before:
                spec.broken.add(name)
    if "compile" in data:
        spec.compile = _validate_compile(out, data["compile"])
    if "train" in data:
        spec.train = _validate_train(out, data["train"], data.get("outputs"))
    out.diagnostics.sort()
    return (spec if info else None), out.diagnostics


def _validate_entry(out: _Collector, spec: Spec, section: str, name: str, raw: Any) -> None:
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
        merge = _validate_merge(out, name, raw, path)
        if merge is not None:
            spec.merges[name] = merge
    elif section == "branches":
        entry = out.check(BranchSpec, raw, path, f"branch {name!r}")
        if entry is not None:
            spec.branches[name] = Chain(name, entry.source, _steps(out, entry.layers, path, what), path)
    else:
        entry = out.check(OutputSpec, raw, path, f"output {name!r}")
        if entry is not None:
            spec.outputs[name] = Output(
                name,
                entry.source,
                _steps(out, entry.layers, path, what),
                path,
                entry.loss,
                entry.loss_weight,
                tuple(entry.metrics),
                entry.column,
            )


def _steps(out: _Collector, raws: list, path: DataPath, owner: str) -> tuple[Step, ...]:
    steps = []
    for index, raw in enumerate(raws):
        step = validate_step(out, raw, (*path, "layers", index), f"{owner} step {index + 1}")
        steps.append(step or Step((*path, "layers", index)))
    return tuple(steps)


def validate_step(
    out: _Collector, raw: Any, path: DataPath, what: str, *, allow_shared: bool = True
) -> Step | None:
    """Validate one layer step table; return None if it is unusable."""
    if not isinstance(raw, dict):
        out.error("MS103", path, f'{what} should be a table like {{ type = "Dense", units = 8 }}', at="value")
        return None
    if "shared" in raw:
        if not allow_shared:
            out.error("MS108", (*path, "shared"), f"{what} cannot itself refer to a shared layer")
            return None
        for key in raw:
            if key != "shared":
                out.error(
                    "MS101",
                    (*path, key),
                    f"a shared-layer step takes only 'shared', not {key!r}",
                    "parameters belong to the layer's entry under [shared]",
                )
        if not isinstance(raw["shared"], str):
            out.error(
                "MS103", (*path, "shared"), f"{what}: 'shared' should be a shared layer's name", at="value"
            )
            return None
        return Step(path, shared=raw["shared"])
    call = _validate_call(out, raw, path, what, merge=False)
    return Step(path, call=call) if call else None


def _validate_call(
    out: _Collector, raw: dict, path: DataPath, what: str, *, merge: bool, cell: bool = False
) -> LayerCall | None:
    """Validate a table naming a layer `type` and its parameters against the registry.

    `cell`: the table is a recurrent cell in an RNN's `cell` (or a StackedRNNCells' `cells`).
    """
    if "type" not in raw:
        out.error(
            "MS108", path, f"{what} has no 'type'", 'write { type = "Dense", ... } or { shared = "NAME" }'
        )
        return None
    type_name = raw["type"]
    if not isinstance(type_name, str):
        out.error("MS103", (*path, "type"), f"{what}: 'type' should be a Keras layer class name", at="value")
        return None
    if type_name in CODE_CARRYING_LAYERS:
        out.error(
            "MS109",
            (*path, "type"),
            f"{type_name} is not allowed: {CODE_CARRYING_LAYERS[type_name]}",
            "mspec only builds layers whose configuration is plain data",
            at="value",
        )
        return None
    # An alias (MaxPool2D) is its class (MaxPooling2D).
    kind = REGISTRY.get(LAYER_ALIASES.get(type_name, type_name))
    if kind is None:
        out.error(
            "MS106",
            (*path, "type"),
            f"unknown layer type {type_name!r}",
            did_you_mean(type_name, REGISTRY) or "see docs/spec-language.md for the supported layers",
            at="value",
        )
        return None
    if kind.is_cell and not cell:
        _cell_outside_rnn(out, kind.name, path)
        return None
    if cell and not kind.is_cell:
        _not_a_cell(out, kind.name, path, what)
        return None
    if kind.is_merge != merge:
        hint = (
            "declare it under [merges] with a `from` list" if kind.is_merge else "use it in a branch's layers"
        )
        takes = "several inputs" if kind.is_merge else "one input"
        out.error("MS110", (*path, "type"), f"{type_name} takes {takes}", hint, at="value")
        return None
    params = {k: v for k, v in raw.items() if k not in ("type", "from")}
    if cell and "name" in params:
        out.error(
            "MS101",
            (*path, "name"),
            f"{what} takes no 'name'",
            "a cell is part of its RNN, which the step names",
        )
        return None
    name = params.pop("name", None) if "name" not in kind.params.model_fields else None
    if name is not None and not _check_layer_name(out, name, (*path, "name"), what):
        return None
    for key in CODE_CARRYING_KEYS:
        if key in params and key not in kind.params.model_fields:
            out.error(
                "MS109",
                (*path, key),
                f"{key!r} is not allowed: it would name code to load",
                "mspec only builds layers whose configuration is plain data",
            )
            return None
    if kind.wraps:
        if "layer" not in params:
            out.error("MS102", path, f"{what} ({type_name}) is missing required key 'layer'")
            return None
        inner = validate_step(
            out, params["layer"], (*path, "layer"), f"{type_name}'s layer", allow_shared=False
        )
        if inner is None:
            return None
        params["layer"] = inner.call
    holder = kind.cell_parameter
    if holder is not None and holder in params:
        owner = f"{type_name}'" if type_name.endswith("s") else f"{type_name}'s"  # StackedRNNCells' cells
        cells = _validate_cells(out, params[holder], (*path, holder), f"{owner} {holder}")
        if cells is None:
            return None
        params[holder] = cells
    try:
        # The spec's path: files a layer names (a vocabulary) are read relative to it.
        validated = kind.params.model_validate(params, context={"spec_path": out.document.path})
        call = LayerCall(kind, validated, name)
    except ValidationError as exc:
        out.report_pydantic(exc, params, path, f"{type_name} layer", allowed=_keys_of(kind.params))
        return None
    return call if _weights_fit(out, call, path, type_name) else None


def _cell_outside_rnn(out: _Collector, name: str, path: DataPath) -> None:
    """Report a recurrent cell written as a layer of its own (MS110)."""
    table = "cells = [...]" if name == "StackedRNNCells" else "units = ..."
    hint = f'write {{ type = "RNN", cell = {{ type = "{name}", {table} }} }}'
    if name.endswith("Cell"):  # LSTMCell is the cell LSTM builds itself
        hint += f", or use {name.removesuffix('Cell')}, which holds its cell itself"
    message = f"{name} computes one time step of a recurrent layer: it only goes in an RNN's `cell`"
    out.error("MS110", (*path, "type"), message, hint, at="value")


def _not_a_cell(out: _Collector, name: str, path: DataPath, what: str) -> None:
    """Report a layer written where a recurrent cell belongs (MS110)."""
    from ..layers.rnn_cells import not_a_cell  # loaded already: an RNN holds this table

    out.error("MS110", (*path, "type"), f"{what} {not_a_cell(name)}", at="value")


def _validate_cells(out: _Collector, raw: Any, path: DataPath, what: str) -> Any:
    """Validate the cell table, or list of them, an RNN or a StackedRNNCells holds; None after reporting."""
    if isinstance(raw, list):
        cells = [
            _validate_cell(out, item, (*path, index), f"{what} {index + 1}") for index, item in enumerate(raw)
        ]
        return None if any(c is None for c in cells) else cells
    if isinstance(raw, dict):
        return _validate_cell(out, raw, path, what)
    return raw  # neither: the layer's own validation says what it takes


def _validate_cell(out: _Collector, raw: Any, path: DataPath, what: str) -> LayerCall | None:
    if not isinstance(raw, dict):
        out.error(
            "MS103",
            path,
            f'{what} should be a cell table like {{ type = "LSTMCell", units = 32 }}',
            at="value",
        )
        return None
    return _validate_call(out, raw, path, what, merge=False, cell=True)


def _weights_fit(out: _Collector, call: LayerCall, path: DataPath, type_name: str) -> bool:
    """Initializers and regularizers that cannot serve the rank of the weight they are given (MS105)."""
    ok = True
    for name, value in call.params.explicit().items():
        family = name.rsplit("_", 1)[-1]
        if family not in ("initializer", "regularizer") or value is None:
            continue
        problem = rank_problem(family, value, weight_ranks(call.kind.name, name, call.params))
        if problem:
            out.error("MS105", (*path, name), f"{type_name} layer key {name!r}: {problem}", at="value")
            ok = False
    return ok


def _validate_merge(out: _Collector, name: str, raw: Any, path: DataPath) -> Merge | None:
    what = f"merge {name!r}"
    if not isinstance(raw, dict):
        out.error("MS103", path, f"{what} should be a table with `type` and `from`", at="value")
        return None
    sources = raw.get("from")
    if sources is None:
        out.error("MS102", path, f"{what} is missing required key 'from'")
    elif not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        out.error("MS103", (*path, "from"), f"{what}: 'from' should be a list of node names", at="value")
        sources = None
    call = _validate_call(out, raw, path, what, merge=True)
    if call is not None and sources is not None:
        kind = call.kind
        if len(sources) < kind.min_inputs or (kind.max_inputs is not None and len(sources) > kind.max_inputs):
            expected = (
                f"exactly {kind.min_inputs}"
                if kind.min_inputs == kind.max_inputs
                else f"{kind.min_inputs} to {kind.max_inputs}"
                if kind.max_inputs
                else f"at least {kind.min_inputs}"
            )
            out.error(
                "MS111",
                (*path, "from"),
                f"{kind.name} takes {expected} inputs, got {len(sources)}",
                at="value",
            )
            return Merge(name, tuple(sources), None, path)
    return Merge(name, tuple(sources or ()), call, path)


def _validate_compile(out: _Collector, raw: Any) -> CompileSpec | None:
    entry = out.check(CompileSpec, raw, ("compile",), "[compile]")
    if entry is None:
        return None
    optimizer = entry.optimizer
    path: DataPath = ("compile", "optimizer")
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZER_NAMES:
            out.error(
                "MS105",
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
            "MS105",
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
                "MS101",
                (*path, key),
                f"unknown key {key!r} for optimizer {type_name}",
                did_you_mean(key, allowed),
            )
        elif isinstance(value, bool) != (key in OPTIMIZER_FLAGS) or not isinstance(value, int | float):
            out.error(
                "MS103",
                (*path, key),
                f"optimizer {key!r} has the wrong type, got {_render(value)}",
                at="value",
            )
        elif not isinstance(value, bool) and value < 0 and key not in OPTIMIZER_SIGNED:
            out.error("MS104", (*path, key), f"optimizer {key!r} should be >= 0, got {value}", at="value")
    return entry


def _check_columns(out: _Collector, entry: InputSpec, path: DataPath) -> bool:
    """An input's `columns` are distinct and as many as its last dimension, when that is known."""
    ok = True
    where = (*path, "columns")
    seen: set[str] = set()
    for index, column in enumerate(entry.columns or ()):
        if column in seen:
            out.error(
                "MS105", (*where, index), f"input {path[1]!r} lists column {column!r} twice", at="value"
            )
            ok = False
        seen.add(column)
    count = len(entry.columns or ())
    if not entry.shape:
        out.error(
            "MS105",
            where,
            f"input {path[1]!r} stacks {count} column(s) along its last axis but its shape is []",
            f"give it shape [{count}]",
            at="value",
        )
        return False
    last = entry.shape[-1]
    if isinstance(last, int) and not isinstance(last, bool) and last != count:
        out.error(
            "MS105",
            where,
            f"input {path[1]!r} stacks {count} column(s) along its last axis, "
            f"but the last dimension of its shape is {last}",
            f"list {last} columns, or make the last dimension {count}",
            at="value",
        )
        ok = False
    return ok


def _validate_train(out: _Collector, raw: Any, outputs: Any) -> TrainSpec | None:
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


def _check_class_weight(out: _Collector, raw: Any, outputs: list[str]) -> dict[str, dict[str, float]] | None:
    """Class weights: per output, a table of class label (a quoted non-negative integer) -> weight >= 0."""
    path: DataPath = ("train", "class_weight")
    if not isinstance(raw, dict):
        out.error(
            "MS103",
            path,
            "[train] class_weight should be a table of outputs, got " + _render(raw),
            at="value",
        )
        return None
    ok = True
    for output, weights in raw.items():
        where = (*path, output)
        if output not in outputs:
            out.error(
                "MS201",
                where,
                f"[train] class_weight names unknown output {output!r}",
                did_you_mean(output, outputs) or "outputs are " + ", ".join(repr(n) for n in outputs),
            )
            ok = False
        if not isinstance(weights, dict):
            out.error(
                "MS103",
                where,
                f"[train] class_weight for output {output!r} should be a table of class label -> weight, "
                f"got {_render(weights)}",
                'for example { "0" = 1.0, "1" = 4.0 }',
                at="value",
            )
            ok = False
            continue
        for label, weight in weights.items():
            what = f"[train] class_weight for output {output!r}"
            if not (label.isascii() and label.isdigit()) or (len(label) > 1 and label[0] == "0"):
                out.error(
                    "MS105",
                    (*where, label),
                    f"{what}: class label {label!r} is not a non-negative integer",
                    'write class labels as quoted integers: { "0" = 1.0, "1" = 2.5 }',
                )
                ok = False
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                out.error(
                    "MS103",
                    (*where, label),
                    f"{what}: the weight of class {label!r} should be a number, got {_render(weight)}",
                    at="value",
                )
                ok = False
            elif weight < 0:
                out.error(
                    "MS104",
                    (*where, label),
                    f"{what}: the weight of class {label!r} should be >= 0, got {weight}",
                    at="value",
                )
                ok = False
    if not ok:
        return None
    return {output: {label: float(w) for label, w in weights.items()} for output, weights in raw.items()}


def _check_names(out: _Collector, data: dict) -> None:
    """Names are identifiers, not keywords, and unique across all sections."""
    seen: dict[str, str] = {}
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("name"), str):
        _check_identifier(out, model["name"], ("model", "name"), "model name", at="value")
    for section in NAMED_SECTIONS:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for name in table:
            if not _check_identifier(out, name, (section, name), f"{SECTION_ENTRY[section]} name"):
                continue
            if name in seen:
                first = out.document.locate((seen[name], name))
                out.error(
                    "MS203",
                    (section, name),
                    f"name {name!r} is already used in [{seen[name]}] (line {first.line})",
                    "every input, shared layer, branch, merge and output needs its own name",
                )
            else:
                seen[name] = section


def _check_layer_name(out: _Collector, name: Any, path: DataPath, what: str) -> bool:
    """A step's Keras layer name (`name = "..."`): a plain identifier-like string Keras accepts."""
    if not isinstance(name, str):
        out.error("MS103", path, f"{what}: 'name' should be a Keras layer name (a string)", at="value")
        return False
    if not LAYER_NAME_RE.match(name):
        out.error(
            "MS107",
            path,
            f"{what}: layer name {name!r} is not a plain name",
            "use letters, digits, underscores, dots and hyphens, starting with a letter or underscore",
            at="value",
        )
        return False
    return True


def _given_layer_names(data: dict) -> list[tuple[str, DataPath, str]]:
    """Every step's `name`, with its path and the spec name the step may share (its owner's, if last)."""
    found = []

    def step(raw: Any, path: DataPath, owner: str | None) -> None:
        if isinstance(raw, dict) and isinstance(raw.get("name"), str) and "shared" not in raw:
            found.append((raw["name"], (*path, "name"), owner))
        if isinstance(raw, dict) and isinstance(raw.get("layer"), dict):
            step(raw["layer"], (*path, "layer"), None)  # a wrapper's layer

    for section in ("shared", "merges"):
        table = data.get(section)
        for name, raw in table.items() if isinstance(table, dict) else ():
            step(raw, (section, name), name)
    for section in ("branches", "outputs"):
        table = data.get(section)
        for name, raw in table.items() if isinstance(table, dict) else ():
            layers = raw.get("layers") if isinstance(raw, dict) else None
            for index, entry in enumerate(layers if isinstance(layers, list) else ()):
                owner = name if index == len(layers) - 1 else None
                step(entry, (section, name, "layers", index), owner)
    return found


def _check_layer_names_unique(out: _Collector, data: dict) -> None:
    """Keras layer names given by steps differ from each other and from the names of the spec's
    entries (which name their layers), except the entry a step itself names."""
    entries = {
        name: section
        for section in NAMED_SECTIONS
        if isinstance(data.get(section), dict)
        for name in data[section]
    }
    seen: dict[str, DataPath] = {}
    for name, path, owner in _given_layer_names(data):
        if not LAYER_NAME_RE.match(name):
            continue  # reported with the step
        if name in seen:
            first = out.document.locate(seen[name])
            out.error(
                "MS203",
                path,
                f"layer name {name!r} is already given to another step (line {first.line})",
                "every Keras layer in a model needs its own name",
                at="value",
            )
        elif name in entries and name != owner:
            out.error(
                "MS203",
                path,
                f"layer name {name!r} is the name of {SECTION_ENTRY[entries[name]]} {name!r}, "
                "whose layer has that name",
                "every Keras layer in a model needs its own name",
                at="value",
            )
        else:
            seen[name] = path


def _check_identifier(out: _Collector, name: str, path: DataPath, what: str, *, at: str = "key") -> bool:
    if not _NAME_RE.match(name):
        out.error(
            "MS107",
            path,
            f"{what} {name!r} is not an identifier",
            "use letters, digits and underscores, starting with a letter",
            at=at,
        )
        return False
    # Soft keywords (match, case, type, _) are valid variable names: allowed.
    if keyword.iskeyword(name):
        out.error("MS107", path, f"{what} {name!r} is a Python keyword", "pick another name", at=at)
        return False
    return True


def _check_dimensions(out: _Collector, shape: list, path: DataPath) -> bool:
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
                "MS104",
                where,
                f"{what} should be a positive integer, got {dim}",
                "use null (JSON) or a name to leave a size unknown",
                at="value",
            )
        elif isinstance(dim, str):
            if _NAME_RE.match(dim):
                ok = True
            else:
                out.error("MS107", where, f"{what}: name {dim!r} is not an identifier", at="value")
        else:
            out.error(
                "MS103",
                where,
                f"{what} should be a positive integer, a name or null, got {_render(dim)}",
                at="value",
            )
    return ok


# --- helpers -----------------------------------------------------------------


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _data_path(value: Any, loc: tuple) -> DataPath:
    """Keep the parts of a pydantic `loc` that exist in the data (drop union member tags)."""
    path: list[str | int] = []
    for part in loc:
        if (isinstance(value, dict) and isinstance(part, str) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        ):
            path.append(part)
            value = value[part]
        elif isinstance(value, dict) and isinstance(part, str) and not path and part not in value:
            # A missing or unknown key: locate it by its own name under the parent.
            path.append(part)
            break
    return tuple(path)


def _lookup(value: Any, rel: DataPath) -> Any:
    for part in rel:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _should(message: str) -> str:
    return message.replace("Input should be", "should be").replace("Value should have", "should have")


def _render(value: Any) -> str:
    """Show a value briefly, with its type where that is the point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"string {text!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
