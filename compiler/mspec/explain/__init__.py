"""Which input drives a trained model.

`mspec explain` measures, per output, how much the loss (and the first
metric) worsens when one input's rows are shuffled (permutation importance)
or replaced by a typical value (ablation), and shows beside it the balance of
the input branches that `mspec fit` recorded (mspec.training.balance).
Nothing here imports a framework until it runs.
"""

from __future__ import annotations

__all__ = ["explain"]


def explain(*args, **kwargs):
    """Permutation importance and ablation of every input; see mspec.explain.importance.explain."""
    from .importance import explain as run

    return run(*args, **kwargs)
