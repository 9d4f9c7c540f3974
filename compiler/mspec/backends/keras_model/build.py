"""Build a keras.Model from a checked spec: the only module that imports Keras.

The model is built by running the generated source itself, so the saved
`.keras` file and the `.py` file can never disagree.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...files import readable_mode, temporary_beside

# Keras saves only to paths with this suffix, temporary ones included.
KERAS_SUFFIX = ".keras"

if TYPE_CHECKING:
    from ...graph.model import ModelGraph


class KerasUnavailable(RuntimeError):
    """TensorFlow/Keras is not installed: only the source can be written."""

    MESSAGE = "Keras is not installed; install the extra with: pip install 'mspec[tensorflow]'"


class KerasRecursionLimit(RuntimeError):
    """Keras' recursive graph code cannot handle a model this deep."""


def keras_available() -> bool:
    """Return whether Keras can be imported, without importing it."""
    return importlib.util.find_spec("keras") is not None


def build_from_source(source: str, name: str = "model") -> Any:
    """Run generated source and return the keras.Model its `build_model()` makes."""
    if not keras_available():
        raise KerasUnavailable(KerasUnavailable.MESSAGE)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    namespace: dict[str, Any] = {"__name__": f"mspec_generated_{name}"}
    # The source is mspec's own output: spec strings only ever reach it as
    # repr() literals of allow-listed or validated values.
    exec(compile(source, f"<mspec build {name}>", "exec"), namespace)
    try:
        return namespace["build_model"]()
    except RecursionError as error:
        raise _too_deep("build", name) from error


def _too_deep(action: str, name: str) -> KerasRecursionLimit:
    # Keras builds and saves a functional model recursively; mspec's own
    # passes do not, so a spec can be valid and still too deep for Keras.
    return KerasRecursionLimit(
        f"Keras could not {action} {name!r}: its graph is too deep for Keras' recursive model code "
        "(Python's recursion limit); split the chain or raise sys.setrecursionlimit in your own script"
    )


def build_model(graph: ModelGraph, source_path: str | None = None) -> Any:
    """Return the keras.Model for a checked, error-free model graph."""
    from ..codegen import generate_source

    return build_from_source(generate_source(graph, source_path), graph.spec.name)


def save_model(keras_model: Any, path: Path, temporary: Path | None = None) -> None:
    """Save to `path` (a .keras file) atomically: into a temporary file beside it, then a rename.

    `temporary` is that file when the caller made it (with
    files.temporary_beside and KERAS_SUFFIX, which Keras requires); the
    caller then removes it if the save fails, even if this process dies.
    """
    if temporary is None:
        with temporary_beside(path, KERAS_SUFFIX) as made:
            save_model(keras_model, path, made)
        return
    try:
        keras_model.save(str(temporary))
        os.chmod(temporary, readable_mode())
        os.replace(temporary, path)
    except RecursionError as error:
        raise _too_deep("save", keras_model.name) from error
