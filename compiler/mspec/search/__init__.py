"""Fitting several models and comparing them: compare, and tune over a spec's search space.

    compare.py       several specs fitted on the same data with the same seeds, side by side
    agreement.py     whether the specs compared read the data the same way (MS807)
    tune.py          an Optuna study over the space; invalid points rejected before Keras
    spec_writer.py   the best point written back as a spec
    *_report.py      what compare and tune write: JSON, Markdown, CSV, plots
    logs.py          the frameworks' own log lines kept out of a run of many fits

The space itself, read and checked statically, is in mspec.search_space (below
pipeline.py: `mspec lint` checks it). compare and tune import numpy, Keras,
Optuna and matplotlib inside the functions that run.
"""

from __future__ import annotations

__all__ = ["compare", "tune"]


def compare(*args, **kwargs):
    """Fit specs side by side on the same data; see mspec.search.compare.compare."""
    from .compare import compare as run

    return run(*args, **kwargs)


def tune(*args, **kwargs):
    """Tune a spec over its [search] space with Optuna; see mspec.search.tune.tune."""
    from .tune import tune as run

    return run(*args, **kwargs)
