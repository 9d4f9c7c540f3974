"""Back end: diagrams of a checked spec, as DOT (and SVG/PNG/PDF through Graphviz) or Mermaid."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...graph.model import ModelGraph
from .dot import to_dot
from .mermaid import to_mermaid
from .render import (
    IMAGE_FORMATS,
    MISSING_DOT,
    GraphvizFailed,
    GraphvizMissing,
    find_dot,
    render,
    same_diagram,
    svg_content,
)
from .view import Marks, RemovedBox

FORMATS = ("svg", "png", "pdf", "dot", "mermaid")
EXTENSIONS = {"svg": "svg", "png": "png", "pdf": "pdf", "dot": "dot", "mermaid": "mmd"}


def draw(
    graph: ModelGraph,
    diagnostics: list[Diagnostic],
    fmt: str = "svg",
    *,
    rankdir: str = "TB",
    collapse: bool = False,
    marks: Marks | None = None,
) -> bytes:
    """Return the diagram of a checked graph in one of FORMATS, as the bytes of its file.

    `marks` draws a diff on it (what `mspec diff` added, changed and removed).
    """
    if fmt == "mermaid":
        return to_mermaid(graph, diagnostics, rankdir=rankdir, collapse=collapse, marks=marks).encode("utf-8")
    text = to_dot(graph, diagnostics, rankdir=rankdir, collapse=collapse, marks=marks)
    if fmt == "dot":
        return text.encode("utf-8")
    return render(text, fmt)


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "IMAGE_FORMATS",
    "MISSING_DOT",
    "GraphvizFailed",
    "GraphvizMissing",
    "Marks",
    "RemovedBox",
    "draw",
    "find_dot",
    "render",
    "same_diagram",
    "svg_content",
    "to_dot",
    "to_mermaid",
]
