"""`mspec fit`: the command line over `mspec.training.fit`."""

from __future__ import annotations

import sys

import click

from ..diagnostics.report import EXIT_OK
from ..training.settings import DISTRIBUTE_CHOICES
from .guard import extra_needed, install_hint, progress_verbosity, require_files, require_paths, run_guarded
from .options import (
    batch_size_option,
    data_option,
    epochs_option,
    output_dir_option,
    seed_option,
    validation_option,
)

FIT_EXTRA = install_hint("fit")


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@data_option(
    "Training data: .npz (arrays named after inputs and outputs), .csv or .parquet "
    "(one row per example), or many Parquet files read as one: a directory, or a quoted glob "
    "such as 'parts/*.parquet' (files in the natural order of their paths)."
)
@validation_option("Validation data in the same form. It takes the place of [train] validation_split.")
@click.option(
    "--validation-split",
    type=click.FloatRange(min=0, max=1, max_open=True),
    help="Overrides [train] validation_split: the share of the rows (the last ones) held out "
    "for validation; 0 holds out none.",
)
@output_dir_option("Folder for <name>.keras, .history.json, .history.png and .run.json.")
@epochs_option("Overrides [train] epochs (default 10).")
@batch_size_option("Overrides [train] batch_size (default 32).")
@seed_option("Overrides [train] seed: same seed, same weights.")
@click.option(
    "--distribute",
    type=click.Choice(DISTRIBUTE_CHOICES),
    help="Overrides [train] distribute: none, mirrored (this machine's devices), "
    "multi_worker (several processes, Keras' JAX backend).",
)
@click.option("--coordinator", metavar="HOST:PORT", help="multi_worker: address of process 0.")
@click.option("--num-processes", type=click.IntRange(min=1), help="multi_worker: number of processes.")
@click.option(
    "--process-id", type=click.IntRange(min=0), help="multi_worker: this process' index (0 writes)."
)
@click.option(
    "--cpu-devices",
    type=click.IntRange(min=1),
    help="mirrored: split the CPU into N logical devices (to try mirrored training without GPUs).",
)
@click.option(
    "--stream/--no-stream",
    default=None,
    help="Stream the data through tf.data in record batches (default: only when it is too large for memory).",
)
@click.option(
    "--worker-timeout",
    type=click.IntRange(min=1),
    metavar="SECONDS",
    help="multi_worker: a process silent this long counts as lost; the others then stop "
    "(exit 75) within about that time. Default 60.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from the backup that an interrupted or killed run left in "
    "OUTPUT_DIR/.<name>.backup/ (after its last completed epoch). Without a backup, trains "
    "from the first epoch; a backup of another spec, data or settings is refused.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar: one line per epoch.")
def fit(
    spec: str,
    data: str,
    validation: str | None,
    validation_split: float | None,
    output_dir: str,
    epochs: int | None,
    batch_size: int | None,
    seed: int | None,
    distribute: str | None,
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    cpu_devices: int | None,
    stream: bool | None,
    worker_timeout: int | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Train the model of SPEC on named data, checked against the spec before any framework starts.

    Inputs read the column or array named after them (or [inputs.NAME]
    columns); outputs their labels likewise (or [outputs.NAME] column). The
    spec's [train] section holds epochs, batch size, validation, early
    stopping, class weights and distribution; the options here override it.
    Validation data: --validation FILE, else --validation-split, else [train]
    validation_split (the last rows held out), else none.
    Normalization layers without statistics are adapted to the training data.
    Keras' progress bar is shown when standard output is a terminal; otherwise
    (a log file, a pipe) and with -q, one line per epoch.

    Every completed epoch is backed up in OUTPUT_DIR/.<name>.backup/ (removed
    once the outputs are written); after an interruption, a killed process or a
    lost multi_worker process, the same command with --resume continues from it.

    Exit status: 0 trained and written; 1 the spec or the data has errors
    (nothing trained, nothing written), or --resume found a backup of another
    run; 2 could not run (missing extra, unreadable file, no cluster); 75 a
    multi_worker process was lost (rerun every process with --resume); 130
    interrupted (previous outputs kept, and the backup).
    """
    with extra_needed("not trained", FIT_EXTRA):
        from ..training.checkpoint import ResumeError
        from ..training.distribute import Cluster
        from ..training.runner import fit as run_fit

    if validation is not None and validation_split is not None:
        raise click.UsageError("give --validation or --validation-split, not both")
    require_files(spec)
    require_paths(data, validation)
    cluster = Cluster(coordinator, num_processes, process_id, worker_timeout)
    result = run_guarded(
        lambda: run_fit(
            spec,
            data,
            validation=validation,
            output_dir=output_dir,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            distribute=distribute,
            validation_split=validation_split,
            stream=stream,
            cluster=cluster,
            cpu_devices=cpu_devices,
            verbose=progress_verbosity(quiet),
            log=lambda line: click.echo(line, err=True),
            resume=resume,
        ),
        outcome="not trained",
        where="the spec, settings or data",
        extra_hint=FIT_EXTRA,
        interrupted="nothing written, earlier outputs are as they were",
        usage_errors=(ResumeError,),
    )
    for path in result.written:
        click.echo(f"wrote {path}", err=True)
    run = result.run
    best = f", best epoch {run['best_epoch']}" if run.get("best_epoch") else ""
    click.echo(
        f"trained {run['model']}: {run['epochs_run']} epochs{best}, {run['wall_time_seconds']:.1f} s",
        err=True,
    )
    sys.exit(EXIT_OK)
