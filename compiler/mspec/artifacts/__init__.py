"""`mspec export` and `mspec.export`: a trained model as a SavedModel, ONNX or LiteRT file, with its contract.

- manifest: the contract known statically from the checked spec (names,
  dtypes, shapes, the preprocessing each input still expects), no framework;
- formats: writing each format from one serving function named by the spec;
- runtimes: an artifact loaded in its own runtime, run by the spec's names;
- verify: rows to feed, and the comparison with the Keras model;
- exporter: the whole export, written under temporary names and renamed at the end;
- command: the command line.

Only `exporter.export` imports Keras (after checking the spec, and what the format
cannot hold).
"""

from __future__ import annotations

from .formats import FORMATS, ExportRefused

__all__ = ["FORMATS", "ExportRefused"]
