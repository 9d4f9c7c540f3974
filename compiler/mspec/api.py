"""The Python API for programs and notebooks: check a spec, generate its source, build its model.

    import mspec
    result = mspec.check("specs/seed/concat_independent.toml")
    print(result.ok, [d.format() for d in result.diagnostics])
    source = mspec.generate_source("specs/seed/concat_independent.toml")
    model = mspec.build_model("specs/seed/concat_independent.toml")  # needs the tensorflow extra
    trained = mspec.fit("specs/churn.toml", "churn.parquet", output_dir="build")  # the fit extra
    trained.model, trained.history
    mspec.predict("specs/churn.toml", "build/churn.keras", "new.parquet", "scores.parquet")
    mspec.evaluate("specs/churn.toml", "build/churn.keras", "held_out.parquet").scores
    mspec.export("specs/churn.toml", "build/churn.keras", "onnx", "build/churn.onnx", verify=True)
    change = mspec.diff("HEAD~1:specs/churn.toml", "specs/churn.toml")  # a ModelDiff
    change.same, change.changes, change.consequences, change.weights, change.markdown()
    mspec.compare(["a.toml", "b.toml"], "train.npz", validation="val.npz", repeats=3, output_dir="build")
    mspec.tune("spec.toml", "train.npz", validation="val.npz", trials=20, output_dir="build")  # tune extra
    mspec.init("churn.parquet", ["churned"], output="churn.toml").text  # a first spec (the data extra)

Only `build_model` and `fit` import Keras (`fit` after checking the spec and the data).
"""

from __future__ import annotations

import os

from .diagnostics import Diagnostic
from .pipeline import CheckResult, check_bytes, check_file, keras_model, python_source


