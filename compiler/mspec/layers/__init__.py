"""The layer registry: one `LayerKind` per supported Keras layer class.

Importing this package registers every kind; look kinds up in `REGISTRY`.
"""

from . import conv, core, merge, pooling, reshaping, rnn  # noqa: F401  (imported for their registrations)
from .base import REGISTRY, Dim, LayerKind, LayerParams, Shape, ShapeError, format_shape

__all__ = ["REGISTRY", "Dim", "LayerKind", "LayerParams", "Shape", "ShapeError", "format_shape"]
