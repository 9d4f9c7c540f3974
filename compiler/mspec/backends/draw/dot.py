"""Graphviz DOT text of a checked spec: shapes on edges, branches as clusters, faults in red.

The text is written here rather than through `graphviz.Digraph`, which
passes anything shaped like `<...>` through unquoted (as an HTML label):
every id and label goes through `dot_quote` instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...diagnostics import Diagnostic
from ...graph.model import ModelGraph
from .escape import dot_quote
from .view import Box, Diagram, Marks, build_diagram

FONT = "Helvetica"
INK = "#475569"
RED = "#dc2626"
RED_TEXT = "#b91c1c"
AMBER = "#d97706"
AMBER_TEXT = "#92400e"

# Per kind of box: its shape and colours.
KIND_STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe", "color": "#2563eb"},
    "step": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": INK},
    "chain": {"shape": "box3d", "style": "filled", "fillcolor": "#f1f5f9", "color": INK},
    "merge": {"shape": "hexagon", "style": "filled", "fillcolor": "#fef3c7", "color": "#b45309"},
    "output": {
        "shape": "box",
        "style": "filled,bold",
        "peripheries": "2",
        "fillcolor": "#dcfce7",
        "color": "#15803d",
    },
    "missing": {"shape": "box", "style": "rounded,dashed", "fillcolor": "#ffffff", "color": RED},
}
# Shared layers: one fill and border per layer, the same at each of its uses.
SHARED_COLOURS = (
    ("#ede9fe", "#7c3aed"),
    ("#fce7f3", "#db2777"),
    ("#cffafe", "#0891b2"),
    ("#ffedd5", "#ea580c"),
    ("#e0e7ff", "#4f46e5"),
    ("#ecfccb", "#65a30d"),
)
ERROR_FILL = "#fee2e2"
# A diff's marks (`mspec diff`): added in green, changed in blue, removed dashed and rose,
# an arrow whose shape changed in orange with both shapes.
ADDED = "#16a34a"
CHANGED = "#1d4ed8"
REMOVED = "#fb7185"
REMOVED_TEXT = "#9f1239"
RESHAPED = "#ea580c"
MARK_STYLE: dict[str, dict[str, str]] = {
    "added": {"color": ADDED, "penwidth": "3"},
    "changed": {"color": CHANGED, "penwidth": "3"},
    "removed": {"color": REMOVED, "fontcolor": REMOVED_TEXT, "fillcolor": "#ffffff", "penwidth": "1.5"},
}
ARROW_MARK_STYLE: dict[str, dict[str, str]] = {
    "added": {"color": ADDED, "fontcolor": ADDED, "penwidth": "2.2"},
    "reshaped": {"color": RESHAPED, "fontcolor": RESHAPED, "penwidth": "2.2"},
    "removed": {"color": REMOVED, "fontcolor": REMOVED_TEXT, "style": "dashed", "penwidth": "1.5"},
}


def to_dot(
    graph: ModelGraph,
    diagnostics: list[Diagnostic],
    *,
    rankdir: str = "TB",
    collapse: bool = False,
    marks: Marks | None = None,
) -> str:
    """Return the DOT text of a checked graph, its diagnostics drawn on the nodes and edges at fault.

    `marks` (from `mspec diff`) colours what changed against an older model and adds what it removed.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be TB or LR, not {rankdir!r}")
    diagram = build_diagram(graph, diagnostics, collapse=collapse, marks=marks)
    palette = {name: SHARED_COLOURS[i % len(SHARED_COLOURS)] for i, name in enumerate(diagram.shared)}
    out = [f"digraph {dot_quote(diagram.name)} {{"]
    # A trailing line break keeps the title clear of the first row of nodes.
    title = "\n".join(diagram.heading) + "\n "
    graph_style = {"labelloc": "t", "labeljust": "l", "fontname": FONT, "fontsize": "13"}
    graph_style["fontcolor"] = RED_TEXT if any(d.is_error for d in diagram.notes) else "#0f172a"
    layout = {"rankdir": rankdir, "newrank": "true", "compound": "true", "nodesep": "0.3", "ranksep": "0.45"}
    out.append(_statement("graph", label=title, **graph_style, **layout, pad="0.2", bgcolor="white"))
    out.append(_statement("node", fontname=FONT, fontsize="11", margin="0.15,0.06", penwidth="1.2"))
    edge_style = {"fontname": FONT, "fontsize": "10", "fontcolor": "#334155", "arrowsize": "0.7"}
    out.append(_statement("edge", color=INK, **edge_style))

    for box in diagram.boxes.values():
        if box.cluster is None:
            out.append(_node(box, palette))
    for cluster in diagram.clusters:
        out.append(f"  subgraph {dot_quote(cluster.id)} {{")
        frame = {"style": "rounded,dashed", "color": "#94a3b8", "fontcolor": INK, "fontsize": "11"}
        out.append(_statement("graph", indent=4, label=cluster.label, labeljust="l", **frame))
        out += [_node(diagram.boxes[box_id], palette, indent=4) for box_id in cluster.boxes]
        out.append("  }")

    cluster_of = {box_id: cluster.id for cluster in diagram.clusters for box_id in cluster.boxes}
    for arrow in diagram.arrows:
        attributes = {"label": " " + arrow.label}
        # An arrow into or out of a branch ends at the branch's frame, clear of its name.
        head, tail = cluster_of.get(arrow.target), cluster_of.get(arrow.source)
        if head is not None and head != tail:
            attributes["lhead"] = head
        if tail is not None and tail != head:
            attributes["ltail"] = tail
        if arrow.mark is not None:
            attributes |= ARROW_MARK_STYLE[arrow.mark]
        if arrow.fault:
            attributes |= {"color": RED, "fontcolor": RED, "penwidth": "2.2"}
        out.append(_edge(arrow.source, arrow.target, **attributes))
    for first, second, name in diagram.shared_links:
        link = {"style": "dashed", "dir": "none", "constraint": "false", "penwidth": "1.2"}
        out.append(_edge(first, second, color=palette[name][1], **link))

    out += _legend(diagram, palette, rankdir)
    out.append("}")
    return "\n".join(out) + "\n"


