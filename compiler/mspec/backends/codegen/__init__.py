"""Back end: Keras Functional API source code from a checked spec."""

from .python import generate_source

__all__ = ["generate_source"]
