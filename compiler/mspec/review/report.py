"""A diff as text for the terminal, Markdown for a pull request, JSON for tools, and marks for a diagram.

Every format says the same, in the same order: a summary (how many changes,
the weights before and after), the changes node by node with what each does
to its node's shape and weights, the consequences downstream, the changes to
[compile], [train], [model] and [lint], the lint findings new in NEW (and
those gone), and the errors either side still has.
"""

from __future__ import annotations

import json
from typing import Any

from ..layers.base import format_shape
from .diff import SETTINGS, Change, Consequence, ModelDiff

SYMBOLS = {"added": "+", "removed": "-"}
SECTION_WORDS = {
    "inputs": "input",
    "shared": "shared layer",
    "branches": "branch",
    "merges": "merge",
    "outputs": "output",
}
# A pull-request comment has a size limit (GitHub: 65,536 characters): longer tables are cut.
MARKDOWN_ROWS = 200
MARKDOWN_CONSEQUENCES = 100


# --- Pieces every format shares ---------------------------------------------------------------


def value_text(value: Any) -> str:
    """A parameter value as JSON writes it: "relu", 64, [3, 3], null, true."""
    return json.dumps(value, ensure_ascii=False)


def shape_text(shape: Any) -> str:
    return "?" if shape is None else format_shape(tuple(shape))


def count_text(count: int | None) -> str:
    return "?" if count is None else f"{count:,}"


def delta_text(delta: int | None) -> str:
    if delta is None:
        return "?"
    return f"+{delta:,}" if delta > 0 else f"{delta:,}".replace("-", "−") if delta < 0 else "±0"


def weights_text(old: int | None, new: int | None, *, percent: bool = False) -> str:
    """`704 → 1,056 (+352)`, or with `percent` `704 → 1,056 (+352, +50.0%)`."""
    delta = None if old is None or new is None else new - old
    extra = percent_text(old, new) if percent else ""
    return f"{count_text(old)} → {count_text(new)} ({delta_text(delta)}{extra})"


def percent_text(old: int | None, new: int | None) -> str:
    """`, +9.8%`: the change against the old count (nothing when there was none)."""
    if not old or new is None or new == old:
        return ""
    return f", {(new - old) / old * 100:+,.1f}%".replace("-", "−")


