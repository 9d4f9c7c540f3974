"""Check training data against a spec, streaming over the file, vectorised per chunk of rows.

Each bound column is checked for what its input or output needs (its role):
the shape of one example, the kind of values (numbers, text, whole numbers),
missing values, NaN and infinity, ids within the range of the Embedding or
CategoryEncoding the input feeds, and labels that fit the output's loss and
units. Every finding is a Diagnostic at the spec line of the input or output
the column binds to, naming the data file and the column (in a data set of
many files, the file holding the first offending row and that row in it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    DATA_EMPTY,
    DATA_ID_RANGE,
    DATA_KIND,
    DATA_LABELS,
    DATA_MISSING_VALUES,
    DATA_SHAPE,
    Rule,
)
from ..frontend import CheckResult
from ..syntax.document import DataPath
from .arrays import Structure, flat_numpy, is_arrow, row_of, structure
from .binding import BINARY_LOSSES, ONE_HOT_LOSSES, SPARSE_LOSSES, Binding, IdLimit, bind
from .findings import finding
from .source import CsvNumberError, DataSource, open_data, pyarrow_modules

# Rows read at a time while checking: big chunks make the numpy work per chunk worth it.
CHECK_CHUNK_ROWS = 1 << 18
# A cell of a CSV column read as text that pyarrow would read as a number.
# Empty cells and pyarrow's null spellings are missing values, not text.
NUMBER_PATTERN = r"^\s*([-+]?((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)|n/a|na|null|#n/a|)\s*$"
ONE_HOT_TOLERANCE = 1e-3


@dataclass
class Tally:
    """Offending values of one kind in one column: how many, where the first is, their extremes."""

    count: int = 0
    first_row: int | None = None
    sample: Any = None
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, count: int, first_row: int, sample: Any = None, values: np.ndarray | None = None) -> None:
        if not count:
            return
        if self.first_row is None or first_row < self.first_row:
            self.first_row, self.sample = first_row, sample
        self.count += count
        if values is not None and len(values):
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))


@dataclass
class Role:
    """One use of a column: as (a slice of) an input, or as an output's labels."""

    column: str
    who: str  # "input 'tokens'" or "output 'label'"
    path: DataPath
    at: str
    node: str | None
    numeric: bool = True
    integers: bool = False  # whole numbers needed
    int_range: tuple[str, float, float] | None = None  # dtype name, min, max
    ids: IdLimit | None = None
    label: str | None = None  # "binary", "sparse", "one_hot" or None
    units: int | None = None
    target: tuple | None = None  # the expected shape of one example of the column (None: not checked)
    dims: tuple | None = None  # `target`, as matched to the file's rank (None: not checked)
    skip_values: bool = False
    csv_text: bool = False  # a CSV column expected to hold numbers, read as text (it does not)
    tallies: dict[str, Tally] = field(default_factory=dict)
    lengths: dict[int, tuple[int, int]] = field(default_factory=dict)  # level -> (min, max), unknown sizes

    def tally(self, kind: str) -> Tally:
        return self.tallies.setdefault(kind, Tally())


def check_data(
    result: CheckResult,
    path: str | os.PathLike,
    rows: Callable[[int], slice] | None = None,
    *,
    labels: bool = True,
    kept: tuple[str, ...] = (),
) -> list[Diagnostic]:
    """Check a data file against a spec that checked without errors.

    `rows`, given the file's row count, picks the rows whose values are read
    and checked (one process' share of a multi-worker run); by default all.
    Raises DataError when the file cannot be read (missing, unsupported,
    not a data file, corrupt anywhere in it); everything else is a Diagnostic.
    Without `labels` (predicting), labels are neither required nor checked;
    `kept` columns are read beside the spec's (see `bind`).
    """
    source = open_data(path)
    binding, diagnostics = bind(result, source, labels=labels, kept=kept)
    picked = None if rows is None else rows(source.num_rows)
    return sorted(diagnostics + DataChecker(result, binding, picked).run())


