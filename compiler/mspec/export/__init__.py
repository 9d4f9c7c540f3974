"""`mspec export`: a trained model as a SavedModel, an ONNX file or a LiteRT file, with its input contract.

- manifest: the contract known statically from the checked spec (names,
  dtypes, shapes, the preprocessing each input still expects), no framework;
- formats: writing each format from one serving function named by the spec;
- runtimes: an artifact loaded in its own runtime, run by the spec's names;
- verify: rows to feed, and the comparison with the Keras model;
- exporter: the whole export, written under temporary names and renamed at the end;
- command: the command line.

Only `export` imports Keras (after checking the spec, and what the format
cannot hold).
"""

from __future__ import annotations

import sys
import types

from .formats import FORMATS, ExportRefused

__all__ = ["FORMATS", "ExportRefused", "export"]


def export(*args, **kwargs):
    """See mspec.export.exporter.export (Keras is imported there, not here)."""
    from .exporter import export as run_export

    return run_export(*args, **kwargs)


class _CallableModule(types.ModuleType):
    """`mspec.export(...)` is the Python API beside `mspec.fit(...)`, and this package is `mspec.export`."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