def _params_text(params: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{name}: {value_text(old)} → {value_text(new)}" for name, (old, new) in params.items())


def what(change: Change) -> str:
    """What a change did, in words: `units: 64 → 96`, `added Dropout(0.2)`, `renamed from x2`."""
    kind = change.kind
    if kind == "added":
        if change.layer is None:
            return f"added {SECTION_WORDS.get(change.section, change.section)}"
        return f"added {change.layer}"
    if kind == "removed":
        if change.layer is None:
            return f"removed {SECTION_WORDS.get(change.section, change.section)}"
        return f"removed {change.layer}"
    if kind == "renamed":
        return f"{SECTION_WORDS.get(change.section, change.section)} renamed from {change.old_node}"
    if kind == "type":
        text = f"layer {change.old_layer} → {change.layer}"
        return text + (f" (shared layer {change.shared})" if change.shared else "")
    if kind == "params":
        text = _params_text(change.params)
        return text + (f" (shared layer {change.shared})" if change.shared else "")
    if kind == "shared":
        old, new = change.params["shared"]
        before = f"shared layer {old}" if old else f"its own {change.old_layer}"
        after = f"shared layer {new}" if new else f"its own {change.layer}"
        return f"uses {after} (was {before})"
    if kind == "rewired":
        old, new = change.inputs or ([], [])
        return f"reads {', '.join(new) or '?'} (was {', '.join(old) or '?'})"
    return _params_text(change.params)


def effect(change: Change) -> str:
    """What a change did to its node: its shape and weights, when they changed (or it came or went)."""
    (old_shape, new_shape), (old_count, new_count) = change.shape, change.weights
    if change.kind == "added":
        weights = f", weights {delta_text(new_count)}" if new_count != 0 else ""
        return f"shape {shape_text(new_shape)}{weights}"
    if change.kind == "removed":
        return f"weights {delta_text(None if old_count is None else -old_count)}" if old_count != 0 else ""
    parts = []
    if old_shape != new_shape:
        parts.append(f"shape {shape_text(old_shape)} → {shape_text(new_shape)}")
    if old_count != new_count:
        parts.append(f"weights {weights_text(old_count, new_count)}")
    return ", ".join(parts)


def _has_effect(change: Change) -> bool:
    return (
        change.kind in ("added", "removed", "type", "params", "shared", "rewired")
        and change.section != "shared"
    )


def headline(diff: ModelDiff, *, named: bool = True) -> str:
    """One line: the model, how many changes, the weights before and after."""
    name = f"model {diff.new.name or diff.old.name or '?'}: " if named else ""
    if diff.same:
        return f"{name}no change to the model (weights {count_text(diff.new.weights)})"
    old, new = diff.weights
    counts = [_count(len(diff.changes), "change")]
    if diff.consequences:
        counts.append(_count(len(diff.consequences), "consequence"))
    return f"{name}{', '.join(counts)}; weights {weights_text(old, new, percent=True)}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _node_changes(diff: ModelDiff) -> list[Change]:
    return [c for c in diff.changes if c.section not in SETTINGS]


def _spec_changes(diff: ModelDiff) -> list[Change]:
    return [c for c in diff.changes if c.section in SETTINGS]


# --- Text ---------------------------------------------------------------------------------------


def to_text(diff: ModelDiff) -> str:
    """The diff for a terminal: a summary line, then changes, consequences, settings and findings."""
    lines = [f"mspec diff {diff.old.label} → {diff.new.label}", headline(diff)]
    changes = _node_changes(diff)
    if changes:
        lines += ["", "Changes:"]
        previous = None
        for change in changes:
            symbol = SYMBOLS.get(change.kind, "~")
            who = change.node or change.section
            lines.append(f"  {symbol} {who}: {what(change)}")
            shown = effect(change) if _has_effect(change) else ""
            key = (change.id, change.old_id)
            if shown and key != previous:
                lines.append(f"      {shown}")
            if shown:
                previous = key
    if diff.consequences:
        lines += ["", "Consequences (nodes not edited whose shape or weights changed with an edit upstream):"]
        width = max(len(c.node) for c in diff.consequences)
        for consequence in diff.consequences:
            lines.append(
                f"  {consequence.node:<{width}}  {consequence.layer}: {_consequence_text(consequence)}"
            )
    settings = _spec_changes(diff)
    if settings:
        lines += ["", "Settings:"]
        for change in settings:
            lines.append(f"  ~ [{change.section}] {_params_text(change.params)}")
    lines += _findings_text(diff)
    return "\n".join(lines) + "\n"


def _consequence_text(consequence: Consequence) -> str:
    (old_shape, new_shape), (old_count, new_count) = consequence.shape, consequence.weights
    parts = []
    if old_shape != new_shape:
        parts.append(f"shape {shape_text(old_shape)} → {shape_text(new_shape)}")
    if old_count != new_count:
        parts.append(f"weights {weights_text(old_count, new_count)}")
    return ", ".join(parts)


def _findings_text(diff: ModelDiff) -> list[str]:
    lines = []
    if diff.new_findings:
        lines += ["", f"Lint findings new in {diff.new.label}:"]
        lines += [f"  {d.format()}" for d in diff.new_findings]
    if diff.resolved_findings:
        lines += ["", f"Lint findings of {diff.old.label} gone:"]
        lines += [f"  {d.format()}" for d in diff.resolved_findings]
    for view in (diff.old, diff.new):
        errors = view.errors
        if errors:
            lines += [
                "",
                f"{view.label} has {_count(len(errors), 'error')} (compared as far as its checks got):",
            ]
            lines += [f"  {d.format()}" for d in errors]
    return lines


# --- Markdown -----------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    text = text.replace("`", "'")
    return f"`{_cell(text)}`" if text else ""


def to_markdown(diff: ModelDiff) -> str:
    """The diff for a pull-request comment: a summary line with the weight delta, then tables."""
    name = diff.new.name or diff.old.name or "model"
    old, new = diff.weights
    out = [f"#### mspec diff: `{name}`", ""]
    if diff.same:
        out.append(f"**No change to the model** ({_count(new or 0, 'weight')}).")
    else:
        counts = [_count(len(diff.changes), "change")]
        if diff.consequences:
            counts.append(_count(len(diff.consequences), "consequence"))
        delta = None if old is None or new is None else new - old
        out.append(
            f"**{', '.join(counts)}; weights {count_text(old)} → {count_text(new)} "
            f"({delta_text(delta)}{percent_text(old, new)})**"
        )
    out.append("")
    out.append(f"<sub>{_cell(diff.old.label)} → {_cell(diff.new.label)}</sub>")
    changes = _node_changes(diff)
    if changes:
        out += ["", "| | node | change | output shape | weights |", "|---|---|---|---|---|"]
        for change in changes[:MARKDOWN_ROWS]:
            symbol = {"added": "➕", "removed": "➖"}.get(change.kind, "✏️")
            out.append(
                f"| {symbol} | {_code(change.node or change.section)} | {_cell(what(change))} | "
                f"{_markdown_shape(change)} | {_markdown_weights(change)} |"
            )
        if len(changes) > MARKDOWN_ROWS:
            out.append(
                f"\n… and {len(changes) - MARKDOWN_ROWS:,} more changes (see `mspec diff --format json`)."
            )
    if diff.consequences:
        shown = diff.consequences[:MARKDOWN_CONSEQUENCES]
        out += [
            "",
            f"<details><summary>{_count(len(diff.consequences), 'node')} not edited whose shape or weights "
            "changed with an edit upstream</summary>",
            "",
            "| node | layer | output shape | weights |",
            "|---|---|---|---|",
        ]
        for consequence in shown:
            (old_shape, new_shape), (old_count, new_count) = consequence.shape, consequence.weights
            shape = (
                f"{shape_text(old_shape)} → {shape_text(new_shape)}"
                if old_shape != new_shape
                else shape_text(new_shape)
            )
            weights = weights_text(old_count, new_count) if old_count != new_count else count_text(new_count)
            out.append(
                f"| {_code(consequence.node)} | {_cell(consequence.layer)} | {_cell(shape)} | {weights} |"
            )
        if len(diff.consequences) > len(shown):
            out.append(f"\n… and {len(diff.consequences) - len(shown):,} more.")
        out += ["", "</details>"]
    settings = _spec_changes(diff)
    if settings:
        out += [""]
        for change in settings:
            for name, (before, after) in change.params.items():
                out.append(f"- `[{change.section}]` {name}: `{value_text(before)}` → `{value_text(after)}`")
    out += _findings_markdown(diff)
    return "\n".join(out) + "\n"


def _markdown_shape(change: Change) -> str:
    if not _has_effect(change):
        return ""
    old, new = change.shape
    if change.kind == "added":
        return shape_text(new)
    if change.kind == "removed":
        return shape_text(old)
    return f"{shape_text(old)} → {shape_text(new)}" if old != new else shape_text(new)


def _markdown_weights(change: Change) -> str:
    if not _has_effect(change):
        return ""
    old, new = change.weights
    if change.kind == "added":
        return delta_text(new)
    if change.kind == "removed":
        return delta_text(None if old is None else -old)
    return weights_text(old, new) if old != new else count_text(new)


def _findings_markdown(diff: ModelDiff) -> list[str]:
    out = []

    def items(diagnostics) -> list[str]:
        return [
            f"- **{d.code}** {d.severity.value} ({_cell(f'{d.file}:{d.line}:{d.col}')}): {_cell(d.message)}"
            for d in diagnostics
        ]

    if diff.new_findings:
        out += ["", f"**Lint findings new in this change ({len(diff.new_findings)}):**", ""]
        out += items(diff.new_findings)
    if diff.resolved_findings:
        out += ["", f"Lint findings gone ({len(diff.resolved_findings)}):", ""]
        out += items(diff.resolved_findings)
    for view in (diff.old, diff.new):
        if view.errors:
            out += ["", f"**{_cell(view.label)} has {_count(len(view.errors), 'error')}:**", ""]
            out += items(view.errors)
    return out


# --- JSON ---------------------------------------------------------------------------------------


def _shape_json(shape: Any) -> Any:
    return None if shape is None else list(shape)


def _weights_json(old: int | None, new: int | None) -> dict[str, Any]:
    return {"old": old, "new": new, "delta": None if old is None or new is None else new - old}


def change_json(change: Change) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": change.kind, "node": change.node, "section": change.section}
    if change.id is not None or change.old_id is not None:
        data["id"] = change.id if change.kind != "removed" else None
        data["old_id"] = change.old_id
    if change.layer is not None or change.old_layer is not None:
        data["layer"] = change.layer if change.kind != "removed" else None
        data["old_layer"] = change.old_layer if change.kind != "removed" else change.layer
    if change.old_node is not None:
        data["old_node"] = change.old_node
    if change.params:
        data["params"] = {
            "old": {name: old for name, (old, _) in change.params.items()},
            "new": {name: new for name, (_, new) in change.params.items()},
        }
    if change.inputs is not None:
        data["inputs"] = {"old": change.inputs[0], "new": change.inputs[1]}
    if change.shared is not None:
        data["shared"] = change.shared
    if change.output is not None:
        data["output"] = change.output
    if _has_effect(change):
        old, new = change.weights
        if change.kind == "added":
            old = 0
        elif change.kind == "removed":
            new = 0
        data["shape"] = {"old": _shape_json(change.shape[0]), "new": _shape_json(change.shape[1])}
        data["weights"] = _weights_json(old, new)
    return data


def to_json(diff: ModelDiff) -> dict[str, Any]:
    """The diff as data: `changes` ({kind, node, ...}), `consequences`, findings and errors."""

    def side(view) -> dict[str, Any]:
        return {"label": view.label, "model": view.name, "weights": view.weights, "errors": len(view.errors)}

    old, new = diff.weights
    return {
        "old": side(diff.old),
        "new": side(diff.new),
        "same": diff.same,
        "weights": _weights_json(old, new),
        "changes": [change_json(change) for change in diff.changes],
        "consequences": [
            {
                "node": c.node,
                "id": c.id,
                "old_id": c.old_id,
                "layer": c.layer,
                "shape": {"old": _shape_json(c.shape[0]), "new": _shape_json(c.shape[1])},
                "weights": _weights_json(*c.weights),
            }
            for c in diff.consequences
        ],
        "findings": {
            "new": [d.to_json() for d in diff.new_findings],
            "gone": [d.to_json() for d in diff.resolved_findings],
        },
        "errors": {
            "old": [d.to_json() for d in diff.old.errors],
            "new": [d.to_json() for d in diff.new.errors],
        },
    }


# --- Diagram ------------------------------------------------------------------------------------


def marks(diff: ModelDiff):
    """What a diagram of NEW draws of the diff: boxes and arrows added, changed, removed, reshaped."""
    from ..backends.draw.view import Marks, RemovedBox, output_box

    old, new = diff.old, diff.new
    found = Marks()
    found.title = [f"diff against {old.label}: {headline(diff, named=False)}"]
    old_to_new = {o: n for n, o in diff.matched.items()}
    for change in _node_changes(diff):
        if change.kind == "removed":
            continue
        target = output_box(change.output) if change.output else change.id
        if change.kind == "added" and change.section == "outputs" and change.id is None:
            target = output_box(change.node)
        if target is None:
            continue
        found.boxes[target] = "added" if change.kind == "added" else "changed"
        note = "+ added" if change.kind == "added" else f"~ {what(change)}"
        found.notes.setdefault(target, []).append(note)
    for consequence in diff.consequences:
        old_count, new_count = consequence.weights
        if old_count != new_count:  # a changed shape is on the arrows already
            found.notes.setdefault(consequence.id, []).append(f"weights {weights_text(old_count, new_count)}")
    for name in new.outputs:
        entity_name = diff.renamed.get(name, name)
        if entity_name not in old.entities:
            found.boxes[output_box(name)] = "added"

    # Arrows, as tensors from node to node (and into each output box), both sides in NEW's ids.
    def new_ref(old_id: str) -> str:
        return old_to_new.get(old_id, f"removed:{old_id}")

    old_edges: dict[tuple[str, str], str] = {}
    for node in old.nodes.values():
        for source in node.inputs:
            old_edges[(new_ref(source), new_ref(node.id))] = source
    new_names = {o: n for n, o in diff.renamed.items()}  # OLD entry name -> NEW's, when renamed
    for name, node_id in old.outputs.items():
        new_name = new_names.get(name, name)
        target = output_box(new_name) if new_name in new.outputs else f"removed:{output_box(name)}"
        old_edges[(new_ref(node_id), target)] = node_id
    new_edges: dict[tuple[str, str], str] = {}
    for node in new.nodes.values():
        for source in node.inputs:
            new_edges[(source, node.id)] = source
    for name, node_id in new.outputs.items():
        new_edges[(node_id, output_box(name))] = node_id
    for edge, source in new_edges.items():
        if edge not in old_edges:
            found.arrows[edge] = "added"
            continue
        before = old.nodes[old_edges[edge]].shape
        after = new.nodes[source].shape
        if before != after:
            found.reshaped[edge] = shape_text(before)
    for edge, source in old_edges.items():
        if edge not in new_edges:
            found.removed_arrows.append((*edge, shape_text(old.nodes[source].shape)))

    # Boxes of what NEW no longer has, in the chain they stood in when that chain is still there.
    for change in _node_changes(diff):
        if change.kind != "removed" or change.old_id is None:
            continue
        node = old.nodes[change.old_id]
        kind = {"input": "input", "merge": "merge"}.get(node.role, "step")
        chain = new_names.get(node.owner, node.owner) if node.role == "step" else None
        if chain not in new.entities or diff.renamed.get(chain, chain) != node.owner:
            chain = None
        lines = [node.label, change.layer or node.description, "− removed"]
        found.removed.append(RemovedBox(f"removed:{node.id}", kind, lines, chain))
        if chain is not None:
            found.chains[chain] = "changed"
    for name in old.outputs:
        if new_names.get(name, name) not in new.outputs:
            found.removed.append(
                RemovedBox(f"removed:{output_box(name)}", "output", [name, "model output", "− removed"])
            )
    return found


def diagram(diff: ModelDiff, fmt: str, *, rankdir: str = "TB", collapse: bool = False) -> bytes:
    """A diagram of NEW with the diff drawn on it (svg, png, pdf, dot or mermaid)."""
    from ..backends.draw import draw

    result = diff.new_result
    if result is None or result.graph is None:
        raise ValueError("the new side has no model to draw")
    return draw(result.graph, result.diagnostics, fmt, rankdir=rankdir, collapse=collapse, marks=marks(diff))
