"""Map a spec's inputs and outputs to the columns (or arrays) of a data file.

An input reads the column named like it, or stacks the columns its
`columns` lists (or picks by name: { prefix = ... }, { glob = ... }) along
its last axis; an output reads its labels from the column named like it, or
from its `column`. What each input feeds first (an Embedding or
CategoryEncoding, through layers that pass values on unchanged) says whether
its values are ids, and their range.

A CSV file whose header is not one (its first line holds data, or names
joined by ';' or tabs) is one finding, not one per column the spec binds.
In a data set of many Parquet files, a bound column that some files lack or
hold with other values is one finding naming those files.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    DATA_KIND,
    DATA_LABELS,
    DATA_MISSING_COLUMN,
    DATA_ROW_COUNTS,
    DATA_SHAPE,
    DATA_UNUSED_COLUMN,
)
from ..diagnostics.suggest import did_you_mean
from ..frontend import CheckResult
from ..graph.model import ModelGraph
from ..graph.readers import first_readers
from ..layers.base import Trait
from ..spec.models import ColumnSelector
from ..spec.validate import stacking_problem
from ..syntax.document import DataPath
from ..vocabulary import loss_key
from .csv_source import DELIMITER_HINT, delimiter_in_header
from .dataset import NAMED_FILES, ParquetDataset
from .findings import finding, quoted
from .source import DataSource

# Losses whose labels are class indexes, one-hot rows, or values in [0, 1].
SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})
ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy"})
BINARY_LOSSES = frozenset({"binary_crossentropy", "binary_focal_crossentropy"})


@dataclass(frozen=True)
class IdLimit:
    """An input's values are ids for this layer: whole numbers in [0, limit)."""

    layer: str  # a kind reading ids (`Trait.TAKES_IDS`): Embedding, ReversibleEmbedding, CategoryEncoding
    node: str  # the layer as the spec names it: "tokens_embed step 1"
    param: str  # the parameter bounding the ids: "input_dim" (an embedding) or "num_tokens"
    limit: int
    mask_zero: bool = False


@dataclass(frozen=True)
class InputBinding:
    """One spec input and the columns that make it.

    `stacked` is true when the spec gives `columns`: each column then holds
    one slice of the last axis. Otherwise the one column holds whole
    examples (a scalar column may fill an input whose shape ends in 1).
    `picked` is the table that picked the columns by name, if any.
    """

    name: str
    columns: tuple[str, ...]
    stacked: bool
    shape: tuple  # the input's shape, batch excluded: ints, names (str) or None
    dtype: str
    path: DataPath
    ids: tuple[IdLimit, ...] = ()
    picked: ColumnSelector | None = None

    @property
    def column_shape(self) -> tuple:
        """The shape of one example of one column."""
        return self.shape[:-1] if self.stacked else self.shape

    def column_path(self, column: str) -> tuple[DataPath, str]:
        """Where the spec names `column`: the item of `columns` (the table that picked it), else the input."""
        if self.picked is not None:
            return (*self.path, "columns"), "value"
        if self.stacked:
            return (*self.path, "columns", self.columns.index(column)), "value"
        return self.path, "key"


@dataclass(frozen=True)
class OutputBinding:
    """One spec output (with a loss) and the column holding its labels."""

    name: str
    column: str
    loss: str
    units: int | None  # the last dimension of the output's static shape, when known
    shape: tuple  # the output's static shape, batch excluded
    path: DataPath
    explicit: bool = False  # the spec names the column (`column = ...`)

    @property
    def column_path(self) -> tuple[DataPath, str]:
        return ((*self.path, "column"), "value") if self.explicit else (self.path, "key")


@dataclass
class Binding:
    """Which columns of `source` each input and output reads."""

    source: DataSource
    inputs: dict[str, InputBinding] = field(default_factory=dict)
    outputs: dict[str, OutputBinding] = field(default_factory=dict)
    # Bound column names the file does not have (or a table that picks none: '{ prefix = "px_" }').
    missing: tuple[str, ...] = ()
    # Columns read beside the spec's but bound to nothing (labels a prediction ignores, kept ids).
    ignored: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def columns(self) -> list[str]:
        """Every bound column present in the file, each once, inputs first."""
        names = [c for b in self.inputs.values() for c in b.columns]
        names += [b.column for b in self.outputs.values()]
        return [n for n in dict.fromkeys(names) if n in self.source.columns]

    @property
    def text_columns(self) -> set[str]:
        """Columns bound to string inputs (read as text)."""
        return {c for b in self.inputs.values() if b.dtype == "string" for c in b.columns}

    @property
    def num_rows(self) -> int:
        """Rows every bound column has (the fewest, when an NPZ archive's arrays disagree)."""
        counts = [self.source.columns[c].rows for c in self.columns]
        known = [c for c in counts if c is not None]
        if self.source.format == "npz":
            return min(known) if known else 0
        return self.source.num_rows


