"""Tune a spec over its [search] space with Optuna; every sampled point is checked statically first.

One Optuna study; each trial:

1. takes a value for every parameter (TPE by default, [tune] sampler);
2. writes them into the parsed spec and runs the front end on it
   (static_check.point_errors): a point with an error never reaches Keras.
   The trial is told as pruned, with the finding as its reason, and is not
   counted: `trials` counts trials that train. A point that an earlier trial
   trained is pruned likewise: with the same seed it would score the same;
3. trains the point with `mspec.fit` (the same checks, training and seeding
   as `mspec fit`), every trial with the same seed, so that trials differ
   only in their values. After each epoch, the metric is reported to Optuna
   and a trial behind the median of earlier trials at that epoch is pruned
   ([tune] pruning, Optuna's MedianPruner);
4. scores the trial with the best value of [tune] metric over its epochs,
   the epoch early stopping would keep.

The spec's own values are tried first when they are a point of the space
(the baseline). With a storage (an SQLite file, a database URL, or an Optuna
journal file), several processes work on one study and a stopped tune
resumes: `trials` is the number of trained trials the study should hold in
all. A storage's study remembers its space: tuning it with another space
(or metric) is refused.

Writes <name>.best.toml (the best point as a plain spec, its [train] seed
set: it fits to the reported score), <name>.trials.csv and <name>.tune.png.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..frontend import CheckResult
from ..search_space.space import Parameter, SearchSpace, read_space, show_value

# User attributes of a trial: checked statically and trained (counted), rejected (the reason), pruned
# while training (the reason), failed (the error), or not needed because the study had enough trials.
CHECKED = "mspec_checked"
REJECTED = "mspec_rejected"
PRUNED = "mspec_pruned"
FAILED = "mspec_failed"
SURPLUS = "mspec_surplus"
# Which process trained a trial (host:pid), when several work on one study.
WORKER = "mspec_worker"
# Study attribute: the space and objective a study was started with (a resumed tune must match it).
SPACE_ATTRIBUTE = "mspec_space"
# Points in a row that were invalid or already trained, after which the sampler is taken to find
# nothing else (a small space, tried through).
MAX_REJECTIONS_IN_A_ROW = 100
# TPE's random start-up trials (Optuna's default), at most half of the trials of a small tune.
TPE_STARTUP_TRIALS = 10
# Attempts at opening a storage that several processes are creating at once.
OPEN_ATTEMPTS = 5
# A trial of a process that stopped sending heartbeats this long ago is marked failed (database storage).
HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 90


class TuneError(Exception):
    """The tune cannot go on: no [search], a storage holding another space, a metric Keras never logs ..."""


class StorageError(OSError):
    """The study's storage cannot be opened or used."""


class _TrialFailed(Exception):
    """A trial's fit failed inside the framework: the trial is marked failed and the study goes on."""


@dataclass
class TrialOutcome:
    """One trial as the report shows it."""

    number: int
    state: str  # "complete", "pruned", "failed" or "running"
    score: float | None
    values: dict[str, Any]
    reason: str = ""
    seconds: float | None = None
    epochs: int | None = None

    def shown_values(self) -> dict[str, str]:
        return {key: show_value(value) for key, value in self.values.items()}


@dataclass
class TuneResult:
    """The result of `tune`: the best trial, every trial, and the files written."""

    study_name: str
    metric: str
    direction: str
    seed: int
    best: TrialOutcome
    trials: list[TrialOutcome]
    trained: int  # trials of the study that trained (complete, pruned while training, failed)
    rejected: int  # points rejected without training (the static check, the data), in the whole study
    best_spec: str = ""
    written: list[Path] = field(default_factory=list)


