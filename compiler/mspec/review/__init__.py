"""`mspec diff`: what a change to a spec does to the model, for code review.

    sides.py    reading OLD and NEW: a spec, REV:PATH from git, a saved Keras model, /dev/null
    model.py    one side as plain data: nodes, entries, effective parameters, shapes, weights
    values.py   parameter values as Keras sees them (defaults filled in, spellings made one)
    diff.py     matching the two sides (by name, then by structure) and what changed
    report.py   the diff as text, Markdown, JSON, and the marks a diagram draws
    (the `mspec diff` command, git's diff driver convention included, is in mspec.cli.review)

Nothing here imports a framework: a saved model is read as data by the importer.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .diff import Change, Consequence, ModelDiff, diff_views
from .sides import Side, SideUnreadable, read_side

if TYPE_CHECKING:
    from ..frontend import CheckResult


def diff_sides(old: Side, new: Side) -> ModelDiff:
    """The diff of two sides already read."""
    result = diff_views(old.view, new.view)
    result.old_result, result.new_result = old.result, new.result
    return result


def diff_models(old: str | os.PathLike | CheckResult, new: str | os.PathLike | CheckResult) -> ModelDiff:
    """Compare two models: spec paths, REV:PATH, .keras files, /dev/null or CheckResults.

    Raises SideUnreadable when a side cannot be read at all; a spec with errors is compared
    as far as its checks got, its errors in `.new.errors` and `.old.errors`.
    """
    return diff_sides(read_side(old), read_side(new))


__all__ = [
    "Change",
    "Consequence",
    "ModelDiff",
    "Side",
    "SideUnreadable",
    "diff_models",
    "diff_sides",
    "diff_views",
    "read_side",
]
