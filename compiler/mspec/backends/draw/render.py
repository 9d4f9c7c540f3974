"""Turn DOT text into SVG, PNG or PDF with Graphviz's `dot` program."""

from __future__ import annotations

import re
import shutil
import subprocess

IMAGE_FORMATS = ("svg", "png", "pdf")
MISSING_DOT = (
    "Graphviz's `dot` is needed for svg/png/pdf: install the Debian/Ubuntu package `graphviz` "
    "(apt-get install graphviz), or use --format dot or --format mermaid"
)


class GraphvizMissing(RuntimeError):
    """Graphviz's `dot` program is not installed (or not on PATH)."""

    def __init__(self) -> None:
        super().__init__(MISSING_DOT)


class GraphvizFailed(RuntimeError):
    """`dot` ran but could not lay out or write the diagram."""


def find_dot() -> str:
    """Return the path of `dot`, or raise GraphvizMissing."""
    found = shutil.which("dot")
    if found is None:
        raise GraphvizMissing()
    return found


def render(dot_text: str, fmt: str) -> bytes:
    """Run `dot -T<fmt>` on the text and return the image bytes."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"cannot render {fmt!r}: expected one of {', '.join(IMAGE_FORMATS)}")
    command = [find_dot(), f"-T{fmt}"]
    try:
        done = subprocess.run(command, input=dot_text.encode("utf-8"), capture_output=True, check=False)
    except FileNotFoundError as error:  # removed between the lookup and the run
        raise GraphvizMissing() from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise GraphvizFailed(f"dot -T{fmt} failed: {message}")
    return done.stdout


_SVG_CONTENT = re.compile(
    r'(?:class|fill|stroke|stroke-width|stroke-dasharray|font-family|font-size)="[^"]*"'
    r"|<title>[^<]*</title>|>[^<>]*</text>"
)


def svg_content(svg: str) -> list[str]:
    """Reduce SVG from `dot` to what it shows: classes, titles, texts, colours; not the layout.

    Coordinates depend on the fonts installed and the Graphviz version
    (which SVG also names in a comment); the content does not.
    """
    return _SVG_CONTENT.findall(svg)


def same_diagram(fmt: str, old: bytes, new: bytes) -> bool:
    """Return whether two files of a format show the same diagram (SVG by content, others by bytes)."""
    if fmt == "svg":
        return svg_content(old.decode("utf-8", "replace")) == svg_content(new.decode("utf-8", "replace"))
    return old == new
