"""An editor for the language server tests: pygls' own client over stdio to `mspec lsp`, in a subprocess.

The tests are plain functions: this wrapper runs the client on an event loop
of its own and waits, with a timeout, for what the server sends back.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

TIMEOUT = 20.0


class Editor:
    """Opens, edits and queries documents the way an editor does, synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("mspec-tests", "1")
        self.published: dict[str, types.PublishDiagnosticsParams] = {}
        self.messages: list[types.ShowMessageParams] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self._arrived = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[params.uri] = params
            self._arrived.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params)

    def run(self, awaitable):
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, TIMEOUT))

    def start(self, root: Path) -> None:
        self.run(self.client.start_io(sys.executable, "-m", "mspec", "lsp"))
        capabilities = types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
                rename=types.RenameClientCapabilities(prepare_support=True),
                document_symbol=types.DocumentSymbolClientCapabilities(
                    hierarchical_document_symbol_support=True
                ),
            )
        )
        self.run(
            self.client.initialize_async(
                types.InitializeParams(
                    capabilities=capabilities,
                    root_uri=root.as_uri(),
                    initialization_options={"debounceMs": 10},
                )
            )
        )
        self.client.initialized(types.InitializedParams())

    def stop(self) -> None:
        try:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.run(self.client.stop())
        finally:
            self.loop.close()

    # --- documents ------------------------------------------------------------------

    def open(self, path: Path, text: str | None = None, language: str = "toml") -> str:
        """Open a file (its text on disk unless given) and return its URI."""
        uri = path.resolve().as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        self.texts[uri], self.versions[uri] = text, 1
        self.published.pop(uri, None)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def replace(self, uri: str, old: str, new: str) -> None:
        """Replace the first occurrence of `old`, as an editor sends a change: a range and its new text."""
        text = self.texts[uri]
        start = text.index(old)
        self.apply(uri, [types.TextEdit(range=self.range(uri, start, start + len(old)), new_text=new)])

    def apply(self, uri: str, edits: list[types.TextEdit]) -> None:
        """Apply edits (from a rename or a quick fix) the way an editor does, last first."""
        text = self.texts[uri]
        ordered = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
        changes = []
        for edit in ordered:
            start, end = self.offset(text, edit.range.start), self.offset(text, edit.range.end)
            text = text[:start] + edit.new_text + text[end:]
            changes.append(types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
        self.texts[uri] = text
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=changes,
            )
        )

    def file_changed(self, path: Path) -> None:
        """Tell the server a watched file changed on disk; what it publishes next is waited for anew."""
        self.published.clear()
        change = types.FileEvent(uri=path.resolve().as_uri(), type=types.FileChangeType.Changed)
        self.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[change]))

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The diagnostics the server publishes for the document's latest version (waits for them)."""

        async def wait() -> list[types.Diagnostic]:
            while True:
                found = self.published.get(uri)
                if found is not None and found.version is not None and found.version >= self.versions[uri]:
                    return list(found.diagnostics)
                self._arrived.clear()
                await self._arrived.wait()

        return self.run(wait())

    # --- positions (the tests' texts are ASCII: characters are UTF-16 units) ----------

    @staticmethod
    def offset(text: str, position: types.Position) -> int:
        lines = text.split("\n")
        return sum(len(line) + 1 for line in lines[: position.line]) + position.character

    def position(self, uri: str, offset: int) -> types.Position:
        before = self.texts[uri][:offset]
        return types.Position(line=before.count("\n"), character=offset - (before.rfind("\n") + 1))

    def range(self, uri: str, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(uri, start), end=self.position(uri, end))

    def at(self, uri: str, marked: str) -> types.Position:
        """The position of the `|` in `marked`, a piece of the document's text with a `|` inserted."""
        plain = marked.replace("|", "")
        return self.position(uri, self.texts[uri].index(plain) + marked.index("|"))

    def text_of(self, uri: str, where: types.Range) -> str:
        text = self.texts[uri]
        return text[self.offset(text, where.start) : self.offset(text, where.end)]

    # --- requests --------------------------------------------------------------------

    def hover(self, uri: str, marked: str) -> types.Hover | None:
        return self.run(
            self.client.text_document_hover_async(
                types.HoverParams(text_document=self._doc(uri), position=self.at(uri, marked))
            )
        )

    def completion(self, uri: str, marked: str) -> list[types.CompletionItem]:
        found = self.run(
            self.client.text_document_completion_async(
                types.CompletionParams(text_document=self._doc(uri), position=self.at(uri, marked))
            )
        )
        if found is None:
            return []
        return found.items if isinstance(found, types.CompletionList) else list(found)

    def definition(self, uri: str, marked: str):
        return self.run(
            self.client.text_document_definition_async(
                types.DefinitionParams(text_document=self._doc(uri), position=self.at(uri, marked))
            )
        )

    def references(self, uri: str, marked: str) -> list[types.Location]:
        params = types.ReferenceParams(
            text_document=self._doc(uri),
            position=self.at(uri, marked),
            context=types.ReferenceContext(include_declaration=True),
        )
        return self.run(self.client.text_document_references_async(params)) or []

    def rename(self, uri: str, marked: str, new_name: str) -> types.WorkspaceEdit | None:
        params = types.RenameParams(
            text_document=self._doc(uri), position=self.at(uri, marked), new_name=new_name
        )
        return self.run(self.client.text_document_rename_async(params))

    def symbols(self, uri: str):
        return self.run(
            self.client.text_document_document_symbol_async(
                types.DocumentSymbolParams(text_document=self._doc(uri))
            )
        )

    def code_actions(self, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
        params = types.CodeActionParams(
            text_document=self._doc(uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
        return self.run(self.client.text_document_code_action_async(params)) or []

    @staticmethod
    def _doc(uri: str) -> types.TextDocumentIdentifier:
        return types.TextDocumentIdentifier(uri=uri)
