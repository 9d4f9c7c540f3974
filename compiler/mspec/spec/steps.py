"""Layer steps: a table naming a Keras layer `type` and its parameters, checked against the registry.

A step is a layer in a branch's or output's `layers`, an entry under
[shared], or a merge under [merges]; a wrapper's `layer` and an RNN's
`cell` (or a StackedRNNCells' `cells`) are steps nested in one. Each is
checked for its kind (a layer, a merge, a cell, never a layer that carries
code), its Keras name, its parameters and whether its initializers and
regularizers suit the rank of the weights they are given.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..diagnostics.rules import (
    CODE_CARRYING,
    INVALID_VALUE,
    MALFORMED_STEP,
    MERGE_ARITY,
    MISSING_KEY,
    UNKNOWN_KEY,
    UNKNOWN_LAYER,
    WRONG_PLACE,
    WRONG_TYPE,
)
from ..diagnostics.suggest import did_you_mean
from ..layers import REGISTRY
from ..layers.call import LayerCall
from ..syntax.document import DataPath
from ..vocabulary import LAYER_ALIASES
from .collector import Collector, keys_of
from .ir import Merge, Step
from .names import check_layer_name
from .weight_ranks import weight_problems

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


def validate_steps(out: Collector, raws: list, path: DataPath, owner: str) -> tuple[Step, ...]:
    """Validate a `layers` list; an unusable step stays in place as an empty `Step`."""
    steps = []
    for index, raw in enumerate(raws):
        step = validate_step(out, raw, (*path, "layers", index), f"{owner} step {index + 1}")
        steps.append(step or Step((*path, "layers", index)))
    return tuple(steps)


def validate_step(
    out: Collector, raw: Any, path: DataPath, what: str, *, allow_shared: bool = True
) -> Step | None:
    """Validate one layer step table; return None if it is unusable."""
    if not isinstance(raw, dict):
        out.error(
            WRONG_TYPE, path, f'{what} should be a table like {{ type = "Dense", units = 8 }}', at="value"
        )
        return None
    if "shared" in raw:
        if not allow_shared:
            out.error(MALFORMED_STEP, (*path, "shared"), f"{what} cannot itself refer to a shared layer")
            return None
        for key in raw:
            if key != "shared":
                out.error(
                    UNKNOWN_KEY,
                    (*path, key),
                    f"a shared-layer step takes only 'shared', not {key!r}",
                    "parameters belong to the layer's entry under [shared]",
                )
        if not isinstance(raw["shared"], str):
            out.error(
                WRONG_TYPE, (*path, "shared"), f"{what}: 'shared' should be a shared layer's name", at="value"
            )
            return None
        return Step(path, shared=raw["shared"])
    call = validate_call(out, raw, path, what, merge=False)
    return Step(path, call=call) if call else None


def validate_call(
    out: Collector, raw: dict, path: DataPath, what: str, *, merge: bool, cell: bool = False
) -> LayerCall | None:
    """Validate a table naming a layer `type` and its parameters against the registry.

    `cell`: the table is a recurrent cell in an RNN's `cell` (or a StackedRNNCells' `cells`).
    """
    if "type" not in raw:
        out.error(
            MALFORMED_STEP,
            path,
            f"{what} has no 'type'",
            'write { type = "Dense", ... } or { shared = "NAME" }',
        )
        return None
    type_name = raw["type"]
    if not isinstance(type_name, str):
        out.error(
            WRONG_TYPE, (*path, "type"), f"{what}: 'type' should be a Keras layer class name", at="value"
        )
        return None
    if type_name in CODE_CARRYING_LAYERS:
        out.error(
            CODE_CARRYING,
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
            UNKNOWN_LAYER,
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
        out.error(WRONG_PLACE, (*path, "type"), f"{type_name} takes {takes}", hint, at="value")
        return None
    params = {k: v for k, v in raw.items() if k not in ("type", "from")}
    if cell and "name" in params:
        out.error(
            UNKNOWN_KEY,
            (*path, "name"),
            f"{what} takes no 'name'",
            "a cell is part of its RNN, which the step names",
        )
        return None
    name = params.pop("name", None) if "name" not in kind.params.model_fields else None
    if name is not None and not check_layer_name(out, name, (*path, "name"), what):
        return None
    for key in CODE_CARRYING_KEYS:
        if key in params and key not in kind.params.model_fields:
            out.error(
                CODE_CARRYING,
                (*path, key),
                f"{key!r} is not allowed: it would name code to load",
                "mspec only builds layers whose configuration is plain data",
            )
            return None
    if kind.wraps:
        if "layer" not in params:
            out.error(MISSING_KEY, path, f"{what} ({type_name}) is missing required key 'layer'")
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
        out.report_pydantic(exc, params, path, f"{type_name} layer", allowed=keys_of(kind.params))
        return None
    return call if _weights_fit(out, call, path, type_name) else None


def _cell_outside_rnn(out: Collector, name: str, path: DataPath) -> None:
    """Report a recurrent cell written as a layer of its own (MS110)."""
    table = "cells = [...]" if name == "StackedRNNCells" else "units = ..."
    hint = f'write {{ type = "RNN", cell = {{ type = "{name}", {table} }} }}'
    if name.endswith("Cell"):  # LSTMCell is the cell LSTM builds itself
        hint += f", or use {name.removesuffix('Cell')}, which holds its cell itself"
    message = f"{name} computes one time step of a recurrent layer: it only goes in an RNN's `cell`"
    out.error(WRONG_PLACE, (*path, "type"), message, hint, at="value")


def _not_a_cell(out: Collector, name: str, path: DataPath, what: str) -> None:
    """Report a layer written where a recurrent cell belongs (MS110)."""
    from ..layers.rnn_cells import not_a_cell  # loaded already: an RNN holds this table

    out.error(WRONG_PLACE, (*path, "type"), f"{what} {not_a_cell(name)}", at="value")


def _validate_cells(out: Collector, raw: Any, path: DataPath, what: str) -> Any:
    """Validate the cell table, or list of them, an RNN or a StackedRNNCells holds; None after reporting."""
    if isinstance(raw, list):
        cells = [
            _validate_cell(out, item, (*path, index), f"{what} {index + 1}") for index, item in enumerate(raw)
        ]
        return None if any(c is None for c in cells) else cells
    if isinstance(raw, dict):
        return _validate_cell(out, raw, path, what)
    return raw  # neither: the layer's own validation says what it takes


def _validate_cell(out: Collector, raw: Any, path: DataPath, what: str) -> LayerCall | None:
    if not isinstance(raw, dict):
        out.error(
            WRONG_TYPE,
            path,
            f'{what} should be a cell table like {{ type = "LSTMCell", units = 32 }}',
            at="value",
        )
        return None
    return validate_call(out, raw, path, what, merge=False, cell=True)


def _weights_fit(out: Collector, call: LayerCall, path: DataPath, type_name: str) -> bool:
    """Initializers and regularizers that cannot serve the rank of the weight they are given (MS105)."""
    ok = True
    for name, problem in weight_problems(call):
        out.error(INVALID_VALUE, (*path, name), f"{type_name} layer key {name!r}: {problem}", at="value")
        ok = False
    return ok


def validate_merge(out: Collector, name: str, raw: Any, path: DataPath) -> Merge | None:
    """Validate a merge: its `from` list, its layer and how many inputs that layer takes."""
    what = f"merge {name!r}"
    if not isinstance(raw, dict):
        out.error(WRONG_TYPE, path, f"{what} should be a table with `type` and `from`", at="value")
        return None
    sources = raw.get("from")
    if sources is None:
        out.error(MISSING_KEY, path, f"{what} is missing required key 'from'")
    elif not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        out.error(WRONG_TYPE, (*path, "from"), f"{what}: 'from' should be a list of node names", at="value")
        sources = None
    call = validate_call(out, raw, path, what, merge=True)
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
                MERGE_ARITY,
                (*path, "from"),
                f"{kind.name} takes {expected} inputs, got {len(sources)}",
                at="value",
            )
            return Merge(name, tuple(sources), None, path)
    return Merge(name, tuple(sources or ()), call, path)
