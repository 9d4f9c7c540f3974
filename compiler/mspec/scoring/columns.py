"""The columns a prediction is written as: what each output is (classes, yes/no, values), statically.

What an output predicts is known from the spec, without the model: its loss
and the activation of its last layer.

- *classes*: a softmax activation, or a sparse or categorical crossentropy
  loss. Columns `<output>` (the predicted class, the index of the highest
  probability, int64) and `<output>_prob_<k>` for each class k (float32).
- *binary*: a sigmoid activation, or a binary crossentropy loss. One unit:
  `<output>_prob` and `<output>` (1 when the probability is at least the
  threshold, else 0, int64); k units (several yes/no labels):
  `<output>_prob_<k>` and `<output>_<k>`.
- *values* (anything else, regression): `<output>` for one unit, else
  `<output>_<k>` per unit, the values flattened in row-major order for
  outputs of more than one axis.

A loss computed `from_logits` (a table such as `{ type = "BinaryCrossentropy",
from_logits = true }`) means the model outputs logits: the sigmoid (binary)
or softmax (classes) is applied first, so that `_prob` columns always hold
probabilities. Every format gets the same flat columns (no list columns).

Needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.binding import BINARY_LOSSES, ONE_HOT_LOSSES, SPARSE_LOSSES
from ..frontend import CheckResult
from ..vocabulary import KerasObject, loss_key

DEFAULT_THRESHOLD = 0.5
CLASS_LOSSES = SPARSE_LOSSES | ONE_HOT_LOSSES


@dataclass(frozen=True)
class OutputKind:
    """What one output predicts and how its values become columns."""

    name: str
    kind: str  # "classes", "binary" or "values"
    from_logits: bool = False

    def columns(self, predicted: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> dict[str, np.ndarray]:
        """The output's columns for a chunk of predictions (rows first), in the order written."""
        values = np.asarray(predicted)
        flat = values.reshape(len(values), -1) if values.ndim != 1 else values.reshape(-1, 1)
        name = self.name
        if self.kind == "classes":
            probabilities = _softmax(flat) if self.from_logits else flat
            found = {name: probabilities.argmax(axis=-1).astype("int64")}
            for k in range(probabilities.shape[1]):
                found[f"{name}_prob_{k}"] = probabilities[:, k].astype("float32")
            return found
        if self.kind == "binary":
            probabilities = _sigmoid(flat) if self.from_logits else flat
            decided = (probabilities >= threshold).astype("int64")
            if probabilities.shape[1] == 1:
                return {f"{name}_prob": probabilities[:, 0].astype("float32"), name: decided[:, 0]}
            found = {}
            for k in range(probabilities.shape[1]):
                found[f"{name}_prob_{k}"] = probabilities[:, k].astype("float32")
                found[f"{name}_{k}"] = decided[:, k]
            return found
        if flat.shape[1] == 1:
            return {name: flat[:, 0]}
        return {f"{name}_{k}": flat[:, k] for k in range(flat.shape[1])}


def output_kinds(result: CheckResult) -> dict[str, OutputKind]:
    """Every output of a checked spec, by name, with what it predicts."""
    spec, graph = result.spec, result.graph
    found = {}
    for name, output in spec.outputs.items():
        loss = output.loss or (spec.compile.loss if spec.compile is not None else None)
        key = loss_key(loss) if loss is not None else None
        activation = _last_activation(graph, name)
        if activation == "softmax" or key in CLASS_LOSSES:
            kind = "classes"
        elif activation == "sigmoid" or key in BINARY_LOSSES:
            kind = "binary"
        else:
            kind = "values"
        found[name] = OutputKind(name, kind, kind != "values" and _from_logits(loss))
    return found


def _last_activation(graph: Any, output: str) -> str | None:
    """The activation of the layer the output ends with, as the spec names it (None: unknown or linear)."""
    node = graph.nodes.get(graph.outputs.get(output, ""))
    call = getattr(node, "call", None)
    activation = getattr(getattr(call, "params", None), "activation", None)
    return activation.lower() if isinstance(activation, str) else None


def _from_logits(loss: Any) -> bool:
    return isinstance(loss, KerasObject) and bool(loss.to_data().get("from_logits"))


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = values.astype("float64") - values.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values.astype("float64")))
