"""Collect the located diagnostics of one document's validation.

`Collector` places each error at its key or value in the source, and turns
pydantic's validation errors into mspec's codes and messages (unknown key,
missing key, wrong type, out of range, unknown value). `render` shows a
value briefly in a message.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    INVALID_VALUE,
    MISSING_KEY,
    OUT_OF_RANGE,
    UNKNOWN_KEY,
    WRONG_TYPE,
    Rule,
)
from ..diagnostics.suggest import did_you_mean
from ..syntax.document import DataPath, Document

_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
}


class Collector:
    """Accumulates diagnostics for one document."""

    def __init__(self, document: Document):
        self.document = document
        self.diagnostics: list[Diagnostic] = []

    def error(
        self, rule: Rule, path: DataPath, message: str, hint: str | None = None, *, at: str = "key"
    ) -> None:
        """Report `rule` at `path`: its key, or its value with at="value"."""
        self.diagnostics.append(rule.at(self.document, path, message, hint, at=at))

    def check(self, model: type[BaseModel], value: Any, path: DataPath, what: str) -> Any | None:
        """Validate `value` with `model`; report every error and return None on failure."""
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            self.report_pydantic(exc, value, path, what, allowed=keys_of(model))
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
            hint = did_you_mean(str(key), allowed) or misplaced_key_hint(full, str(key))
            self.error(UNKNOWN_KEY, full, f"unknown key {key!r} in {what}", hint)
        elif kind == "missing":
            missing = err["loc"][-1]
            self.error(MISSING_KEY, full, f"{what} is missing required key {missing!r}")
        elif kind == "literal_error":
            choices = re.findall(r"'([^']*)'", err["ctx"]["expected"]) if err.get("ctx") else []
            got = _lookup(value, rel)
            hint = did_you_mean(got, choices) if isinstance(got, str) else None
            if hint is None and len(choices) <= 6:
                hint = "expected one of " + ", ".join(repr(c) for c in choices)
            self.error(INVALID_VALUE, full, f"{subject} has unknown value {render(got)}", hint, at="value")
        elif kind in _RANGE_ERRORS:
            self.error(
                OUT_OF_RANGE,
                full,
                f"{subject} {_should(err['msg'])}, got {render(_lookup(value, rel))}",
                at="value",
            )
        elif kind in {"value_error", "assertion_error"}:
            self.error(
                INVALID_VALUE, full, f"{subject}: {err['msg'].removeprefix('Value error, ')}", at="value"
            )
        else:
            wanted = " or ".join(dict.fromkeys(_should(e["msg"]) for e in errors))
            self.error(WRONG_TYPE, full, f"{subject} {wanted}, got {render(_lookup(value, rel))}", at="value")


def misplaced_key_hint(path: DataPath, key: str) -> str | None:
    """Where a key unknown in its section belongs, when another section takes it.

    `class_weight` under [compile] is a [train] setting; `loss` under [train] is
    a [compile] (or an output's) setting: the hint says where to move it.
    """
    from .models import CompileSpec, OutputSpec, TrainSpec

    if not path or path[0] not in ("compile", "train", "outputs"):
        return None
    homes = {
        "compile": ("[compile]", keys_of(CompileSpec)),
        "train": ("[train]", keys_of(TrainSpec)),
        "outputs": ("[outputs.NAME]", keys_of(OutputSpec)),
    }
    here = path[0]
    found = [where for section, (where, keys) in homes.items() if section != here and key in keys]
    if not found:
        return None
    return f"{key!r} belongs in {' or '.join(found)}: move it there"


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a spec table validated by `model` may hold (a field's alias, if it has one)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def render(value: Any) -> str:
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
