"""The spec `mspec init` writes, as tables in order, each with the comments that say why it is so.

One input per kind of column (every numeric column in one input; one input
per id, text or list column), one branch per input, a Concatenate of the
branches, a trunk of two Dense layers, and one output per target. Node names
are the columns' names where those are spec names, else made into one.
"""

from __future__ import annotations

import keyword
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics.rules import DATA_UNUSED_COLUMN
from .kinds import (
    BINARY,
    CLASSES,
    ID_SEQUENCE,
    IDS,
    LOOKUP_IDS,
    NUMBER_SEQUENCE,
    NUMERIC,
    STRINGS,
    Feature,
    LeftOut,
    Target,
    count,
    dense_width,
    embedding_width,
    number,
)

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Numeric columns named alike, at least this many, make an input of their own, picked by their prefix.
MIN_FAMILY = 3
# A numeric input's comment lists its columns one by one up to this many; more are summed up.
MAX_LISTED = 8
# The trunk's first layer: a power of two at least as wide as the features, within these bounds.
MIN_TRUNK, MAX_TRUNK = 16, 128
# [train]: a validation split (and early stopping watching it) needs this many rows at least.
MIN_ROWS_TO_VALIDATE = 10
VALIDATION_SPLIT = 0.2
EPOCHS = 20
PATIENCE = 3


@dataclass
class Table:
    """One table of the spec: its path (`("inputs", "age")`), its keys in order, and comments.

    `comments` are written above the table; `step_comments` after each step of
    its `layers` (one per step, "" for none).
    """

    path: tuple[str, ...]
    values: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    step_comments: list[str] = field(default_factory=list)


@dataclass
class Design:
    """The spec's tables in order, and the notes that head the file."""

    tables: list[Table]
    header: list[str]

    def document(self) -> dict[str, Any]:
        """The spec as nested dicts (what JSON holds)."""
        doc: dict[str, Any] = {}
        for table in self.tables:
            place = doc
            for part in table.path[:-1]:
                place = place.setdefault(part, {})
            place[table.path[-1]] = table.values
        return doc


