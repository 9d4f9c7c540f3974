"""Train a model from its spec and named data: check, build, adapt, fit, record.

The order matters: the spec, the settings and the data are all checked
before Keras is imported, so that a mistake costs a fraction of a second and
names the input at fault; only then is the model built from the generated
source (the same code `mspec build` writes), its Normalization layers
adapted, and `model.fit` run. Outputs are written only when training ends
normally, all at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..pipeline import CheckResult, check_file, keras_model
from . import checkpoint, feeding, preflight, record
from .distribute import Cluster, choose_backend, describe, placement_scope, worker_loss_ends_run
from .quiet import import_keras
from .settings import FitSettings, settings_from_spec


class FitError(Exception):
    """The spec, its settings or the data keep the model from training; `diagnostics` says why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics if d.is_error))


@dataclass
class FitResult:
    """A trained model and what the run recorded."""

    model: Any
    history: dict[str, list[float | None]]
    run: dict[str, Any]
    written: list[Path] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def check_before_fit(
    spec: str | os.PathLike | CheckResult,
    data: str | os.PathLike,
    validation: str | os.PathLike | None = None,
    settings_overrides: dict[str, Any] | None = None,
    cluster: Cluster | None = None,
) -> tuple[CheckResult, FitSettings, list[Diagnostic]]:
    """Check the spec, the training settings and the data; no framework is imported.

    Raises FitError when anything is wrong (DataError when a data file cannot
    be read at all); returns the checked spec, the settings and the warnings
    otherwise. Validation data given as a file takes the place of the spec's
    validation_split. In a multi-worker run each process checks the rows it
    trains on, as `cluster` (or Keras' environment variables) places it.
    """
    result = _checked_spec(spec)
    settings = training_settings(result, validation, settings_overrides)
    found = list(result.diagnostics) + preflight.loss_diagnostics(result)
    found += preflight.settings_diagnostics(result, settings, has_validation=validation is not None)
    shard = _data_shard(settings, cluster)
    return result, settings, _with_data_checks(result, found, data, validation, shard)


def _data_shard(settings: FitSettings, cluster: Cluster | None) -> tuple[int, int] | None:
    """(this process, processes) of a multi-worker run whose place is known; None: every row."""
    if settings.distribute != "multi_worker":
        return None
    cluster = (cluster or Cluster()).merged_with(Cluster.from_environment())
    if cluster.process_id is None or not cluster.num_processes:
        return None  # the run cannot form: placement_scope says why, after the whole data's check
    return cluster.process_id, cluster.num_processes


def check_before_explain(
    spec: str | os.PathLike | CheckResult,
    data: str | os.PathLike,
    *,
    labels: bool = True,
    kept: tuple[str, ...] = (),
) -> tuple[CheckResult, list[Diagnostic]]:
    """What explain (and any command scoring a trained model) needs: the spec, its losses and the data.

    [train] settings are not checked: they say how to train, not how to score.
    Without `labels` (predict), neither losses nor label columns are needed;
    `kept` columns are read beside the spec's (see mspec.data.bind).
    """
    result = _checked_spec(spec)
    found = list(result.diagnostics) + (preflight.loss_diagnostics(result) if labels else [])
    if not any(d.is_error for d in found):
        found += preflight.data_diagnostics(result, data, None, labels=labels, kept=kept)
    if any(d.is_error for d in found):
        raise FitError(sorted(found))
    return result, found


def training_settings(
    result: CheckResult,
    validation: str | os.PathLike | None,
    overrides: dict[str, Any] | None,
) -> FitSettings:
    """The spec's [train] settings with the command line's overrides, then validation data's precedence.

    A validation file replaces the spec's validation_split; asking for both
    explicitly is a contradiction (ValueError).
    """
    overrides = overrides or {}
    if validation is not None and overrides.get("validation_split"):
        raise ValueError("give validation data or a validation split, not both")
    settings = settings_from_spec(result.spec.train).with_overrides(**overrides)
    if validation is not None and settings.validation_split:
        settings = replace(settings, validation_split=0.0)
    return settings


def _checked_spec(spec: str | os.PathLike | CheckResult) -> CheckResult:
    result = spec if isinstance(spec, CheckResult) else check_file(spec)
    if not result.ok or result.graph is None:
        raise FitError(result.diagnostics)
    return result


def _with_data_checks(
    result: CheckResult,
    found: list[Diagnostic],
    data: str | os.PathLike,
    validation: str | os.PathLike | None,
    shard: tuple[int, int] | None = None,
) -> list[Diagnostic]:
    """Add the data's findings when the spec has no error; raise FitError if anything is wrong."""
    if not any(d.is_error for d in found):
        found += preflight.data_diagnostics(result, data, validation, shard)
    if any(d.is_error for d in found):
        raise FitError(sorted(found))
    return found