def tune(
    spec: str | os.PathLike | CheckResult,
    data: str | os.PathLike,
    *,
    trials: int,
    validation: str | os.PathLike | None = None,
    timeout: float | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    output_dir: str | os.PathLike | None = None,
    verbose: str | int = 0,
    log: Callable[[str], None] = print,
) -> TuneResult:
    """Tune `spec` over its [search] space on `data`, until the study holds `trials` trained trials.

    Raises mspec.FitError (before Keras or Optuna start) when the spec, its
    space or the data has errors; TuneError when the tune cannot go on;
    StorageError when the storage cannot be used.
    """
    from ..pipeline import check_file
    from ..training.runner import FitError, check_before_fit

    if trials < 1:
        raise ValueError("trials must be at least 1")
    result = spec if isinstance(spec, CheckResult) else check_file(spec)
    if not result.ok or result.document is None or result.spec is None:
        raise FitError(result.diagnostics)
    space, _ = read_space(result.document)
    if space is None or not space.parameters:
        raise TuneError(f"{result.path} has no [search] section: nothing to tune")
    overrides = {"epochs": epochs, "batch_size": batch_size}
    _, settings, warnings = check_before_fit(result, data, validation, overrides)
    for warning in warnings:
        log(warning.format())
    fit_seed = seed if seed is not None else (settings.seed if settings.seed is not None else 0)

    from ..training.quiet import import_keras
    from .logs import framework_logs_quieted

    import_keras()
    import optuna

    with framework_logs_quieted():
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        name = study_name or result.spec.name
        study = _open_study(optuna, storage, name, space, fit_seed, trials)
        trial_run = _Trials(optuna, study, result, space, data, validation, overrides, fit_seed, trials)
        warm_up = None
        if output_dir is not None:
            from ..training.record import PlottingWarmUp

            warm_up = PlottingWarmUp()  # matplotlib loads on a thread of its own while the trials train
        trial_run.verbose, trial_run.log = verbose, log
        if trial_run.taken() < trials:
            study.optimize(
                trial_run.objective,
                timeout=timeout,
                catch=(_TrialFailed,),
                callbacks=[trial_run.stop_when_done],
                gc_after_trial=False,
            )
        outcome = _outcome(optuna, study, space, name, fit_seed, trial_run)
    outcome.best_spec = best_spec_text(result, space, outcome, epochs, batch_size)
    if output_dir is not None:
        from .tune_report import write_tune

        if warm_up is not None:
            warm_up.wait()  # matplotlib is not used from two threads at once
        outcome.written = write_tune(outcome, study, Path(output_dir), result.spec.name, result.path)
    return outcome


def _open_study(optuna: Any, url: str | None, name: str, space: SearchSpace, seed: int, trials: int) -> Any:
    """The study in its storage (created, or loaded to resume), checked to be of this space."""
    direction = space.tune.direction
    # Several processes on one study must not propose the same points: each draws its own.
    sampler_seed = seed if url is None else seed + os.getpid()
    if space.tune.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=sampler_seed)
    else:
        startup = max(1, min(TPE_STARTUP_TRIALS, trials // 2))
        sampler = optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=startup)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
        if space.tune.pruning
        else optuna.pruners.NopPruner()
    )
    fingerprint = space_fingerprint(space)
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            study = optuna.create_study(
                storage=_storage(optuna, url),
                sampler=sampler,
                pruner=pruner,
                study_name=name,
                direction=direction,
                load_if_exists=True,
            )
            started_with = study.user_attrs.get(SPACE_ATTRIBUTE)
            if started_with is None:
                study.set_user_attr(SPACE_ATTRIBUTE, fingerprint)
            break
        except StorageError:
            raise
        except Exception as error:  # the database's own errors, whatever the driver
            # Processes starting together race to create the database's tables: the losers retry.
            if attempt == OPEN_ATTEMPTS:
                raise StorageError(f"--storage {url}: cannot open study {name!r}: {error}") from error
            time.sleep(0.5 * attempt)
    if started_with is not None and started_with != fingerprint:
        raise TuneError(
            f"study {name!r} in {url} was started with another search space or objective: give another "
            "--study (or storage), or tune the spec it was started with"
        )
    if study.direction.name.lower() != direction:
        raise TuneError(f"study {name!r} in {url} is to {study.direction.name.lower()}, not to {direction}")
    baseline = _baseline(space)
    if baseline is not None and not study.trials:
        study.enqueue_trial(baseline, skip_if_exists=True)
    return study


def _storage(optuna: Any, url: str | None) -> Any:
    if url is None:
        return None
    if url.startswith("journal:"):
        path = url.removeprefix("journal:")
        if not path:
            raise StorageError("--storage journal: give the journal file's path: journal:tune.log")
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(path))
    if "://" not in url:
        raise StorageError(
            f"--storage {url}: give sqlite:///FILE, another database URL, or journal:FILE (Optuna's journal)"
        )
    # SQLite serializes writers: a process waits for the other's transaction rather than failing at once.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    with warnings.catch_warnings():
        # Heartbeats are marked experimental; they are what lets a resumed study retry a killed trial.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
        )


def space_fingerprint(space: SearchSpace) -> str:
    """The space and objective as text: what a resumed study must have been started with."""
    parameters = [
        [p.key, list(p.choices) if p.choices is not None else p.range.model_dump()]  # type: ignore[union-attr]
        for p in space.parameters
    ]
    objective = [space.tune.metric, space.tune.direction]
    return json.dumps({"parameters": parameters, "objective": objective}, sort_keys=True)


def _baseline(space: SearchSpace) -> dict[str, Any] | None:
    """The values the spec writes, when every one is a point of the space (tried as the first trial)."""
    values = {}
    for parameter in space.parameters:
        written = parameter.written
        if written is None or not parameter.contains(written):
            return None
        values[parameter.key] = written
    return values


