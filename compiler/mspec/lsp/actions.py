"""Quick fixes for findings whose fix is mechanical.

- a "did you mean" hint: replace the misspelt name or key by the suggestion;
- an output whose loss expects probabilities (MS703) or a distribution
  (MS702): set the activation of its last layer that has one;
- any finding that may be ignored and is about one node: add it to the
  spec's `[lint] per_node_ignores` for that node.

Edits are computed on the current text, from its source map, so that they
keep the spec's format (TOML or JSON) and layout.
"""

from __future__ import annotations

import json
import re

from lsprotocol import types

from ..diagnostics.rules import BINARY_LOSS_UNBOUNDED_OUTPUT, CATEGORICAL_LOSS_WITHOUT_SOFTMAX, RULES
from ..syntax.document import Location
from .analysis import Analysis
from .knowledge import layer_kind
from .positions import inner_span

_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")
# Findings about an output's last activation, and the activation that fixes each.
ACTIVATION_FIXES = {
    BINARY_LOSS_UNBOUNDED_OUTPUT.code: "sigmoid",
    CATEGORICAL_LOSS_WITHOUT_SOFTMAX.code: "softmax",
}


def code_actions(analysis: Analysis, diagnostics: list[types.Diagnostic]) -> list[types.CodeAction]:
    """The quick fixes for the given diagnostics (the client sends those under the cursor)."""
    if not analysis.parsed:
        return []
    actions: list[types.CodeAction] = []
    for diagnostic in diagnostics:
        if diagnostic.source != "mspec":
            continue
        for make in (_did_you_mean, _activation, _ignore_for_node):
            action = make(analysis, diagnostic)
            if action is not None:
                action.diagnostics = [diagnostic]
                actions.append(action)
    return actions


def _edit(analysis: Analysis, title: str, edits: list[types.TextEdit], *, preferred: bool = False):
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        edit=types.WorkspaceEdit(changes={analysis.uri: edits}),
        is_preferred=preferred or None,
    )


# --- did you mean ------------------------------------------------------------------


