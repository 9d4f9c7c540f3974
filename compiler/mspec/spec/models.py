"""The spec file's structure as pydantic models (layer steps are checked by the registry).

Sections and keys are declared here once; validation, `mspec schema` and the
docs all read these models. Layer steps, shared layers and merges are kept as
tables at this level because their keys depend on the layer `type`: the
validator checks them against the layer registry in a second step.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .vocabulary import DTYPES, INPUT_KINDS, LOSSES, METRICS

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
Loss = Literal[LOSSES]  # type: ignore[valid-type]
Metric = Literal[METRICS]  # type: ignore[valid-type]
# Steps are checked one by one by the validator (against the layer registry),
# so that one malformed step does not hide the others.
Step = Any


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


class ModelInfo(Section):
    """Names the Keras model and the files `mspec build` writes."""

    name: str = Field(description="Identifier naming the model and its output files.")
    description: str | None = Field(None, description="Free text, shown in summaries and diagrams.")


class InputSpec(Section):
    """One model input (a `keras.Input`)."""

    shape: list[Any] = Field(
        description="Dimensions, batch excluded.", json_schema_extra={"items": DIMENSION_SCHEMA}
    )
    dtype: Literal[DTYPES] = Field("float32", description="Element type.")  # type: ignore[valid-type]
    kind: Literal[INPUT_KINDS] | None = Field(  # type: ignore[valid-type]
        None, description="What the input holds; a hint for readers and diagrams."
    )


class BranchSpec(Section):
    """A chain of layers applied to one node; its name is the tensor it produces."""

    source: str = Field(alias="from", description="The node the chain starts from.")
    layers: list[Step] = Field(description="Steps applied in order: `{ type = ... }` or `{ shared = ... }`.")


class OutputSpec(Section):
    """One model output, optionally with a head of layers, and how it is trained."""

    source: str = Field(alias="from", description="The node this output reads.")
    layers: list[Step] = Field(default_factory=list, description="An optional head, like a branch.")
    loss: Loss | None = Field(None, description="Loss for this output (Keras name).")
    loss_weight: float | None = Field(None, ge=0, description="Weight of this output's loss in the total.")
    metrics: list[Metric] = Field(default_factory=list, description="Metrics reported for this output.")


class CompileSpec(Section):
    """Training settings passed to `model.compile`."""

    optimizer: str | dict[str, Any] = Field(
        "adam", description='"adam" or a table such as { type = "Adam", learning_rate = 0.001 }.'
    )
    loss: Loss | None = Field(None, description="Default loss for outputs that name none.")
    metrics: list[Metric] = Field(
        default_factory=list, description="Default metrics for outputs that name none."
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
