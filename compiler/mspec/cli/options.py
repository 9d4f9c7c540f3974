"""The options that fit, compare and tune share: one declaration each (name, type, default).

Each command words the help for its own case (fit's --epochs overrides the
spec's, tune's every trial's), so the help text is the one argument (`text`).
"""

from __future__ import annotations

from typing import Any

import click


def data_option(text: str) -> Any:
    """--data: the training data (a file, a directory or a glob of Parquet files), required."""
    return click.option("--data", required=True, type=click.Path(), help=text)


def validation_option(text: str) -> Any:
    """--validation: validation data in the same form as --data."""
    return click.option("--validation", type=click.Path(), help=text)


def output_dir_option(text: str) -> Any:
    """-o/--output-dir: the folder the run writes to (default build)."""
    return click.option(
        "-o", "--output-dir", default="build", show_default=True, type=click.Path(file_okay=False), help=text
    )


def epochs_option(text: str) -> Any:
    """--epochs: overrides [train] epochs."""
    return click.option("--epochs", type=click.IntRange(min=1), help=text)


def batch_size_option(text: str) -> Any:
    """--batch-size: overrides [train] batch_size."""
    return click.option("--batch-size", type=click.IntRange(min=1), help=text)


def seed_option(text: str, **default: Any) -> Any:
    """--seed: the seed of the fits; `default` gives compare's default and shows it."""
    return click.option("--seed", type=click.IntRange(min=0), help=text, **default)
