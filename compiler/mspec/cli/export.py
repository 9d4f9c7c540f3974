"""`mspec export`: the command line over `mspec.export` (artifacts.exporter)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..artifacts.formats import DEFAULT_ROWS, EXTRAS, FORMATS, ExportRefused
from ..diagnostics.report import EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK
from .guard import extra_needed, require_files, require_paths, run_guarded, stop


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The trained model: a .keras file written by `mspec fit` (or `mspec build`).",
)
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(FORMATS),
    help="saved_model (a folder, for TensorFlow Serving), onnx (for onnxruntime) or litert (a .tflite file).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="The artifact: a folder for saved_model, a file for onnx and litert (*.tflite).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Run the artifact in its own runtime on a batch of rows and compare every output with the "
    "Keras model's; nothing is written when they differ.",
)
@click.option(
    "--verify-only",
    is_flag=True,
    help="Export nothing: verify the artifact already at --output, and its manifest, against the model.",
)
@click.option(
    "--data",
    type=click.Path(),
    help="Rows to verify on (.npz, .csv or .parquet, bound by name as `mspec predict` binds them: "
    "labels not needed); default: rows generated from the spec (dtypes, shapes and id ranges).",
)
@click.option(
    "--rows",
    default=DEFAULT_ROWS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows to verify on.",
)
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the generated rows."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the manifest and the checks as JSON (instead of lines)."
)
def export(
    spec: str,
    model_path: str,
    fmt: str,
    output: str,
    verify: bool,
    verify_only: bool,
    data: str | None,
    rows: int,
    seed: int,
    as_json: bool,
) -> None:
    """Export the trained model of SPEC as a SavedModel, ONNX or LiteRT file, fed by the spec's names.

    Beside the artifact (inside a SavedModel's folder) a manifest,
    <artifact>.manifest.json, states every input and output: the artifact's
    name and position for it, its dtype and shape, and what an input's
    values must be (raw values for a Normalization inside the model, ids in
    an Embedding's range, strings for a StringLookup). The artifact is
    written under a temporary name and renamed into place at the end.

    Exit status: 0 exported (and verified); 1 the spec or the data has errors,
    the format cannot hold the model (the layer is named; nothing written),
    or the verification found a difference; 2 could not run (missing extra,
    unreadable file); 130 interrupted.
    """
    with extra_needed("not exported" if not verify_only else "not verified", EXTRAS[fmt]):
        from ..artifacts.exporter import export as run_export

    require_files(spec, model_path)
    if data is not None and not (verify or verify_only):
        stop("not exported: --data is the rows --verify runs on; add --verify", EXIT_ERRORS)
    if verify_only and not Path(output).exists():
        stop(f"{output}: no such artifact to verify", EXIT_CANNOT_RUN)
    require_paths(data)
    outcome = run_guarded(
        lambda: run_export(
            spec,
            model_path,
            fmt,
            output,
            verify=verify,
            verify_only=verify_only,
            data=data,
            rows=rows,
            seed=seed,
            log=lambda line: click.echo(f"mspec: {line}", err=True),
        ),
        outcome="not exported" if not verify_only else "not verified",
        where="the spec or data",
        extra_hint=EXTRAS[fmt],
        usage_errors=(ValueError, ExportRefused),
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "written": outcome.written,
                    "manifest": outcome.manifest,
                    "rows": outcome.rows,
                    "rows_from": outcome.rows_from,
                    "problems": outcome.problems,
                    "checks": [
                        {"output": c.name, "worst": c.worst, "atol": c.atol, "rtol": c.rtol, "ok": c.ok}
                        for c in outcome.checks
                    ],
                },
                indent=2,
            )
        )
    elif outcome.checks:
        click.echo(f"verified {fmt} on {outcome.rows} rows ({outcome.rows_from}):")
        for problem in outcome.problems:
            click.echo(f"  {problem}")
        for check in outcome.checks:
            click.echo(f"  {check.describe()}")
    if outcome.written:
        click.echo(f"wrote {outcome.path} and its manifest", err=True)
    if (verify or verify_only) and not outcome.verified:
        stop(
            f"{'not exported' if not verify_only else 'not verified'}: the {fmt} artifact "
            "does not compute what the Keras model computes",
            EXIT_ERRORS,
        )
    sys.exit(EXIT_OK)
