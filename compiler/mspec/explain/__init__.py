"""Which input drives a trained model, and does one input overwhelm the others.

`mspec explain` measures, per output, how much the loss (and the first
metric) worsens when one input's rows are shuffled (permutation importance)
or replaced by a typical value (ablation); `mspec fit` records, per epoch,
each input branch's share of the gradient at the first merge it feeds
(balance). Nothing here imports a framework until it runs.
"""

from __future__ import annotations

from .branches import MergePoint, balance_points

__all__ = ["MergePoint", "balance_points", "explain"]


def explain(*args, **kwargs):
    """Permutation importance and ablation of every input; see mspec.explain.importance.explain."""
    from .importance import explain as run

    return run(*args, **kwargs)
