"""The spec file's structure as pydantic models (layer steps are checked by the registry).

Sections and keys are declared here once; validation, `mspec schema` and the
docs all read these models. Layer steps, shared layers and merges are kept as
tables at this level because their keys depend on the layer `type`: the
validator checks them against the layer registry in a second step.
"""

from __future__ import annotations

import fnmatch
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    model_validator,
)

from ..vocabulary import DTYPES, INPUT_KINDS, object_ref, resolve

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"

# Dimensions are checked by the validator itself (positive, or a name, or
# null) for clearer messages than a union error; this is what the schema shows.
DIMENSION_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": NAME_PATTERN},
        {"type": "null"},
    ],
    "description": "A size (positive integer), or unknown: null (JSON) or a name (a string).",
}
# A name Keras resolves ("mse", "MeanSquaredError") or a table { type = "Huber", delta = 2.0 }:
# a string stays as written, a table becomes a `vocabulary.KerasObject`.
Loss = Annotated[Any, PlainValidator(lambda v: resolve("loss", v)), WithJsonSchema(object_ref("loss"))]
Metric = Annotated[Any, PlainValidator(lambda v: resolve("metric", v)), WithJsonSchema(object_ref("metric"))]
# Steps are checked one by one by the validator (against the layer registry),
# so that one malformed step does not hide the others.
Step = Any


def _empty_list() -> list:
    # The default of list fields, where `list` itself would do: pydantic reads a default
    # factory's signature, and a builtin's is parsed from its text, which compiles the
    # tokenizer's patterns on first use (1.5 ms of every command that validates a spec).
    return []


class Section(BaseModel):
    # defer_build: a section's validator is built when a spec first uses it, so that
    # `mspec lint` pays nothing for [train], [search] or the whole-file model (which
    # only the JSON schema reads) in a spec without them.
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, populate_by_name=False, defer_build=True
    )


class ModelInfo(Section):
    """Names the Keras model and the files `mspec build` writes."""

    name: str = Field(description="Identifier naming the model and its output files.")
    description: str | None = Field(None, description="Free text, shown in summaries and diagrams.")
    outputs_as: Literal["list", "dict"] = Field(
        "list",
        description='How the Keras model gives its outputs: "list" (in [outputs] order; one output '
        'alone) or "dict" (keyed by output name, in [outputs] order, even for one output).',
    )


class ColumnSelector(Section):
    """Columns picked by name, in the file's order: `columns = { prefix = "..." }` or `{ glob = "..." }`.

    Exactly one of the two keys. Columns the spec names elsewhere (an output's
    labels, an input's own column, an item of a `columns` list) are never picked.
    """

    prefix: str | None = Field(None, description="Every column whose name starts with this.")
    glob: str | None = Field(
        None,
        description="Every column whose whole name matches this pattern: * any text, ? one "
        "character, [abc] one of these characters (case matters).",
    )

    model_config = ConfigDict(json_schema_extra=lambda schema: _one_of_keys(schema))

    @model_validator(mode="after")
    def _one_key(self) -> ColumnSelector:
        if (self.prefix is None) == (self.glob is None):
            raise ValueError('give one of `prefix` or `glob`, e.g. { prefix = "pixel_" }')
        if not (self.prefix or self.glob):
            raise ValueError('the text to match is empty: to take every other column, write { glob = "*" }')
        return self

    def describe(self) -> str:
        """The table as written: { prefix = "pixel_" }."""
        import json  # here, for this message only: validating a spec does not load it

        key, value = ("prefix", self.prefix) if self.prefix is not None else ("glob", self.glob)
        return "{ " + key + " = " + json.dumps(value) + " }"

    def matches(self, name: str) -> bool:
        if self.prefix is not None:
            return name.startswith(self.prefix)
        return fnmatch.fnmatchcase(name, self.glob or "")


def _one_of_keys(schema: dict[str, Any]) -> None:
    """The schema of a table with exactly one of its keys, each a non-empty string."""
    for prop in schema["properties"].values():
        for key in ("anyOf", "default", "title"):
            prop.pop(key, None)
        prop.update(type="string", minLength=1)
    schema["oneOf"] = [{"required": [key]} for key in schema["properties"]]


# A list of names (the core form), or a table picking columns by name. The list or table is
# chosen by the value's type, so that a mistake in one is reported in its own terms only.
Columns = Annotated[
    Annotated[list[str], Field(min_length=1), Tag("list")] | Annotated[ColumnSelector, Tag("table")],
    Discriminator(
        lambda value: "list" if isinstance(value, list) else "table" if isinstance(value, dict) else None,
        custom_error_type="columns_type",
        custom_error_message='Input should be a list of column names, or a table { prefix = "..." } '
        'or { glob = "..." }',
    ),
]