class Names:
    """Spec names for nodes: unique, valid, and the column's own name when it is one."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", wanted).strip("_") or "column"
        if not base[0].isalpha():
            base = "c_" + base
        if keyword.iskeyword(base):
            base += "_"
        name, n = base, 2
        while name.lower() in self.taken:  # names differing in case only would confuse file names
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name.lower())
        return name


def model_name(data: str) -> str:
    """The model's name from the data's path: `churn.parquet` -> churn, `parts/*.parquet` -> parts."""
    text = os.fspath(data).rstrip("/\\")
    if any(c in text for c in "*?["):
        text = os.path.dirname(re.split(r"[*?\[]", text, maxsplit=1)[0].rstrip("/\\") + "/x")
    stem = os.path.splitext(os.path.basename(text))[0] or "model"
    return Names().claim(stem)


def design(
    name: str,
    source_columns: list[str],
    rows: int,
    features: list[Feature],
    targets: list[Target],
    left_out: list[LeftOut],
    header: list[str],
) -> Design:
    """The spec for these columns (in the file's order) and targets."""
    names = Names()
    outputs = {target.column: names.claim(target.column) for target in targets}
    tables: list[Table] = [Table(("model",), {"name": name, "description": _description(targets)})]
    numeric = [f for f in features if f.kind == NUMERIC]
    others = [f for f in features if f.kind != NUMERIC]
    # Every input's name first, then the names made from them: a column keeps its own name if it can.
    own = {f.column: names.claim(f.column) for f in others}
    named = {t.column for t in targets} | set(own)
    groups = numeric_groups(numeric, source_columns, named)
    order = {column: i for i, column in enumerate(source_columns)}
    inputs: list[tuple[int, list[Table]]] = []
    for prefix, group in groups:
        stem = prefix.rstrip("_-. ") if prefix else ""
        input_name = names.claim(stem if len(stem) > 1 else "numeric")
        inputs.append((order[group[0].column], _numeric_input(group, input_name, prefix, names)))
    for feature in others:
        inputs.append((order[feature.column], _one_column_input(feature, own[feature.column], names)))
    inputs.sort(key=lambda item: item[0])
    branches = [tables_ for _, tables_ in inputs]
    input_tables = [t for pair in branches for t in pair if t.path[0] == "inputs"]
    branch_tables = [t for pair in branches for t in pair if t.path[0] == "branches"]
    tables += input_tables + branch_tables
    widths = {t.path[1]: t.values.pop("_width") for t in branch_tables}
    merged = branch_tables[0].path[1]
    if len(branch_tables) > 1:
        merged = names.claim("features")
        low, high = min(widths.values()), max(widths.values())
        tables.append(
            Table(
                ("merges", merged),
                {"type": "Concatenate", "from": list(widths)},
                [
                    f"{count(len(widths), 'branch')}, {low} to {high} wide: none more than "
                    f"{high // low} times wider than another, so that none overwhelms the others"
                ],
            )
        )
    total = sum(widths.values())
    first = min(MAX_TRUNK, max(MIN_TRUNK, 2 ** math.ceil(math.log2(total))))
    trunk = names.claim("trunk")
    tables.append(
        Table(
            ("branches", trunk),
            {
                "from": merged,
                "layers": [
                    {"type": "Dense", "units": first, "activation": "relu"},
                    {"type": "Dense", "units": first // 2, "activation": "relu"},
                ],
            },
            [
                f"The trunk: {total} features in; {first} units (a power of two at least that, from "
                f"{MIN_TRUNK} to {MAX_TRUNK}), then half as many"
            ],
        )
    )
    several = len(targets) > 1
    tables += [_output(target, outputs[target.column], trunk, several) for target in targets]
    tables.append(Table(("compile",), {"optimizer": "adam"}))
    tables.append(_train(rows))
    if left_out:
        tables.append(
            Table(
                ("lint",),
                {"ignore": [DATA_UNUSED_COLUMN.code]},
                [
                    f"{count(len(left_out), 'column')} of the data left out on purpose (listed at the top): "
                    "not reported as unbound (MS502)"
                ],
            )
        )
    return Design(tables, header)


def _description(targets: list[Target]) -> str:
    names = ", ".join(t.column for t in targets)
    return f"Predicts {names} from the other columns of the data (written by mspec init)."


def _numeric_input(features: list[Feature], input_name: str, prefix: str | None, names: Names) -> list[Table]:
    columns = [f.column for f in features]
    if prefix:
        binding: Any = {"prefix": prefix}
        how = f"picked by the prefix {prefix!r} they share"
    else:
        binding = columns
        how = "listed"
    comments = [f"{count(len(columns), 'numeric column')}, {how}:"]
    if len(features) <= MAX_LISTED:
        comments += [f"  {f.column}: {f.reason}" for f in features]
    else:
        comments.append(f"  {columns[0]} .. {columns[-1]}: {_summary(features)}")
    comments.append("Normalization: adapted to the training data by `mspec fit`")
    width, why = dense_width(len(columns))
    branch = names.claim(f"{input_name}_features")
    return [
        Table(
            ("inputs", input_name),
            {"shape": [len(columns)], "kind": "numeric", "columns": binding},
            comments,
        ),
        Table(
            ("branches", branch),
            {
                "from": input_name,
                "layers": [
                    {"type": "Normalization"},
                    {"type": "Dense", "units": width, "activation": "relu"},
                ],
                "_width": width,
            },
            step_comments=["", why],
        ),
    ]


def numeric_groups(
    numeric: list[Feature], source_columns: list[str], named: set[str]
) -> list[tuple[str | None, list[Feature]]]:
    """The numeric inputs: each family of columns named alike (`usage_0` .. `usage_39`) picked by its prefix,
    and the rest in one input (picked by a prefix they all share, or listed).

    A family is MIN_FAMILY columns or more whose names are equal up to their last separator (`_`, `-`,
    `.`) or their trailing digits, and whose prefix picks exactly them among the columns that no other
    entry names; a family whose prefix would pick more joins the rest.
    """
    families: dict[str, list[Feature]] = {}
    for feature in numeric:
        families.setdefault(_stem(feature.column), []).append(feature)
    candidates = {stem: group for stem, group in families.items() if stem and len(group) >= MIN_FAMILY}
    rest = [f for f in numeric if _stem(f.column) not in candidates]
    chosen: list[tuple[str | None, list[Feature]]] = []
    for stem, group in candidates.items():
        others = named | {f.column for f in rest}
        picked = [c for c in source_columns if c not in others and c.startswith(stem)]
        if picked == [f.column for f in group]:
            chosen.append((stem, group))
        else:
            rest = sorted([*rest, *group], key=numeric.index)
    if rest:
        picked_by = {c for _, group in chosen for c in (f.column for f in group)}
        prefix = shared_prefix([f.column for f in rest], source_columns, named | picked_by)
        chosen.append((prefix, rest))
    return sorted(chosen, key=lambda item: numeric.index(item[1][0]))


def _stem(name: str) -> str:
    """A name up to its last separator (`usage_12`: `usage_`), else without trailing digits (`px12`: `px`)."""
    cut = max(name.rfind(sep) for sep in "_-.")
    if 0 < cut < len(name) - 1:
        return name[: cut + 1]
    bare = name.rstrip("0123456789")
    return bare if bare != name else ""


def _summary(features: list[Feature]) -> str:
    """What a family of numeric columns holds, said once."""
    profiles = [f.profile for f in features]
    low = min(p.low for p in profiles if p.low is not None)
    high = max(p.high for p in profiles if p.high is not None)
    kind = "whole numbers" if all(p.whole for p in profiles) else "numbers"
    return f"{kind} from {number(low)} to {number(high)}"


def shared_prefix(columns: list[str], source_columns: list[str], named: set[str]) -> str | None:
    """A prefix that picks exactly `columns` among the file's columns no other entry names, if any.

    Only for two columns or more, and a prefix of two characters or more.
    """
    if len(columns) < 2:
        return None
    prefix = columns[0]
    for column in columns[1:]:
        while not column.startswith(prefix):
            prefix = prefix[:-1]
    if len(prefix) < 2:
        return None
    picked = [c for c in source_columns if c not in named and c.startswith(prefix)]
    return prefix if picked == columns else None


def _one_column_input(feature: Feature, input_name: str, names: Names) -> list[Table]:
    values: dict[str, Any] = {}
    p = feature.profile
    if feature.kind in (IDS, LOOKUP_IDS):
        values = {"shape": [1], "dtype": _int_dtype(feature.largest), "kind": "categorical"}
    elif feature.kind == STRINGS:
        values = {"shape": [1], "dtype": "string", "kind": "categorical"}
    elif feature.kind == ID_SEQUENCE:
        values = {"shape": [p.max_length], "dtype": _int_dtype(feature.largest), "kind": "sequence"}
    elif feature.kind == NUMBER_SEQUENCE:
        values = {"shape": [p.max_length], "kind": "sequence"}
    if input_name != feature.column:
        # A column whose name is not a spec name is bound by `columns` (a list column cannot be).
        values["columns"] = [feature.column]
    layers, step_comments, width = _branch_layers(feature)
    branch = names.claim(f"{input_name}_features")
    return [
        Table(("inputs", input_name), values, [f"{feature.column}: {feature.reason}"]),
        Table(
            ("branches", branch),
            {"from": input_name, "layers": layers, "_width": width},
            step_comments=step_comments,
        ),
    ]


def _int_dtype(largest: int) -> str:
    return "int32" if largest < 2**31 else "int64"


def _branch_layers(feature: Feature) -> tuple[list[dict[str, Any]], list[str], int]:
    """The steps reading one column, a comment per step, and the width of what they make."""
    p = feature.profile
    if feature.kind == IDS:
        rows = feature.largest + 1
        width, why = embedding_width(feature.distinct)
        return (
            [{"type": "Embedding", "input_dim": rows, "output_dim": width}, {"type": "Flatten"}],
            [f"{why}; input_dim {rows:,}: ids 0 to {rows - 1:,}", ""],
            width,
        )
    if feature.kind in (LOOKUP_IDS, STRINGS):
        lookup = "IntegerLookup" if feature.kind == LOOKUP_IDS else "StringLookup"
        rows = feature.distinct + 1  # one row per value seen, and one for values never seen
        width, why = embedding_width(feature.distinct)
        return (
            [
                {"type": lookup, "max_tokens": rows},
                {"type": "Embedding", "input_dim": rows, "output_dim": width},
                {"type": "Flatten"},
            ],
            [
                f"vocabulary adapted by `mspec fit`: {feature.distinct:,} values and 1 for those never seen",
                why,
                "",
            ],
            width,
        )
    if feature.kind == ID_SEQUENCE:
        rows = feature.largest + 1
        width, why = embedding_width(feature.distinct)
        mask = p.low == 0 and not p.zero_rows
        step: dict[str, Any] = {"type": "Embedding", "input_dim": rows, "output_dim": width}
        if mask:
            step["mask_zero"] = True
        padding = "; 0 is padding, masked out" if mask else ""
        return (
            [step, {"type": "GlobalAveragePooling1D"}],
            [f"{why}; input_dim {rows:,}: ids 0 to {rows - 1:,}{padding}", "the average over the list"],
            width,
        )
    assert feature.kind == NUMBER_SEQUENCE, feature.kind
    width, why = dense_width(p.max_length or 1)
    return (
        [{"type": "Normalization"}, {"type": "Dense", "units": width, "activation": "relu"}],
        ["adapted to the training data by `mspec fit`", why],
        width,
    )


def _output(target: Target, name: str, trunk: str, several: bool) -> Table:
    values: dict[str, Any] = {"from": trunk}
    comments = []
    if target.task == BINARY:
        head = {"type": "Dense", "units": 1, "activation": "sigmoid"}
        values.update(layers=[head], loss="binary_crossentropy", metrics=["accuracy", "auc"])
        how = "one sigmoid unit (the probability of 1), binary cross-entropy"
    elif target.task == CLASSES:
        head = {"type": "Dense", "units": target.units, "activation": "softmax"}
        values.update(layers=[head], loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        how = f"a softmax over {target.units} units (one per class), sparse categorical cross-entropy"
    else:
        head = {"type": "Dense", "units": 1}
        values.update(layers=[head], loss="mse", metrics=["mae"])
        how = "one linear unit, mean squared error"
        if several and target.variance:
            # Mean squared error grows with the square of the labels' scale: unweighted, an output
            # whose labels run in the thousands would drown the others' losses.
            weight = float(f"{1 / target.variance:.2g}")
            values["loss_weight"] = weight
            comments.append(
                f"loss_weight {weight:g}: 1 / the labels' variance ({target.variance:,.4g}), so that this "
                "loss starts near 1 beside the other outputs'"
            )
    if name != target.column:
        values["column"] = target.column
    return Table(("outputs", name), values, [f"{target.column}: {target.reason}; {how}", *comments])


def _train(rows: int) -> Table:
    values: dict[str, Any] = {"epochs": EPOCHS, "batch_size": 64 if rows < 100_000 else 256}
    comments = []
    if rows >= MIN_ROWS_TO_VALIDATE:
        values["validation_split"] = VALIDATION_SPLIT
        comments.append(
            f"Validation on the last {VALIDATION_SPLIT:.0%} of the rows, as Keras takes them (shuffle the "
            "file first if it is sorted); early stopping restores the weights of the best epoch"
        )
    else:
        comments.append(f"No validation: fewer than {MIN_ROWS_TO_VALIDATE} rows")
    values["seed"] = 0
    if rows >= MIN_ROWS_TO_VALIDATE:
        values["early_stopping"] = {"monitor": "val_loss", "patience": PATIENCE}
    return Table(("train",), values, comments)
