"""The settings of one training run: the spec's `[train]` section with the command line's overrides.

Resolved before any framework is imported, so that a bad setting is reported
without waiting for TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi_worker")

# Defaults when the spec has no [train] section (the same as TrainSpec's).
DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 32
# Share of the gradient norm at a merge above which one branch overwhelms the others.
DEFAULT_BALANCE_THRESHOLD = 0.9


@dataclass(frozen=True)
class EarlyStopping:
    monitor: str = "val_loss"
    patience: int = 3
    min_delta: float = 0.0
    restore_best_weights: bool = True
    mode: str = "auto"


@dataclass(frozen=True)
class ReduceOnPlateau:
    monitor: str = "val_loss"
    factor: float = 0.1
    patience: int = 2
    min_lr: float = 0.0


@dataclass(frozen=True)
class FitSettings:
    """Everything `fit` needs to know besides the spec and the data."""

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    validation_split: float = 0.0
    shuffle: bool = True
    seed: int | None = None
    early_stopping: EarlyStopping | None = None
    reduce_lr_on_plateau: ReduceOnPlateau | None = None
    # output name -> {class label -> weight}
    class_weight: dict[str, dict[int, float]] = field(default_factory=dict)
    distribute: str = "none"
    balance_threshold: float = DEFAULT_BALANCE_THRESHOLD

    def with_overrides(self, **overrides: Any) -> FitSettings:
        """Return these settings with every override that is not None applied (command-line flags)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def settings_from_spec(train: Any | None) -> FitSettings:
    """Read a validated `[train]` section (spec.models.TrainSpec), or the defaults when there is none."""
    if train is None:
        return FitSettings()
    early = train.early_stopping
    plateau = train.reduce_lr_on_plateau
    return FitSettings(
        epochs=train.epochs,
        batch_size=train.batch_size,
        validation_split=train.validation_split,
        shuffle=train.shuffle,
        seed=train.seed,
        early_stopping=None if early is None else EarlyStopping(**_fields(early, EarlyStopping)),
        reduce_lr_on_plateau=None
        if plateau is None
        else ReduceOnPlateau(**_fields(plateau, ReduceOnPlateau)),
        class_weight={
            output: {int(label): float(weight) for label, weight in weights.items()}
            for output, weights in (train.class_weight or {}).items()
        },
        distribute=train.distribute,
        balance_threshold=(
            DEFAULT_BALANCE_THRESHOLD if train.balance_threshold is None else train.balance_threshold
        ),
    )


def _fields(section: Any, target: type) -> dict[str, Any]:
    names = target.__dataclass_fields__
    if isinstance(section, dict):
        return {k: v for k, v in section.items() if k in names}
    return {k: getattr(section, k) for k in names if hasattr(section, k)}
