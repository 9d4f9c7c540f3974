"""Does the artifact compute what the Keras model computes? Rows to feed, and the comparison.

Rows come from data (bound by the spec's names as `mspec fit` binds them) or
are generated from the contract: numbers from a normal distribution (spread
for an input the model normalizes), ids within the range the Embedding (or
CategoryEncoding) reading them takes, padding included.

Each output of the artifact is compared with the Keras model's prediction
within the tolerances Keras' own export tests use for the format
(`TOLERANCES`): a value passes when |artifact - keras| <= atol + rtol * |keras|.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..frontend import CheckResult
from .formats import TOLERANCES
from .manifest import Contract


@dataclass(frozen=True)
class OutputCheck:
    name: str
    worst: float  # the largest |artifact - keras| over every value
    atol: float
    rtol: float
    ok: bool

    def describe(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        allowed = f"{self.atol:g} + {self.rtol:g} x |keras|"
        return f"{self.name}: worst difference {self.worst:.3g} (allowed {allowed}) {verdict}"


def data_rows(result: CheckResult, data: str | os.PathLike, rows: int) -> dict[str, np.ndarray]:
    """The first `rows` rows of `data`, bound and checked as `mspec predict` does (FitError when wrong).

    Labels are not needed: only the inputs are read.
    """
    from ..data import bind, check_data, load_arrays, open_data
    from ..training.runner import FitError

    found = check_data(result, data, rows=lambda total: slice(0, min(total, rows)), labels=False)
    if any(d.is_error for d in found):
        raise FitError(found)
    source = open_data(data)
    binding, _ = bind(result, source, labels=False)
    x, _ = load_arrays(source, binding, slice(0, rows))
    if not x or not len(next(iter(x.values()))):
        raise ValueError(f"{data}: no rows to verify on")
    return x


def generated_rows(
    contract: Contract, result: CheckResult, rows: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Rows of the right dtypes, shapes and id ranges, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    found = {}
    for tensor in contract.inputs:
        shape = (rows, *(d if isinstance(d, int) else 4 for d in tensor.shape[1:]))
        expects = tensor.expects or {}
        if "ids" in expects:
            low, high = expects["ids"]
            values = rng.integers(low, high, size=shape)
        elif tensor.dtype == "string":
            values = rng.choice(
                np.array(_vocabulary(result, tensor.name) or ["a", "b"], dtype=object), size=shape
            )
        elif tensor.dtype.startswith(("int", "uint")):
            values = rng.integers(0, 10, size=shape)
        elif tensor.dtype == "bool":
            values = rng.integers(0, 2, size=shape).astype(bool)
        else:
            spread = 10.0 if "normalizes" in expects.get("values", "") else 1.0
            values = rng.normal(size=shape) * spread
        found[tensor.name] = values if tensor.dtype == "string" else values.astype(tensor.dtype)
    return found


def _vocabulary(result: CheckResult, input_name: str) -> list[str] | None:
    """Strings to draw an input's values from: the vocabulary of the layer that maps them, and one unknown.

    Any layer taking strings that the spec gives a vocabulary (StringLookup, TextVectorization;
    inline or from a file): drawn from it, the rows reach the ids the model trained, not only the
    out-of-vocabulary one.
    """
    from ..layers import REGISTRY
    from ..layers.base import Trait
    from .manifest import _first_readers

    for _, kind, params in _first_readers(result.graph, input_name):
        tokens = getattr(params, "tokens", None) if Trait.TAKES_STRINGS in REGISTRY[kind].traits else None
        if tokens:
            return [*tokens, "not in the vocabulary"]
    return None


def keras_outputs(model: Any, contract: Contract, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Keras model's predictions on `feed`, keyed by output name."""
    from .formats import model_input_names, model_output_names

    batch = [_tensor(feed[name]) for name in model_input_names(model)]
    rows = len(feed[model_input_names(model)[0]])
    predicted = model.predict(batch if len(batch) > 1 else batch[0], batch_size=rows, verbose=0)
    if isinstance(predicted, dict):
        return {name: np.asarray(predicted[name]) for name in (t.name for t in contract.outputs)}
    if not isinstance(predicted, (list, tuple)):
        predicted = [predicted]
    return dict(zip(model_output_names(model), (np.asarray(p) for p in predicted), strict=True))


def _tensor(values: np.ndarray) -> Any:
    """Numbers as they are; strings as a TensorFlow tensor (Keras takes no NumPy array of objects)."""
    if values.dtype.kind not in "OSU":
        return values
    import tensorflow as tf

    return tf.constant(values.astype(str).astype(object))


def compare(fmt: str, expected: dict[str, np.ndarray], found: dict[str, np.ndarray]) -> list[OutputCheck]:
    """Every output of `expected` against the artifact's `found`, in `expected`'s order."""
    atol, rtol = TOLERANCES[fmt]
    checks = []
    for name, reference in expected.items():
        value = found.get(name)
        if value is None or np.shape(value) != np.shape(reference):
            checks.append(OutputCheck(name, float("inf"), atol, rtol, False))
            continue
        value = np.asarray(value, dtype="float64")
        reference = np.asarray(reference, dtype="float64")
        difference = np.abs(value - reference)
        worst = float(np.max(difference)) if difference.size else 0.0
        ok = bool(np.all(difference <= atol + rtol * np.abs(reference)))
        checks.append(OutputCheck(name, worst, atol, rtol, ok))
    return checks
