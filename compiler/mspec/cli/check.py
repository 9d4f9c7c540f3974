"""`mspec lint`, `summary`, `build`, `draw`, `schema`, `rules` and `rule`: the commands over the front end.

None of them imports TensorFlow or Keras, except `build`, in a worker process.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..diagnostics.report import EXIT_CANNOT_RUN, Report
from .app import Finished

if TYPE_CHECKING:
    from ..backends.keras_model.worker import InProcessBuilder, KerasWorker

    Builder = KerasWorker | InProcessBuilder


def _spec_files(paths: tuple[str, ...], report: Report, *, specs_only: bool = False) -> list[Path]:
    """Expand directories into their spec files, sorted, keeping the given order of arguments.

    In a directory, and among named files with `specs_only`, TOML and JSON
    files that are not specs (by their content, see `mspec.discover`) are
    passed over quietly.
    """
    # `discover` is imported only where it is used: a spec file named on the command line is
    # checked without it.
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            from ..discover import looks_like_spec, walk

            files.extend(p for p in walk(path) if looks_like_spec(p))
        elif path.exists():
            if specs_only:
                from ..discover import looks_like_spec

                if not looks_like_spec(path):
                    continue
            files.append(path)
        else:
            report.cannot_run(f"{raw}: no such file or directory")
    return files


SPECS_ONLY_HELP = (
    "Pass over TOML and JSON files that are not mspec specs (judged by their content), as a "
    "directory walk does; for pre-commit hooks that hand over every .toml and .json file."
)


def _finish(report: Report, *, summary: bool) -> None:
    """Print what could not be done (and the counts), then exit with the report's status."""
    for stale in report.stale:
        click.echo(f"mspec: {stale}", err=True)
    for failure in report.failures:
        click.echo(f"mspec: {failure}", err=True)
    if summary:
        click.echo(report.summary(), err=True)
    raise Finished(report.exit_code)


def _write_or_check(target: Path, data: bytes, check: bool, report: Report, fmt: str = "") -> None:
    """Write an output atomically or, with --check, only compare it with the file already there."""
    from ..files import write_atomic

    if not check:
        write_atomic(target, data)
        click.echo(f"wrote {target}", err=True)
        return
    from ..backends.draw import same_diagram

    existing = target.read_bytes() if target.is_file() else None
    if existing is None:
        report.stale.append(f"{target} is missing: regenerate it")
    elif not same_diagram(fmt, existing, data):
        report.stale.append(f"{target} is out of date: regenerate it")


CHECK_HELP = "Write nothing; exit 1 if an output is missing or differs from what would be written."


def _check(path: Path, report: Report, *, echo: bool = True, select=(), ignore=()):
    """Check one spec file, count its findings and (with `echo`) print them; None if unreadable.

    The rules reported are those selected by the nearest pyproject.toml's
    [tool.mspec], `select` and `ignore` (from the command line) and the
    spec's own [lint] section.
    """
    from ..diagnostics.selection import SelectionError, project_selection
    from ..pipeline import check_file

    try:
        selection = project_selection(path).with_command_line(select, ignore)
    except SelectionError as error:
        report.cannot_run(str(error))
        return None
    try:
        result = check_file(path, selection)
    except OSError as error:
        report.cannot_run(_read_error(path, error))
        return None
    report.add(result.diagnostics)
    if echo:
        for diagnostic in result.diagnostics:
            click.echo(diagnostic.format())
    return result


def _read_error(path: Path, error: OSError) -> str:
    return f"{path}: cannot read: {error.strerror or error}"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one `PATH:LINE:COL: CODE severity: message` line per finding; "
    "json: a list of objects for tools.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no closing count.")
