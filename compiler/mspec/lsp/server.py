"""The language server: open documents, when to re-check them, and which module answers which request.

Each feature is a pure function in its own module (diagnostics, hover,
completion, navigation, actions) over an `Analysis`; this module only keeps
the documents' analyses, decides when to check, and registers the features
with pygls.

Checking runs on the server's event loop: a check of a 200-node spec takes
milliseconds, and doing it there keeps the analyses free of locks. A change
is checked after a short pause in typing (the debounce), so a burst of
keystrokes costs one check; a request that arrives in the pause checks the
latest text first, so answers never describe older text than the request.
"""

from __future__ import annotations

import asyncio
import logging
import os

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..diagnostics.selection import forget_project_selections
from . import actions, completion, hover, navigation
from .analysis import Analysis, analyse, format_of
from .context import cursor_at
from .diagnostics import docs_base, lsp_diagnostics

# Seconds without a change before a document is checked again.
DEBOUNCE_SECONDS = 0.02
PROJECT_FILE = "pyproject.toml"
# The protocol's error code for a request that was valid but could not be carried out.
REQUEST_FAILED = -32803

log = logging.getLogger(__name__)


class SpecServer(LanguageServer):
    """A LanguageServer that keeps the latest and the last parsed analysis of each open spec."""

    def __init__(self) -> None:
        super().__init__("mspec", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.current: dict[str, Analysis] = {}
        self.last_good: dict[str, Analysis] = {}
        self.formats: dict[str, str] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.docs: str | None = docs_base()
        self.debounce = DEBOUNCE_SECONDS
        self.warned: set[str] = set()

    # --- checking ------------------------------------------------------------------

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text, checked now if a change is waiting."""
        if uri in self.pending:
            self.pending.pop(uri).cancel()
            self.check(uri)
        current = self.current.get(uri)
        if current is None:
            return None
        text = self.workspace.get_text_document(uri).source
        if current.text != text:
            self.check(uri)
        return self.current.get(uri)

    def check(self, uri: str, *, publish: bool = True) -> None:
        """Check the document's text now and publish what was found."""
        self.pending.pop(uri, None)
        fmt = self.formats.get(uri)
        if fmt is None:
            return
        document = self.workspace.get_text_document(uri)
        previous = self.current.get(uri)
        try:
            analysis = analyse(uri, document.source, fmt, previous, encoding=self.workspace.position_encoding)
        except Exception:  # a bug in a check must not take the editor's server down
            log.exception("checking %s failed", uri)
            return
        self.current[uri] = analysis
        if analysis.parsed:
            self.last_good[uri] = analysis
        if analysis.selection_problem and analysis.selection_problem not in self.warned:
            self.warned.add(analysis.selection_problem)
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message=f"mspec: {analysis.selection_problem}; every rule is reported until it is fixed",
                )
            )
        if publish and (analysis is not previous):
            diagnostics = lsp_diagnostics(analysis, self.docs, previous)
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=document.version)
            )

    def schedule(self, uri: str) -> None:
        """Check the document once typing pauses for `debounce` seconds."""
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(self.debounce, self.check, uri)

    def recheck_all(self) -> None:
        """Check every open spec again (the project's rule selection changed)."""
        forget_project_selections()
        for uri in list(self.current):
            self.current.pop(uri, None)
            self.check(uri)


