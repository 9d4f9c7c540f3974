"""`mspec predict` and `mspec evaluate`: the command line over mspec.scoring."""

from __future__ import annotations

import json
import sys

import click

from ..diagnostics.report import EXIT_OK
from .guard import extra_needed, install_hint, require_files, require_paths, run_guarded

SCORING_EXTRA = install_hint("fit")
DATA_HELP = (
    "(.npz, .csv or .parquet, or a directory or quoted glob of Parquet files), bound and checked "
    "as `mspec fit` does"
)
# columns.DEFAULT_THRESHOLD, not imported: it would load numpy with the command line.
DEFAULT_THRESHOLD = 0.5


model_option = click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The trained model: a .keras file written by `mspec fit`.",
)


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@model_option
@click.option(
    "--data",
    required=True,
    type=click.Path(),
    help=f"Rows to predict {DATA_HELP}, except that labels are not needed: an output's label "
    "column may be absent; a present one is ignored.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the predictions: .parquet, .csv or .npz (by its suffix). Written under a "
    "temporary name beside it and renamed at the end: never half-written.",
)
@click.option(
    "--keep",
    "keep",
    multiple=True,
    metavar="COL,...",
    help="Copy these columns of the data (ids, keys; bound to the spec or not) into the output, "
    "first, row by row (repeatable). CSV columns are copied as text, as written.",
)
@click.option(
    "--threshold",
    default=DEFAULT_THRESHOLD,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Binary (sigmoid) outputs: the probability from which <output> is 1.",
)
@click.option(
    "--batch-size",
    default=1024,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per prediction batch.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    help="Rows read, predicted and written at a time (memory holds one chunk). Default: about "
    "32 MB of inputs, as the spec's shapes and dtypes estimate them, and at least one batch.",
)
def predict(
    spec: str,
    model_path: str,
    data: str,
    output: str,
    keep: tuple[str, ...],
    threshold: float,
    batch_size: int,
    chunk_rows: int | None,
) -> None:
    """Predict every row of the data with the trained model of SPEC; write one row out per row in, in order.

    The data is read, predicted and written in chunks of --chunk-rows rows
    (an .npz output is assembled in memory and saved at the end: use Parquet
    or CSV for data larger than memory). Columns, after the --keep ones, in
    the spec's order of outputs:

    \b
      classifier (softmax, or a sparse/categorical crossentropy loss):
        <output>           the predicted class (the most probable)
        <output>_prob_<k>  the probability of class k
      binary (sigmoid, or a binary crossentropy loss), one unit:
        <output>_prob      the probability
        <output>           1 if <output>_prob >= --threshold, else 0
      (k units: <output>_prob_<k> and <output>_<k>)
      regression (anything else):
        <output>           one unit; else <output>_<k> per unit

    A loss with from_logits = true means the model outputs logits: the
    sigmoid or softmax is applied first, so that _prob columns hold
    probabilities.

    Exit status: 0 written; 1 the spec or the data has errors, or a wrong
    argument (nothing written); 2 could not run (missing extra, unreadable
    file); 130 interrupted (nothing written).
    """
    with extra_needed("not predicted", SCORING_EXTRA):
        from ..scoring.predict import predict as run_predict

    require_files(spec, model_path)
    require_paths(data)
    columns = tuple(c.strip() for item in keep for c in item.split(",") if c.strip())
    result = run_guarded(
        lambda: run_predict(
            spec,
            model_path,
            data,
            output,
            keep=columns,
            threshold=threshold,
            batch_size=batch_size,
            chunk_rows=chunk_rows,
            log=lambda line: click.echo(line, err=True),
        ),
        outcome="not predicted",
        where="the spec or data",
        extra_hint=SCORING_EXTRA,
        usage_errors=(ValueError,),
    )
    click.echo(f"wrote {result.path}: {result.rows} rows, columns {', '.join(result.columns)}", err=True)
    sys.exit(EXIT_OK)


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@model_option
@click.option(
    "--data",
    required=True,
    type=click.Path(),
    help=f"Labelled data to score on {DATA_HELP} (labels required).",
)
@click.option(
    "--batch-size",
    default=1024,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per batch (losses and metrics are averaged over rows, as Keras does).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per score, or JSON.",
)
def evaluate(spec: str, model_path: str, data: str, batch_size: int, output_format: str) -> None:
    """Each output's loss and metrics of the trained model of SPEC on labelled data.

    The numbers are Keras' own `model.evaluate` on the data, streamed in
    batches: the total loss ("loss", with the outputs' loss weights), each
    output's loss ("<output>_loss") and metrics ("<output>_<metric>"), as
    the model was compiled; a model of one output names its metrics alone
    ("accuracy"). Class weights do not apply. Nothing is written.

    Exit status: 0 evaluated; 1 the spec or the data has errors (missing
    labels among them); 2 could not run (missing extra, unreadable file);
    130 interrupted.
    """
    with extra_needed("not evaluated", SCORING_EXTRA):
        from ..scoring.evaluate import evaluate as run_evaluate

    require_files(spec, model_path)
    require_paths(data)
    evaluation = run_guarded(
        lambda: run_evaluate(
            spec, model_path, data, batch_size=batch_size, log=lambda line: click.echo(line, err=True)
        ),
        outcome="not evaluated",
        where="the spec or data",
        extra_hint=SCORING_EXTRA,
        interrupted="nothing evaluated",
        usage_errors=(ValueError,),
    )
    if output_format == "json":
        click.echo(json.dumps(evaluation.to_json(), indent=2))
    else:
        click.echo(evaluation.to_text(), nl=False)
    sys.exit(EXIT_OK)