@click.option(
    "--data",
    "data_path",
    type=click.Path(),
    help="Also check this training data file (.npz, .csv, .parquet), or data set of many Parquet "
    "files (a directory, or a quoted glob such as 'parts/*.parquet'), against the spec, once the "
    "spec is free of errors: columns, shapes, values, ids and labels (needs the data extra). "
    "Only with one spec file.",
)
@click.option(
    "--select",
    metavar="CODES",
    help="Report only these rules: comma-separated codes, prefixes (MS7) or names. "
    "Errors that keep a model from being built are always reported.",
)
@click.option(
    "--ignore",
    metavar="CODES",
    help="Do not report these rules (codes, prefixes or names, comma-separated), "
    "in addition to [tool.mspec] and the spec's [lint] section.",
)
@click.option("--specs-only", is_flag=True, help=SPECS_ONLY_HELP)
def lint(
    paths: tuple[str, ...],
    output_format: str,
    quiet: bool,
    data_path: str | None,
    select: str | None,
    ignore: str | None,
    specs_only: bool,
) -> None:
    """Check spec files (and directories of them) without building anything.

    In a directory, TOML and JSON files that are not specs are passed over.
    Rules can be turned off with --ignore, [tool.mspec] in pyproject.toml
    and the spec's [lint] section (`mspec rules` lists them); errors that
    keep a model from being built are always reported. Exit status: 0 no
    errors (warnings allowed), 1 errors found, 2 a path could not be read.
    Never imports TensorFlow.
    """
    from ..diagnostics.selection import SelectionError, codes, split

    if data_path is not None and (len(paths) != 1 or Path(paths[0]).is_dir()):
        raise click.UsageError("--data checks the data of one spec: give exactly one spec file")
    selected, ignored = split(select), split(ignore)
    try:
        codes(selected + ignored)
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    report = Report()
    findings = []
    for path in _spec_files(paths, report, specs_only=specs_only):
        result = _check(path, report, echo=False, select=selected, ignore=ignored)
        if result is not None:
            findings.extend(result.diagnostics)
            if data_path is not None and result.ok:
                findings.extend(_check_data(result, data_path, report))
    if output_format == "json":
        import json

        click.echo(json.dumps([d.to_json() for d in findings], indent=2))
    else:
        for diagnostic in findings:
            click.echo(diagnostic.format())
    _finish(report, summary=not quiet and output_format == "text")


def _check_data(result, data_path: str, report: Report) -> list:
    """Check a data file against a spec free of errors; count the findings and return them, sorted."""
    from ..pipeline import check_training_data

    try:
        from ..data import DataError
    except ImportError as error:
        report.cannot_run(f"--data needs numpy and pyarrow ({error.name} is missing): install mspec[data]")
        return []
    try:
        diagnostics = check_training_data(result, data_path)
    except DataError as error:
        report.cannot_run(error.message)
        return []
    report.errors += sum(d.is_error for d in diagnostics)
    report.warnings += sum(not d.is_error for d in diagnostics)
    return diagnostics


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
def summary(spec: str) -> None:
    """Print a Keras-like table of a spec: nodes, layers, output shapes, weights.

    Computed statically, without TensorFlow. A spec with errors prints its
    diagnostics instead, and exits 1.
    """
    from ..pipeline import check_file, summary_table

    try:
        result = check_file(spec)
    except OSError as error:
        click.echo(f"mspec: {_read_error(Path(spec), error)}", err=True)
        sys.exit(EXIT_CANNOT_RUN)
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format(), err=True)
    if not result.ok or result.graph is None:
        sys.exit(1)
    click.echo(summary_table(result), nl=False)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default="build",
    show_default=True,
    help="Folder for the generated files.",
)
@click.option(
    "--source-only", is_flag=True, help="Write the Python source only; do not build or save the model."
)
@click.option("--check", is_flag=True, help=CHECK_HELP + " Compares the source only.")
@click.option("--specs-only", is_flag=True, help=SPECS_ONLY_HELP)
def build(specs: tuple[str, ...], output_dir: str, source_only: bool, check: bool, specs_only: bool) -> None:
    """Generate Keras source (and a saved model) for each spec.

    Writes OUTPUT_DIR/<model name>.py, readable Keras Functional API code that
    defines build_model(), and OUTPUT_DIR/<model name>.keras, the built model
    (needs the tensorflow extra). A spec with errors builds nothing: its
    diagnostics are printed as by `lint` and the exit status is 1. Without
    TensorFlow, the source is still written and the exit status is 2.
    With --check (for pre-commit and CI), nothing is written and the exit
    status is 1 when a source file is missing or stale.

    Keras runs in a separate process, started at once so that importing
    TensorFlow overlaps with checking the specs; its messages are shown only
    if it fails. A model Keras cannot build or save gives exit status 2.
    """
    report = Report()
    folder = Path(output_dir)
    # Keras is imported by a worker process started now, so that its seconds
    # of start-up overlap with checking the specs and generating their source.
    builder = None if source_only or check else _start_builder()
    if builder is None:
        _build_each(
            _spec_files(specs, report, specs_only=specs_only), folder, check, None, source_only, report
        )
    else:
        from ..interruption import interruptions_delivered

        with interruptions_delivered():
            try:
                files = _spec_files(specs, report, specs_only=specs_only)
                _build_each(files, folder, check, builder, source_only, report)
            except BaseException:
                builder.abort()  # interrupted: no model may appear after the command has stopped
                raise
            builder.close()
    _finish(report, summary=False)


