"""Hover: a node's layers, shape, weights and uses; a layer class's documentation; a key's meaning."""

from __future__ import annotations

from lsprotocol import types

from ..backends.summary import layer_description
from ..layers.base import format_shape
from . import knowledge
from .analysis import Analysis
from .context import Cursor, cursor_at
from .navigation import name_at, section_of, used_by


def hover(current: Analysis, last_good: Analysis | None, offset: int) -> types.Hover | None:
    """What to show for the cursor at `offset` of the current text; facts from the last parse that worked."""
    cursor = cursor_at(current.text, offset, current.fmt)
    facts = current if current.parsed else last_good
    text = _markdown(cursor, facts)
    if text is None:
        return None
    token = cursor.token
    where = current.lines.range(token.start, token.end) if token is not None else None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=where)


def _markdown(cursor: Cursor, facts: Analysis | None) -> str | None:
    if cursor.token is None:
        return None
    name = name_at(cursor)
    if name is not None and facts is not None and facts.parsed:
        return node_markdown(facts, name)
    key = cursor.key
    if cursor.role == "value" and key == "type" and not cursor.in_array:
        kind = knowledge.layer_kind(cursor.token.text)
        return knowledge.layer_markdown(kind) if kind is not None else None
    if cursor.role == "key" and key is not None:
        return _key_markdown(cursor, key)
    if cursor.role == "header" and len(cursor.path) == 1:
        return _key_markdown(cursor, cursor.path[0], table_path=())
    return None


def _key_markdown(cursor: Cursor, key: str, table_path: tuple | None = None) -> str | None:
    table_path = cursor.table_path if table_path is None else table_path
    kind = knowledge.layer_kind(cursor.table.get("type"))
    if kind is not None and key not in knowledge.STEP_KEYS:
        doc = knowledge.parameter(kind, key)
        return knowledge.parameter_markdown(kind, doc) if doc is not None else None
    if key == "shared":
        return "**shared**: the name of a layer under `[shared]`, whose weights this step reuses."
    if key == "type" and (kind is not None or _is_step_table(table_path)):
        return "**type**: the Keras layer class, exactly as in `keras.layers`."
    doc = knowledge.section_key(table_path, key)
    if doc is None:
        return None
    default = "" if doc.default in ("required", "null") else f" Default: `{doc.default}`."
    return f"**{doc.name}**{' (required)' if doc.default == 'required' else ''}: {doc.description}{default}"


def _is_step_table(table_path: tuple) -> bool:
    return (len(table_path) == 2 and table_path[0] in ("shared", "merges")) or "layers" in table_path


def node_markdown(facts: Analysis, name: str) -> str | None:
    """A name's hover: what it is, its layers, output shape, weights and where it is used."""
    section = section_of(facts, name)
    if section is None:
        return None
    graph = facts.result.graph
    lines = [f"**{name}** ({_ROLE[section]})"]
    uses = used_by(facts, name)
    if graph is None:
        lines.append("")
        lines.append("Not checked further: the spec has errors that keep its graph from being built.")
    elif section == "shared":
        lines += _shared_lines(graph, name)
    else:
        lines += _node_lines(graph, name)
    lines.append("")
    lines.append("Used by: " + (", ".join(f"`{use}`" for use in uses) if uses else "nothing"))
    return "\n".join(lines)


_ROLE = {
    "inputs": "input",
    "shared": "shared layer",
    "branches": "branch",
    "merges": "merge",
    "outputs": "output",
}


def _node_lines(graph, name: str) -> list[str]:
    owned = [node for node in graph.nodes.values() if node.owner == name]
    steps = [
        f"`{layer_description(node)}`" + (f" (shared `{node.shared}`)" if node.shared else "")
        for node in owned
        if node.role != "input"
    ]
    tensor = graph.tensors.get(name) or graph.outputs.get(name)
    shape = graph.nodes[tensor].shape if tensor in graph.nodes else None
    counts = [node.param_count for node in owned]
    weights = "?" if any(c is None for c in counts) else f"{sum(counts):,}"
    sources = []
    for node in owned:
        sources += [graph.label(source) for source in node.inputs if graph.nodes[source].owner != name]
    lines = [""]
    if steps:
        lines.append("Layers: " + " → ".join(steps))
    if sources:
        lines.append("From: " + ", ".join(f"`{source}`" for source in dict.fromkeys(sources)))
    lines.append(f"Output shape: `{format_shape(shape) if shape is not None else '?'}`")
    lines.append(f"Weights: {weights}")
    return lines


def _shared_lines(graph, name: str) -> list[str]:
    call = graph.spec.shared.get(name)
    uses = [node for node in graph.topological_order() if node.shared == name]
    lines = [""]
    if call is not None:
        lines.append(f"Layer: `{call.kind.name}`")
    counts = [node.param_count for node in uses]
    weights = "?" if any(c is None for c in counts) else f"{sum(counts):,}"
    lines.append(f"Weights: {weights} (created once, by the first use)")
    for node in uses:
        inputs = ", ".join(_shape_of(graph, source) for source in node.inputs)
        shape = format_shape(node.shape) if node.shape is not None else "?"
        lines.append(f"- in `{graph.label(node.id)}`: {inputs} → `{shape}`")
    return lines


def _shape_of(graph, node_id: str) -> str:
    shape = graph.nodes[node_id].shape
    return f"`{graph.label(node_id)}` `{format_shape(shape) if shape is not None else '?'}`"
