"""The trained model a scoring command runs: loaded from its .keras file, outputs matched to the spec's."""

from __future__ import annotations

import os
from typing import Any

from ..frontend import CheckResult


def load_model(model: str | os.PathLike | Any) -> Any:
    """A keras.Model from a .keras file (or the model itself); imports Keras quietly."""
    from ..training.quiet import import_keras

    keras = import_keras()
    if isinstance(model, (str, os.PathLike)):
        return keras.saving.load_model(model)
    return model


def output_names(model: Any, result: CheckResult) -> list[str]:
    """The model's outputs in its own order; ValueError when they are not the spec's."""
    names = getattr(model, "output_names", None)
    names = list(names) if names else [tensor.name.split("/")[0] for tensor in model.outputs]
    if sorted(names) != sorted(result.spec.outputs):
        raise ValueError(
            f"the model's outputs ({', '.join(names)}) are not the spec's "
            f"({', '.join(result.spec.outputs)}): was it trained from another spec?"
        )
    return names


def by_output(predicted: Any, names: list[str]) -> dict[str, Any]:
    """model.predict's result (one array, a list in output order, or a dict) by output name."""
    if isinstance(predicted, dict):
        return {name: predicted[name] for name in names}
    if isinstance(predicted, (list, tuple)):
        return dict(zip(names, predicted, strict=True))
    return {names[0]: predicted}