class SpecError(Exception):
    """A spec has errors; `diagnostics` holds every finding."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.is_error]
        super().__init__("\n".join(d.format() for d in errors))


def check(path: str | os.PathLike) -> CheckResult:
    """Load and check a spec file; never raises for a bad spec (see `.ok` and `.diagnostics`)."""
    return check_file(path)


def check_text(text: str, fmt: str = "toml", name: str = "<spec>") -> CheckResult:
    """Check spec text given as a string, in "toml" or "json"."""
    return check_bytes(text.encode("utf-8"), name, fmt)


def _checked(spec: str | os.PathLike | CheckResult) -> CheckResult:
    result = spec if isinstance(spec, CheckResult) else check_file(spec)
    if not result.ok or result.graph is None:
        raise SpecError(result.diagnostics)
    return result


def generate_source(spec: str | os.PathLike | CheckResult) -> str:
    """Return the Keras source for a spec file (or a CheckResult); raise SpecError if it has errors."""
    return python_source(_checked(spec))


def build_model(spec: str | os.PathLike | CheckResult):
    """Return the built (and compiled) keras.Model for a spec; raise SpecError if it has errors."""
    return keras_model(_checked(spec))


def fit(spec: str | os.PathLike | CheckResult, data: str | os.PathLike, **options):
    """Train the spec's model on named data; return a FitResult (`.model`, `.history`, `.run`).

    Raises FitError, before Keras is imported, when the spec, its [train]
    settings or the data are wrong. See mspec.training.fit for the options
    (validation, output_dir, epochs, batch_size, seed, distribute, stream ...).
    """
    from .training import fit as run_fit

    return run_fit(spec, data, **options)


def predict(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike,
    data: str | os.PathLike,
    output: str | os.PathLike,
    **options,
):
    """Predict every row of `data` with a trained model; write them to `output` (.parquet, .csv, .npz).

    Labels are not needed. Returns a Prediction (`.path`, `.rows`, `.columns`).
    Raises FitError, before Keras is imported, when the spec or the data is
    wrong. See mspec.scoring.predict for the options (keep, threshold, batch_size, chunk_rows).
    """
    from .scoring.predict import predict as run_predict

    return run_predict(spec, model, data, output, **options)


def evaluate(
    spec: str | os.PathLike | CheckResult, model: str | os.PathLike, data: str | os.PathLike, **options
):
    """Each output's loss and metrics of a trained model on labelled data, as Keras' model.evaluate gives.

    Returns an Evaluation (`.scores`: {"loss": ..., "<output>_loss": ..., ...}).
    Raises FitError, before Keras is imported, when the spec or the data is wrong.
    """
    from .scoring.evaluate import evaluate as run_evaluate

    return run_evaluate(spec, model, data, **options)


def export(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike,
    fmt: str,
    output: str | os.PathLike,
    **options,
):
    """Export a trained model as "saved_model", "onnx" or "litert" to `output`, with its manifest.

    Inputs and outputs carry the spec's names in every format. Returns an
    ExportResult (`.path`, `.manifest`, `.checks` with verify=True, `.verified`).
    Raises FitError (the spec or the data is wrong) and mspec.ExportRefused
    (the format cannot hold the model; nothing written) before the artifact is
    written. See mspec.artifacts.exporter.export for the options (verify, data, rows, seed).
    """
    from .artifacts.exporter import export as run_export

    return run_export(spec, model, fmt, output, **options)


def init(data: str | os.PathLike, targets: str | list[str] | tuple[str, ...], **options):
    """A first spec for a data file, predicting `targets`: an InitResult (`.text`, `.findings`, `.path`).

    Every column is measured (one streamed pass) and read as its values call
    for, or left out with a finding saying why. The spec is checked by mspec
    before it is handed back (`.diagnostics` is empty). Raises mspec.InitError
    for a request the data cannot meet (a missing target, a target with one
    value, no rows, an existing `output` without force) and DataError for an
    unreadable file. See mspec.scaffold.runner.init_spec for the options
    (exclude, fmt, name, output, force).
    """
    from .scaffold.runner import init_spec

    return init_spec(data, targets, **options)


def compare(specs: list[str | os.PathLike | CheckResult], data: str | os.PathLike, **options):
    """Fit every spec on the same data with the same seeds; return a Comparison (`.entries`, `.written`).

    Raises FitError, before Keras is imported, when a spec or the data is
    wrong or the specs read the data differently (MS807). See
    mspec.search.compare.compare for the options (validation, repeats, seed,
    output_dir, epochs, batch_size, importance).
    """
    from .search.compare import compare as run_compare

    return run_compare(specs, data, **options)


def tune(spec: str | os.PathLike | CheckResult, data: str | os.PathLike, *, trials: int, **options):
    """Tune the spec over its [search] space with Optuna; return a TuneResult (`.best`, `.trials`).

    Every sampled point is checked statically first: invalid points never
    reach Keras. Raises FitError (the spec, its space or the data is wrong)
    before Keras or Optuna start. See mspec.search.tune.tune for the options
    (validation, timeout, storage, study_name, seed, epochs, batch_size, output_dir).
    """
    from .search.tune import tune as run_tune

    return run_tune(spec, data, trials=trials, **options)


def diff(old: str | os.PathLike | CheckResult, new: str | os.PathLike | CheckResult):
    """What changing the model OLD into NEW does: a ModelDiff, for code review.

    OLD and NEW are spec files, REV:PATH (read with `git show`), saved Keras models
    (.keras, imported as data) or CheckResults. Nodes are matched by name, then by
    structure; `.changes` lists the edits (kind: added, removed, renamed, type,
    params, shared, rewired, loss, metrics; model, compile, train, search, tune, lint), each with
    its node's shape and weight count before and after; `.consequences` the nodes
    whose shape or weights changed because of an edit upstream; `.weights` the
    totals; `.same` whether nothing changed; `.new_findings` the lint findings NEW
    adds. `.text()`, `.markdown()`, `.to_json()` and `.diagram(fmt)` render it.
    Raises mspec.SideUnreadable when a side cannot be read at all; a spec with
    errors is compared as far as its checks get. Never imports a framework.
    """
    from .review import diff_models

    return diff_models(old, new)


def __getattr__(name: str):
    if name == "SideUnreadable":
        from .review import SideUnreadable

        return SideUnreadable
    if name == "InitError":
        from .scaffold.kinds import InitError

        return InitError
    if name == "FitError":
        from .training import FitError

        return FitError
    if name == "ExportRefused":
        from .artifacts import ExportRefused

        return ExportRefused
    raise AttributeError(f"module 'mspec.api' has no attribute {name!r}")