def output_loss(result: CheckResult, name: str) -> str | None:
    spec = result.spec
    assert spec is not None
    output = spec.outputs[name]
    # As the snake-case name of its class: "BCE", "BinaryCrossentropy" and a
    # { type = "BinaryCrossentropy", ... } table all want the same labels.
    return loss_key(output.loss or (spec.compile.loss if spec.compile else None))


def bind(
    result: CheckResult, source: DataSource, *, labels: bool = True, kept: tuple[str, ...] = ()
) -> tuple[Binding, list[Diagnostic]]:
    """Bind a checked spec (result.ok) to a data file's columns; report missing and extra ones.

    Without `labels` (predicting), outputs bind no column: their label columns
    may be absent, and present ones are neither read nor checked. `kept`
    names columns read beside the spec's (copied into predictions): not reported as unbound.
    """
    spec, graph = result.spec, result.graph
    if spec is None or graph is None:
        raise ValueError("bind() needs a spec that checked without errors")
    binding = Binding(source)
    if not labels:
        kept = (*kept, *(output.label_column for output in spec.outputs.values()))
    binding.ignored = tuple(dict.fromkeys(c for c in kept if c in source.columns))
    named = named_columns(result)
    for name, entry in spec.inputs.items():
        picked = entry.columns if isinstance(entry.columns, ColumnSelector) else None
        if picked is not None:
            # In the file's order; never a column the spec names elsewhere (labels above all).
            columns = tuple(c for c in source.columns if c not in named and picked.matches(c))
        else:
            columns = tuple(entry.columns) if entry.columns else (name,)
        binding.inputs[name] = InputBinding(
            name,
            columns,
            entry.columns is not None,
            tuple(entry.shape),
            entry.dtype,
            ("inputs", name),
            id_limits(graph, name),
            picked,
        )
    for name, output in spec.outputs.items():
        loss = output_loss(result, name)
        if loss is None or not labels:
            continue  # an output without a loss takes no labels
        node = graph.nodes.get(graph.outputs.get(name, ""))
        shape = tuple(node.shape[1:]) if node is not None and node.shape else ()
        units = shape[-1] if shape and isinstance(shape[-1], int) else None
        binding.outputs[name] = OutputBinding(
            name, output.label_column, loss, units, shape, output.path, output.column is not None
        )
    diagnostics = _not_a_header(result, binding)
    if not diagnostics:
        diagnostics = _missing_and_extra(result, binding)
        diagnostics += _picked_counts(result, binding)
    diagnostics += _row_counts(result, binding)
    diagnostics += _part_schemas(result, binding)
    return binding, diagnostics


def named_columns(result: CheckResult) -> set[str]:
    """The columns a spec names one by one: inputs' own names and `columns` lists, outputs' labels."""
    spec = result.spec
    assert spec is not None
    named = {output.label_column for output in spec.outputs.values()}
    for name, entry in spec.inputs.items():
        if entry.columns is None:
            named.add(name)
        elif not isinstance(entry.columns, ColumnSelector):
            named.update(entry.columns)
    return named


def id_limits(graph: ModelGraph, input_name: str) -> tuple[IdLimit, ...]:
    """The layers reading ids (`Trait.TAKES_IDS`) that an input's values reach first, unchanged."""
    found: list[IdLimit] = []
    for node_id, call in first_readers(graph, input_name):
        if graph.nodes[node_id].role != "step" or Trait.TAKES_IDS not in call.kind.traits:
            continue
        p = call.params
        # An embedding's table has input_dim rows; CategoryEncoding encodes num_tokens categories.
        param = "num_tokens" if hasattr(p, "num_tokens") else "input_dim"
        mask_zero = getattr(p, "mask_zero", False)
        found.append(IdLimit(call.kind.name, graph.label(node_id), param, getattr(p, param), mask_zero))
    return tuple(sorted(found, key=lambda limit: (limit.limit, limit.node)))


