"""`mspec init`: the command line over `mspec.scaffold.runner.init_spec`.

Imports neither numpy nor pyarrow until the command runs (the core install has neither).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics.report import EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK
from ..scaffold.kinds import (
    CLASS_LIMIT,
    DATE_SHARE,
    FREE_TEXT_CHARS,
    FREE_TEXT_WORDS,
    MAX_CLASSES,
    MAX_EMBEDDING,
    MIN_EMBEDDING,
    NEARLY_UNIQUE,
    SMALL_CODES,
    InitError,
)
from .guard import install_hint, run_guarded, stop

INIT_EXTRA = install_hint("data")


def _require_data_extra() -> None:
    """Stop in one line when numpy or pyarrow is missing (the core install has neither)."""
    import importlib.util

    for module in ("numpy", "pyarrow"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # a module set to None in sys.modules
            found = False
        if not found:
            stop(
                f"not written: reading the data needs {module}, which is not installed; {INIT_EXTRA}",
                EXIT_CANNOT_RUN,
            )


@click.command(
    epilog=f"""\b
How each column is read (measured over every row of the file):
  numeric        numbers, one per row (booleans too): each family of 3 or more
                 columns named alike (usage_0 .. usage_39) in an input of its
                 own, picked by their prefix; the rest in one input, listed; an
                 adapted Normalization, then a Dense layer
  ids            whole numbers from 0 whose column name ends in the word id,
                 code, key or idx (region_id, storeId), or small codes (3 or
                 more values, all below {SMALL_CODES}): an Embedding of
                 largest + 1 rows (an IntegerLookup first when fewer than half
                 of 0..largest occur), width the power of two nearest
                 distinct^0.4, {MIN_EMBEDDING} to {MAX_EMBEDDING}
  categories     text of at most {FREE_TEXT_WORDS:g} words and {FREE_TEXT_CHARS:g} characters per value on
                 average, with at most {NEARLY_UNIQUE:.0%} of the rows distinct: a StringLookup
                 (adapted by fit) and an Embedding
  sequences      lists of one length: of an integer type, ids through an
                 Embedding (0 masked as padding) and an average; else numbers
                 through a Normalization and a Dense layer
\b
Left out, each with a warning and a comment saying why: constant columns;
missing values (null, NaN) or infinities; dates and times (or text of which
{DATE_SHARE:.0%} reads as dates); free text; text or id-named whole numbers
distinct in every row (identifiers); whole numbers counting the rows (row
numbers); lists of several lengths, of text, or of lists; --exclude columns.
\b
Targets: labels 0 and 1 are binary (sigmoid, binary cross-entropy); whole
numbers from 0 with at most {MAX_CLASSES} distinct values, all below {CLASS_LIMIT}, are
classes (softmax over largest + 1 units, sparse categorical cross-entropy);
other numbers are regression (one linear unit, mean squared error). A text
target, or one with missing labels or a single value, is refused.
\b
Exit status: 0 written; 1 a target or --exclude column the file lacks, a
target that cannot be learnt, no rows, an existing spec without --force
(nothing written); 2 could not run (unreadable file, numpy or pyarrow missing).""",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(),
    help="The data: .parquet, .csv or .npz, or a directory or quoted glob of Parquet files. Read once "
    "through, a chunk of rows at a time.",
)
@click.option(
    "--target",
    "targets",
    required=True,
    multiple=True,
    metavar="COL",
    help="A column to predict: one output each (repeatable).",
)
@click.option(
    "--exclude",
    "excluded",
    multiple=True,
    metavar="COL",
    help="A column not to read (repeatable; or COL,COL).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the spec; - prints it. Default: <name>.toml (or .json) in the current folder, "
    "the name being the data file's (churn.parquet: churn.toml; a folder or glob: the folder's).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "json"]),
    default="toml",
    show_default=True,
    help="TOML carries a comment for every choice; JSON cannot.",
)
@click.option("--name", help="The model's name (default: the data file's name).")
@click.option("--force", is_flag=True, help="Replace the spec if it exists already.")
def init(
    data: str,
    targets: tuple[str, ...],
    excluded: tuple[str, ...],
    output: str | None,
    fmt: str,
    name: str | None,
    force: bool,
) -> None:
    """Write a first spec for a data file: one input per kind of column, one output per --target.

    Every choice (which columns, how each is read, the widths, the losses)
    is said in a comment of the spec written, and the spec is checked by
    mspec before it is written: it lints without a finding, binds to the
    data file, and trains with `mspec fit` as written. Columns that cannot
    be read as they are are left out, each with a warning saying why.
    """
    from ..scaffold.design import model_name
    from ..scaffold.kinds import count
    from ..scaffold.runner import init_spec

    _require_data_extra()
    exclude = tuple(c.strip() for item in excluded for c in item.split(",") if c.strip())
    printing = output == "-"
    if output is None:
        output = f"{name or model_name(data)}.{fmt}"
    target = None if printing else Path(output)
    if target is not None and target.exists() and not force:
        stop(f"not written: {target} exists: give --force to replace it", EXIT_ERRORS)
    result = run_guarded(
        lambda: init_spec(data, targets, exclude=exclude, fmt=fmt, name=name, output=target, force=force),
        outcome="not written",
        where="the spec written",
        extra_hint=INIT_EXTRA,
        usage_errors=(InitError,),
    )
    for finding in result.findings:
        click.echo(f"mspec: {finding.format()}", err=True)
    if result.diagnostics:
        for diagnostic in result.diagnostics:
            click.echo(diagnostic.format(), err=True)
        stop(
            f"not written: the spec has {count(len(result.diagnostics), 'finding')} of mspec's own checks "
            "(a fault of mspec init: please report it with the data's schema)",
            EXIT_ERRORS,
        )
    if printing:
        click.echo(result.text, nl=False)
    else:
        click.echo(
            f"wrote {result.path}: {count(len(result.inputs), 'input')} ({', '.join(result.inputs)}), "
            f"{count(len(result.outputs), 'output')} ({', '.join(result.outputs)}) from "
            f"{count(result.rows, 'row')}; "
            f"next: mspec lint {result.path} --data {data}",
            err=True,
        )
    sys.exit(EXIT_OK)
