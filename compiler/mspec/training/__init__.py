"""Training a spec's model on named data: `mspec fit` and `mspec.fit`.

Nothing here imports a framework, nor NumPy, until a run starts: the command
line loads this package for every command, `lint` included.
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
