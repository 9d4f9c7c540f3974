"""`mspec compare` and `mspec tune`: the command lines over mspec.search.compare and mspec.search.tune.

Keras, numpy, Optuna and matplotlib are imported by the functions that run,
so that a core install says which extra is missing instead of failing here.
"""

from __future__ import annotations

import sys

import click

from ..diagnostics.report import EXIT_OK
from .guard import install_hint, progress_verbosity, require_paths, run_guarded
from .options import (
    batch_size_option,
    data_option,
    epochs_option,
    output_dir_option,
    seed_option,
    validation_option,
)

COMPARE_EXTRA = install_hint("fit")
TUNE_EXTRA = install_hint("tune")

DATA_HELP = (
    "Training data, as for `mspec fit`: .npz, .csv or .parquet, or a directory or quoted glob of "
    "Parquet files."
)
VALIDATION_HELP = (
    "Validation data in the same form; without it, each spec's [train] validation_split holds rows out."
)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@data_option(DATA_HELP)
@validation_option(VALIDATION_HELP)
@click.option(
    "--repeats",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Fits per spec; repeat r uses seed S + r for every spec.",
)
@seed_option("The first repeat's seed (S).", default=0, show_default=True)
@epochs_option("Overrides every spec's [train] epochs.")
@batch_size_option("Overrides every spec's [train] batch_size.")
@click.option(
    "--no-importance", is_flag=True, help="Skip measuring the input importance after each fit (faster)."
)
@output_dir_option("Folder for compare.json, compare.md and compare.png.")
def compare(
    specs: tuple[str, ...],
    data: str,
    validation: str | None,
    repeats: int,
    seed: int,
    epochs: int | None,
    batch_size: int | None,
    no_importance: bool,
    output_dir: str,
) -> None:
    """Fit two or more SPECS on the same data with the same seeds, and compare them side by side.

    The specs must read the data the same way: the same inputs (name, shape,
    dtype, columns) and outputs (name, label column); each difference is one
    finding (MS807), checked with the specs and the data before anything
    trains. Every spec is fitted --repeats times, repeat r with seed
    --seed + r, the same seeds for every spec. Per spec and output: the best
    validation loss and the metrics at that epoch (mean ± std over the
    repeats), epochs to the best, parameters, wall time, and each input's
    importance (as `mspec explain` measures it). Writes OUTPUT_DIR/compare.json,
    compare.md (a table for a pull request) and compare.png (the validation
    curves of every spec, one panel per output, mean and ±1 std band).

    Exit status: 0 compared; 1 a spec or the data has errors, or the specs
    read the data differently (nothing trained); 2 could not run (missing
    extra, unreadable file); 130 interrupted.
    """
    from ..search.compare import compare as run_compare

    if len(specs) < 2:
        raise click.UsageError("give two or more specs to compare")
    require_paths(*specs, data, validation)
    comparison = run_guarded(
        lambda: run_compare(
            list(specs),
            data,
            validation=validation,
            repeats=repeats,
            seed=seed,
            output_dir=output_dir,
            epochs=epochs,
            batch_size=batch_size,
            importance=not no_importance,
            verbose=0,
            log=lambda line: click.echo(line, err=True),
        ),
        outcome="not compared",
        where="the specs or data",
        extra_hint=COMPARE_EXTRA,
        usage_errors=(ValueError,),
    )
    for path in comparison.written:
        click.echo(f"wrote {path}", err=True)
    sys.exit(EXIT_OK)


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@data_option(DATA_HELP)
@validation_option(VALIDATION_HELP)
@click.option(
    "--trials",
    required=True,
    type=click.IntRange(min=1),
    help="Trials to train in the study, counted across every process working on it and across "
    "resumed runs; points rejected by the static check are not counted.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Start no trial after this many seconds (a trial under way finishes).",
)
@click.option(
    "--storage",
    metavar="URL",
    help="Keep the study in a database, so that it can be resumed and several processes (on one "
    "machine or several) can work on it together: sqlite:///tune.db (an SQLite file), any "
    "database URL SQLAlchemy takes, or journal:tune.log (Optuna's journal file, for a shared "
    "file system). Default: in memory, for this run only.",
)
@click.option("--study", "study_name", help="The study's name in the storage. Default: the model's name.")
@seed_option(
    "Seed of every trial's fit (weights, shuffling; default [train] seed, else 0) and of the sampler."
)
@epochs_option("Overrides [train] epochs for every trial.")
@batch_size_option("Overrides [train] batch_size for every trial.")
@output_dir_option("Folder for <name>.best.toml, <name>.trials.csv and <name>.tune.png.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Keras' lines for every epoch of every trial, besides one line per trial.",
)
def tune(
    spec: str,
    data: str,
    validation: str | None,
    trials: int,
    timeout: float | None,
    storage: str | None,
    study_name: str | None,
    seed: int | None,
    epochs: int | None,
    batch_size: int | None,
    output_dir: str,
    verbose: bool,
) -> None:
    """Search the [search] space of SPEC for the best values, with Optuna, checking every point first.

    [search] maps dotted paths of the spec to choices or ranges; the values
    written in the spec are the baseline, tried first when they are a point
    of the space. [tune] says what to optimize: `metric` (default val_loss,
    its best value over a trial's epochs) and `direction`. Points are sampled
    by TPE (or at random, [tune] sampler), and a trial whose metric falls
    behind the median of earlier trials at the same epoch is pruned. Every
    sampled point is checked statically first, in milliseconds: an invalid
    one never reaches Keras; it is recorded as pruned with the reason, and
    not counted in --trials.

    Writes OUTPUT_DIR/<name>.best.toml (.best.json for a JSON spec: the spec
    with the best values written in, its [train] seed set, no [search]: it
    lints, builds and fits to the reported score), <name>.trials.csv (one row
    per trial: number, state, score, values, reason) and <name>.tune.png
    (optimization history and parameter importance). With --storage, the
    same command resumes the study, and several processes with the same
    --storage and --study share it.

    Exit status: 0 tuned; 1 the spec, its space or the data has errors, the
    storage holds a study of another space, or no trial completed; 2 could
    not run (missing extra, unreadable file, unreachable storage); 130
    interrupted (the trials finished so far stay in the storage).
    """
    from ..search.tune import TuneError
    from ..search.tune import tune as run_tune

    require_paths(spec, data, validation)
    outcome = run_guarded(
        lambda: run_tune(
            spec,
            data,
            validation=validation,
            trials=trials,
            timeout=timeout,
            storage=storage,
            study_name=study_name,
            seed=seed,
            epochs=epochs,
            batch_size=batch_size,
            output_dir=output_dir,
            verbose=progress_verbosity(quiet=True) if verbose else 0,
            log=lambda line: click.echo(line, err=True),
        ),
        outcome="not tuned",
        where="the spec, its search space or the data",
        extra_hint=TUNE_EXTRA,
        interrupted="the trials finished so far are kept in the storage",
        usage_errors=(TuneError,),
    )
    for path in outcome.written:
        click.echo(f"wrote {path}", err=True)
    best = outcome.best
    values = ", ".join(f"{key} = {value}" for key, value in best.shown_values().items())
    score = f"{outcome.metric} {best.score:.6g}"
    click.echo(f"best of {outcome.trained} trials: trial {best.number}, {score} ({values})", err=True)
    sys.exit(EXIT_OK)
