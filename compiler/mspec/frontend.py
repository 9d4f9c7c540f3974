"""The front end every command but `import` starts with: load, validate, build the graph, run the passes.

    syntax      bytes -> Document          (syntax.load: TOML or JSON, each value's file:line:col)
    spec        Document -> Spec           (spec.validate: the language's rules, layer parameters)
    graph       Spec -> ModelGraph         (graph.build, then graph.passes)

The importer checks the spec it writes with it too, so it sits below
pipeline.py, which says what each command runs after it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .diagnostics import Diagnostic
from .diagnostics.rules import RULES
from .diagnostics.selection import Selection, reported
from .graph.build import build_graph
from .graph.model import ModelGraph
from .graph.passes import PASSES
from .spec.ir import Spec
from .spec.lint import SpecLint, read_spec_lint
from .spec.validate import validate
from .syntax.document import Document, LoadError
from .syntax.load import load_bytes, load_file


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
        lint = self.lint or SpecLint()
        names = self.graph.names_of if self.graph is not None else None
        return reported(
            diagnostics, self.selection, self.path, ignore=lint.ignore, per_node=lint.per_node, names=names
        )


def _load_failure(path: str, error: LoadError) -> CheckResult:
    # The load stage sits below the rule catalogue, so its errors carry their code (syntax.limits).
    diagnostic = RULES[error.code].at_position(path, error.line, error.col, error.message, error.hint)
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