def fit(
    spec: str | os.PathLike | CheckResult,
    data: str | os.PathLike,
    *,
    validation: str | os.PathLike | None = None,
    output_dir: str | os.PathLike | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    distribute: str | None = None,
    validation_split: float | None = None,
    stream: bool | None = None,
    cluster: Cluster | None = None,
    cpu_devices: int | None = None,
    verbose: str | int = "auto",
    callbacks: Sequence[Any] = (),
    log: Callable[[str], None] = print,
    resume: bool = False,
) -> FitResult:
    """Train the spec's model on `data` (.npz, .csv or .parquet); return the model and its history.

    With `output_dir`, writes <name>.keras, <name>.history.json,
    <name>.history.png and <name>.run.json there (process 0 only). Raises
    FitError, before importing Keras, when the spec or the data is wrong.
    `stream` forces (True) or forbids (False) streaming the data through
    tf.data; by default only data too large for memory is streamed.
    With `output_dir`, the run is backed up after every epoch (see
    mspec.training.checkpoint); `resume` continues from that backup.
    """
    started = time.perf_counter()
    overrides = {
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "distribute": distribute,
        "validation_split": validation_split,
    }
    result, settings, warnings = check_before_fit(spec, data, validation, overrides, cluster)
    for warning in warnings:
        log(warning.format())
    written_split = result.spec.train.validation_split if result.spec.train is not None else 0.0
    if validation is not None and written_split:
        log(f"validating on {os.fspath(validation)}, in place of [train] validation_split = {written_split}")
    files = (data, validation)
    backup, resume_from = _prepare_backup(output_dir, result, files, settings, cluster, resume, log)
    choose_backend(settings.distribute)

    from ..data import bind, open_data

    source = open_data(data)
    binding, _ = bind(result, source)
    validation_data = None
    if validation is not None:
        validation_source = open_data(validation)
        validation_data = (validation_source, bind(result, validation_source)[0])

    keras = import_keras()

    with placement_scope(settings.distribute, cluster or Cluster(), cpu_devices) as place:
        # Seeded after the placement: on JAX, the processes must join before the backend starts.
        if settings.seed is not None:
            keras.utils.set_random_seed(settings.seed)
            _deterministic_ops(keras)
        model = keras_model(result)
        training = _Training(result, settings, place, source, binding, validation_data, stream)
        adapted = training.adapt(model)
        for name in adapted:
            log(f"adapted layer {name!r} to the training data (its statistics or vocabulary)")
        balance = _balance_callback(model, result, settings, training)
        recorders = list(callbacks) + ([balance] if balance is not None else [])
        keras_callbacks = _callbacks(keras, settings) + recorders
        resume_from = checkpoint.agree(backup, resume_from, resume, place)
        saver = _backup_callback(keras, backup, resume_from, keras_callbacks, recorders, log)
        first_epoch = _first_epoch(backup, resume_from, settings)
        with checkpoint.noted_on_interruption(log), worker_loss_ends_run(place):
            # The history plot's library loads while the model trains (record.PlottingWarmUp).
            warm_up = record.PlottingWarmUp() if output_dir is not None and place.is_chief else None
            history = training.fit(model, keras_callbacks + ([saver] if saver else []), verbose, first_epoch)
    history_record = _whole_history(history, recorders, saver)
    if balance is not None:
        for warning in balance.diagnostics(result.document):
            log(warning.format())
            warnings.append(warning)
        _note_unjudged_balance(history_record, log)
    hashed = backup.fingerprint if backup is not None else {}  # the data's hashes, taken at the start
    run = _run_record(
        result, data, validation, settings, place, history_record, keras_callbacks, adapted, hashed
    )
    run["warnings"] = [w.format() for w in warnings if not w.is_error]
    run["wall_time_seconds"] = round(time.perf_counter() - started, 3)
    run["resumed_from_epoch"] = resume_from
    written = []
    if output_dir is not None and place.is_chief:
        written = _write(Path(output_dir), result, model, history_record, run, warm_up)
    elif output_dir is not None:
        _save_in_step(model)
    if backup is not None:
        backup.remove()  # the outputs are written: nothing is left to resume
    return FitResult(model, history_record, run, written, [w for w in warnings if not w.is_error])


def _prepare_backup(output_dir, result, files, settings, cluster, resume, log):
    """The run's backup (None without an output folder) and the epoch it resumes from, before Keras starts."""
    if settings.distribute == "multi_worker":
        cluster = (cluster or Cluster()).merged_with(Cluster.from_environment())
    else:
        cluster = Cluster(process_id=0, num_processes=1)
    processes = cluster.num_processes or 1

    def fingerprint() -> dict:
        return checkpoint.fingerprint(result.document.sha256, *files, settings, processes)

    name = result.graph.spec.name
    return checkpoint.prepare(output_dir, name, fingerprint, resume, cluster.process_id or 0, log)


