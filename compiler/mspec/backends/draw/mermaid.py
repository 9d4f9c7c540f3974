"""A Mermaid flowchart of a checked spec, for Markdown on GitHub and GitLab.

It shows what the DOT diagram shows: boxes numbered `n0, n1 ...` in spec
order, branches and output heads as subgraphs, shapes on the arrows, and
classes for shared layers and faults. Every label goes through
`mermaid_quote`.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...graph.model import ModelGraph
from .dot import (
    ADDED,
    AMBER,
    AMBER_TEXT,
    CHANGED,
    ERROR_FILL,
    INK,
    KIND_STYLE,
    RED,
    RED_TEXT,
    REMOVED,
    REMOVED_TEXT,
    RESHAPED,
    SHARED_COLOURS,
)
from .escape import mermaid_quote
from .view import Box, Marks, build_diagram

WIDE_LABELS = '%%{init: {"flowchart": {"wrappingWidth": 400}}}%%'
# Per kind of box: Mermaid's opening and closing brackets for its shape.
SHAPES = {
    "input": ("([", "])"),
    "step": ("(", ")"),
    "chain": ("[", "]"),
    "merge": ("{{", "}}"),
    "output": ("[[", "]]"),
    "missing": ("[", "]"),
}


def to_mermaid(
    graph: ModelGraph,
    diagnostics: list[Diagnostic],
    *,
    rankdir: str = "TB",
    collapse: bool = False,
    marks: Marks | None = None,
) -> str:
    """Return a Mermaid `flowchart` of a checked graph, its diagnostics on the boxes and arrows at fault.

    `marks` (from `mspec diff`) colours what changed against an older model and adds what it removed.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be TB or LR, not {rankdir!r}")
    diagram = build_diagram(graph, diagnostics, collapse=collapse, marks=marks)
    ids = {box_id: f"n{i}" for i, box_id in enumerate(diagram.boxes)}
    palette = {name: i % len(SHARED_COLOURS) for i, name in enumerate(diagram.shared)}
    # Labels are wrapped here already: Mermaid's own wrapping at 200 px would break them again.
    out = [WIDE_LABELS, f"flowchart {rankdir}"]
    # The title is a box of its own: Mermaid has no graph label to put it in.
    out.append(f"  title[{mermaid_quote(chr(10).join(diagram.heading))}]")

    for box_id, box in diagram.boxes.items():
        if box.cluster is None:
            out.append("  " + _node(ids[box_id], box))
    for i, cluster in enumerate(diagram.clusters):
        out.append(f"  subgraph s{i}[{mermaid_quote(cluster.label)}]")
        out += ["    " + _node(ids[box_id], diagram.boxes[box_id]) for box_id in cluster.boxes]
        out.append("  end")

    faulted, shared_links = [], {}
    marked: dict[str, list[int]] = {}
    links = 0
    for arrow in diagram.arrows:
        line = "-.->" if arrow.mark == "removed" else "-->"
        out.append(f"  {ids[arrow.source]} {line}|{mermaid_quote(arrow.label)}| {ids[arrow.target]}")
        if arrow.fault:
            faulted.append(links)
        elif arrow.mark is not None:
            marked.setdefault(arrow.mark, []).append(links)
        links += 1
    for first, second, name in diagram.shared_links:
        out.append(f"  {ids[first]} -.- {ids[second]}")
        shared_links.setdefault(palette[name], []).append(links)
        links += 1

    title_colour = RED_TEXT if any(d.is_error for d in diagram.notes) else INK
    out.append(_class_def("title", fill="#ffffff", stroke="#ffffff", color=title_colour))
    for kind, style in KIND_STYLE.items():
        out.append(_class_def(kind, fill=style["fillcolor"], stroke=style["color"]))
    for i, (fill, border) in enumerate(SHARED_COLOURS[: len(set(palette.values()))]):
        out.append(_class_def(f"shared{i}", fill=fill, stroke=border, stroke_width="2px"))
    out.append(_class_def("warning", fill="#fffbeb", stroke=AMBER, color=AMBER_TEXT, stroke_width="2px"))
    out.append(_class_def("error", fill=ERROR_FILL, stroke=RED, color=RED_TEXT, stroke_width="2.5px"))
    out.append(_class_def("cluster", fill="#ffffff", stroke="#94a3b8", stroke_dasharray="5 5", color=INK))
    marks_used = {box.mark for box in diagram.boxes.values() if box.mark is not None}
    if "added" in marks_used:
        out.append(_class_def("added", fill="#f0fdf4", stroke=ADDED, stroke_width="3px"))
    if "changed" in marks_used:
        out.append(_class_def("changed", fill="#eff6ff", stroke=CHANGED, stroke_width="3px"))
    if "removed" in marks_used:
        out.append(
            _class_def("removed", fill="#ffffff", stroke=REMOVED, color=REMOVED_TEXT, stroke_dasharray="5 5")
        )
    out.append("  class title title")
    if diagram.clusters:
        out.append(f"  class {','.join(f's{i}' for i in range(len(diagram.clusters)))} cluster")

    # One class per box: a fault outranks a diff's mark, then a shared colour, then the kind.
    classes: dict[str, list[str]] = {}
    for box_id, box in diagram.boxes.items():
        if box.severity is not None:
            name = box.severity
        elif box.mark is not None:
            name = box.mark
        elif box.shared is not None:
            name = f"shared{palette[box.shared]}"
        else:
            name = box.kind
        classes.setdefault(name, []).append(ids[box_id])
    for name, members in classes.items():
        out.append(f"  class {','.join(members)} {name}")
    if faulted:
        out.append(f"  linkStyle {','.join(map(str, faulted))} stroke:{RED},stroke-width:2.5px,color:{RED}")
    for index, positions in shared_links.items():
        colour = SHARED_COLOURS[index][1]
        out.append(f"  linkStyle {','.join(map(str, positions))} stroke:{colour},stroke-dasharray:4 4")
    arrow_styles = {
        "added": f"stroke:{ADDED},stroke-width:2.5px,color:{ADDED}",
        "reshaped": f"stroke:{RESHAPED},stroke-width:2.5px,color:{RESHAPED}",
        "removed": f"stroke:{REMOVED},stroke-dasharray:5 5,color:{REMOVED_TEXT}",
    }
    for mark, positions in marked.items():
        out.append(f"  linkStyle {','.join(map(str, positions))} {arrow_styles[mark]}")
    return "\n".join(out) + "\n"


def _node(mermaid_id: str, box: Box) -> str:
    opening, closing = SHAPES[box.kind]
    return f"{mermaid_id}{opening}{mermaid_quote(box.label)}{closing}"


def _class_def(name: str, **styles: str) -> str:
    declarations = ",".join(f"{key.replace('_', '-')}:{value}" for key, value in styles.items())
    return f"  classDef {name} {declarations}"
