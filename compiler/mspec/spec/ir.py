"""The validated spec: what the graph builder and every back end read."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..layers.call import LayerCall
from ..syntax.document import DataPath, Document
from .models import CompileSpec, InputSpec, TrainSpec


@dataclass(frozen=True)
class Step:
    """One item of a `layers` list: a layer of its own, or a use of a shared layer.

    `call` is None when the step is invalid (already diagnosed): later stages
    skip it instead of reporting follow-on errors.
    """

    path: DataPath
    call: LayerCall | None = None
    shared: str | None = None


@dataclass(frozen=True)
class Chain:
    """A branch or an output: a source node and the steps applied to it."""

    name: str
    source: str
    steps: tuple[Step, ...]
    path: DataPath


@dataclass(frozen=True)
class Merge:
    name: str
    sources: tuple[str, ...]
    call: LayerCall | None
    path: DataPath


@dataclass(frozen=True)
class Output(Chain):
    loss: str | None = None
    loss_weight: float | None = None
    metrics: tuple[str, ...] = ()
    column: str | None = None  # the labels' column in training data; None: the output's name

    @property
    def label_column(self) -> str:
        return self.column or self.name


@dataclass
class Spec:
    """A spec whose sections and layer parameters are valid (the graph may not be)."""

    document: Document
    name: str
    description: str | None
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    shared: dict[str, LayerCall | None] = field(default_factory=dict)
    branches: dict[str, Chain] = field(default_factory=dict)
    merges: dict[str, Merge] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    compile: CompileSpec | None = None
    # [train], validated; None when the spec has none (its defaults are TrainSpec()).
    train: TrainSpec | None = None
    # [model] outputs_as: the Keras model's outputs as a "list" (one output alone) or a "dict".
    outputs_as: str = "list"
    # Names whose entries failed validation: references to them are not
    # reported again as unknown.
    broken: set[str] = field(default_factory=set)
