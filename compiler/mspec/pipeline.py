"""What each command runs, stage by stage, and the front end every one of them starts with.

Every command but `import` starts with the front end (frontend.py), `check_file`:

    syntax      bytes -> Document          (syntax.load: TOML or JSON, each value's file:line:col)
    spec        Document -> Spec           (spec.validate: the language's rules, layer parameters)
    graph       Spec -> ModelGraph         (graph.build, then graph.passes: references, cycles,
                                            shapes, weights, usage, hazards, portability)

and then, per command:

    lint        the front end, and the static check of a [search]    (search_space)
                space; with --data, the data checks                   (data.check_data)
    summary     the front end, then a Keras-like table                (backends.summary)
    draw        the front end, then a diagram, faults in red          (backends.draw)
    build       the front end, then Python source                     (backends.codegen)
                and a saved keras.Model, in a worker process          (backends.keras_model)
    fit         the front end, the data checks, then build, adapt     (training)
                and train; writes the model and its history
    explain     the front end, the data checks, then importance       (explain)
                and ablation on the trained model
    import      a saved Keras model's configuration, read as data,    (importer)
                rewritten, converted and written as a spec, which
                then goes through the front end once
    diff        the front end on both sides (a saved model imported    (review)
                first), then both graphs matched and compared
    compare     fit for each spec, on the same data and seeds           (search.compare)
    tune        the static check of the space, then fit per trial      (search.tune)

`check_file`, `check_bytes` and `check_document` here are the front end
followed by the static check of the spec's [search] space, when it has one
(milliseconds: each point goes through the front end again, on the parsed
document). The functions below are the steps of lint, summary, draw, build and import; the
command line (cli/) and the Python API (api.py) call them and add only
formatting and exit statuses. fit and explain run theirs in training/ and
explain/, from the same front end and the same source and model steps.
Nothing here imports a framework until a step that needs one runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import frontend
from .diagnostics import Diagnostic
from .frontend import CheckResult
from .syntax.document import Document

if TYPE_CHECKING:
    from .diagnostics.selection import Selection
    from .importer import ImportResult

__all__ = [
    "CheckResult",
    "check_bytes",
    "check_document",
    "check_file",
    "check_training_data",
    "diagram",
    "import_spec",
    "keras_model",
    "python_source",
    "summary_table",
]


# --- The front end, and the static check of a search space ----------------------


def check_file(path: str | os.PathLike, selection: Selection | None = None) -> CheckResult:
    """Read and check one spec file (and its search space); an unreadable file raises OSError."""
    return with_search_space(frontend.check_file(path, selection))


def check_bytes(
    raw: bytes, path: str, fmt: str | None = None, selection: Selection | None = None
) -> CheckResult:
    """Check the contents of a spec file named `path` (and its search space)."""
    return with_search_space(frontend.check_bytes(raw, path, fmt, selection))


def check_document(document: Document, selection: Selection | None = None) -> CheckResult:
    """Check a loaded spec (and its search space)."""
    return with_search_space(frontend.check_document(document, selection))


def with_search_space(result: CheckResult) -> CheckResult:
    """Add the findings of the spec's [search] and [tune] sections, when it has them (core only)."""
    document = result.document
    if document is None or not ("search" in document.data or "tune" in document.data):
        return result
    from .search_space.static_check import check_search

    found = check_search(result).diagnostics
    result.diagnostics = result.reported(sorted([*result.diagnostics, *found]))
    return result


# --- After the front end: one function per step a command adds ----------------


def check_training_data(result: CheckResult, data_path: str | os.PathLike) -> list[Diagnostic]:
    """lint --data: the data file checked against a spec free of errors (numpy and pyarrow, no framework)."""
    from .data import check_data

    return result.reported(check_data(result, data_path))


def summary_table(result: CheckResult) -> str:
    """summary: a Keras-like table of a checked spec's nodes, shapes and weights."""
    from .backends.summary import render_summary

    return render_summary(result.graph)


def python_source(result: CheckResult) -> str:
    """build: the Keras Functional API source of a checked spec."""
    from .backends.codegen import generate_source

    return generate_source(result.graph, result.path)


def keras_model(result: CheckResult) -> Any:
    """build (in this process), fit: the built and compiled keras.Model of a checked spec."""
    from .backends.keras_model.build import build_model

    return build_model(result.graph, result.path)


def diagram(result: CheckResult, fmt: str, *, rankdir: str = "TB", collapse: bool = False) -> bytes:
    """draw: the diagram of a spec's graph, its diagnostics drawn on it."""
    from .backends.draw import draw

    return draw(result.graph, result.diagnostics, fmt, rankdir=rankdir, collapse=collapse)


def import_spec(model_path: str | os.PathLike, fmt: str, spec_path: str | None = None) -> ImportResult:
    """import: a saved Keras model as spec text, checked by the front end (ModelFileError if no model)."""
    from .importer import import_model

    return import_model(model_path, fmt, spec_path)