def _start_builder() -> Builder | None:
    from ..backends.keras_model import build as keras_build

    if not keras_build.keras_available():
        return None
    from ..backends.keras_model.worker import start_builder

    return start_builder()


def _build_each(
    paths: list[Path],
    folder: Path,
    check: bool,
    builder: Builder | None,
    source_only: bool,
    report: Report,
) -> None:
    from ..backends.keras_model.build import KerasUnavailable
    from ..pipeline import python_source

    for path in paths:
        result = _check(path, report)
        if result is None or not result.ok or result.graph is None:
            continue
        if not check:
            _warn_about_build(result, report)
        name = result.graph.spec.name
        source = python_source(result)
        _write_or_check(folder / f"{name}.py", source.encode(), check, report)
        if source_only or check:
            continue
        target = folder / f"{name}.keras"
        if builder is None:
            report.cannot_run(f"{target}: not built: {KerasUnavailable.MESSAGE} (or pass --source-only)")
        else:
            _build_and_save(builder, source, name, target, report)


def _warn_about_build(result, report: Report) -> None:
    """Findings about the built model itself (MS711), which lint does not report."""
    from ..graph.passes import build_warnings

    warnings = result.reported(build_warnings(result.graph))
    report.warnings += len(warnings)
    for diagnostic in warnings:
        click.echo(diagnostic.format())


