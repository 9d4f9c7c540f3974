"""Each output's loss and metrics on labelled data: Keras' own `model.evaluate`, on the data streamed.

The data is bound and checked exactly as `mspec fit` does (labels
required), before Keras is imported. It is then streamed in batches
through the same tf.data pipeline fit streams large data with
(mspec.training.feeding.streamed, unshuffled, no class weights), and
`model.evaluate` computes the numbers: the same as
`model.evaluate(x, y, batch_size=...)` on the whole data in memory, since
Keras weighs every batch's loss and metrics by its rows either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..frontend import CheckResult

DEFAULT_BATCH_SIZE = 1024


@dataclass
class Evaluation:
    """The scores of a model on data: Keras' names ("loss", "<output>_loss", "<output>_<metric>")."""

    model: str
    data: str
    rows: int
    scores: dict[str, float]
    outputs: list[str]
    warnings: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "data": self.data, "rows": self.rows, "scores": self.scores}

    def to_text(self) -> str:
        """One line per score: the total loss, then each output's loss and metrics, in the spec's order."""
        order = ["loss"]
        for name in self.outputs:
            own = [k for k in self.scores if _of(k, name, self.outputs)]
            order += sorted(own, key=lambda k: k != f"{name}_loss")  # the loss, then the metrics
        order += [k for k in self.scores if k not in order]
        order = [k for k in dict.fromkeys(order) if k in self.scores]
        width = max(len(k) for k in order)
        lines = [f"{self.model} on {self.data} ({self.rows} rows)"]
        lines += [f"  {key:<{width}}  {self.scores[key]:.6g}" for key in order]
        return "\n".join(lines) + "\n"


def _of(key: str, output: str, outputs: list[str]) -> bool:
    """Whether Keras' score `key` belongs to `output` (the longest output name it starts with)."""
    owners = [name for name in outputs if key.startswith(f"{name}_")]
    return bool(owners) and max(owners, key=len) == output


def evaluate(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike | Any,
    data: str | os.PathLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    log: Callable[[str], None] | None = None,
) -> Evaluation:
    """Every output's loss and metrics of `model` (a .keras file or a compiled keras.Model) on `data`.

    Raises mspec.training.FitError, before Keras is imported, when the spec
    or the data is wrong (labels are required); DataError when the data
    cannot be read; ValueError when the model was saved without its compile
    settings or its outputs are not the spec's.
    """
    from ..training.runner import check_before_explain

    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    result, warnings = check_before_explain(spec, data)
    for warning in warnings if log else ():
        log(warning.format())

    from ..data import bind, load_arrays, open_data

    source = open_data(data)
    binding, _ = bind(result, source)
    rows = binding.num_rows
    if rows == 0:
        raise ValueError(f"{os.fspath(data)} holds no rows to evaluate on")

    from ..training import feeding
    from .model import load_model, output_names

    keras_model = load_model(model)
    if not getattr(keras_model, "compiled", True):
        raise ValueError("the model was saved without its loss and metrics (not compiled): save it compiled")
    names = output_names(keras_model, result)
    first_x, first_y = load_arrays(source, binding, rows=slice(0, 1))
    batches = feeding.streamed(
        source,
        binding,
        slice(0, rows),
        batch_size,
        shuffle=False,
        seed=None,
        output_names=names,
        class_weight={},
        signature=feeding.tensor_signature(first_x, first_y, names),
    )
    scores = keras_model.evaluate(batches, verbose=0, return_dict=True)
    return Evaluation(
        model=os.fspath(model) if isinstance(model, (str, os.PathLike)) else keras_model.name,
        data=os.fspath(data),
        rows=rows,
        scores={key: float(value) for key, value in scores.items()},
        outputs=list(result.spec.outputs),
        warnings=[w for w in warnings if not w.is_error],
    )
