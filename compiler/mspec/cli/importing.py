"""`mspec import`: a saved Keras model's configuration, read as data, written as a spec."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..diagnostics.report import EXIT_CANNOT_RUN


@click.command(name="import")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write the spec to this file instead of stdout."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["toml", "json"]),
    help="The spec's format. Default: json when OUTPUT ends in .json, else toml.",
)
def import_(model: str, output: str | None, output_format: str | None) -> None:
    """Write a spec for a saved Keras model: a .keras file, or JSON from model.to_json().

    Reads the model's configuration as data: never imports Keras, never runs
    anything from the file. Nested models are inlined, and tensor operations
    (x + y, x * 0.5, keras.ops.relu) become the layers that compute the same,
    with a warning (MS411). What a spec cannot express (Lambda or custom
    layers, several outputs per layer ...) is reported naming the layer, and
    nothing is written (exit 1). Exit 2 when the file cannot be read or holds
    no Keras model.
    """
    from ..files import write_atomic
    from ..importer import ModelFileError, not_a_model
    from ..pipeline import import_spec

    fmt = output_format or ("json" if output and output.endswith(".json") else "toml")
    try:
        result = import_spec(model, fmt, spec_path=output or "<stdout>")
    except ModelFileError as error:
        click.echo(not_a_model(model, error).format(), err=True)
        sys.exit(EXIT_CANNOT_RUN)
    for diagnostic in result.diagnostics:
        click.echo(diagnostic.format(), err=True)
    if not result.ok or result.text is None:
        sys.exit(1)
    if output is None:
        click.echo(result.text, nl=False)
        return
    write_atomic(Path(output), result.text.encode())
    click.echo(f"wrote {output}", err=True)
