"""The static check of a search space: each value in place, then the combinations, by the front end.

Two steps, both on the parsed document (points.py), never on its text:

1. each value alone: every choice and both ends of every range are written
   into the spec one at a time and validated by the language's own rules. A
   value the parameter refuses is reported at the value (MS802 for a wrong
   type, MS803 for anything else the parameter refuses), and a key whose last
   part the table does not take at the key (MS801). The value's place in the
   source map is moved out of the file while it is checked, so that a finding
   about it is told from findings about anything else;
2. the combinations: every combination of the choices and range ends when
   there are at most GRID_LIMIT of them, else a sample (below), goes through
   the whole front end (validation, graph, shapes, hazards). A combination
   with an error is invalid. Invalid combinations are grouped by cause (the
   same finding at the same place, whatever the numbers in its message), and
   each cause names the values it involves: those of the parameters that do
   not take all their values among the cause's combinations. One MS804 warning per cause, at the first value
   involved; MS805 (an error) when no combination is valid.

The sample of a larger space: for every value of every parameter, one
combination holding it (the rest drawn at random), then random combinations
until SAMPLE_SIZE, all drawn with a fixed seed, so that the check gives the
same findings every time.

The combinations are checked only once the spec itself and every value alone
are free of errors: the spec as written is the baseline, and must be valid.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    SEARCH_INVALID_POINTS,
    SEARCH_SPACE_EMPTY,
    SEARCH_UNKNOWN_PATH,
    SEARCH_VALUE_REFUSED,
    SEARCH_WRONG_TYPE,
    UNKNOWN_KEY,
    WRONG_TYPE,
)
from ..frontend import CheckResult, check_document
from ..spec.validate import validate
from ..syntax.document import DataPath, Document, Location
from .points import substituted
from .space import SEARCH, Parameter, SearchSpace, read_space

# Combinations checked one by one at most; a larger space is sampled.
GRID_LIMIT = 4096
# Combinations in the sample of a larger space, and the seed it is drawn with.
SAMPLE_SIZE = 1024
SAMPLE_SEED = 0
# A finding is one cause wherever it is found with other numbers in its message (widths, shapes).
_NUMBERS = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# A line no spec file reaches (the loaders refuse files over 16 MiB): a value checked alone is put there.
OUTSIDE_THE_FILE = 1 << 40


@dataclass
class Cause:
    """One reason some combinations are invalid: the finding, and the combinations it is found in."""

    finding: Diagnostic
    combinations: list[tuple[int, ...]] = field(default_factory=list)
    involved: dict[str, list[int]] = field(default_factory=dict)  # search key -> positions of its values
    messages: set[str] = field(default_factory=set)  # the finding's message in each combination


@dataclass
class SpaceCheck:
    """What the static check found: the findings, and the counts behind MS804 and MS805."""

    space: SearchSpace | None
    diagnostics: list[Diagnostic]
    total: int = 0  # combinations of the choices and range ends
    checked: int = 0
    invalid: int = 0
    causes: list[Cause] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        return self.checked < self.total


def check_search(result: CheckResult) -> SpaceCheck:
    """Read and check a checked spec's [search] and [tune]; the findings are not yet filtered by [lint]."""
    document = result.document
    assert document is not None
    space, found = read_space(document)
    if space is None or not space.parameters:
        return SpaceCheck(space, found)
    for parameter in space.parameters:
        found += _values_alone(document, parameter)
    report = SpaceCheck(space, found, total=space.grid_size())
    if result.ok and not any(d.is_error for d in found):
        _combinations(result, space, report)
    return report


def point_errors(result: CheckResult, space: SearchSpace, values: Mapping[str, Any]) -> list[Diagnostic]:
    """The errors of one point (search key -> value): what keeps its spec from training; [] if none."""
    assert result.document is not None
    assignment = {p.path: values[p.key] for p in space.parameters if p.key in values}
    checked = check_document(substituted(result.document, assignment), result.selection)
    return [d for d in checked.diagnostics if d.is_error]


def point_result(result: CheckResult, space: SearchSpace, values: Mapping[str, Any]) -> CheckResult:
    """The checked spec of one point, as `mspec.fit` takes it."""
    assert result.document is not None
    assignment = {p.path: values[p.key] for p in space.parameters if p.key in values}
    return check_document(substituted(result.document, assignment), result.selection)


# --- 1. Each value alone ---------------------------------------------------------------------------------