def _backup_callback(keras, backup, resume_from, keras_callbacks, recorders, log):
    """The callback saving the run after each epoch (restoring it first when resuming), or None."""
    if backup is None:
        return None
    if resume_from:
        log(f"resuming from the backup of epoch {resume_from} in {backup.folder}")
    return checkpoint.make_callback(keras, backup, resume_from, keras_callbacks, recorders)


def _first_epoch(backup, resume_from: int, settings: FitSettings) -> int:
    """fit's initial_epoch: after the backed-up epoch, or past the end if early stopping had ended the run."""
    if backup is not None and checkpoint.stopped_early(backup, resume_from):
        return settings.epochs
    return resume_from


def _whole_history(history: Any, recorders: list[Any], saver: Any) -> dict[str, list[float | None]]:
    """The run's history: Keras' (which holds only the epochs run in this process) and the recorders'."""
    if saver is not None:
        return saver.whole_history()  # the epochs restored from the backup, then these
    history_record = record.clean_history(history.history)
    for callback in recorders:
        history_record.update(getattr(callback, "history_entries", dict)())
    return history_record


# Rows of training data on which the balance of input branches is measured after each epoch.
BALANCE_SAMPLE_ROWS = 512


def _balance_callback(model: Any, result: CheckResult, settings: FitSettings, training: _Training):
    """The callback recording each input branch's share of the gradient at the merges (see balance.py)."""
    from .balance import make_balance_callback

    x, y = training.sample(BALANCE_SAMPLE_ROWS)
    return make_balance_callback(model, result.graph, x, y, settings.balance_threshold)


def _note_unjudged_balance(history: dict[str, list[float | None]], log: Callable[[str], None]) -> None:
    """Say so when a run was too short for the balance verdicts, rather than stay silent."""
    from .verdicts import MIN_JUDGED_EPOCHS, judged

    epochs = len(history.get("loss", []))
    if not judged(epochs):
        needed = next(n for n in range(1, 2 * MIN_JUDGED_EPOCHS + 1) if judged(n))
        log(
            f"balance of the input branches not judged: {epochs} epoch{'s' if epochs != 1 else ''} "
            f"trained, and MS603 and MS604 need {needed} or more (they judge the second half of the run; "
            "see docs/explain.md)"
        )


def _deterministic_ops(keras: Any) -> None:
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


class _Training:
    """The data side of one run: which rows train and validate, in memory or streamed."""

    def __init__(self, result, settings, place, source, binding, validation_data, stream):
        self.result, self.settings, self.place = result, settings, place
        self.output_names = list(result.spec.outputs)
        self.source, self.binding = source, binding
        train_rows, held_out = feeding.split_rows(source.num_rows, settings.validation_split)
        self.train_rows = feeding.shard_rows(train_rows, place.shard)
        self.held_out = held_out
        self.validation_data = validation_data
        self.streaming = feeding.should_stream(result.spec, source.num_rows, stream)
        if self.streaming and place.strategy == "multi_worker":
            self.streaming = False  # each process holds its own shard only
        self._memory: feeding.InMemory | None = None

    def _arrays(self, source, binding, rows: slice | None) -> feeding.InMemory:
        from ..data import load_arrays

        x, y = load_arrays(source, binding, rows=rows)
        return feeding.InMemory(x, y, feeding.sample_weights(y, self.settings.class_weight))

    def _train_arrays(self) -> feeding.InMemory:
        if self._memory is None:
            self._memory = self._arrays(self.source, self.binding, self.train_rows)
        return self._memory

    def _stream(self, source, binding, rows: slice, shuffle: bool, first_epoch: int = 0):
        from ..data import load_arrays

        first_x, first_y = load_arrays(source, binding, rows=slice(0, 1))
        signature = feeding.tensor_signature(first_x, first_y, self.output_names)
        return feeding.streamed(
            source,
            binding,
            rows,
            self.settings.batch_size,
            shuffle=shuffle,
            seed=self.settings.seed,
            output_names=self.output_names,
            class_weight=self.settings.class_weight,
            signature=signature,
            first_epoch=first_epoch,
        )

    def sample(self, rows: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """The first `rows` training rows, (x, y) as dicts of arrays by input and output name."""
        from ..data import load_arrays

        start = self.train_rows.start
        return load_arrays(
            self.source, self.binding, rows=slice(start, min(start + rows, self.train_rows.stop))
        )

    def adapt(self, model: Any) -> list[str]:
        from .adapt import adapt_normalizations, normalizations_to_adapt

        if not normalizations_to_adapt(self.result.graph):
            return []
        if self.streaming:
            data = self._stream(self.source, self.binding, self.train_rows, shuffle=False)
        else:
            data = self._train_arrays().x
        return adapt_normalizations(model, self.result.graph, data, self.settings.batch_size)

    def _validation(self):
        if self.validation_data is not None:
            source, binding = self.validation_data
            rows = feeding.shard_rows(slice(0, source.num_rows), self.place.shard)
        elif self.held_out is not None:
            source, binding, rows = self.source, self.binding, self.held_out
        else:
            return None
        if self.streaming:
            return self._stream(source, binding, rows, shuffle=False)
        x, y, weights = self._arrays(source, binding, rows).for_keras(self.output_names)
        return (x, y) if weights is None else (x, y, weights)

    def fit(self, model: Any, callbacks: list[Any], verbose: str | int, initial_epoch: int = 0):
        settings = self.settings
        validation = self._validation()
        if self.streaming:
            rows = self.train_rows
            dataset = self._stream(self.source, self.binding, rows, settings.shuffle, initial_epoch)
            return model.fit(
                dataset,
                shuffle=False,  # the pipeline shuffles (within windows) itself
                epochs=settings.epochs,
                initial_epoch=initial_epoch,
                validation_data=validation,
                callbacks=callbacks,
                verbose=verbose,
            )
        x, y, weights = self._train_arrays().for_keras(self.output_names)
        return model.fit(
            x,
            y,
            sample_weight=weights,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            initial_epoch=initial_epoch,
            shuffle=settings.shuffle,
            validation_data=validation,
            callbacks=callbacks,
            verbose=verbose,
        )


def _callbacks(keras: Any, settings: FitSettings) -> list[Any]:
    found = []
    if settings.early_stopping is not None:
        early = settings.early_stopping
        found.append(
            keras.callbacks.EarlyStopping(
                monitor=early.monitor,
                patience=early.patience,
                min_delta=early.min_delta,
                restore_best_weights=early.restore_best_weights,
                mode=early.mode,
            )
        )
    if settings.reduce_lr_on_plateau is not None:
        plateau = settings.reduce_lr_on_plateau
        found.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=plateau.monitor,
                factor=plateau.factor,
                patience=plateau.patience,
                min_lr=plateau.min_lr,
            )
        )
    return found