def suggest(trial: Any, parameter: Parameter) -> Any:
    """Sample one parameter's value in an Optuna trial."""
    if parameter.choices is not None:
        return trial.suggest_categorical(parameter.key, list(parameter.choices))
    r = parameter.range
    assert r is not None
    if r.integers:
        return trial.suggest_int(parameter.key, r.low, r.high, step=r.step or 1, log=r.log)
    return trial.suggest_float(parameter.key, float(r.low), float(r.high), step=r.step, log=r.log)


class _Trials:
    """The objective of the study: check, fit and score one point; and when to stop."""

    def __init__(self, optuna, study, result, space, data, validation, overrides, seed, trials):
        self.optuna, self.study, self.result, self.space = optuna, study, result, space
        self.data, self.validation, self.overrides, self.seed = data, validation, overrides, seed
        self.trials = trials
        self.rejected_in_a_row = 0
        self.failed = 0
        self.verbose: str | int = 0
        self.log: Callable[[str], None] = print
        self.said: set[str] = set()

    def taken(self, excluding: int | None = None) -> int:
        """Trials of the study that count: checked and training, trained, or pruned while training."""
        states = (self.optuna.trial.TrialState.COMPLETE, self.optuna.trial.TrialState.PRUNED)
        running = self.optuna.trial.TrialState.RUNNING
        count = 0
        for trial in self.study.get_trials(deepcopy=False):
            if trial.number == excluding or not trial.user_attrs.get(CHECKED):
                continue
            count += trial.state in states or trial.state == running
        return count

    def stop_when_done(self, study: Any, _trial: Any) -> None:
        if self.taken() >= self.trials or self.failed >= self.trials:
            study.stop()

    def _once(self, line: str) -> None:
        if line not in self.said:  # the same warnings come with every trial
            self.said.add(line)
            self.log(line)

    def objective(self, trial: Any) -> float:
        from ..search_space.static_check import point_errors, point_result
        from ..training.runner import FitError
        from ..training.runner import fit as run_fit

        optuna = self.optuna
        if self.taken(excluding=trial.number) >= self.trials:
            # Another process took the last trial meanwhile: this one is not needed.
            trial.set_user_attr(SURPLUS, True)
            self.study.stop()
            raise optuna.TrialPruned("the study has its trials")
        values = {p.key: suggest(trial, p) for p in self.space.parameters}
        shown = ", ".join(f"{k} = {show_value(v)}" for k, v in values.items())
        errors = point_errors(self.result, self.space, values)
        if errors:
            return self._reject(trial, f"rejected by the static check: {_reason(errors)}", shown)
        twin = self._trained_twin(trial.number, values)
        if twin is not None:
            reason = f"the same point as trial {twin}, which trains with the same seed"
            return self._reject(trial, reason, shown)
        self.rejected_in_a_row = 0
        trial.set_user_attr(CHECKED, True)
        trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}")
        point = point_result(self.result, self.space, values)
        metric = self.space.tune.metric
        callbacks = [_pruning_callback(optuna, trial, metric)] if self.space.tune.pruning else []
        started = time.perf_counter()
        try:
            fitted = run_fit(
                point,
                self.data,
                validation=self.validation,
                seed=self.seed,
                verbose=self.verbose,
                log=self._once,
                callbacks=callbacks,
                **self.overrides,
            )
        except FitError as error:  # the data does not suit this point (ids past a searched input_dim ...)
            trial.set_user_attr(CHECKED, False)
            return self._reject(trial, f"rejected before training: {_reason(error.diagnostics)}", shown)
        except optuna.TrialPruned as pruned:
            trial.set_user_attr(PRUNED, str(pruned))
            self.log(f"trial {trial.number}: pruned: {pruned} ({shown})")
            raise
        except Exception as error:
            self.failed += 1
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            trial.set_user_attr(FAILED, reason)
            self.log(f"trial {trial.number}: failed: {reason} ({shown})")
            raise _TrialFailed(reason) from error
        history = fitted.history
        if metric not in history:
            keys = ", ".join(k for k in history if "/" not in k)
            raise TuneError(f"[tune] metric {metric!r} is not logged by Keras in this run; it logs {keys}")
        score, epoch = best_value(history[metric], self.space.tune.direction)
        trial.set_user_attr("epochs", len(history[metric]))
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
        self.log(
            f"trial {trial.number}: {metric} {score:.6g} at epoch {epoch} ({shown}), "
            f"{time.perf_counter() - started:.1f} s"
        )
        return score

    def _trained_twin(self, number: int, values: dict[str, Any]) -> int | None:
        """An earlier trial of the same point that trained or is training: this one would score the same."""
        failed = self.optuna.trial.TrialState.FAIL
        for trial in self.study.get_trials(deepcopy=False):
            same = trial.params == values and trial.user_attrs.get(CHECKED)
            if same and trial.number != number and trial.state != failed:
                return trial.number
        return None

    def _reject(self, trial: Any, reason: str, shown: str) -> float:
        trial.set_user_attr(REJECTED, reason)
        self.log(f"trial {trial.number}: {reason} ({shown})")
        self.rejected_in_a_row += 1
        if self.rejected_in_a_row >= MAX_REJECTIONS_IN_A_ROW:
            self.log(
                f"stopping: the last {MAX_REJECTIONS_IN_A_ROW} points sampled were invalid or already "
                "trained, so the space may hold no other valid point"
            )
            self.study.stop()
        raise self.optuna.TrialPruned(reason)


