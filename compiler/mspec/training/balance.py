"""Balance during training: each input branch's share of the gradient at the first merge it feeds.

After every epoch, on a fixed sample of training rows (the first 512), the
model is run through a probe that also returns the tensors entering each
measured merge (see `graph.merge_points.balance_points`), and the total loss (the
outputs' losses, weighted as compiled) is differentiated with respect to
those tensors. A branch's *signal* is

    || dL/dh  *  (h - mean(h)) ||      (element-wise product, over the sample)

the gradient reaching the merge weighted by how much the branch's tensor
varies from example to example: the first-order change of the loss if the
branch were replaced by its mean. Its *share* is its squared signal divided
by the sum of the squared signals of the merge's branches: the squared norm
over everything entering the merge is exactly that sum, so shares add up to
1 and a branch split in two keeps its share. A plain gradient norm would
not see a dead input (a branch that is constant still receives gradient);
this product is zero for it.

The shares are also measured once before training, when they follow only
the branches' widths and initial scales, not anything learnt. The verdicts
on the recorded shares (MS603, MS604) are in `verdicts`.

On TensorFlow the probe runs under a gradient tape. On JAX (multi-worker
runs) each merge gets a *tail*, the model from its entering tensors (and the
model's inputs, for paths around the merge) to the outputs, and jax.grad
differentiates the loss of the tail at the probe's tensors: the same
gradient, reached by cutting the graph at the merge.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from ..diagnostics import Diagnostic
from ..graph.merge_points import MergePoint, balance_points
from ..graph.model import ModelGraph
from .losses import OutputScoring, model_input_names, model_output_names, scorings
from .verdicts import DEAD_SHARE, balance_diagnostics

__all__ = ["DEAD_SHARE", "BalanceCallback", "balance_diagnostics", "make_balance_callback"]

# A tensor whose spread over the sample is below this fraction of its magnitude does not vary
# (what remains is rounding in the mean): its signal is exactly 0.
CONSTANT_SPREAD = 1e-6


def make_balance_callback(
    model: Any,
    graph: ModelGraph,
    x_sample: dict[str, np.ndarray],
    y_sample: dict[str, np.ndarray],
    threshold: float,
) -> BalanceCallback | None:
    """The callback recording branch shares, or None (no merge of two input branches, or no gradients)."""
    if keras.backend.backend() not in ("tensorflow", "jax"):
        return None
    points = balance_points(graph)
    if not points or not y_sample:
        return None
    return BalanceCallback(model, graph, points, x_sample, y_sample, threshold)


class BalanceCallback(keras.callbacks.Callback):
    """Measures every branch's share at every measured merge after each epoch."""

    def __init__(self, model, graph, points: list[MergePoint], x, y, threshold: float):
        super().__init__()
        self.points = points
        self.threshold = threshold
        self.output_names = model_output_names(model)
        self.scorings: list[OutputScoring] = scorings(graph.spec, self.output_names)
        self.x = [np.asarray(x[name]) for name in model_input_names(model)]
        self.y = [np.asarray(y[name]) for name in self.output_names]
        self.entering = []
        for point in points:
            layer = model.get_layer(point.layer)
            tensors = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
            self.entering.append(list(tensors))
        flat = [t for tensors in self.entering for t in tensors]
        self.probe = keras.Model(model.inputs, [*model.outputs, *flat])
        self.tails = None
        if keras.backend.backend() == "jax":
            self.tails = [keras.Model([*model.inputs, *tensors], model.outputs) for tensors in self.entering]
        self.history: dict[str, list[float | None]] = {key: [] for p in points for key in p.keys}
        self.initial: dict[str, float | None] = {}  # the shares before the first step

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.initial = self.measure()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, share in self.measure().items():
            self.history[key].append(share)

    def measure(self) -> dict[str, float | None]:
        """Every branch's share now, keyed balance/<merge>/<branch>."""
        if self.tails is None:
            signals = _signals(self.probe, self.x, self.y, self.scorings, len(self.output_names))
        else:
            signals = _signals_through_tails(self.probe, self.tails, self.x, self.y, self.scorings)
        shares: dict[str, float | None] = {}
        start = 0
        for point, tensors in zip(self.points, self.entering, strict=True):
            values = signals[start : start + len(tensors)]
            start += len(tensors)
            total = sum(v * v for v in values if v is not None)
            for position, value in enumerate(values):
                ok = value is not None and total > 0 and math.isfinite(total)
                shares[point.key(position)] = float(value * value / total) if ok else None
        return shares

    def history_entries(self) -> dict[str, list[float | None]]:
        """Per-epoch shares, to merge into the run's history."""
        return {key: list(values) for key, values in self.history.items()}

    def final_shares(self) -> dict[str, float | None]:
        return {key: (values[-1] if values else None) for key, values in self.history.items()}

    def diagnostics(self, document: Any) -> list[Diagnostic]:
        """MS603 for a branch that overwhelms the others, MS604 for a dead one, at the merge's `from`."""
        return balance_diagnostics(self.points, self.history, self.threshold, document, self.initial)