def create_server() -> SpecServer:
    """A server with every feature registered."""
    server = SpecServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: SpecServer, params: types.InitializeParams) -> None:
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        if isinstance(options.get("docsUrl"), str):
            ls.docs = options["docsUrl"]
        if isinstance(options.get("debounceMs"), int | float) and options["debounceMs"] >= 0:
            ls.debounce = options["debounceMs"] / 1000

    @server.feature(types.INITIALIZED)
    def initialized(ls: SpecServer, params: types.InitializedParams) -> None:
        # Ask the editor to say when a pyproject.toml changes, where it can watch files for a server.
        workspace = ls.client_capabilities.workspace
        watching = workspace.did_change_watched_files if workspace is not None else None
        if watching is None or not watching.dynamic_registration:
            return
        watcher = types.FileSystemWatcher(glob_pattern=f"**/{PROJECT_FILE}")
        ls.client_register_capability(
            types.RegistrationParams(
                registrations=[
                    types.Registration(
                        id="mspec-pyproject",
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher]),
                    )
                ]
            )
        )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpecServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        fmt = format_of(uri, params.text_document.language_id)
        if fmt is None:
            return
        ls.formats[uri] = fmt
        ls.current.pop(uri, None)
        # [tool.mspec] may have changed while no spec was open (editors tell only if asked to watch).
        forget_project_selections()
        ls.check(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: SpecServer, params: types.DidChangeTextDocumentParams) -> None:
        if params.text_document.uri in ls.formats:
            ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SpecServer, params: types.DidSaveTextDocumentParams) -> None:
        if os.path.basename(params.text_document.uri) == PROJECT_FILE:
            ls.recheck_all()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpecServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        waiting = ls.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        for table in (ls.current, ls.last_good, ls.formats):
            table.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: SpecServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(os.path.basename(change.uri) == PROJECT_FILE for change in params.changes):
            ls.recheck_all()

    # --- requests ----------------------------------------------------------------------

    def spec_at(ls: SpecServer, uri: str) -> Analysis | None:
        analysis = ls.analysis(uri)
        return analysis if analysis is not None and analysis.is_spec else None

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: SpecServer, params: types.HoverParams) -> types.Hover | None:
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None:
            return None
        offset = analysis.lines.offset_at(params.position)
        return hover.hover(analysis, ls.last_good.get(params.text_document.uri), offset)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=completion.TRIGGERS)
    )
    def on_completion(ls: SpecServer, params: types.CompletionParams) -> types.CompletionList | None:
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None:
            return None
        offset = analysis.lines.offset_at(params.position)
        return completion.complete(analysis, ls.last_good.get(params.text_document.uri), offset)

    def name_under(ls: SpecServer, uri: str, position: types.Position) -> tuple[Analysis, str] | None:
        """The name under the cursor and the last parse of the document, to find its places in."""
        analysis = spec_at(ls, uri)
        if analysis is None:
            return None
        cursor = cursor_at(analysis.text, analysis.lines.offset_at(position), analysis.fmt)
        name = navigation.name_at(cursor)
        facts = analysis if analysis.parsed else ls.last_good.get(uri)
        if name is None or facts is None:
            return None
        return facts, name

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: SpecServer, params: types.DefinitionParams) -> types.Location | None:
        found = name_under(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        facts, name = found
        span = navigation.definition_span(facts, name)
        return types.Location(uri=facts.uri, range=facts.lines.range(*span)) if span else None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: SpecServer, params: types.ReferenceParams) -> list[types.Location] | None:
        found = name_under(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        facts, name = found
        spans = navigation.reference_spans(facts, name)
        definition = navigation.definition_span(facts, name)
        if params.context.include_declaration and definition is not None:
            spans = sorted({definition, *spans})
        return [types.Location(uri=facts.uri, range=facts.lines.range(*span)) for span in spans]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: SpecServer, params: types.PrepareRenameParams):
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None or not analysis.parsed:
            return None
        cursor = cursor_at(analysis.text, analysis.lines.offset_at(params.position), analysis.fmt)
        name = navigation.name_at(cursor)
        if name is None or navigation.section_of(analysis, name) is None:
            return None
        token = cursor.token
        start = token.start + (1 if token.quoted else 0)
        return types.PrepareRenamePlaceholder(
            range=analysis.lines.range(start, start + len(name)), placeholder=name
        )

    @server.feature(types.TEXT_DOCUMENT_RENAME)
    def on_rename(ls: SpecServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None:
            return None
        if not analysis.parsed:
            raise JsonRpcException("the spec does not parse: fix the syntax error first", REQUEST_FAILED)
        cursor = cursor_at(analysis.text, analysis.lines.offset_at(params.position), analysis.fmt)
        name = navigation.name_at(cursor)
        if name is None:
            return None
        try:
            edits = navigation.rename_edits(analysis, name, params.new_name)
        except navigation.RenameRefused as refused:
            raise JsonRpcInvalidParams(str(refused)) from None
        return types.WorkspaceEdit(changes={analysis.uri: edits})

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_symbols(ls: SpecServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None:
            return None
        return navigation.document_symbols(analysis)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def on_code_action(ls: SpecServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        analysis = spec_at(ls, params.text_document.uri)
        if analysis is None:
            return None
        return actions.code_actions(analysis, list(params.context.diagnostics))

    return server
