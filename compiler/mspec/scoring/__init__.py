"""Using a trained model on new data: predictions written to a file (`predict`), scores (`evaluate`).

The data is bound and checked as `mspec fit` does, before Keras is imported;
predictions need no labels. Needs the `fit` extra (Keras, pyarrow). The
functions are imported on first use, so that the command line stays cheap.
"""

from __future__ import annotations

_EXPORTS = {"predict": "predict", "Prediction": "predict", "evaluate": "evaluate", "Evaluation": "evaluate"}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'mspec.scoring' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
