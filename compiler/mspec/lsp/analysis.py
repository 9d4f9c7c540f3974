"""One check of one version of an open document, by the same front end as `mspec lint`.

The server keeps, per open document, the latest analysis (what diagnostics
show) and the last one that parsed (what hover, completion and navigation
fall back on while the text is half-typed). Re-checking reuses what did not
change: the same text is not checked again, and text whose data is the same
as before (an edit in a comment, blank lines, spacing) keeps the previous
findings, moved to their new places, without validating the spec or running
the passes again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlparse

from lsprotocol import types

from ..diagnostics import Diagnostic
from ..diagnostics.rules import RULES
from ..diagnostics.selection import Selection, SelectionError, project_selection
from ..discover import is_spec_data, looks_like_spec_bytes
from ..frontend import CheckResult, check_document
from ..syntax.document import Document, LoadError, Location
from ..syntax.load import load_bytes
from .positions import LineIndex

FORMATS = {".toml": "toml", ".json": "json", "toml": "toml", "json": "json", "jsonc": "json"}


@dataclass
class Analysis:
    """What the front end found in one version of a document's text."""

    uri: str
    text: str
    fmt: str
    lines: LineIndex
    result: CheckResult | None = None  # None: the file is not a spec, and is left alone
    # Why the project's [tool.mspec] could not be used, if it could not.
    selection_problem: str | None = None
    _by_place: dict[tuple[int, int], tuple] | None = field(default=None, repr=False)
    # The findings as LSP diagnostics, by (finding, text it covers), and the docs address they link to.
    converted: dict[tuple, object] = field(default_factory=dict, repr=False)
    converted_docs: str | None = None

    @property
    def is_spec(self) -> bool:
        return self.result is not None

    @property
    def document(self) -> Document | None:
        return self.result.document if self.result is not None else None

    @property
    def parsed(self) -> bool:
        return self.document is not None

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.result.diagnostics if self.result is not None else []

    def at_header(self, location: Location) -> bool:
        """Whether a location is a TOML table header's (a table's key and value are placed there)."""
        if self.fmt != "toml" or location.col != 1:
            return False
        return self.lines.line_text(location.line - 1).lstrip(" \t").startswith("[")

    def span(self, location: Location) -> tuple[int, int]:
        """The offsets of the key or value written at a location (a header's: the header)."""
        from .positions import token_span

        return token_span(self.text, self.lines.offset(location), table=self.at_header(location))

    def path_at(self, line: int, col: int) -> tuple | None:
        """The data path whose key or value is written at a 1-based line and column, if any."""
        if self._by_place is None:
            document = self.document
            places: dict[tuple[int, int], tuple] = {}
            if document is not None:
                for where in (document.values, document.keys):
                    for path, location in where.items():
                        places[(location.line, location.col)] = path
            self._by_place = places
        return self._by_place.get((line, col))


def fs_path(uri: str) -> str | None:
    """The file a `file:` URI names, or None for an editor's unsaved buffer."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return os.path.normpath(unquote(parsed.path))


def format_of(uri: str, language_id: str | None = None) -> str | None:
    """ "toml" or "json" from the file's suffix, else from the editor's language id."""
    suffix = os.path.splitext(urlparse(uri).path)[1].lower()
    return FORMATS.get(suffix) or FORMATS.get((language_id or "").lower())


def selection_for(path: str | None) -> tuple[Selection | None, str | None]:
    """The project's selection of rules for a file ([tool.mspec] above it), and why not, if unusable."""
    if path is None:
        return None, None
    try:
        return project_selection(path), None
    except SelectionError as error:
        return None, str(error)


def analyse(
    uri: str,
    text: str,
    fmt: str,
    previous: Analysis | None = None,
    *,
    encoding: str = types.PositionEncodingKind.Utf16,
) -> Analysis:
    """Check one version of a document's text, reusing `previous` (the last check) where it still holds."""
    if previous is not None and previous.text == text and previous.lines.encoding == encoding:
        return previous
    analysis = Analysis(uri, text, fmt, LineIndex(text, encoding))
    raw = text.encode("utf-8", "surrogatepass")
    path = fs_path(uri) or uri
    try:
        document = load_bytes(raw, path, fmt)
    except LoadError as error:
        # Judged by its text, as `mspec lint` judges a file in a directory that does not parse.
        if not looks_like_spec_bytes(raw, f".{fmt}"):
            return analysis
        selection, analysis.selection_problem = selection_for(fs_path(uri))
        found = RULES[error.code].at_position(path, error.line, error.col, error.message, error.hint)
        analysis.result = CheckResult(path, [found], selection=selection)
        return analysis
    if not is_spec_data(document.data):
        return analysis
    selection, analysis.selection_problem = selection_for(fs_path(uri))
    reused = _same_data(previous, document, selection)
    analysis.result = reused if reused is not None else check_document(document, selection)
    return analysis


def _same_data(
    previous: Analysis | None, document: Document, selection: Selection | None
) -> CheckResult | None:
    """The previous findings moved to the new text, when only layout, comments or spacing changed."""
    if previous is None or not previous.parsed or previous.result.selection != selection:
        return None
    if previous.document.data != document.data:
        return None
    moved = []
    for diagnostic in previous.diagnostics:
        path = previous.path_at(diagnostic.line, diagnostic.col)
        if path is None:
            return None  # a finding placed elsewhere than on a key or value: check again
        old_key = previous.document.keys.get(path)
        at_key = old_key is not None and (old_key.line, old_key.col) == (diagnostic.line, diagnostic.col)
        where: Location | None = (document.keys if at_key else document.values).get(path)
        if where is None:
            return None
        moved.append(replace(diagnostic, file=document.path, line=where.line, col=where.col))
    old = previous.result
    result = CheckResult(document.path, sorted(moved), document, old.spec, old.graph, old.lint, old.selection)
    return result
