"""The rules of `mspec init`: which use each column gets, measured over the whole file, and why.

A feature column (anything but a target) becomes one of:

- numeric: numbers, one per row (booleans included), all gathered into one
  numeric input through an adapted Normalization;
- ids: whole numbers from 0, one per row, through an Embedding, when the
  column's name ends in the word id, code, key or idx (`region_id`,
  `storeId`), or when its values are small codes (3 or more distinct values,
  all from 0 to SMALL_CODES - 1: hours, weekdays, ratings). Ids spread thin
  over their range (fewer than half of 0..largest used) go through an
  IntegerLookup first, so that the Embedding holds one row per id seen;
- strings: short text with repeated values (categories), through a
  StringLookup and an Embedding;
- an id sequence: a list of whole numbers from 0 per row, all lists of one
  length (an integer list type), through an Embedding and an average over
  the list (0 read as padding when no row is all zeros);
- a number sequence: a list of numbers per row, all of one length, through an
  adapted Normalization and a Dense layer.

A column is left out, with its reason, when it is constant, has missing
values (null, NaN) or infinities, holds dates or times, lists of several
lengths, lists of lists or of text, or other types; when a whole-number
column named as an id, or a text column, has a distinct value in every row
(an identifier), or a whole-number column counts the rows (a row number);
when a text column is free text: more than FREE_TEXT_WORDS words or
FREE_TEXT_CHARS characters per value on average, or more distinct values
than NEARLY_UNIQUE of the rows.

A target becomes an output: binary (labels 0 and 1: a sigmoid unit, binary
cross-entropy), classes (whole numbers from 0 with at most MAX_CLASSES
distinct values, the largest below CLASS_LIMIT: a softmax over largest + 1
units, sparse categorical cross-entropy), or regression (any other numbers:
one linear unit, mean squared error). A target that is text, lists, has
missing values or one value only cannot be learnt as it is: InitError.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .profile import DATE, DISTINCT_CAP, LIST, NESTED, OTHER, SCALAR, TEXT, ColumnProfile

# Whole numbers all in 0..SMALL_CODES - 1 (and at least 3 distinct) are codes, not quantities.
SMALL_CODES = 32
# A name whose last word is one of these names ids.
ID_WORDS = frozenset({"id", "code", "key", "idx"})
# Text averaging more words or characters per value than these is free text.
FREE_TEXT_WORDS = 4.0
FREE_TEXT_CHARS = 40.0
# Text with more distinct values than this share of the rows is free text or an identifier.
NEARLY_UNIQUE = 0.5
# Text values of which at least this share read as dates are dates.
DATE_SHARE = 0.9
# Ids used over less than this share of 0..largest are looked up (IntegerLookup) first.
DENSE_IDS = 0.5
# An Embedding of more rows than this is not written: the ids need remapping.
MAX_EMBEDDING_ROWS = 1_000_000
# Targets: whole numbers from 0 with at most MAX_CLASSES distinct values, all below CLASS_LIMIT, are classes.
MAX_CLASSES = 20
CLASS_LIMIT = 50
# Embedding widths: the power of two nearest distinct ** EMBEDDING_POWER, within these bounds.
EMBEDDING_POWER = 0.4
MIN_EMBEDDING, MAX_EMBEDDING = 4, 32
# Dense widths for numbers: a power of two at least twice the values per row, within these bounds.
MIN_DENSE, MAX_DENSE = 8, 64
# The bounds keep every branch within MAX_DENSE / MIN_EMBEDDING = 16 times the width of another:
# below the factor from which lint warns of a concatenate imbalance (MS712).

NUMERIC, IDS, LOOKUP_IDS, STRINGS, ID_SEQUENCE, NUMBER_SEQUENCE = (
    "numeric",
    "ids",
    "lookup ids",
    "strings",
    "id sequence",
    "number sequence",
)
BINARY, CLASSES, REGRESSION = "binary", "classes", "regression"


class InitError(Exception):
    """The data cannot give a spec as asked (a missing target, a target with one value, no rows).

    The message says what is wrong and, where it can, what to do.
    """


@dataclass(frozen=True)
class Feature:
    """A column the spec reads, how, and why (`reason`, written as a comment)."""

    column: str
    kind: str
    reason: str
    profile: ColumnProfile

    @property
    def distinct(self) -> int:
        return self.profile.distinct or 0

    @property
    def largest(self) -> int:
        return int(self.profile.high or 0)


@dataclass(frozen=True)
class LeftOut:
    """A column the spec does not read, and why."""

    column: str
    reason: str


@dataclass(frozen=True)
class Target:
    """A target column, the output it gets and why."""

    column: str
    task: str  # BINARY, CLASSES or REGRESSION
    units: int
    reason: str
    variance: float | None = None  # regression: the labels' variance


def name_words(name: str) -> list[str]:
    """A column name's words: `customer_id` and `customerId` both end in the word id."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def named_as_id(name: str) -> bool:
    words = name_words(name)
    return bool(words) and words[-1] in ID_WORDS


