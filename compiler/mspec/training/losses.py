"""Each output's loss per example and its first metric, as the compiled model computes them.

Imports Keras: used only once a model exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from ..spec.ir import Spec
from ..vocabulary import KerasObject, loss_key

SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})


@dataclass(frozen=True)
class OutputScoring:
    """How one output is scored: its loss (name, weight in the total) and its first metric, if any."""

    name: str
    loss: Any  # a name Keras resolves, or a `KerasObject` (a table in the spec)
    weight: float
    metric: Any | None

    def per_example(self, y_true: Any, y_pred: Any) -> Any:
        """The loss of every example, shape (rows,), in the backend's tensors."""
        function = _per_example_loss(self.loss)
        sparse = loss_key(self.loss) in SPARSE_LOSSES
        y_true = keras.ops.convert_to_tensor(y_true)
        y_pred = keras.ops.convert_to_tensor(y_pred)
        if not sparse and len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = keras.ops.expand_dims(y_true, -1)
        y_true = keras.ops.cast(y_true, y_pred.dtype) if not sparse else y_true
        values = function(y_true, y_pred)
        if len(values.shape) > 1:
            values = keras.ops.mean(keras.ops.reshape(values, (values.shape[0], -1)), axis=-1)
        return values

    def new_metric(self, y_true: np.ndarray, y_pred: np.ndarray) -> Any | None:
        """A fresh Keras metric for `metric`, resolved as compile resolves it ("accuracy" by shapes)."""
        if self.metric is None:
            return None
        if isinstance(self.metric, KerasObject):
            return getattr(keras.metrics, self.metric.type)(**_arguments(self.metric))
        if self.metric.lower() in ("accuracy", "acc"):
            classes = y_pred.shape[-1] if y_pred.ndim > 1 else 1
            if classes == 1:
                return keras.metrics.BinaryAccuracy(name=self.metric)
            if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
                return keras.metrics.SparseCategoricalAccuracy(name=self.metric)
            return keras.metrics.CategoricalAccuracy(name=self.metric)
        metric = keras.metrics.get(self.metric)
        if not isinstance(metric, keras.metrics.Metric):
            metric = keras.metrics.MeanMetricWrapper(metric, name=self.metric)
        return metric


def _arguments(obj: KerasObject) -> dict[str, Any]:
    return {name: value for name, value in obj.to_data().items() if name != "type"}


def _per_example_loss(loss: Any) -> Any:
    """The loss as a function giving one value per example (a Loss object without reduction)."""
    if isinstance(loss, KerasObject):
        return getattr(keras.losses, loss.type)(**{**_arguments(loss), "reduction": None})
    # The function of the same loss: "BCE" and "BinaryCrossentropy" are binary_crossentropy.
    return keras.losses.get(loss_key(loss))


def metric_higher_is_better(metric: Any) -> bool:
    """Whether a larger value of `metric` is better (accuracy, AUC) or worse (MAE, MSE)."""
    direction = getattr(metric, "_direction", None)
    if direction is not None:
        return direction == "up"
    name = getattr(metric, "name", "").lower()
    return not any(word in name for word in ("error", "loss", "mae", "mse", "crossentropy", "hinge"))


def scorings(spec: Spec, output_names: list[str]) -> list[OutputScoring]:
    """The scoring of every output of the model, in the model's output order."""
    compile_spec = spec.compile
    found = []
    for name in output_names:
        output = spec.outputs[name]
        loss = output.loss or (compile_spec.loss if compile_spec else None)
        if loss is None:
            raise ValueError(f"output {name!r} has no loss")
        metrics = list(output.metrics) or list(getattr(compile_spec, "metrics", None) or ())
        weight = 1.0 if output.loss_weight is None else float(output.loss_weight)
        found.append(OutputScoring(name, loss, weight, metrics[0] if metrics else None))
    return found


def model_output_names(model: Any) -> list[str]:
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return [tensor.name.split("/")[0] for tensor in model.outputs]


def model_input_names(model: Any) -> list[str]:
    return [tensor.name.split(":")[0] for tensor in model.inputs]