def _attributes(**attributes: str) -> str:
    return "[" + ", ".join(f"{key}={dot_quote(value)}" for key, value in attributes.items()) + "]"


def _statement(keyword: str, *, indent: int = 2, **attributes: str) -> str:
    return f"{' ' * indent}{keyword} {_attributes(**attributes)};"


def _edge(source: str, target: str, *, indent: int = 2, **attributes: str) -> str:
    return f"{' ' * indent}{dot_quote(source)} -> {dot_quote(target)} {_attributes(**attributes)};"


def _node(box: Box, palette: dict[str, tuple[str, str]], *, indent: int = 2) -> str:
    attributes = {"label": box.label, **KIND_STYLE[box.kind]}
    if box.shared is not None:
        fill, border = palette[box.shared]
        attributes |= {"fillcolor": fill, "color": border, "penwidth": "2"}
    if box.mark is not None:
        attributes |= MARK_STYLE[box.mark]
        if box.mark == "removed":
            attributes["style"] = attributes["style"].replace("filled", "dashed,filled")
    if box.severity == "error":
        attributes |= {"color": RED, "fontcolor": RED_TEXT, "penwidth": "2.5"}
        # A shared layer keeps its colour, so its uses still match.
        if box.shared is None and box.kind != "missing":
            attributes["fillcolor"] = ERROR_FILL
    elif box.severity == "warning":
        attributes |= {"color": AMBER, "fontcolor": AMBER_TEXT, "penwidth": "2"}
    return _statement(dot_quote(box.id), indent=indent, **attributes)


def _legend(diagram: Diagram, palette: dict[str, tuple[str, str]], rankdir: str) -> Iterable[str]:
    """Yield a small cluster that names each kind of box the diagram uses."""
    kinds = {box.kind for box in diagram.boxes.values()}
    names = {"input": "input", "step": "layer", "chain": "branch", "merge": "merge", "output": "output"}
    entries = [(kind, names[kind], kind, {}) for kind in names if kind in kinds]
    used = [box.shared for box in diagram.boxes.values() if box.shared is not None]
    if used:
        fill, border = palette[used[0]]
        shared = {"fillcolor": fill, "color": border, "penwidth": "2"}
        entries.append(("shared", "shared layer\n(a colour each)", "step", shared))
    if diagram.has_errors:
        error = {"color": RED, "fontcolor": RED_TEXT, "fillcolor": ERROR_FILL, "penwidth": "2.5"}
        entries.append(("error", "error, with\nits message", "step", error))
    marks = {box.mark for box in diagram.boxes.values()} | {arrow.mark for arrow in diagram.arrows}
    for mark, text in (("added", "added"), ("changed", "changed"), ("removed", "removed")):
        if mark in marks:
            style = dict(MARK_STYLE[mark])
            if mark == "removed":
                style["style"] = "rounded,dashed,filled"
            entries.append((mark, text, "step", style))
    if "reshaped" in marks:
        reshaped = {"shape": "plaintext", "style": "", "fontcolor": RESHAPED}
        entries.append(("reshaped", "orange arrow:\nshape changed", "step", reshaped))
    if rankdir == "LR":
        entries.reverse()  # a rank runs bottom to top there: this reads top to bottom
    yield f"  subgraph {dot_quote('cluster_legend')} {{"
    frame = {"style": "rounded", "color": "#cbd5e1", "fontcolor": INK, "fontsize": "10"}
    yield _statement("graph", indent=4, label="legend", labeljust="l", rank="same", **frame)
    previous = None
    for key, text, kind, extra in entries:
        node_id = f"legend:{key}"
        style = {**KIND_STYLE[kind], "fontsize": "9", **extra}
        yield _statement(dot_quote(node_id), indent=4, label=text, **style)
        if previous is not None:
            # The legend is one rank; invisible edges keep its entries in this order.
            yield _edge(previous, node_id, indent=4, style="invis")
        previous = node_id
    yield "  }"
    # Below the outputs, where a reader finishes, rather than beside the inputs.
    for box in diagram.boxes.values():
        if box.kind == "output" and entries:
            yield _edge(box.id, f"legend:{entries[0][0]}", style="invis")