def count(n: int | float, word: str) -> str:
    """`1 value`, `1,240 values`, `2 branches`."""
    if n == 1:
        return f"{n:,} {word}"
    return f"{n:,} {word}es" if word.endswith(("ch", "sh", "s", "x")) else f"{n:,} {word}s"


def number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"


def classify_feature(p: ColumnProfile) -> Feature | LeftOut:
    """The use a column other than a target gets (see the module's rules)."""
    unusable = _unusable(p)
    if unusable is not None:
        return LeftOut(p.name, unusable)
    if p.shape == LIST:
        return _list_column(p)
    if p.values == TEXT:
        return _text_column(p)
    return _number_column(p)


def _unusable(p: ColumnProfile) -> str | None:
    """Why a column cannot be read as it is, whatever it holds; None when it can."""
    if p.values == DATE:
        return (
            "dates or times: write the parts that matter (weekday, month, days since) as columns of numbers"
        )
    if p.values == OTHER:
        return f"holds {p.type} values, which no layer reads as they are"
    if p.shape == NESTED:
        return "lists of lists (or arrays of rank 3 and more): write one list of values per row"
    if not p.present:
        return "holds no values: every row is missing"
    if p.missing:
        return (
            f"{count(p.missing, 'row')} of {p.rows:,} missing (null or NaN): fill them in, or drop those rows"
        )
    if p.infinite:
        return f"{count(p.infinite, 'row')} holding an infinite value: clip or drop them"
    if p.values == TEXT and p.present and p.dates >= DATE_SHARE * _values(p):
        return "dates or times (as text): write the parts that matter (weekday, month, days since) as numbers"
    if p.distinct == 1 or (p.values != TEXT and p.low is not None and p.low == p.high):
        only = "the same text" if p.values == TEXT else f"the value {number(p.low)}"
        return f"constant: {only} in every row carries nothing to learn from"
    return None


def _values(p: ColumnProfile) -> int:
    """Scalars held: one per row, or one per item of the rows' lists."""
    return p.present * (p.max_length or 1) if p.shape == LIST else p.present


def _list_column(p: ColumnProfile) -> Feature | LeftOut:
    low, high = p.min_length or 0, p.max_length or 0
    if low != high:
        return LeftOut(p.name, f"lists of {low:,} to {high:,} values: pad them to one length")
    if high == 0:
        return LeftOut(p.name, "empty lists")
    if p.values == TEXT:
        return LeftOut(p.name, "lists of text: map the words to whole-number ids in the data")
    if p.integer_type and p.whole and (p.low or 0) >= 0:
        if p.high is not None and p.high + 1 > MAX_EMBEDDING_ROWS:
            return LeftOut(p.name, f"ids up to {number(p.high)}: remap them to 0..distinct ids - 1")
        padding = " (0 pads)" if p.low == 0 and not p.zero_rows else ""
        return Feature(
            p.name,
            ID_SEQUENCE,
            f"lists of {high:,} whole numbers from {number(p.low)} to {number(p.high)}{padding}: "
            "ids (an integer list type)",
            p,
        )
    return Feature(
        p.name, NUMBER_SEQUENCE, f"lists of {high:,} numbers from {number(p.low)} to {number(p.high)}", p
    )


def _text_column(p: ColumnProfile) -> Feature | LeftOut:
    values = max(p.present, 1)
    words, chars = p.words / values, p.chars / values
    if words > FREE_TEXT_WORDS or chars > FREE_TEXT_CHARS:
        return LeftOut(
            p.name,
            f"free text: {words:.1f} words and {chars:.0f} characters per value on average "
            f"(more than {FREE_TEXT_WORDS:g} words or {FREE_TEXT_CHARS:g} characters)",
        )
    if p.distinct is not None and p.distinct == p.rows and p.rows > 1:
        return LeftOut(p.name, "unique per row: an identifier, not a category")
    if p.distinct is None or p.distinct > NEARLY_UNIQUE * p.rows:
        distinct = f"more than {DISTINCT_CAP:,}" if p.distinct is None else f"{p.distinct:,}"
        return LeftOut(
            p.name,
            f"{distinct} distinct values in {p.rows:,} rows (more than {NEARLY_UNIQUE:.0%}): "
            "an identifier or free text, not categories",
        )
    return Feature(
        p.name,
        STRINGS,
        f"text, {count(p.distinct, 'distinct value')}, {count(round(chars), 'character')} long on average",
        p,
    )