class DataChecker:
    def __init__(self, result: CheckResult, binding: Binding, rows: slice | None = None):
        self.result = result
        self.binding = binding
        self.source: DataSource = binding.source
        self.word = "array" if self.source.format == "npz" else "column"
        self.diagnostics: list[Diagnostic] = []
        self.rows = 0
        # The rows whose values are checked: all, or one process' share.
        self.checked = rows if rows is not None else slice(0, None)

    # --- the roles and what the file's header already says -----------------

    def roles(self) -> list[Role]:
        roles = []
        # A column some files of a data set lack, or hold otherwise, is reported by bind() and not read.
        present = {c: info for c, info in self.source.columns.items() if c not in self.binding.missing}
        for b in self.binding.inputs.values():
            numeric = b.dtype != "string"
            integers = b.dtype.startswith(("int", "uint")) or bool(b.ids)
            int_range = None
            if b.dtype.startswith(("int", "uint")):
                info = np.iinfo(b.dtype)
                int_range = (b.dtype, float(info.min), float(info.max))
            for column in b.columns:
                if column not in present:
                    continue
                path, at = b.column_path(column)
                roles.append(
                    Role(
                        column,
                        f"input {b.name!r}",
                        path,
                        at,
                        b.name,
                        numeric=numeric,
                        integers=integers,
                        int_range=int_range,
                        ids=b.ids[0] if b.ids else None,
                        target=tuple(b.column_shape),
                    )
                )
        graph = self.result.graph
        for b in self.binding.outputs.values():
            if b.column not in present:
                continue
            label = (
                "sparse"
                if b.loss in SPARSE_LOSSES
                else "one_hot"
                if b.loss in ONE_HOT_LOSSES
                else "binary"
                if b.loss in BINARY_LOSSES
                else None
            )
            target = None
            if len(b.shape) == 1 and b.units is not None:
                target = (1,) if label == "sparse" else (b.units,)
            path, at = b.column_path
            roles.append(
                Role(
                    b.column,
                    f"output {b.name!r}",
                    path,
                    at,
                    graph.outputs.get(b.name) if graph else None,
                    integers=label == "sparse",
                    label=label,
                    units=b.units,
                    target=target,
                )
            )
        return roles

    def header_checks(self, role: Role) -> None:
        """What the file declares before any row: text or numbers, and the rank (NPZ: the shape)."""
        info = self.source.columns[role.column]
        name = f"{self.word} {role.column!r} of {self.source.path}"
        if info.text and role.numeric:
            self.report(
                role,
                DATA_KIND,
                f"{role.who}: {name} holds text ({info.type}), but {role.who} takes numbers",
                'convert the values to numbers, or declare the input with dtype = "string"',
            )
            role.skip_values = True
        elif not info.text and not role.numeric and self.source.format != "csv":
            self.report(
                role,
                DATA_KIND,
                f'{role.who}: {name} holds numbers ({info.type}), but the input\'s dtype is "string"',
                "store the values as text, or give the input a numeric dtype",
            )
            role.skip_values = True
        if role.target is None or info.rank is None:
            return
        target = role.target
        if info.rank == len(target):
            role.dims = target
        elif target and target[-1] == 1 and info.rank == len(target) - 1:
            role.dims = target[:-1]
        else:
            example = "one value" if info.rank == 0 else f"a rank-{info.rank} example"
            if info.shape is not None:
                example = f"examples of shape {_shape(info.shape)}"
            self.report_shape(
                role,
                f"{role.who}: each row of {name} holds {example}, but {self._wants(role)}",
                self._shape_hint(role),
            )
            return
        if info.shape is not None:  # NPZ: the whole shape is in the header
            wrong = [
                k
                for k, (have, want) in enumerate(zip(info.shape, role.dims, strict=True))
                if isinstance(want, int) and have != want
            ]
            if wrong:
                self.report_shape(
                    role,
                    f"{role.who}: {name} has examples of shape {_shape(info.shape)}, but {self._wants(role)}",
                    self._shape_hint(role),
                )
            role.dims = None  # nothing left to check row by row

    def _wants(self, role: Role) -> str:
        if role.label is not None or role.who.startswith("output"):
            return f"the output has {role.units} units, so each label should have shape {_shape(role.target)}"
        spec_shape = self.binding.inputs[role.node].shape if role.node in self.binding.inputs else role.target
        if role.target != tuple(spec_shape):
            return (
                f"the input has shape {_shape(spec_shape)} and stacks its columns on the last axis, "
                f"so each column should have shape {_shape(role.target)}"
            )
        return f"the input has shape {_shape(role.target)}"

    def _shape_hint(self, role: Role) -> str:
        if role.who.startswith("output"):
            if role.label == "sparse":
                return "sparse_categorical_crossentropy takes one class index per row"
            if role.label == "one_hot":
                return "categorical_crossentropy takes one-hot rows as wide as the output's units"
            return "give each row one label per unit of the output"
        return "change the input's shape, or reshape the data"

    # --- the scan ------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        roles = self.roles()
        for role in roles:
            self.header_checks(role)
        text_overrides: set[str] = set()
        while True:
            scan_roles = [self._fresh(r, text_overrides) for r in roles]
            failed = self._scan(scan_roles, text_overrides)
            if failed is None:
                break
            text_overrides.add(failed)
        for role in scan_roles:
            self.findings(role)
        whole_file = not self.checked.start and self.checked.stop is None
        if self.rows == 0 and whole_file and not self.binding.missing:
            first = next(iter(self.binding.inputs.values()), None)
            self.diagnostics.append(
                finding(
                    self.result,
                    first.path if first else (),
                    DATA_EMPTY,
                    f"{self.source.path} holds no rows",
                    "training needs at least one example per row of the file",
                )
            )
        return self.diagnostics

    @staticmethod
    def _fresh(role: Role, text_overrides: set[str]) -> Role:
        fresh = Role(**{**role.__dict__, "tallies": {}, "lengths": {}})
        if role.column in text_overrides and role.numeric:
            fresh.csv_text = True
        return fresh

    def _scan(self, roles: list[Role], text_overrides: set[str]) -> str | None:
        """Read every bound column once; return a CSV column that failed to read as numbers, if any."""
        by_column: dict[str, list[Role]] = {}
        for role in roles:
            by_column.setdefault(role.column, []).append(role)
        names = list(by_column)
        text = self.binding.text_columns | text_overrides
        self.rows = 0
        chunks = self.source.read(names, CHECK_CHUNK_ROWS, self.checked.start, self.checked.stop, text=text)
        try:
            for first_row, chunk in chunks:
                rows = 0
                for name, values in chunk.items():
                    rows = len(values)
                    self._check_chunk(by_column[name], values, first_row)
                self.rows = first_row + rows
        except CsvNumberError as error:
            # A cell that is not a number: read the column again as text, to count and show them.
            if error.column in text_overrides or error.column not in by_column:
                raise
            return error.column
        finally:
            chunks.close()
        if self.source.format == "npz" and self.checked.stop is None:
            self.rows = self.binding.num_rows
        return None

    def _check_chunk(self, roles: list[Role], values: Any, first_row: int) -> None:
        info = structure(values)
        flat = None
        valid = None
        null_values = 0
        if is_arrow(values):
            null_values = info.values.null_count
            if null_values:
                valid = info.values.is_valid().to_numpy(zero_copy_only=False)
        for role in roles:
            if info.null_lists or null_values:
                self._nulls(role, info, valid, first_row)
            if role.dims is not None and info.lengths:
                self._lengths(role, info, first_row)
            if role.skip_values or not role.numeric:
                continue
            if role.csv_text:
                self._csv_text(role, info, first_row)
                continue
            if flat is None:
                flat = info.array.reshape(-1) if info.array is not None else flat_numpy(info.values)
            self._values(role, info, flat, valid, first_row)

    def _nulls(self, role: Role, info: Structure, valid: np.ndarray | None, first_row: int) -> None:
        rows = [] if info.first_null_list is None else [info.first_null_list]
        count = info.null_lists
        if valid is not None:
            rows.append(row_of(info, int(np.argmin(valid))))
            count += len(valid) - int(valid.sum())
        role.tally("missing").add(count, first_row + min(rows))

    def _lengths(self, role: Role, info: Structure, first_row: int) -> None:
        for level, (lengths, want) in enumerate(zip(info.lengths, role.dims, strict=False)):
            present = info.present[level]
            if present is not None:  # missing lists are reported as missing values, not lengths
                lengths = np.where(present, lengths, want if isinstance(want, int) else lengths.max())
            if not len(lengths):
                continue
            if isinstance(want, int):
                bad = lengths != want
                count = int(bad.sum())
                if count:
                    index = int(np.argmax(bad))
                    row = row_of(info, index, level)
                    role.tally(f"length{level}").add(
                        count, first_row + row, int(lengths[index]), lengths[bad]
                    )
            else:
                low, high = int(lengths.min()), int(lengths.max())
                seen = role.lengths.get(level)
                role.lengths[level] = (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))

    def _csv_text(self, role: Role, info: Structure, first_row: int) -> None:
        _, pc = pyarrow_modules()
        values = info.values
        numbers = pc.match_substring_regex(values, NUMBER_PATTERN, ignore_case=True)
        bad = pc.invert(pc.fill_null(numbers, True)).to_numpy(zero_copy_only=False)
        count = int(bad.sum())
        if count:
            index = int(np.argmax(bad))
            role.tally("text").add(count, first_row + row_of(info, index), values[index].as_py())

    def _values(self, role: Role, info: Structure, flat: np.ndarray, valid, first_row: int) -> None:
        if flat.dtype.kind not in "fiub" or not len(flat):
            return
        v = flat
        finite = None
        if v.dtype.kind == "f":
            finite = np.isfinite(v)
            bad = ~finite if valid is None else ~finite & valid
            count = int(bad.sum())
            if count:
                index = int(np.argmax(bad))
                role.tally("nonfinite").add(count, first_row + row_of(info, index), float(v[index]))
            if valid is not None or count:
                v = v[finite]
            if not len(v):
                return
            if role.integers:
                fraction = v != np.floor(v)
                count = int(fraction.sum())
                if count:
                    index = _nth_true(finite, int(np.argmax(fraction)))
                    role.tally("fraction").add(count, first_row + row_of(info, index), float(flat[index]))
        low, high = v.min(), v.max()
        if role.int_range is not None:
            _, lo, hi = role.int_range
            if low < lo or high > hi:
                self._outside(role, "dtype", flat, finite, info, first_row, lo, hi, inclusive=True)
        if role.ids is not None and (low < 0 or high >= role.ids.limit):
            self._outside(role, "ids", flat, finite, info, first_row, 0, role.ids.limit)
        if role.label == "binary" and (low < 0 or high > 1):
            self._outside(role, "labels", flat, finite, info, first_row, 0, 1, inclusive=True)
        elif role.label == "sparse" and role.units is not None and (low < 0 or high >= role.units):
            self._outside(role, "labels", flat, finite, info, first_row, 0, role.units)
        elif role.label == "one_hot":
            if low < 0 or high > 1:
                self._outside(role, "labels", flat, finite, info, first_row, 0, 1, inclusive=True)
            if role.units and len(flat) == info.rows * role.units and (finite is None or finite.all()):
                sums = flat.reshape(info.rows, role.units).sum(axis=1, dtype=np.float64)
                bad = np.abs(sums - 1) > ONE_HOT_TOLERANCE
                count = int(bad.sum())
                if count:
                    index = int(np.argmax(bad))
                    role.tally("sums").add(count, first_row + index, float(sums[index]), sums[bad])

    @staticmethod
    def _outside(role, kind, flat, finite, info, first_row, lo, hi, *, inclusive: bool = False) -> None:
        """Tally the values outside [lo, hi) (or [lo, hi] when inclusive), finite ones only."""
        with np.errstate(invalid="ignore"):
            bad = (flat < lo) | ((flat > hi) if inclusive else (flat >= hi))
        if finite is not None:
            bad &= finite
        count = int(bad.sum())
        if count:
            index = int(np.argmax(bad))
            role.tally(kind).add(count, first_row + row_of(info, index), flat[index].item(), flat[bad])

    # --- the findings ----------------------------------------------------------

    def findings(self, role: Role) -> None:
        name = f"{self.word} {role.column!r} of {self.source.path}"
        t = role.tallies
        if "missing" in t:
            self.report(
                role,
                DATA_MISSING_VALUES,
                f"{role.who}: {name} has missing values (null): {self.where(t['missing'])}",
                "fill them in (or drop those rows): training cannot use missing values",
            )
        if "nonfinite" in t:
            self.report(
                role,
                DATA_MISSING_VALUES,
                f"{role.who}: {name} has NaN or infinite values: {self.where(t['nonfinite'])} "
                f"({_number(t['nonfinite'].sample)})",
                "replace them with finite numbers (or drop those rows): one NaN makes the loss NaN",
            )
        if "text" in t:
            self.report(
                role,
                DATA_KIND,
                f"{role.who}: {name} has text where numbers are expected: {self.where(t['text'])} "
                f"({t['text'].sample!r})",
                'correct those cells, or declare the input with dtype = "string"',
            )
        for level in sorted(k for k in t if k.startswith("length")):
            tally = t[level]
            depth = int(level.removeprefix("length"))
            want = role.dims[depth] if role.dims else None
            self.report_shape(
                role,
                f"{role.who}: {name} has lists of the wrong length at depth {depth + 1}: "
                f"{tally.count:,} list{'s' if tally.count != 1 else ''}, "
                f"the first in {self.row(tally.first_row)} "
                f"(length {tally.sample}"
                + (f"; from {int(tally.low)} to {int(tally.high)}), " if tally.low != tally.high else "), ")
                + f"but {self._wants(role)} ({want} at that depth)",
                "pad or cut the lists to that length, or change the shape in the spec",
            )
        for depth, (low, high) in sorted(role.lengths.items()):
            if low != high:
                self.report_shape(
                    role,
                    f"{role.who}: {name} has lists of lengths {low} to {high} at depth {depth + 1}; "
                    "the spec leaves that size unknown, but a batch needs one length",
                    "pad the lists to one length (and mask the padding), or fix the size in the spec",
                )
        if "fraction" in t:
            tally = t["fraction"]
            needs = "class indexes" if role.label == "sparse" else "whole numbers"
            if role.ids is not None:
                needs = f"ids for {role.ids.layer} ({role.ids.node})"
            elif role.int_range is not None:
                needs = f"{role.int_range[0]} values"
            self.report(
                role,
                DATA_KIND,
                f"{role.who}: {name} has fractional values where it needs {needs}: "
                f"{self.where(tally)} ({_number(tally.sample)})",
                "store whole numbers (integer ids or class indexes)",
            )
        if "dtype" in t:
            tally = t["dtype"]
            dtype, lo, hi = role.int_range
            self.report(
                role,
                DATA_KIND,
                f"{role.who}: {name} has values outside the range of {dtype} [{lo:.0f}, {hi:.0f}]: "
                f"{self.where(tally)} (values from {_number(tally.low)} to {_number(tally.high)})",
                "give the input a wider dtype, or correct the values",
            )
        if "ids" in t:
            self._ids_finding(role, name, t["ids"])
        if "labels" in t or "sums" in t:
            self._labels_finding(role, name)

    def _ids_finding(self, role: Role, name: str, tally: Tally) -> None:
        limit = role.ids
        assert limit is not None
        parts = []
        if tally.low < 0:
            parts.append(f"negative ids down to {_number(tally.low)}")
        if tally.high >= limit.limit:
            parts.append(f"ids up to {_number(tally.high)}")
        padding = " (0 is the padding id, as mask_zero is true)" if limit.mask_zero else ""
        if tally.high >= limit.limit:
            hint = f"raise {limit.param} to at least {int(tally.high) + 1}, or map the ids into range"
        else:
            hint = "map the ids to non-negative numbers"
        self.report(
            role,
            DATA_ID_RANGE,
            f"{role.who}: {name} has {' and '.join(parts)}: {self.where(tally)}, but the {limit.layer} "
            f"it feeds ({limit.node}) takes ids in [0, {limit.limit}) ({limit.param} = {limit.limit})"
            + padding,
            hint,
        )

    def _labels_finding(self, role: Role, name: str) -> None:
        t = role.tallies
        if "labels" in t:
            tally = t["labels"]
            seen = f"values from {_number(tally.low)} to {_number(tally.high)}"
            if role.label == "sparse":
                message = f"class indexes in [0, {role.units}) for its {role.units} units"
                hint = "number the classes from 0, or give the output as many units as classes"
            elif role.label == "binary":
                message = "labels in [0, 1] for binary_crossentropy"
                hint = "use 0 and 1 (or probabilities) as labels"
            else:
                message = "one-hot labels in [0, 1]"
                hint = "one-hot encode the labels"
            self.report(
                role,
                DATA_LABELS,
                f"{role.who}: {name} has labels outside the range: {self.where(tally)} ({seen}), "
                f"but the output takes {message}",
                hint,
            )
        if "sums" in t:
            tally = t["sums"]
            self.report(
                role,
                DATA_LABELS,
                f"{role.who}: {name} has rows that do not sum to 1: {self.where(tally)} "
                f"(sum {_number(tally.sample)}), but categorical_crossentropy takes one-hot "
                "(or probability) rows",
                "one-hot encode the labels, or use sparse_categorical_crossentropy with class indexes",
            )

    def where(self, tally: Tally) -> str:
        """How many offending values, and the row of the first: "3 values, the first in row 17"."""
        n = tally.count
        return f"{n:,} value{'s' if n != 1 else ''}, the first in {self.row(tally.first_row)}"

    def row(self, row: int | None) -> str:
        """A row of the data: "row 17"; in a data set of many files, the file and its row there as well."""
        locate = getattr(self.source, "locate", None)
        if locate is None or row is None:
            return f"row {row}"
        file, within = locate(row)
        return f"row {within} of {file} (row {row} of the data set)"

    def report(self, role: Role, rule: Rule, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(
            finding(self.result, role.path, rule, message, hint, at=role.at, node=role.node)
        )

    def report_shape(self, role: Role, message: str, hint: str) -> None:
        rule = DATA_LABELS if role.who.startswith("output") else DATA_SHAPE
        self.report(role, rule, message, hint)


# --- helpers -------------------------------------------------------------------


def _nth_true(mask: np.ndarray, n: int) -> int:
    """The index of the n-th true value of `mask` (0-based)."""
    return int(np.flatnonzero(mask)[n])


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _shape(shape) -> str:
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