def _missing_and_extra(result: CheckResult, binding: Binding) -> list[Diagnostic]:
    source = binding.source
    word = "array" if source.format == "npz" else "column"
    available = source.columns
    bound = {c for b in binding.inputs.values() for c in b.columns}
    bound |= {b.column for b in binding.outputs.values()}
    bound |= set(binding.ignored)
    unbound = [n for n in available if n not in bound]
    diagnostics, missing = [], []

    def hint_for(column: str, how: str) -> str:
        close = did_you_mean(column, unbound)
        if close:
            return f"{close} Rename it in the file, or {how}"
        return f"the file has {word}s {quoted(available)}; {how}"

    for b in binding.inputs.values():
        if b.picked is not None and not b.columns:
            missing.append(b.picked.describe())
            near = near_names(b.picked, unbound or list(available))
            key = "prefix" if b.picked.prefix is not None else "pattern"
            diagnostics.append(
                finding(
                    result,
                    (*b.path, "columns"),
                    DATA_MISSING_COLUMN,
                    f"input {b.name!r}: no {word} of {source.path} matches {b.picked.describe()}",
                    f"{word}s near it: {quoted(near)}; correct the {key}"
                    if near
                    else f"the file has {word}s {quoted(available)}; correct the {key}",
                    at="value",
                    node=b.name,
                )
            )
        for column in b.columns:
            if column in available:
                continue
            missing.append(column)
            path, at = b.column_path(column)
            how = "correct the name in `columns`" if b.stacked else f"list the {word}s it reads in `columns`"
            diagnostics.append(
                finding(
                    result,
                    path,
                    DATA_MISSING_COLUMN,
                    f"input {b.name!r}: {source.path} has no {word} {column!r}",
                    hint_for(column, how),
                    at=at,
                    node=b.name,
                )
            )
    for b in binding.outputs.values():
        if b.column in available:
            continue
        missing.append(b.column)
        path, at = b.column_path
        how = "correct `column`" if b.explicit else f"name the labels' {word} with `column = ...`"
        diagnostics.append(
            finding(
                result,
                path,
                DATA_MISSING_COLUMN,
                f"output {b.name!r}: {source.path} has no {word} {b.column!r} for its labels",
                hint_for(b.column, how),
                at=at,
            )
        )
    binding.missing = tuple(dict.fromkeys(missing))
    if unbound:
        first = next(iter(result.spec.inputs)) if result.spec else None
        diagnostics.append(
            finding(
                result,
                ("inputs", first) if first else (),
                DATA_UNUSED_COLUMN,
                f"{source.path}: {len(unbound)} {word}{'s bind' if len(unbound) > 1 else ' binds'} "
                f"to no input or output: {quoted(unbound)}",
                "list them in an input's `columns` or an output's `column`, or leave them out of the file",
            )
        )
    return diagnostics


def near_names(picked: ColumnSelector, names: list[str], limit: int = 8) -> list[str]:
    """Names a table nearly picks: matching but for case, or starting close to its prefix."""
    if picked.prefix is not None:
        head = picked.prefix
        nearly = [n for n in names if n.lower().startswith(head.lower())]
    else:
        head = re.split(r"[*?\[]", picked.glob or "", maxsplit=1)[0]  # the literal text before a wildcard
        nearly = [n for n in names if fnmatch.fnmatchcase(n.lower(), (picked.glob or "").lower())]
    if nearly or not head:
        return nearly[:limit]
    starts: dict[str, list[str]] = {}
    for name in names:
        starts.setdefault(name[: len(head)], []).append(name)
    close = set(difflib.get_close_matches(head, list(starts), n=limit, cutoff=0.6))
    return [name for name in names if name[: len(head)] in close][:limit]  # in the file's order


def _picked_counts(result: CheckResult, binding: Binding) -> list[Diagnostic]:
    """A table that picks columns must pick as many as the input's last dimension (when a number)."""
    word = "array" if binding.source.format == "npz" else "column"
    diagnostics = []
    for b in binding.inputs.values():
        if b.picked is None or not b.columns:
            continue
        picked = f"the {word}s of {binding.source.path} that {b.picked.describe()} picks: {quoted(b.columns)}"
        problem = stacking_problem(b.name, len(b.columns), b.shape, picked)
        if problem is not None:
            message, hint = problem
            diagnostics.append(
                finding(result, (*b.path, "columns"), DATA_SHAPE, message, hint, at="value", node=b.name)
            )
    return diagnostics


