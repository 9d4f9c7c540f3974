"""What each command runs, stage by stage, and the front end every one of them starts with.

Every command but `import` starts with the front end, `check_file`:

    syntax      bytes -> Document          (syntax.load: TOML or JSON, each value's file:line:col)
    spec        Document -> Spec           (spec.validate: the language's rules, layer parameters)
    graph       Spec -> ModelGraph         (graph.build, then graph.passes: references, cycles,
                                            shapes, weights, usage, hazards, portability)

and then, per command:

    lint        the front end; with --data, the data checks          (data.check_data)
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

The functions below are those steps; the command line (cli.py) and the
Python API (api.py) call them and add only formatting and exit statuses.
Nothing here imports a framework until a step that needs one runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, Severity
from .diagnostics.selection import Selection, SpecLint, read_spec_lint, reported
from .graph.build import build_graph
from .graph.model import ModelGraph
from .graph.passes import PASSES
from .spec.ir import Spec
from .spec.validate import validate
from .syntax.load import load_bytes, load_file
from .syntax.source import Document, LoadError

if TYPE_CHECKING:
    from .importer import ImportResult


@dataclass
class CheckResult:
    """Everything the front end learnt about one spec file."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    document: Document | None = None
    spec: Spec | None = None
    graph: ModelGraph | None = None
    # The spec's [lint] section and the project's or command line's selection of rules.
    lint: SpecLint | None = None
    selection: Selection | None = None

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def reported(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        """Keep the findings (of this spec, or of its data) that no selection turns off."""
        return reported(diagnostics, self.selection, self.lint, self.graph, self.path)


def _load_failure(path: str, error: LoadError) -> CheckResult:
    diagnostic = Diagnostic(
        path, error.line, error.col, error.code, Severity.ERROR, error.message, error.hint
    )
    return CheckResult(path, [diagnostic])


def check_bytes(
    raw: bytes, path: str, fmt: str | None = None, selection: Selection | None = None
) -> CheckResult:
    """Check the contents of a spec file named `path` (used for messages and the format).

    The spec's own [lint] section, and `selection` when given, decide which
    ignorable findings are reported.
    """
    try:
        document = load_bytes(raw, path, fmt)
    except LoadError as error:
        return _load_failure(path, error)
    return check_document(document, selection)


def check_file(path: str | os.PathLike, selection: Selection | None = None) -> CheckResult:
    """Read and check one spec file; an unreadable file raises OSError."""
    try:
        document = load_file(path)
    except LoadError as error:
        return _load_failure(os.fsdecode(path), error)
    return check_document(document, selection)


def check_document(document: Document, selection: Selection | None = None) -> CheckResult:
    """Validate a loaded spec, build its graph and run every pass over it."""
    result = CheckResult(document.path, document=document, selection=selection)
    result.spec, result.diagnostics = validate(document)
    result.lint, lint_findings = read_spec_lint(document)
    result.diagnostics.extend(lint_findings)
    if result.spec is not None:
        result.graph = build_graph(result.spec)
        for check in PASSES:
            result.diagnostics.extend(check(result.graph))
    result.diagnostics = result.reported(sorted(result.diagnostics))
    return result


# --- After the front end: one function per step a command adds ----------------


def check_training_data(result: CheckResult, data_path: str | os.PathLike) -> list[Diagnostic]:
    """lint --data, fit, explain: the data file checked against a spec free of errors (numpy, pyarrow)."""
    from .data import check_data

    return result.reported(check_data(result, data_path))


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