class InputSpec(Section):
    """One model input (a `keras.Input`)."""

    shape: list[Any] = Field(
        description="Dimensions, batch excluded.", json_schema_extra={"items": DIMENSION_SCHEMA}
    )
    dtype: Literal[DTYPES] = Field("float32", description="Element type.")  # type: ignore[valid-type]
    kind: Literal[INPUT_KINDS] | None = Field(  # type: ignore[valid-type]
        None, description="What the input holds; a hint for readers and diagrams."
    )
    columns: Columns | None = Field(
        None,
        description="Training data: the columns (or NPZ arrays) stacked in order along the input's "
        'last axis: a list of names, or a table { prefix = "..." } or { glob = "..." } picking them '
        "by name, in the file's order. Default: the one column or array named like the input.",
    )


class BranchSpec(Section):
    """A chain of layers applied to one node; its name is the tensor it produces."""

    source: str = Field(alias="from", description="The node the chain starts from.")
    layers: list[Step] = Field(description="Steps applied in order: `{ type = ... }` or `{ shared = ... }`.")


class OutputSpec(Section):
    """One model output, optionally with a head of layers, and how it is trained."""

    source: str = Field(alias="from", description="The node this output reads.")
    layers: list[Step] = Field(default_factory=_empty_list, description="An optional head, like a branch.")
    loss: Loss | None = Field(
        None, description='Loss for this output: a Keras name, or a table { type = "Huber", delta = 2.0 }.'
    )
    loss_weight: float | None = Field(None, ge=0, description="Weight of this output's loss in the total.")
    metrics: list[Metric] = Field(
        default_factory=_empty_list, description="Metrics reported for this output."
    )
    column: str | None = Field(
        None,
        description="Training data: the column (or NPZ array) holding this output's labels. "
        "Default: the one named like the output.",
    )


class CompileSpec(Section):
    """Training settings passed to `model.compile`."""

    optimizer: str | dict[str, Any] = Field(
        "adam", description='"adam" or a table such as { type = "Adam", learning_rate = 0.001 }.'
    )
    loss: Loss | None = Field(None, description="Default loss for outputs that name none.")
    metrics: list[Metric] = Field(
        default_factory=_empty_list, description="Default metrics for outputs that name none."
    )


DISTRIBUTE_STRATEGIES = ("none", "mirrored", "multi_worker")
ClassWeight = Annotated[float, Field(ge=0)]


class EarlyStoppingSpec(Section):
    """Stop training when a monitored quantity stops improving (keras.callbacks.EarlyStopping)."""

    monitor: str = Field("val_loss", description="The quantity watched, as Keras logs it.")
    patience: int = Field(3, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="The least change that counts as an improvement.")
    restore_best_weights: bool = Field(True, description="Restore the weights of the best epoch on stopping.")
    mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="Whether the quantity should go down (min) or up (max); auto guesses from its name.",
    )


class ReduceLROnPlateauSpec(Section):
    """Lower the learning rate when a monitored quantity stops improving."""

    monitor: str = Field("val_loss", description="The quantity watched, as Keras logs it.")
    factor: float = Field(0.1, gt=0, lt=1, description="The learning rate is multiplied by this factor.")
    patience: int = Field(2, ge=0, description="Epochs without improvement before lowering the rate.")
    min_lr: float = Field(0.0, ge=0, description="The learning rate never goes below this.")


class TrainSpec(Section):
    """How `mspec fit` trains the model on named data."""

    epochs: int = Field(10, ge=1, description="Passes over the training data.")
    batch_size: int = Field(32, ge=1, description="Examples per gradient step.")
    validation_split: float = Field(
        0.0, ge=0, lt=1, description="Share of the rows (the last ones) held out for validation."
    )
    shuffle: bool = Field(True, description="Shuffle the training rows before each epoch.")
    seed: int | None = Field(None, ge=0, description="Seed for weights, shuffling and dropout; none: random.")
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Stop when the monitored quantity stops improving."
    )
    reduce_lr_on_plateau: ReduceLROnPlateauSpec | None = Field(
        None, description="Lower the learning rate when the monitored quantity stops improving."
    )
    class_weight: dict[str, dict[str, ClassWeight]] = Field(
        default_factory=dict,
        description='Per output, a weight per class label: { label = { "0" = 1.0, "1" = 4.0 } } '
        "(labels are written as strings, TOML keys being strings).",
        json_schema_extra={
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"pattern": "^(0|[1-9][0-9]*)$"},
                "additionalProperties": {"type": "number", "minimum": 0},
            }
        },
    )
    distribute: Literal[DISTRIBUTE_STRATEGIES] = Field(  # type: ignore[valid-type]
        "none",
        description="none: one device; mirrored: every local device; multi_worker: several machines.",
    )
    balance_threshold: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Share of the gradient norm at a merge above which one branch is said to "
        "overwhelm the others.",
    )

    def class_weights(self, output: str) -> dict[int, float] | None:
        """The class weights of one output with integer labels, as Keras takes them; None if unset."""
        weights = self.class_weight.get(output)
        return {int(label): weight for label, weight in weights.items()} if weights else None


