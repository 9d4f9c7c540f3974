"""Training a spec's model on named data: `mspec fit` and `mspec.fit`, and what a run records.

Besides the history, a run records each input branch's share of the gradient
at the merges (balance.py) and judges it (verdicts.py: MS603, MS604).
Nothing here imports a framework, nor NumPy, until a run starts: on a core
install, `mspec fit` must get as far as saying which extra is missing.
"""

_EXPORTS = {
    "Cluster": "distribute",
    "DistributeError": "distribute",
    "FitError": "runner",
    "FitResult": "runner",
    "check_before_fit": "runner",
    "fit": "runner",
    "FitSettings": "settings",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
