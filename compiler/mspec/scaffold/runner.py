"""`mspec init` from Python: measure a data file, decide each column's use, write the spec, check it.

The spec written is checked by mspec itself before it is handed back: it
must lint without a finding and bind to the data file it was made from
(columns all present, `columns` tables picking what they should). Any finding
of those checks is returned beside the text: that would be a fault of
`mspec init`, and the command refuses to write such a spec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic
from ..diagnostics.suggest import did_you_mean
from .design import NAME, design, model_name
from .kinds import (
    ID_SEQUENCE,
    NUMBER_SEQUENCE,
    Feature,
    InitError,
    LeftOut,
    classify_feature,
    classify_target,
)
from .kinds import count as counted

FORMATS = ("toml", "json")


@dataclass(frozen=True)
class Finding:
    """Something the user should know about the spec written: a column left out, and why."""

    message: str
    column: str | None = None
    severity: str = "warning"

    def format(self) -> str:
        return f"{self.severity}: {self.message}"


@dataclass
class InitResult:
    """The spec written from a data file: its text, what was left out, and mspec's own check of it.

    `diagnostics` holds the findings of `lint` and of binding the spec to the
    data: empty, unless `mspec init` made a mistake. `path` is where the spec
    was written (None when not written).
    """

    text: str
    format: str
    name: str
    rows: int
    inputs: list[str]
    outputs: list[str]
    findings: list[Finding] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def init_spec(
    data: str | os.PathLike,
    targets: list[str] | tuple[str, ...] | str,
    *,
    exclude: list[str] | tuple[str, ...] = (),
    fmt: str = "toml",
    name: str | None = None,
    output: str | os.PathLike | None = None,
    force: bool = False,
) -> InitResult:
    """Write a first spec for `data` predicting `targets`; return its text and what was left out.

    With `output`, the spec is written there (atomically; an existing file
    only with `force`). Raises InitError for a request the data cannot meet
    (a target missing or with one value, no rows, a spec already there) and
    mspec.data.DataError for a file that cannot be read. Needs numpy and pyarrow.
    """
    from ..data.source import DataError  # noqa: F401 - needs the data extra: fail before any work
    from .profile import profile_data

    wanted = [targets] if isinstance(targets, str) else list(dict.fromkeys(targets))
    if not wanted:
        raise InitError("give at least one target column (--target COL)")
    if fmt not in FORMATS:
        raise InitError(f"unknown format {fmt!r}: use toml or json")
    target_path = Path(output) if output is not None else None
    if target_path is not None and target_path.exists() and not force:
        raise InitError(f"{target_path} exists: give --force to replace it")
    source, profiles = profile_data(data)
    by_name = {p.name: p for p in profiles}
    data_text = os.fspath(data)
    _check_named(data_text, wanted, by_name, "target", "has no column")
    _check_named(data_text, list(exclude), by_name, "--exclude", "has no column")
    both = [c for c in exclude if c in wanted]
    if both:
        raise InitError(f"{both[0]!r} is both a target and excluded: give it once")
    rows = source.num_rows
    if rows == 0:
        raise InitError(f"{data_text} holds no rows: there is nothing to learn from")
    chosen = [classify_target(by_name[column]) for column in wanted]
    features: list[Feature] = []
    left_out: list[LeftOut] = []
    taken = {column.lower() for column in wanted}
    for profile in profiles:
        if profile.name in wanted:
            continue
        if profile.name in exclude:
            left_out.append(LeftOut(profile.name, "excluded (--exclude)"))
            continue
        use = classify_feature(profile)
        # A list column is bound by its own name only (`columns` stacks single values).
        sequence = isinstance(use, Feature) and use.kind in (ID_SEQUENCE, NUMBER_SEQUENCE)
        if sequence and (
            not NAME.match(profile.name) or profile.name.lower() in taken or _is_keyword(profile.name)
        ):
            use = LeftOut(profile.name, "lists under a name that is not a spec name: rename the column")
        if isinstance(use, Feature):
            taken.add(profile.name.lower())
            features.append(use)
        else:
            left_out.append(use)
    if not features:
        reasons = "; ".join(f"{c.column}: {c.reason}" for c in left_out) or "the file has no other column"
        raise InitError(f"{data_text}: no column is left to predict from ({reasons})")
    header = _header(data_text, rows, len(profiles), wanted, left_out)
    spec_name = name or model_name(data_text)
    plan = design(spec_name, list(by_name), rows, features, chosen, left_out, header)
    from .render import render

    text = render(plan, fmt)
    findings = [
        Finding(f"column {c.column!r} left out: {c.reason}", c.column)
        for c in left_out
        if c.reason != "excluded (--exclude)"
    ]
    document = plan.document()
    result = InitResult(
        text, fmt, spec_name, rows, list(document["inputs"]), list(document["outputs"]), findings
    )
    result.diagnostics = _self_check(text, fmt, target_path, source)
    if target_path is not None and result.ok:
        from ..files import write_atomic

        if target_path.exists() and not force:  # written by someone else meanwhile
            raise InitError(f"{target_path} exists: give --force to replace it")
        write_atomic(target_path, text.encode("utf-8"))
        result.path = target_path
    return result


def _is_keyword(name: str) -> bool:
    import keyword

    return keyword.iskeyword(name)


def _check_named(data: str, names: list[str], columns: dict, what: str, verb: str) -> None:
    for column in names:
        if column in columns:
            continue
        close = did_you_mean(column, columns)
        hint = close if close else f"the file has columns {', '.join(repr(c) for c in list(columns)[:20])}"
        if len(columns) > 20 and not close:
            hint += f" and {len(columns) - 20:,} more"
        raise InitError(f"{what} {column!r}: {data} {verb} {column!r} ({hint})")


def _header(data: str, rows: int, columns: int, targets: list[str], left_out: list[LeftOut]) -> list[str]:
    lines = [
        f"A first spec written by `mspec init` from {data} ({counted(rows, 'row')}, "
        f"{counted(columns, 'column')}) to predict {', '.join(targets)}.",
        "Each choice below says why it was made: change any of them. Then: `mspec lint SPEC --data DATA`, "
        "`mspec fit SPEC --data DATA`, `mspec explain SPEC --model MODEL --data DATA`.",
        "",
        "How each column was read (`mspec init --help` has the rules): numbers go into a numeric input "
        "(one per family of columns named alike, picked by their prefix, and one for the rest); "
        "whole numbers from 0 named as ids (ending in id, code, key, idx) or small codes (all below 32) "
        "through an Embedding; short text repeated across rows through a StringLookup and an Embedding; "
        "lists of one length as sequences.",
    ]
    if left_out:
        lines += ["", "Left out (no input reads them):"]
        lines += [f"  {c.column}: {c.reason}" for c in left_out]
    return lines


def _self_check(text: str, fmt: str, path: Path | None, source) -> list[Diagnostic]:
    """mspec's own findings on the spec written: lint, and its binding to the data's columns."""
    from ..data.binding import bind
    from ..pipeline import check_bytes

    shown = os.fspath(path) if path is not None else f"<spec>.{fmt}"
    result = check_bytes(text.encode("utf-8"), shown, fmt)
    diagnostics = list(result.diagnostics)
    if result.ok:
        _, bound = bind(result, source)
        diagnostics += result.reported(bound)
    return diagnostics