def _values_alone(document: Document, parameter: Parameter) -> list[Diagnostic]:
    """Findings about the values the parameter refuses, each at its value in [search]."""
    here = {parameter.path: Location(OUTSIDE_THE_FILE, 1)}
    found: list[Diagnostic] = []
    unknown_key_reported = False
    for index, value in enumerate(parameter.ends):
        _, diagnostics = validate(substituted(document, {parameter.path: value}, located=here))
        for diagnostic in diagnostics:
            if diagnostic.line != OUTSIDE_THE_FILE:
                continue
            if diagnostic.code == UNKNOWN_KEY.code:
                if not unknown_key_reported:
                    unknown_key_reported = True
                    found.append(
                        SEARCH_UNKNOWN_PATH.at(
                            document,
                            (SEARCH, parameter.key),
                            f"[search] {parameter.key!r} names no parameter: {diagnostic.message}",
                            diagnostic.hint,
                        )
                    )
                continue
            rule = SEARCH_WRONG_TYPE if diagnostic.code == WRONG_TYPE.code else SEARCH_VALUE_REFUSED
            found.append(
                rule.at(
                    document,
                    _value_path(parameter, index),
                    f"[search] {parameter.shown(value)}: {diagnostic.message}",
                    diagnostic.hint,
                    at="value",
                )
            )
    return found


def _value_path(parameter: Parameter, index: int) -> DataPath:
    """Where one of the parameter's values is written: a choice, or a range's low (0) or high (1) end."""
    if parameter.choices is not None:
        return (SEARCH, parameter.key, index)
    return (SEARCH, parameter.key, "low" if index == 0 else "high")


# --- 2. The combinations ----------------------------------------------------------------------------------


def _combinations(result: CheckResult, space: SearchSpace, report: SpaceCheck) -> None:
    document = result.document
    assert document is not None
    parameters = space.parameters
    sizes = [len(p.ends) for p in parameters]
    if report.total <= GRID_LIMIT:
        combinations = list(itertools.product(*(range(n) for n in sizes)))
    else:
        combinations = sample_combinations(sizes)
    causes: dict[tuple, Cause] = {}
    for combination in combinations:
        assignment = {p.path: p.ends[i] for p, i in zip(parameters, combination, strict=True)}
        checked = check_document(substituted(document, assignment), result.selection)
        errors = [d for d in checked.diagnostics if d.is_error]
        if errors:
            report.invalid += 1
        for error in errors:
            key = (error.line, error.col, error.code, _NUMBERS.sub("#", error.message))
            cause = causes.setdefault(key, Cause(error))
            cause.combinations.append(combination)
            cause.messages.add(error.message)
    report.checked = len(combinations)
    report.causes = list(causes.values())
    seen = [set(values) for values in zip(*combinations, strict=True)]
    for cause in report.causes:
        here = [set(values) for values in zip(*cause.combinations, strict=True)]
        cause.involved = {p.key: sorted(here[n]) for n, p in enumerate(parameters) if here[n] != seen[n]}
        report.diagnostics.append(_cause_finding(document, space, cause, report))
    if report.checked and report.invalid == report.checked:
        what = "sampled combinations" if report.sampled else "combinations"
        report.diagnostics.append(
            SEARCH_SPACE_EMPTY.at(
                document,
                (SEARCH,),
                f"no point of the search space is valid: all {report.checked} {what} have errors",
                "each cause is reported at the values involved, as MS804",
            )
        )


def _cause_finding(document: Document, space: SearchSpace, cause: Cause, report: SpaceCheck) -> Diagnostic:
    """MS804 at the first value the cause involves: which values, what is wrong, in how many combinations."""
    parameters = space.by_key()
    named = []
    for key, positions in cause.involved.items():
        parameter = parameters[key]
        if len(positions) == 1:
            named.append(parameter.shown(parameter.ends[positions[0]]))
        else:
            named.append(f"{key} in [{', '.join(_shown(parameter.ends[i]) for i in positions)}]")
    which = " with ".join(named) if named else "every combination"
    of = f"{len(cause.combinations)} of {report.checked} {'sampled ' if report.sampled else ''}combinations"
    if len(report.causes) > 1:
        of += f" ({report.invalid} invalid in all)"
    finding = cause.finding
    where = f"found at line {finding.line}"
    hint = f"{finding.hint}; {where}" if finding.hint else where
    if cause.involved:
        key, positions = next(iter(cause.involved.items()))
        path = _value_path(parameters[key], positions[0])
    else:
        path = (SEARCH,)
    example = " (for example)" if len(cause.messages) > 1 else ""
    return SEARCH_INVALID_POINTS.at(
        document,
        path,
        f"{which}: {finding.message}{example}; {of}",
        hint,
        at="value" if cause.involved else "key",
    )


def _shown(value: Any) -> str:
    from .space import show_value

    return show_value(value)


def sample_combinations(sizes: list[int]) -> list[tuple[int, ...]]:
    """A fixed sample of a large grid: every value of every parameter at least once, then random points."""
    rng = random.Random(SAMPLE_SEED)
    chosen: set[tuple[int, ...]] = set()

    def draw() -> list[int]:
        return [rng.randrange(n) for n in sizes]

    for position, size in enumerate(sizes):
        for value in range(size):
            point = draw()
            point[position] = value
            chosen.add(tuple(point))
    limit = min(max(SAMPLE_SIZE, len(chosen)), math.prod(sizes))
    while len(chosen) < limit:
        chosen.add(tuple(draw()))
    return sorted(chosen)