def _did_you_mean(analysis: Analysis, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    hint = (diagnostic.data or {}).get("hint") if isinstance(diagnostic.data, dict) else None
    match = _DID_YOU_MEAN.search(hint or diagnostic.message)
    if match is None:
        return None
    start = analysis.lines.offset_at(diagnostic.range.start)
    end = analysis.lines.offset_at(diagnostic.range.end)
    start, end = inner_span(analysis.text, (start, end))
    written = analysis.text[start:end]
    # Only when the range holds the very word the message names, so the edit replaces nothing else.
    if not written or f"'{written}'" not in diagnostic.message or written == match.group(1):
        return None
    suggestion = match.group(1)
    edit = types.TextEdit(range=analysis.lines.range(start, end), new_text=suggestion)
    return _edit(analysis, f"Replace '{written}' with '{suggestion}'", [edit], preferred=True)


# --- the activation an output's loss expects ----------------------------------------------


def _activation(analysis: Analysis, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    activation = ACTIVATION_FIXES.get(str(diagnostic.code))
    output = _node(diagnostic)
    data = analysis.document.data
    entry = data.get("outputs", {}).get(output) if isinstance(data.get("outputs"), dict) else None
    if activation is None or not isinstance(entry, dict) or not isinstance(entry.get("layers"), list):
        return None
    for index in reversed(range(len(entry["layers"]))):
        step = entry["layers"][index]
        kind = layer_kind(step.get("type")) if isinstance(step, dict) else None
        if kind is not None and "activation" in kind.params.model_fields:
            path = ("outputs", output, "layers", index)
            edit = set_value(analysis, path, "activation", json.dumps(activation))
            if edit is None:
                return None
            title = f"Set activation = \"{activation}\" on the last {kind.name} of output '{output}'"
            return _edit(analysis, title, [edit], preferred=True)
    return None


# --- ignoring a finding for one node -------------------------------------------------------


def _ignore_for_node(analysis: Analysis, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    rule = RULES.get(str(diagnostic.code))
    node = _node(diagnostic)
    if rule is None or not rule.ignorable or node is None:
        return None
    graph = analysis.result.graph
    name = graph.nodes[node].owner if graph is not None and node in graph.nodes else node
    data = analysis.document.data
    if not any(
        isinstance(data.get(s), dict) and name in data[s]
        for s in ("inputs", "shared", "branches", "merges", "outputs")
    ):
        return None
    edit = _add_ignore(analysis, name, rule.code)
    if edit is None:
        return None
    return _edit(
        analysis, f"Ignore {rule.code} ({rule.name}) for '{name}' in [lint] per_node_ignores", [edit]
    )


def _add_ignore(analysis: Analysis, name: str, code: str) -> types.TextEdit | None:
    data, toml = analysis.document.data, analysis.fmt == "toml"
    lint = data.get("lint")
    codes = f'["{code}"]'
    if lint is None:
        if toml:
            end = len(analysis.text)
            lead = "" if analysis.text.endswith("\n") else "\n"
            text = f"{lead}\n[lint]\nper_node_ignores = {{ {name} = {codes} }}\n"
            return types.TextEdit(range=analysis.lines.range(end, end), new_text=text)
        return set_value(analysis, (), "lint", json.dumps({"per_node_ignores": {name: [code]}}))
    if not isinstance(lint, dict):
        return None
    nodes = lint.get("per_node_ignores")
    if nodes is None:
        value = f"{{ {name} = {codes} }}" if toml else json.dumps({name: [code]})
        return set_value(analysis, ("lint",), "per_node_ignores", value)
    if not isinstance(nodes, dict):
        return None
    listed = nodes.get(name)
    if listed is None:
        return set_value(analysis, ("lint", "per_node_ignores"), name, codes if toml else json.dumps([code]))
    if not isinstance(listed, list):
        return None
    return _append(analysis, ("lint", "per_node_ignores", name), json.dumps(code))


# --- edits of the source, by data path ----------------------------------------------------


def set_value(analysis: Analysis, table: tuple, key: str, value: str) -> types.TextEdit | None:
    """An edit giving `key` the value (written as source text) in the table at a path."""
    document = analysis.document
    existing = document.values.get((*table, key))
    if existing is not None:
        start, end = analysis.span(existing)
        return types.TextEdit(range=analysis.lines.range(start, end), new_text=value)
    toml = analysis.fmt == "toml"
    pair = f"{key} = {value}" if toml else f"{json.dumps(key)}: {value}"
    where = document.values.get(table)
    if where is None:
        return None
    if analysis.at_header(where):
        # A TOML table with a header: the new key goes on the line after it.
        line_end = analysis.lines.offset(Location(where.line + 1, 1))
        at_end = line_end >= len(analysis.text) and not analysis.text.endswith("\n")
        text = ("\n" if at_end else "") + pair + ("" if at_end else "\n")
        return types.TextEdit(range=analysis.lines.range(line_end, line_end), new_text=text)
    start, end = analysis.span(where)
    if not analysis.text.startswith("{", start) or not analysis.text.endswith("}", 0, end):
        return None
    inside = analysis.text[start + 1 : end - 1]
    if not inside.strip():
        return types.TextEdit(range=analysis.lines.range(start + 1, end - 1), new_text=f" {pair} ")
    last = start + 1 + len(inside.rstrip())
    return types.TextEdit(range=analysis.lines.range(last, last), new_text=f", {pair}")


def _append(analysis: Analysis, path: tuple, item: str) -> types.TextEdit | None:
    """An edit adding an item at the end of the array at a path."""
    where = analysis.document.values.get(path)
    if where is None:
        return None
    start, end = analysis.span(where)
    if not analysis.text.startswith("[", start) or not analysis.text.endswith("]", 0, end):
        return None
    inside = analysis.text[start + 1 : end - 1]
    if not inside.strip():
        return types.TextEdit(range=analysis.lines.range(start + 1, end - 1), new_text=item)
    written = inside.rstrip()
    last = start + 1 + len(written)
    # TOML allows a comma after an array's last item: then the item follows it.
    separator = " " if written.endswith(",") else ", "
    return types.TextEdit(range=analysis.lines.range(last, last), new_text=f"{separator}{item}")


def _node(diagnostic: types.Diagnostic) -> str | None:
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    node = data.get("node")
    return node if isinstance(node, str) else None
