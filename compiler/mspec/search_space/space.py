"""The [search] and [tune] sections of a loaded document: which parameters vary, over which values.

A [search] key is a dotted path into the spec's own tables: `branches.x2.layers.0.units`
(list positions as numbers). A step that gives its Keras `name` may be
reached by it, at the start of a key (`dense_x2.units`) or in place of its
position in a list (`branches.x2.layers.dense_x2.units`). The last part may
be a parameter the table does not write yet (`activation` of a Dense that
uses the default): whether the table takes it is decided by the static
check, which validates each value in place.

A value is a list of choices (strings, numbers, booleans) or a range table
`{ low, high, log, step }`: integers when low, high and step are integers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    MISSING_KEY,
    SEARCH_DUPLICATE_PARAMETER,
    SEARCH_UNKNOWN_PATH,
    SEARCH_WRONG_TYPE,
    UNKNOWN_KEY,
    Rule,
)
from ..diagnostics.suggest import did_you_mean
from ..spec.collector import Collector, render
from ..spec.models import SearchChoices, SearchRange, TuneSpec
from ..syntax.document import DataPath, Document

SEARCH = "search"
TUNE = "tune"
# Sections a search key may not reach into: the search itself, and what only editors read.
NOT_SEARCHED = (SEARCH, TUNE, "$schema")
# Sections whose entries hold layer steps that a `name` may stand for.
STEP_SECTIONS = ("shared", "branches", "merges", "outputs")
RANGE_KEYS = tuple(SearchRange.model_fields)
# Metric names (parts of them) that are better when higher: `direction = "auto"` maximizes these.
HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "true_positives")

_CHOICES = TypeAdapter(SearchChoices)


@dataclass(frozen=True)
class Parameter:
    """One searched parameter: its key as written, where it lives in the spec, and its values."""

    key: str
    path: DataPath
    choices: tuple[Any, ...] | None = None
    range: SearchRange | None = None
    # The value the spec writes at `path` (the baseline); None when it writes none (Keras' default).
    written: Any = None

    @property
    def ends(self) -> tuple[Any, ...]:
        """The values the static check tries: every choice, or the two ends of the range."""
        if self.choices is not None:
            return self.choices
        assert self.range is not None
        return (self.range.low, self.top())

    def top(self) -> int | float:
        """The largest value a sample can take: `high`, or the last step at or below it."""
        r = self.range
        assert r is not None
        if r.step is None:
            return r.high
        steps = math.floor((r.high - r.low) / r.step + 1e-9)
        top = r.low + steps * r.step
        return top if r.integers else round(top, 12)

    def contains(self, value: Any) -> bool:
        """Whether `value` is a point of this parameter's values (the baseline, when it is one)."""
        if self.choices is not None:
            return any(type(value) is type(c) and value == c for c in self.choices)
        r = self.range
        assert r is not None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if r.integers and not isinstance(value, int):
            return False
        if not r.low <= value <= r.high:
            return False
        if r.step is None:
            return True
        steps = (value - r.low) / r.step
        return abs(steps - round(steps)) < 1e-9

    def shown(self, value: Any) -> str:
        """`key = value`, the value as TOML writes it."""
        return f"{self.key} = {show_value(value)}"


@dataclass
class TuneSettings:
    """[tune] with its defaults, the direction decided."""

    metric: str = "val_loss"
    direction: str = "minimize"
    sampler: str = "tpe"
    pruning: bool = True


@dataclass
class SearchSpace:
    """The parameters of [search] that resolved, in the order written, and the [tune] settings."""

    parameters: list[Parameter] = field(default_factory=list)
    tune: TuneSettings = field(default_factory=TuneSettings)

    def grid_size(self) -> int:
        return math.prod(len(p.ends) for p in self.parameters)

    def by_key(self) -> dict[str, Parameter]:
        return {p.key: p for p in self.parameters}


def show_value(value: Any) -> str:
    """A value as the spec writes it: `32`, `"Multiply"`, `true`, `0.001`."""
    from ..importer.spec_text import toml_value

    try:
        return toml_value(value)
    except (TypeError, ValueError):
        return repr(value)


def direction_for(metric: str, direction: str) -> str:
    """The study's direction: as given, or from the metric's name ('auto')."""
    if direction != "auto":
        return direction
    name = metric.lower().removeprefix("val_")
    return "maximize" if any(part in name for part in HIGHER_IS_BETTER) else "minimize"


