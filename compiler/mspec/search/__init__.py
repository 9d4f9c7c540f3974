"""Search spaces in a spec, their static check, and the commands that fit several models: compare, tune.

    space.py         [search] and [tune] read from a loaded document: parameters, paths, values
    points.py        a point of the space written into the parsed document (no text edits)
    static_check.py  every combination (or a sample) checked by the front end, invalid ones by cause
    compare.py       several specs fitted on the same data with the same seeds, side by side
    tune.py          an Optuna study over the space; invalid points rejected before Keras
    command.py       the `mspec compare` and `mspec tune` commands

Reading and checking a space needs only the core install (`mspec lint` runs
it); compare and tune import numpy, Keras, Optuna and matplotlib inside the
functions that run.
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