def _build_and_save(builder: Builder, source: str, name: str, target: Path, report: Report) -> None:
    from ..backends.keras_model.worker import WorkerFailed

    try:
        built = builder.build(source, name, target)
    except WorkerFailed as error:
        report.cannot_run(f"{target}: not built: {error}")
        return
    if built.error is not None:
        report.cannot_run(f"{target}: not built: {built.error}")
        return
    click.echo(f"wrote {target} ({built.param_count:,} parameters)", err=True)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="The diagram's file when one spec file is given, else a folder. "
    "Default: diagrams/<model name>.<ext> (.mmd for mermaid).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["svg", "png", "pdf", "dot", "mermaid"]),
    default="svg",
    show_default=True,
    help="svg, png and pdf need Graphviz's `dot`; dot is Graphviz source; "
    "mermaid is a flowchart for Markdown (GitHub, GitLab).",
)
@click.option(
    "--rankdir",
    type=click.Choice(["TB", "LR"]),
    default="TB",
    show_default=True,
    help="Direction of the flow: top to bottom, or left to right.",
)
@click.option("--collapse", is_flag=True, help="Draw each branch as one node, for large specs.")
@click.option("--check", is_flag=True, help=CHECK_HELP + " SVG is compared by what it shows, not its layout.")
@click.option("--specs-only", is_flag=True, help=SPECS_ONLY_HELP)
def draw(
    specs: tuple[str, ...],
    output: str | None,
    output_format: str,
    rankdir: str,
    collapse: bool,
    check: bool,
    specs_only: bool,
) -> None:
    """Draw each spec as a diagram: layers, shapes, branches, merges and shared layers.

    A spec with errors is still drawn, with the nodes and edges at fault in
    red and the messages on them; its diagnostics are printed as by `lint`
    and the exit status is 1. A spec that cannot be loaded or validated is
    not drawn (exit 1). Exit 2 when a file cannot be read or, for svg, png
    and pdf, Graphviz's `dot` is missing. Never imports TensorFlow. With
    --check, nothing is written and the exit status is 1 when a diagram is
    missing or stale.
    """
    from ..backends.draw import EXTENSIONS, IMAGE_FORMATS, GraphvizFailed, GraphvizMissing, find_dot
    from ..pipeline import diagram

    if output_format in IMAGE_FORMATS:
        try:
            find_dot()
        except GraphvizMissing as error:
            click.echo(f"mspec: {error}", err=True)
            sys.exit(EXIT_CANNOT_RUN)
    report = Report()
    files = _spec_files(specs, report, specs_only=specs_only)
    # `-o` names the file only when exactly one spec file is given (and -o is not a folder).
    one_file = len(specs) == 1 and Path(specs[0]).is_file() and not (output and Path(output).is_dir())
    written: dict[Path, Path] = {}
    for path in files:
        result = _check(path, report)
        if result is None or result.graph is None:
            continue
        name = result.graph.spec.name
        if output is not None and one_file:
            target = Path(output)
        else:
            target = Path(output or "diagrams") / f"{name}.{EXTENSIONS[output_format]}"
        if target in written:
            report.cannot_run(f"{path}: not drawn: {target} is already the diagram of {written[target]}")
            continue
        try:
            data = diagram(result, output_format, rankdir=rankdir, collapse=collapse)
        except (GraphvizMissing, GraphvizFailed) as error:
            report.cannot_run(f"{path}: not drawn: {error}")
            continue
        _write_or_check(target, data, check, report, output_format)
        written[target] = path
    _finish(report, summary=False)


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of the spec format (for editors and validators)."""
    import json

    from ..backends.schema import spec_schema

    text = json.dumps(spec_schema(), indent=2, sort_keys=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from ..files import write_atomic

    write_atomic(Path(output), text.encode())


@click.command()
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table; json: every rule with its explanation, for tools.",
)
def rules(output_format: str) -> None:
    """List every rule: code, name, severity, whether it can be ignored, and what it finds.

    `mspec rule CODE` explains one. Codes are stable: a code keeps its meaning forever.
    """
    from ..diagnostics.rules import RULES

    if output_format == "json":
        import json

        entries = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity,
                "ignorable": r.ignorable,
                "reported_by": r.reported_by,
                "summary": r.summary,
                "explanation": r.explanation(),
            }
            for r in RULES.values()
        ]
        click.echo(json.dumps(entries, indent=2))
        return
    width = max(len(r.name) for r in RULES.values())
    click.echo(f"code   {'name':<{width}}  severity  ignorable  summary")
    for r in RULES.values():
        ignorable = "yes" if r.ignorable else "no"
        click.echo(f"{r.code}  {r.name:<{width}}  {r.severity:<8}  {ignorable:<9}  {r.summary}")


@click.command()
@click.argument("code")
def rule(code: str) -> None:
    """Explain one rule (by code, e.g. MS712, or name): why it matters, an example and the fix."""
    from ..diagnostics.rules import RULES, RULES_BY_NAME, find_rule
    from ..diagnostics.suggest import did_you_mean

    found = find_rule(code)
    if found is None:
        hint = did_you_mean(code.upper(), RULES) or did_you_mean(code.lower(), RULES_BY_NAME)
        click.echo(f"mspec: no rule {code!r}" + (f" ({hint})" if hint else "; see `mspec rules`"), err=True)
        sys.exit(EXIT_CANNOT_RUN)
    click.echo(found.explanation(), nl=False)