def read_space(document: Document) -> tuple[SearchSpace | None, list[Diagnostic]]:
    """Read [search] and [tune]: the space (None without [search]) and the findings about them.

    Every key is resolved to a path and every value checked for its form
    (choices or a range); whether the parameter accepts the values is the
    static check's part (static_check.py), which validates them in place.
    """
    out = Collector(document)
    data = document.data
    tune = _read_tune(out, data.get(TUNE)) if TUNE in data else TuneSettings()
    raw = data.get(SEARCH)
    if raw is None:
        return None, out.diagnostics
    if not isinstance(raw, dict):
        out.error(
            SEARCH_WRONG_TYPE,
            (SEARCH,),
            f"[search] should be a table of paths, got {render(raw)}",
            at="value",
        )
        return None, out.diagnostics
    space = SearchSpace(tune=tune)
    seen: dict[DataPath, str] = {}
    names = step_names(data)
    for key, value in raw.items():
        parameter = _read_parameter(out, data, names, key, value)
        if parameter is None:
            continue
        if parameter.path in seen:
            out.error(
                SEARCH_DUPLICATE_PARAMETER,
                (SEARCH, key),
                f"[search] {key!r} names the same parameter as {seen[parameter.path]!r}",
                "keep one of the two keys",
            )
            continue
        seen[parameter.path] = key
        space.parameters.append(parameter)
    return space, out.diagnostics


def _read_tune(out: Collector, raw: Any) -> TuneSettings:
    entry = out.check(TuneSpec, raw, (TUNE,), "[tune]")
    if entry is None:
        return TuneSettings()
    return TuneSettings(
        metric=entry.metric,
        direction=direction_for(entry.metric, entry.direction),
        sampler=entry.sampler,
        pruning=entry.pruning,
    )


def _read_parameter(
    out: Collector, data: dict, names: dict[str, DataPath], key: str, value: Any
) -> Parameter | None:
    where: DataPath = (SEARCH, key)
    values = _read_values(out, key, value)
    resolved = resolve(data, names, key)
    if isinstance(resolved, Unresolved):
        out.error(SEARCH_UNKNOWN_PATH, where, f"[search] {key!r}: {resolved.message}", resolved.hint)
        return None
    if values is None:
        return None
    written = _written(data, resolved)
    if isinstance(values, SearchRange):
        return Parameter(key, resolved, range=values, written=written)
    return Parameter(key, resolved, choices=tuple(values), written=written)


def _written(data: Any, path: DataPath) -> Any:
    for part in path:
        found = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        )
        if not found:
            return None
        data = data[part]
    return data


def _read_values(out: Collector, key: str, value: Any) -> SearchRange | list | None:
    """The choices or the range of one key; None, with a finding, when it has neither form."""
    where: DataPath = (SEARCH, key)
    if isinstance(value, list):
        return _read_choices(out, key, value)
    if isinstance(value, dict):
        if not any(k in value for k in RANGE_KEYS) and any(
            isinstance(v, dict | list) for v in value.values()
        ):
            out.error(
                SEARCH_WRONG_TYPE,
                where,
                f"[search] {key!r} is a table of tables: a path written without quotes",
                f'quote the whole path: "{key}.{next(iter(value))}..." = [...]',
            )
            return None
        scratch = Collector(out.document)
        entry = scratch.check(SearchRange, value, where, f"search range {key!r}")
        for finding in scratch.diagnostics:
            # The range's own keys keep the language's rules; its values are the search's.
            kept = finding.code in (UNKNOWN_KEY.code, MISSING_KEY.code)
            out.diagnostics.append(finding if kept else _recoded(finding, SEARCH_WRONG_TYPE))
        return entry
    out.error(
        SEARCH_WRONG_TYPE,
        where,
        f"[search] {key!r} should be a list of choices or a range table, got {render(value)}",
        f"write [{show_value(value)}] for one value, or {{ low = ..., high = ... }} for a range",
        at="value",
    )
    return None


def _read_choices(out: Collector, key: str, value: list) -> list | None:
    where: DataPath = (SEARCH, key)
    if not value:
        out.error(
            SEARCH_WRONG_TYPE,
            where,
            f"[search] {key!r} has no choices",
            "give at least one value",
            at="value",
        )
        return None
    try:
        _CHOICES.validate_python(value, strict=True)
    except ValidationError:
        for index, item in enumerate(value):
            if not isinstance(item, str | bool | int | float):
                out.error(
                    SEARCH_WRONG_TYPE,
                    (*where, index),
                    f"[search] {key!r}: choice {index + 1} is {render(item)}; choices are strings, numbers "
                    "or booleans",
                    "search a table's keys one by one, each with its own path",
                    at="value",
                )
        return None
    ok = True
    for index, item in enumerate(value):
        if any(type(item) is type(other) and item == other for other in value[:index]):
            out.error(
                SEARCH_WRONG_TYPE,
                (*where, index),
                f"[search] {key!r} lists {show_value(item)} twice",
                at="value",
            )
            ok = False
    return value if ok else None