def _signals(probe, x, y, scoring: list[OutputScoring], outputs: int) -> list[float | None]:
    """|| dL/dh * (h - mean h) || for every tensor the probe returns after the outputs."""
    import tensorflow as tf

    inputs = [tf.convert_to_tensor(a) for a in x]
    with tf.GradientTape() as tape:
        for tensor in inputs:
            if tensor.dtype.is_floating:
                tape.watch(tensor)
        results = probe(inputs, training=False)
        predictions, entering = results[:outputs], results[outputs:]
        total = 0.0
        for score, truth, predicted in zip(scoring, y, predictions, strict=True):
            total = total + score.weight * tf.reduce_mean(score.per_example(truth, predicted))
    gradients = tape.gradient(total, entering, unconnected_gradients=tf.UnconnectedGradients.NONE)
    signals: list[float | None] = []
    for tensor, gradient in zip(entering, gradients, strict=True):
        if gradient is None or not tensor.dtype.is_floating:
            signals.append(None)
            continue
        centred = tensor - tf.reduce_mean(tensor, axis=0, keepdims=True)
        if float(tf.reduce_max(tf.abs(centred))) <= CONSTANT_SPREAD * float(tf.reduce_max(tf.abs(tensor))):
            signals.append(0.0)  # a constant tensor: what is left of it is rounding in the mean
            continue
        signals.append(float(tf.norm(tf.reshape(gradient * centred, [-1]))))
    return signals


def _signals_through_tails(probe, tails, x, y, scoring: list[OutputScoring]) -> list[float | None]:
    """The same signals on JAX: the loss of each merge's tail differentiated at the probe's tensors."""
    import jax
    import jax.numpy as jnp

    inputs = [jnp.asarray(a) for a in x]
    results = probe(inputs, training=False)
    entering = list(results[len(scoring) :])
    signals: list[float | None] = []
    for tail in tails:
        count = len(tail.inputs) - len(inputs)
        tensors, entering = entering[:count], entering[count:]
        floating = [jnp.issubdtype(t.dtype, jnp.floating) for t in tensors]

        def loss(chosen, tail=tail, tensors=tensors, floating=floating):
            given = iter(chosen)
            fed = [next(given) if is_float else t for t, is_float in zip(tensors, floating, strict=True)]
            predictions = tail([*inputs, *fed], training=False)
            if not isinstance(predictions, (list, tuple)):
                predictions = [predictions]  # a model of one output returns its tensor
            return sum(
                score.weight * jnp.mean(score.per_example(truth, predicted))
                for score, truth, predicted in zip(scoring, y, predictions, strict=True)
            )

        gradients = iter(
            jax.grad(loss)([t for t, is_float in zip(tensors, floating, strict=True) if is_float])
        )
        for tensor, is_float in zip(tensors, floating, strict=True):
            if not is_float:
                signals.append(None)
                continue
            centred = tensor - jnp.mean(tensor, axis=0, keepdims=True)
            gradient = next(gradients)
            if float(jnp.max(jnp.abs(centred))) <= CONSTANT_SPREAD * float(jnp.max(jnp.abs(tensor))):
                signals.append(0.0)  # as on TensorFlow: a constant tensor
                continue
            signals.append(float(jnp.linalg.norm(jnp.ravel(gradient * centred))))
    return signals
