"""`mspec diff OLD NEW`: the click command, and git's external diff convention.

Git runs a diff driver (`diff.<driver>.command`, or GIT_EXTERNAL_DIFF) as

    COMMAND path old-file old-hex old-mode new-file new-hex new-mode [new-path xfrm-msg]

(the last two for a rename), old-file being a temporary copy (or /dev/null
for a file added). Given 7 or 9 arguments, the command reads them so and
names the sides a/PATH and b/PATH. Git before 2.46 stops at a driver that
exits non-zero, so there a difference exits 0, and a side that cannot be
read is said in one line followed by git's own kind of text diff.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..diagnostics.report import EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK

FORMATS = ("text", "markdown", "json", "svg", "png", "pdf", "mermaid", "dot")
GIT_ARGUMENTS = (7, 9)


@click.command(name="diff")
@click.argument("arguments", nargs=-1, required=True, metavar="OLD NEW")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal; markdown for a pull-request comment; json for tools; svg, png, pdf, "
    "mermaid or dot: a diagram of NEW with the changes marked (svg, png and pdf need Graphviz's `dot`).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option(
    "--rankdir",
    type=click.Choice(["TB", "LR"]),
    default="TB",
    show_default=True,
    help="Diagrams: flow direction.",
)
@click.option("--collapse", is_flag=True, help="Diagrams: draw each branch as one node, for large specs.")
def diff(
    arguments: tuple[str, ...], output_format: str, output: str | None, rankdir: str, collapse: bool
) -> None:
    """Say what changing the model OLD into NEW does: for code review.

    OLD and NEW are spec files (TOML or JSON, either way round), saved Keras
    models (.keras, imported as `mspec import` would; no Keras needed), git
    revisions as REV:PATH (`HEAD~1:specs/x.toml`, PATH from the repository's
    top, as `git show` reads it), or /dev/null for no model. The diff is of
    the models, not the text: nodes are matched by name, then by structure
    (a renamed node is reported renamed), and table order, comments, the
    format and parameters written at their defaults make no difference.
    Reported: nodes added, removed, renamed, their layer type, parameters,
    shared layer and inputs changed, each with its output shape and weight
    count before and after; the nodes downstream whose shape changed as a
    consequence; losses, metrics, [compile], [train]; and the lint findings
    new in NEW. A spec with errors is compared as far as its checks get.

    Exit status, as diff's: 0 the models are the same, 1 they differ, 2 a
    side cannot be read. Called as git's diff driver (7 or 9 arguments, see
    the README), a difference exits 0, as git wants.
    """
    git = len(arguments) in GIT_ARGUMENTS
    if not git and len(arguments) != 2:
        raise click.UsageError(
            f"give OLD and NEW (or git's 7 or 9 diff driver arguments), got {len(arguments)} argument(s)"
        )
    if output_format in ("png", "pdf") and output is None and sys.stdout.isatty():
        raise click.UsageError(
            f"--format {output_format} writes binary data: give -o PATH (or redirect stdout)"
        )
    if output_format in ("svg", "png", "pdf"):
        _need_dot()
    from ..review.sides import SideUnreadable

    try:
        old, new = _read(arguments, git)
    except SideUnreadable as error:
        _unreadable(error, arguments if git else None)
        sys.exit(EXIT_OK if git else EXIT_CANNOT_RUN)
    from ..review import diff_sides

    result = diff_sides(old, new)
    data = _render(result, output_format, rankdir, collapse)
    if output is not None:
        from ..files import write_atomic

        write_atomic(Path(output), data)
        click.echo(f"wrote {output}", err=True)
    elif output_format in ("png", "pdf"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        click.echo(data.decode("utf-8"), nl=False)
    if git:
        sys.exit(EXIT_OK)
    sys.exit(EXIT_OK if result.same else EXIT_ERRORS)


def _need_dot() -> None:
    from ..backends.draw import GraphvizMissing, find_dot

    try:
        find_dot()
    except GraphvizMissing as error:
        click.echo(f"mspec: {error}", err=True)
        sys.exit(EXIT_CANNOT_RUN)


def _read(arguments: tuple[str, ...], git: bool):
    """Read both sides; as git's driver, by the temporary files and named after the path."""
    from ..review.sides import read_sides

    if not git:
        return read_sides(arguments[0], arguments[1])
    path, old_file, new_file = arguments[0], arguments[1], arguments[4]
    new_path = arguments[7] if len(arguments) == 9 else path
    return read_sides(
        old_file,
        new_file,
        old_label=f"a/{path}",
        new_label=f"b/{new_path}",
        old_name=path,
        new_name=new_path,
    )


def _render(result, output_format: str, rankdir: str, collapse: bool) -> bytes:
    from ..review import report

    if output_format == "text":
        return report.to_text(result).encode("utf-8")
    if output_format == "markdown":
        return report.to_markdown(result).encode("utf-8")
    if output_format == "json":
        import json

        return (json.dumps(report.to_json(result), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if result.new_result is None or result.new_result.graph is None:
        click.echo(f"mspec: {result.new.label} has no model to draw (it is /dev/null)", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    from ..backends.draw import GraphvizFailed, GraphvizMissing

    fmt = output_format
    try:
        return report.diagram(result, fmt, rankdir=rankdir, collapse=collapse)
    except (GraphvizMissing, GraphvizFailed) as error:
        click.echo(f"mspec: not drawn: {error}", err=True)
        sys.exit(EXIT_CANNOT_RUN)


def _unreadable(error, git_arguments: tuple[str, ...] | None) -> None:
    """Say why a side cannot be read; as git's driver, then show the text diff git would have shown."""
    click.echo(f"mspec: {error.label}: {error.message}", err=True)
    for diagnostic in error.diagnostics:
        click.echo(diagnostic.format(), err=True)
    if git_arguments is None:
        return
    path, old_file, new_file = git_arguments[0], git_arguments[1], git_arguments[4]
    new_path = git_arguments[7] if len(git_arguments) == 9 else path
    click.echo(f"mspec diff a/{path} → b/{new_path}")
    click.echo(f"{error.label}: {error.message}; the text diff instead:")
    lines = [_lines(old_file), _lines(new_file)]
    click.echo("".join(difflib.unified_diff(*lines, f"a/{path}", f"b/{new_path}")), nl=False)


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    except OSError:
        return []