def _best_epoch(history: dict[str, list[float | None]], callbacks: list[Any]) -> int | None:
    """1-based epoch of the best monitored value (early stopping's own, else the lowest val_loss/loss)."""
    for callback in callbacks:
        best = getattr(callback, "best_epoch", None)
        if type(callback).__name__ == "EarlyStopping" and best is not None:
            return int(best) + 1
    key = "val_loss" if "val_loss" in history else "loss"
    values = [v for v in history.get(key, []) if v is not None]
    if not values:
        return None
    return history[key].index(min(values)) + 1


def _run_record(
    result, data, validation, settings, place, history, callbacks, adapted, known_hashes
) -> dict[str, Any]:
    """What the run trained, how and with what result; `known_hashes` are the backup's, not read again."""
    import dataclasses

    def sha256(key: str, path: Any) -> str:
        return known_hashes.get(key) or record.sha256_of(path)

    epochs_run = len(history.get("loss", []))
    return {
        "model": result.graph.spec.name,
        # The bytes that were checked and trained, not the file as it is now.
        "spec": {"path": str(result.path), "sha256": result.document.sha256},
        "data": {"path": str(data), "sha256": sha256("data_sha256", data)},
        "validation_data": (
            None
            if validation is None
            else {"path": str(validation), "sha256": sha256("validation_sha256", validation)}
        ),
        "versions": record.library_versions(),
        "seed": settings.seed,
        "settings": dataclasses.asdict(settings),
        "placement": describe(place),
        "adapted_layers": adapted,
        "epochs_run": epochs_run,
        "best_epoch": _best_epoch(history, callbacks),
        "final_metrics": {key: values[-1] for key, values in history.items() if values},
    }


def _save_in_step(model: Any) -> None:
    """Save the model where nobody reads it, on a process that is not the chief.

    The weights of a multi-process run live in all processes together: saving
    them gathers them, a collective every process must join, so the others
    save too while the chief writes the real file.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mspec-fit-") as folder:
        model.save(str(Path(folder) / "model.keras"))


def _write(
    folder: Path, result: CheckResult, model: Any, history: dict, run: dict, warm_up: Any = None
) -> list[Path]:
    name = result.graph.spec.name
    paths = record.output_paths(folder, name)
    outputs = list(result.spec.outputs)
    files = {
        paths["history"]: record.json_bytes(history),
        paths["plot"]: record.history_plot(history, outputs, f"{name}: training history", warm_up),
        paths["run"]: record.json_bytes(run),
    }
    record.write_all(model, files, paths["model"])
    return [paths["model"], paths["history"], paths["plot"], paths["run"]]