class LintSpec(Section):
    """Rules of `mspec lint` turned off for this spec: whole rules, or rules about one node."""

    ignore: list[str] = Field(
        default_factory=_empty_list,
        description='Rule codes, prefixes or names not reported for this spec, e.g. ["MS712"].',
    )
    per_node_ignores: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Node name (input, shared layer, branch, merge, output) -> rules not reported "
        'about that node, e.g. { score = ["MS706"] }.',
    )


class SearchRange(Section):
    """A range of values to search: integers when `low`, `high` (and `step`) are integers, else numbers."""

    low: int | float = Field(description="The smallest value (included).")
    high: int | float = Field(description="The largest value (included).")
    log: bool = Field(False, description="Sample on a log scale (for learning rates); `low` must be > 0.")
    step: int | float | None = Field(
        None,
        description="Only values low + k * step (step > 0); not with `log`. Default: any value (1 for "
        "integers).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SearchRange:
        if not self.low < self.high:
            raise ValueError(f"`low` ({self.low}) should be below `high` ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs `low` > 0, got {self.low}")
        if self.step is not None and not self.step > 0:
            raise ValueError(f"`step` should be > 0, got {self.step}")
        if self.log and self.step is not None:
            raise ValueError("give `log` or `step`, not both")
        return self

    @property
    def integers(self) -> bool:
        """Whether the range holds integers only (Optuna's IntDistribution), not numbers."""
        return all(type(v) is int for v in (self.low, self.high, self.step) if v is not None)


# A search value: a list of choices (strings, numbers, booleans), or a range table.
SearchChoices = Annotated[list[str | bool | int | float], Field(min_length=1)]
TUNE_DIRECTIONS = ("auto", "minimize", "maximize")


class TuneSpec(Section):
    """What `mspec tune` optimizes over the [search] space."""

    metric: str = Field(
        "val_loss",
        description="The quantity a trial is scored by, as Keras logs it (`val_loss`, `val_accuracy`, "
        "`val_<output>_loss` ...): its best value over the trial's epochs.",
    )
    direction: Literal[TUNE_DIRECTIONS] = Field(  # type: ignore[valid-type]
        "auto",
        description="minimize or maximize the metric; auto: maximize accuracies, AUC, precision, recall "
        "and F-scores, minimize anything else (losses, errors).",
    )
    sampler: Literal["tpe", "random"] = Field(
        "tpe", description="Optuna's sampler: TPE (default), or random search."
    )
    pruning: bool = Field(
        True,
        description="Stop trials whose metric, epoch for epoch, is worse than the median of earlier "
        "trials (Optuna's MedianPruner).",
    )


class SpecFile(Section):
    """A whole spec file."""

    schema_ref: str | None = Field(
        None, alias="$schema", description="Ignored; lets editors find the schema."
    )
    model: ModelInfo = Field(description="Names the model and the files `mspec build` writes.")
    inputs: dict[str, InputSpec] = Field(min_length=1, description="The model's inputs, by name, in order.")
    shared: dict[str, Step] = Field(
        default_factory=dict, description='Layers reused by every `{ shared = "NAME" }` step.'
    )
    branches: dict[str, BranchSpec] = Field(
        default_factory=dict, description="Chains of layers, named after the tensor they make."
    )
    merges: dict[str, Step] = Field(
        default_factory=dict, description="Layers that combine several nodes (Concatenate, Add, ...)."
    )
    outputs: dict[str, OutputSpec] = Field(
        min_length=1, description="The model's outputs, by Keras output name, with their losses."
    )
    compile: CompileSpec | None = Field(None, description="Training settings for `model.compile`.")
    train: TrainSpec | None = Field(None, description="How `mspec fit` trains the model on named data.")
    lint: LintSpec | None = Field(
        None, description="Rules of `mspec lint` turned off for this spec (see docs/diagnostics.md)."
    )
    search: dict[str, SearchChoices | SearchRange] | None = Field(
        None,
        description='Values `mspec tune` tries: a dotted path into this spec ("branches.x2.layers.0.units", '
        "a step's `name` in place of its path) -> a list of choices or a range table. The values "
        "written in the spec are the baseline.",
    )
    tune: TuneSpec | None = Field(None, description="What `mspec tune` optimizes over the [search] space.")