def _reason(diagnostics: list[Diagnostic]) -> str:
    errors = [d for d in diagnostics if d.is_error] or diagnostics
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.code} {first.message}{more}"


def best_value(values: list[float | None], direction: str) -> tuple[float, int]:
    """The best finite value of a metric over the epochs, and its 1-based epoch (the first, on a tie)."""
    known = [(v, i) for i, v in enumerate(values, start=1) if v is not None and math.isfinite(v)]
    if not known:
        return math.inf if direction == "minimize" else -math.inf, len(values)
    pick = min if direction == "minimize" else max
    best = pick(v for v, _ in known)
    return best, next(i for v, i in known if v == best)


def _pruning_callback(optuna: Any, trial: Any, metric: str) -> Any:
    """A Keras callback reporting `metric` after each epoch, and pruning the trial when Optuna says so."""
    from ..training.quiet import import_keras

    keras = import_keras()

    class ReportToStudy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            value = (logs or {}).get(metric)
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), step=epoch + 1)
            if trial.should_prune():
                raise optuna.TrialPruned(
                    f"{metric} {float(value):.6g} at epoch {epoch + 1}, behind the median of earlier trials"
                )

    return ReportToStudy()


def _outcome(optuna: Any, study: Any, space: SearchSpace, name: str, seed: int, run: _Trials) -> TuneResult:
    State = optuna.trial.TrialState
    outcomes = []
    rejected = trained = 0
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        attrs = trial.user_attrs
        if attrs.get(SURPLUS) or trial.state == State.WAITING:
            continue
        rejected += str(attrs.get(REJECTED, "")).startswith("rejected")
        trained += bool(attrs.get(CHECKED)) and trial.state != State.RUNNING
        score = trial.value
        if score is None and trial.intermediate_values:
            score, _ = best_value(list(trial.intermediate_values.values()), space.tune.direction)
        outcomes.append(
            TrialOutcome(
                trial.number,
                trial.state.name.lower().replace("fail", "failed"),
                score,
                {p.key: trial.params[p.key] for p in space.parameters if p.key in trial.params},
                attrs.get(REJECTED) or attrs.get(PRUNED) or attrs.get(FAILED) or "",
                attrs.get("seconds"),
                attrs.get("epochs"),
            )
        )
    try:
        best_trial = study.best_trial
    except ValueError:
        raise TuneError(
            f"no trial of study {name!r} completed ({rejected} rejected by the static check, "
            f"{run.failed} failed): nothing to report"
        ) from None
    best = next(o for o in outcomes if o.number == best_trial.number)
    return TuneResult(name, space.tune.metric, space.tune.direction, seed, best, outcomes, trained, rejected)


def best_spec_text(
    result: CheckResult, space: SearchSpace, outcome: TuneResult, epochs: int | None, batch_size: int | None
) -> str:
    """The spec with the best trial's values written in, its [train] seed set, without [search] and [tune]."""
    from ..search_space.points import spec_data
    from .spec_writer import render_spec

    assert result.document is not None and result.spec is not None
    values = outcome.best.values
    data = spec_data(result.document, {p.path: values[p.key] for p in space.parameters if p.key in values})
    train = dict(data.get("train") or {})
    train["seed"] = outcome.seed
    for key, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None:
            train[key] = value
    data["train"] = train
    fmt = "json" if str(result.path).endswith(".json") else "toml"
    header = (
        f"{result.spec.name}: the best point of `mspec tune` "
        f"over the search space of {Path(result.path).name}\n"
        f"(trial {outcome.best.number}, {outcome.metric} = {outcome.best.score:.6g}, "
        f"trained with seed {outcome.seed}).\n"
        + "".join(f"{key} = {show_value(value)}\n" for key, value in values.items())
    )
    return render_spec(data, fmt, header.rstrip("\n"))