def _number_column(p: ColumnProfile) -> Feature | LeftOut:
    # CSV has no integer type: whole numbers there may be ids too.
    whole = p.whole and (p.integer_type or p.type == "csv") and p.low is not None and p.low >= 0
    distinct = p.distinct
    span = f"whole numbers from {number(p.low)} to {number(p.high)}"
    if whole and named_as_id(p.name):
        if distinct is None:
            return LeftOut(
                p.name, f"more than {DISTINCT_CAP:,} distinct ids: too many to learn an embedding of each"
            )
        if distinct == p.rows and p.rows > 1:
            return LeftOut(p.name, "unique per row: an identifier, not a feature")
        largest = int(p.high or 0)
        if distinct >= DENSE_IDS * (largest + 1):
            if largest + 1 > MAX_EMBEDDING_ROWS:
                return LeftOut(p.name, f"ids up to {largest:,}: remap them to 0..distinct ids - 1")
            why = (
                f"{span}, {count(distinct, 'distinct id')}: ids (its name ends in {name_words(p.name)[-1]!r})"
            )
            return Feature(p.name, IDS, why, p)
        why = (
            f"{span}, {count(distinct, 'distinct id')} spread over {largest + 1:,} possible: ids "
            f"(its name ends in {name_words(p.name)[-1]!r}), looked up so that the embedding holds only "
            "those seen"
        )
        return Feature(p.name, LOOKUP_IDS, why, p)
    if (
        whole
        and distinct is not None
        and distinct == p.rows > 2
        and (p.high or 0) - (p.low or 0) + 1 == p.rows
    ):
        return LeftOut(p.name, f"{span}, one per row: a row number")
    if whole and distinct is not None and distinct >= 3 and (p.high or 0) < SMALL_CODES:
        why = (
            f"{span}, {count(distinct, 'distinct value')}: small codes (all below {SMALL_CODES}), read as ids"
        )
        return Feature(p.name, IDS, why, p)
    if p.integer_type and p.low is not None and p.high is not None and p.high - p.low <= 1:
        return Feature(p.name, NUMERIC, f"a flag ({number(p.low)} or {number(p.high)})", p)
    kind = "whole numbers" if p.whole else "numbers"
    return Feature(p.name, NUMERIC, f"{kind} from {number(p.low)} to {number(p.high)}", p)


def classify_target(p: ColumnProfile) -> Target:
    """The output a target column calls for; InitError when it cannot be learnt as it is."""
    where = f"target {p.name!r}"
    if p.shape != SCALAR:
        raise InitError(f"{where} holds lists: mspec init makes one output per column of single values")
    if p.values == TEXT:
        raise InitError(
            f"{where} holds text: write its classes as whole numbers 0, 1, 2 ... (binary: 0 and 1), "
            "which is what a classifier's loss takes"
        )
    if p.values in (DATE, OTHER):
        raise InitError(f"{where} holds {p.type} values: a target is a column of numbers")
    if not p.present:
        raise InitError(f"{where} holds no values: every row is missing")
    if p.missing or p.infinite:
        bad = p.missing + p.infinite
        raise InitError(
            f"{where}: {count(bad, 'row')} of {p.rows:,} without a usable label (null, NaN or infinite): "
            "drop those rows, or fill the labels in"
        )
    if p.low == p.high:
        raise InitError(f"{where} holds one value ({number(p.low)}) in every row: there is nothing to learn")
    whole = p.whole and p.low is not None and p.low >= 0 and p.distinct is not None
    if whole and p.distinct == 2 and p.low == 0 and p.high == 1:
        return Target(p.name, BINARY, 1, "binary: labels 0 and 1")
    if whole and p.distinct <= MAX_CLASSES and (p.high or 0) < CLASS_LIMIT:
        units = int(p.high or 0) + 1
        unused = units - p.distinct
        note = f" ({count(unused, 'class')} of 0..{units - 1} never seen)" if unused else ""
        return Target(
            p.name,
            CLASSES,
            units,
            f"{units} classes: {count(p.distinct, 'distinct label')}, whole numbers from "
            f"{number(p.low)} to {number(p.high)}{note}",
        )
    kind = "whole numbers" if p.whole else "numbers"
    return Target(
        p.name, REGRESSION, 1, f"regression: {kind} from {number(p.low)} to {number(p.high)}", p.variance
    )


def embedding_width(distinct: int) -> tuple[int, str]:
    """An Embedding's output_dim for `distinct` ids, and the rule as said in a comment."""
    exact = max(distinct, 2) ** EMBEDDING_POWER
    width = min(MAX_EMBEDDING, max(MIN_EMBEDDING, 2 ** round(math.log2(exact))))
    why = (
        f"embedding {width}: {count(distinct, 'distinct id')} (the power of two nearest "
        f"{distinct:,}^{EMBEDDING_POWER} = {exact:.1f}, from {MIN_EMBEDDING} to {MAX_EMBEDDING})"
    )
    return width, why


def dense_width(values: int) -> tuple[int, str]:
    """The units of the Dense layer reading `values` numbers per row, and the rule as said in a comment."""
    width = min(MAX_DENSE, max(MIN_DENSE, 2 ** math.ceil(math.log2(2 * values))))
    why = (
        f"dense {width}: {count(values, 'number')} per row (a power of two at least twice that, "
        f"from {MIN_DENSE} to {MAX_DENSE})"
    )
    return width, why