# A header cell that is a number (data, not a name): 12, -0.5, 1e-3, .5
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _not_a_header(result: CheckResult, binding: Binding) -> list[Diagnostic]:
    """One finding when a CSV file's header is not a header and none of the bound columns is found.

    Its first line holds data (most cells are numbers: the file has no header
    line), or names joined by ';', tabs or '|' (the file is not comma-separated).
    Each bound column would otherwise be reported missing, with data values for names.
    """
    source = binding.source
    if source.format != "csv":
        return []
    names = list(source.columns)
    bound = [c for b in binding.inputs.values() for c in b.columns]
    bound += [b.column for b in binding.outputs.values()]
    if any(c in source.columns for c in bound) or any(
        b.picked and b.columns for b in binding.inputs.values()
    ):
        return []
    header = ",".join(names)
    shown = repr(header if len(header) <= 60 else header[:57] + "...")
    delimiter = delimiter_in_header(names)
    if delimiter is not None:
        message = (
            f"{source.path} is not comma-separated: its header line {shown} holds {delimiter!r} "
            "between names, so none of the columns the spec binds is found"
        )
        hint = DELIMITER_HINT
    elif names and sum(bool(_NUMBER.match(n)) for n in names) * 2 > len(names):
        message = (
            f"{source.path} has no header line: its first line {shown} holds numbers, not column names, "
            "so none of the columns the spec binds is found"
        )
        hint = "add a first line naming the columns, e.g. age,income,label: mspec binds columns by name"
    else:
        return []
    binding.missing = tuple(
        dict.fromkeys(bound + [b.picked.describe() for b in binding.inputs.values() if b.picked])
    )
    first = next(iter(binding.inputs.values()), None)
    return [finding(result, first.path if first else (), DATA_MISSING_COLUMN, message, hint)]


def _row_counts(result: CheckResult, binding: Binding) -> list[Diagnostic]:
    """NPZ arrays bound to the spec must all have the same number of rows."""
    source = binding.source
    if source.format != "npz":
        return []
    counts = {c: source.columns[c].rows for c in binding.columns}
    usual = Counter(n for n in counts.values() if n is not None).most_common(1)
    reference = usual[0][0] if usual else None
    diagnostics = []
    for column, rows in counts.items():
        if rows == reference:
            continue
        path, at, who = _owner(binding, column)
        if rows is None:
            message = f"{who}: array {column!r} of {source.path} is a single value, not one row per example"
            hint = "save one row per example, the rows along the first axis"
        else:
            message = (
                f"{who}: array {column!r} of {source.path} has {rows:,} rows, the other arrays {reference:,}"
            )
            hint = "every array needs one row per example, in the same order"
        diagnostics.append(finding(result, path, DATA_ROW_COUNTS, message, hint, at=at))
    return diagnostics


def _part_schemas(result: CheckResult, binding: Binding) -> list[Diagnostic]:
    """A data set of many files: a bound column that some files lack (MS501) or hold otherwise (MS506, MS505).

    Such a column is not read (it is added to `binding.missing`): one finding
    names the files at fault and a file that has the column as the data set does.
    """
    source = binding.source
    if not isinstance(source, ParquetDataset):
        return []
    diagnostics = []
    unusable = []
    for problem in source.schema_problems(binding.columns):
        path, at, who = _owner(binding, problem.column)
        files, count = quoted(problem.files, NAMED_FILES), len(problem.files)
        unusable.append(problem.column)
        if problem.found is None:
            message = (
                f"{who}: {count} of the {len(source.parts)} files of {source.path} "
                f"{'lack' if count > 1 else 'lacks'} column {problem.column!r}: {files}"
            )
            hint = (
                f"every file of a data set needs the columns the spec binds ({problem.reference} has it): "
                "add it to those files, or move them out of the data set"
            )
            rule = DATA_MISSING_COLUMN
        else:
            more = f" (and {count - 1} more file{'s' if count > 2 else ''}: {files})" if count > 1 else ""
            message = (
                f"{who}: column {problem.column!r} of {problem.files[0]} holds {problem.found}{more}, "
                f"but {problem.reference} of the same data set holds {problem.expected}"
            )
            hint = "every file of a data set needs the same kind of values in a column: write them alike"
            if problem.text_or_numbers:
                rule = DATA_KIND
            else:
                rule = DATA_LABELS if who.startswith("output") else DATA_SHAPE
        diagnostics.append(finding(result, path, rule, message, hint, at=at))
    binding.missing = tuple(dict.fromkeys([*binding.missing, *unusable]))
    return diagnostics


def _owner(binding: Binding, column: str) -> tuple[DataPath, str, str]:
    """The spec entry a column binds to: its path, where to point, and how to name it."""
    for b in binding.inputs.values():
        if column in b.columns:
            path, at = b.column_path(column)
            return path, at, f"input {b.name!r}"
    for b in binding.outputs.values():
        if b.column == column:
            path, at = b.column_path
            return path, at, f"output {b.name!r}"
    return (), "key", "the data"
