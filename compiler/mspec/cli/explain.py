"""`mspec explain`: the command line over `mspec.explain.explain`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..diagnostics.report import EXIT_OK
from .guard import extra_needed, install_hint, require_files, require_paths, run_guarded

EXPLAIN_EXTRA = install_hint("fit")


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
    "--data",
    required=True,
    type=click.Path(),
    help="Data to explain on (.npz, .csv or .parquet, or a directory or quoted glob of Parquet "
    "files), bound and checked as `mspec fit` does: "
    "held-out rows (such as the validation file) say what the model relies on beyond its training rows.",
)
@click.option(
    "--repeats", default=5, show_default=True, type=click.IntRange(min=1), help="Shuffles per input."
)
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the shuffles."
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="A,B",
    help="Also shuffle these inputs together (repeatable): correlated or duplicated inputs "
    "share their importance, which each alone hides.",
)
@click.option(
    "--batch-size",
    default=1024,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per prediction batch.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table per output, or JSON.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Also draw the importances to this PNG."
)
def explain(
    spec: str,
    model_path: str,
    data: str,
    repeats: int,
    seed: int,
    groups: tuple[str, ...],
    batch_size: int,
    output_format: str,
    output: str | None,
) -> None:
    """Which inputs the trained model of SPEC relies on, per output, and how balanced its branches are.

    For each input: how much each output's loss rises (and its first metric
    falls) when the input's rows are shuffled (mean ± std over --repeats
    seeded shuffles), and when it is ablated: replaced in every row by a
    value that carries nothing, chosen from the layer that reads it (its mean
    for numbers, an id the data never uses or the padding id for an
    Embedding, the out-of-vocabulary token for a lookup; the report names
    it). Inputs that carry the same
    information share their importance: shuffle them together with --group.
    The branch shares recorded by `mspec fit` (<model>.history.json) are shown
    beside them. fit's own checks of [train] (validation data for early
    stopping, validation_split under multi_worker) do not apply: explain
    scores a trained model, it does not train one.

    Exit status: 0 explained; 1 the spec or the data has errors; 2 could not
    run (missing extra, unreadable file); 130 interrupted.
    """
    with extra_needed("not explained", EXPLAIN_EXTRA):
        from ..explain.importance import explain as run_explain
        from ..explain.output import to_json, to_png, to_text

    require_files(spec, model_path)
    require_paths(data)
    group_lists = [tuple(name.strip() for name in group.split(",") if name.strip()) for group in groups]
    explanation = run_guarded(
        lambda: run_explain(
            spec,
            model_path,
            data,
            repeats=repeats,
            seed=seed,
            groups=group_lists,
            batch_size=batch_size,
            log=lambda line: click.echo(line, err=True),
        ),
        outcome="not explained",
        where="the spec or data",
        extra_hint=EXPLAIN_EXTRA,
        usage_errors=(ValueError,),
    )
    if output_format == "json":
        click.echo(json.dumps(to_json(explanation), indent=2))
    else:
        click.echo(to_text(explanation), nl=False)
    if output is not None:
        from ..files import write_atomic

        write_atomic(Path(output), to_png(explanation))
        click.echo(f"wrote {output}", err=True)
    sys.exit(EXIT_OK)