def _recoded(diagnostic: Diagnostic, rule: Rule) -> Diagnostic:
    from dataclasses import replace

    return replace(diagnostic, code=rule.code, severity=rule.severity)


@dataclass(frozen=True)
class Unresolved:
    """Why a key names nothing, and a hint (did you mean ...)."""

    message: str
    hint: str | None = None


def resolve(data: dict, names: dict[str, DataPath], key: str) -> DataPath | Unresolved:
    """The path a search key names in the spec's data, or why it names nothing."""
    parts = key.split(".")
    if any(not part for part in parts):
        return Unresolved("a path with an empty part", "separate the parts with single dots")
    path: list[str | int] = []
    node: Any = data
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        here = ".".join(str(p) for p in path)
        if isinstance(node, dict):
            if part in node and not (index == 0 and part in NOT_SEARCHED):
                path.append(part)
                node = node[part]
            elif index == 0 and part in names:
                path = list(names[part])
                node = _lookup(data, path)
            elif index == 0:
                candidates = [k for k in data if k not in NOT_SEARCHED] + list(names)
                what = "the search itself" if part in NOT_SEARCHED else f"no section or step named {part!r}"
                return Unresolved(
                    f"{what}: a key starts with a section ({', '.join(repr(k) for k in candidates[:6])}"
                    f"{' ...' if len(candidates) > 6 else ''}) or the name of a step",
                    did_you_mean(part, candidates),
                )
            elif last:
                path.append(part)  # a parameter not written yet: the static check asks the table
                node = None
            else:
                return Unresolved(f"{here} has no key {part!r}", _suggest(part, list(node)))
        elif isinstance(node, list):
            found = _list_position(node, part)
            if found is None:
                named = [item["name"] for item in node if isinstance(item, dict) and "name" in item]
                if part.isdigit():
                    return Unresolved(
                        f"{here} has {len(node)} item{'s' if len(node) != 1 else ''}, so no position {part}",
                        f"positions count from 0: 0 to {len(node) - 1}" if node else None,
                    )
                return Unresolved(
                    f"{here} is a list: give a position (0 to {len(node) - 1}) or a step's name",
                    did_you_mean(part, named),
                )
            path.append(found)
            node = node[found]
        else:
            return Unresolved(f"{here} is {_kind(node)}, so it has no key {part!r}", _scalar_hint(path, part))
    return tuple(path)


def _suggest(part: str, keys: list[str]) -> str | None:
    """Did you mean ..., else the keys there are, when they are few enough to list."""
    hint = did_you_mean(part, keys)
    if hint is None and 0 < len(keys) <= 8:
        hint = "there are " + ", ".join(repr(k) for k in keys)
    return hint


def _list_position(items: list, part: str) -> int | None:
    if part.isdigit():
        index = int(part)
        return index if index < len(items) else None
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return index
    return None


def _lookup(data: Any, path: list | DataPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _kind(value: Any) -> str:
    return "null" if value is None else render(value)


def _scalar_hint(path: list, part: str) -> str | None:
    if tuple(path) == ("compile", "optimizer"):
        return f'write the optimizer as a table: optimizer = {{ type = "Adam", {part} = ... }}'
    return None


def step_names(data: dict) -> dict[str, DataPath]:
    """Every layer `name` given in the spec's steps, shared layers and merges -> its path."""
    found: dict[str, DataPath] = {}
    for section in STEP_SECTIONS:
        table = data.get(section)
        if isinstance(table, dict):
            for entry, raw in table.items():
                for path, step in _steps(raw, (section, entry)):
                    name = step.get("name")
                    if isinstance(name, str) and name not in found:
                        found[name] = path
    return found


def _steps(node: Any, path: DataPath) -> Iterator[tuple[DataPath, dict]]:
    """Every table below `node` that is a layer (it has a `type`), with its path."""
    if isinstance(node, dict):
        if "type" in node:
            yield path, node
        for key, value in node.items():
            yield from _steps(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _steps(value, (*path, index))
