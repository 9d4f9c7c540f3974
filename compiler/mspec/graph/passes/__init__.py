"""Checks over a ModelGraph, each a function `ModelGraph -> list[Diagnostic]`, in run order.

Adding a check means a module here and its place in PASSES, its rules in the
catalogue (`diagnostics/rules.py`, from which docs/diagnostics.md is
generated) and its cases under tests/. Later passes may rely on what earlier ones established (the
shape pass fills `Node.shape` and `Node.param_count`; the budget pass reads them; the
dtype pass fills `Node.dtype` where shapes are known).
"""

from .budget import check_budget
from .cycles import check_cycles
from .dtypes import infer_dtypes
from .hazards import build_warnings, check_hazards
from .masks import check_masks
from .portability import check_portability
from .references import check_references
from .shapes import infer_shapes
from .training import check_training_settings
from .usage import check_usage

# Usage runs after shapes: what feeds a node in error is not reported as unused.
PASSES = (
    check_references,
    check_cycles,
    infer_shapes,
    infer_dtypes,
    check_usage,
    check_budget,
    check_portability,
    check_masks,
    check_hazards,
    check_training_settings,
)

__all__ = [
    "PASSES",
    "build_warnings",
    "check_budget",
    "check_cycles",
    "check_hazards",
    "check_masks",
    "check_portability",
    "check_references",
    "check_training_settings",
    "check_usage",
    "infer_dtypes",
    "infer_shapes",
]
