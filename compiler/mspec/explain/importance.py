"""Permutation importance and ablation of every input of a trained model, per output.

For every input (or group of inputs, `groups`), and every output:

- *permutation importance*: the increase of the output's loss (and the
  worsening of its first metric) when the input's rows are shuffled, so that
  each example gets another example's value, everything else unchanged; the
  mean and standard deviation over `repeats` seeded shuffles, against the
  unshuffled baseline. The inputs of a group are shuffled together (the
  same permutation), keeping their joint distribution;
- *ablation*: the same when the input is replaced, in every row, by one
  value that carries no information about the example (`Replacement`),
  chosen from what the spec says reads the input first:
  a numeric input, its mean over the data;
  ids read by an Embedding, ReversibleEmbedding or CategoryEncoding, an id the data never uses
  (its row of the layer was never trained) at every position; when every id
  is used and the Embedding masks 0, the padding id, unless a masked average
  follows (over a sequence of padding only it is 0 / 0, NaN); else the id
  whose Embedding row is nearest the average row over the data (what a mean
  is to a number);
  tokens read by a StringLookup or IntegerLookup, its out-of-vocabulary token.
  Anything else falls back to the most frequent value at each position over
  the first chunk, said not to be neutral: a sequence of the most frequent
  id at each position is far from any real one, and cost a pure-noise id
  sequence 0.15 of loss.

The data is bound and checked exactly as `mspec fit` does. It is read in
chunks of CHUNK_ROWS rows (data that fits in one chunk is read once): each
chunk is shuffled within itself, and every variant of it (baseline,
shuffles, ablations) is predicted in large batches in one `model.predict`
call, as much as a memory budget allows; losses are computed per example in
one vectorised call per output and accumulated, metrics are Keras metric
objects updated once per chunk. No Python loop runs over examples.

Losses are the outputs' own, unweighted (class weights are not applied); the
metric is the output's first metric, resolved as `compile` resolves it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..frontend import CheckResult
from ..graph.readers import first_readers
from ..layers import KindsWith
from ..layers.base import Trait

# Rows read (and shuffled together) at a time.
CHUNK_ROWS = 65536
# Rows per batch of model.predict.
DEFAULT_BATCH_SIZE = 1024
# Upper bound on the bytes of inputs handed to one model.predict call (several variants at once).
PREDICT_BUDGET_BYTES = 256 << 20


@dataclass(frozen=True)
class Variant:
    kind: str  # "baseline", "permute" or "ablate"
    group: tuple[str, ...] = ()
    repeat: int = 0


@dataclass(frozen=True)
class Replacement:
    """What an input is replaced by when ablated (one example's worth), and why it says nothing."""

    kind: str  # "mean", "unused id", "padding", "average id", "oov token" or "most frequent"
    value: np.ndarray
    reason: str  # for people: "an id the data never uses: its row of Embedding x step 1 was never trained"
    neutral: bool = True  # False for the most frequent value, the fall-back

    def describe(self) -> str:
        return f"{_shown(self.value)} ({self.reason})"


def _shown(value: np.ndarray) -> str:
    """A replacement as text: one value repeated at every position is shown once."""
    flat = np.asarray(value).reshape(-1)
    if flat.size == 0:
        return "[]"
    if flat.size > 1 and all(v == flat[0] for v in flat):
        return f"{_scalar(flat[0])!r} at every position"
    if flat.size == 1:
        return repr(_scalar(flat[0]))
    shown = ", ".join(repr(_scalar(v)) for v in flat[:4])
    return f"[{shown}{', ...' if flat.size > 4 else ''}]"


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value


@dataclass
class Score:
    """What one input (or group) costs one output when shuffled and when ablated."""

    importance: float
    std: float
    metric_drop: float | None
    metric_std: float | None
    ablation: float
    ablation_metric_drop: float | None
    repeats: list[float] = field(default_factory=list)


@dataclass
class OutputReport:
    name: str
    loss: str
    baseline_loss: float
    metric: str | None
    baseline_metric: float | None
    metric_higher_is_better: bool
    inputs: dict[str, Score]  # ranked, most important first
    groups: dict[str, Score]  # "a+b" -> score


@dataclass
class Explanation:
    """The result of `explain`: per output, the inputs ranked; the balance recorded by fit."""

    model: str
    data: str
    rows: int
    repeats: int
    seed: int
    outputs: dict[str, OutputReport]
    balance: dict[str, dict[str, float | None]] | None = None  # merge -> branch -> final share
    balance_inputs: dict[str, dict[str, list[str]]] | None = None  # merge -> branch -> inputs
    balance_source: str | None = None
    warnings: list[Any] = field(default_factory=list)
    ablations: dict[str, Replacement] = field(default_factory=dict)  # input -> what ablation put there


def explain(
    spec: str | os.PathLike | CheckResult,
    model: str | os.PathLike | Any,
    data: str | os.PathLike,
    *,
    repeats: int = 5,
    seed: int = 0,
    groups: Sequence[Sequence[str]] = (),
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_rows: int | None = None,
    history: str | os.PathLike | None = None,
    log: Callable[[str], None] | None = None,
) -> Explanation:
    """Permutation importance and ablation of every input of `model` on `data`, per output.

    `model` is a .keras file (or a keras.Model). Raises mspec.training.FitError,
    before Keras is imported, when the spec or the data is wrong, and
    ValueError for a group naming no input. The balance recorded by `mspec fit`
    is read from `history` (default: <model>.history.json beside a model file).
    """
    from ..training.runner import check_before_explain

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    result, warnings = check_before_explain(spec, data)
    for warning in warnings if log else ():
        log(warning.format())
    input_names = list(result.spec.inputs)
    group_list = [tuple(group) for group in groups]
    for group in group_list:
        unknown = [name for name in group if name not in input_names]
        if unknown or not group:
            raise ValueError(f"--group {','.join(group)}: no input named {', '.join(unknown) or '(empty)'}")

    from ..data import bind, iter_batches, load_arrays, open_data

    source = open_data(data)
    binding, _ = bind(result, source)
    rows = binding.num_rows
    chunk_rows = chunk_rows or CHUNK_ROWS

    from ..training.quiet import import_keras

    keras = import_keras()  # before losses.py imports it: TensorFlow's start-up notes stay out of sight

    from ..training.losses import scorings

    keras_model = model if not isinstance(model, (str, os.PathLike)) else keras.saving.load_model(model)
    output_names = _output_names(keras_model, result)
    scoring = scorings(result.spec, output_names)

    if rows <= chunk_rows:
        everything = load_arrays(source, binding)

        def chunks():
            return iter([everything])
    else:

        def chunks():
            return iter_batches(source, binding, chunk_rows)

    first_x, _ = next(chunks())
    replacements = _replacements(
        first_x, binding, result.graph, keras_model, chunks if rows > chunk_rows else None
    )
    typical = {name: replacement.value for name, replacement in replacements.items()}
    singles = [(name,) for name in input_names]
    variants = [Variant("baseline")]
    for group in singles + group_list:
        variants += [Variant("permute", group, r) for r in range(repeats)]
        variants.append(Variant("ablate", group))
    totals = _evaluate(keras_model, chunks(), variants, scoring, typical, seed, batch_size, result)

    reports = {
        score.name: _report(score, o, variants, totals, singles, group_list, repeats)
        for o, score in enumerate(scoring)
    }
    explanation = Explanation(
        model=str(model) if isinstance(model, (str, os.PathLike)) else keras_model.name,
        data=str(data),
        rows=rows,
        repeats=repeats,
        seed=seed,
        outputs=reports,
        warnings=[w for w in warnings if not w.is_error],
        ablations=replacements,
    )
    _attach_balance(explanation, result, model, history)
    return explanation


def _output_names(model: Any, result: CheckResult) -> list[str]:
    from ..training.losses import model_output_names

    names = model_output_names(model)
    if sorted(names) != sorted(result.spec.outputs):
        raise ValueError(
            f"the model's outputs ({', '.join(names)}) are not the spec's ({', '.join(result.spec.outputs)})"
        )
    return names


def _replacements(
    first_x: dict[str, np.ndarray], binding: Any, graph: Any, model: Any, chunks
) -> dict[str, Replacement]:
    """What each input is replaced by when ablated (see the module's documentation)."""
    found: dict[str, Replacement] = {}
    sums: dict[str, np.ndarray] = {}
    count = 0
    numeric = [n for n, a in first_x.items() if a.dtype.kind == "f" and not binding.inputs[n].ids]
    if chunks is not None and numeric:
        for x, _ in chunks():
            count += len(next(iter(x.values())))
            for name in numeric:
                sums[name] = sums.get(name, 0) + x[name].sum(axis=0, dtype="float64")
    for name, array in first_x.items():
        if name in numeric:
            mean = sums[name] / count if count else array.mean(axis=0, dtype="float64")
            found[name] = Replacement("mean", np.asarray(mean, dtype=array.dtype), "its mean over the data")
        else:
            found[name] = _neutral(name, array, graph, model) or Replacement(
                "most frequent",
                _mode(array),
                "its most frequent value at each position; not neutral: no unused id, padding "
                "or out-of-vocabulary token suits this input",
                neutral=False,
            )
    return found


# Layers that read ids (an index into a table of weights, or a category to encode): Embedding,
# ReversibleEmbedding (an id >= input_dim fails there as in Embedding), CategoryEncoding.
ID_LAYERS = KindsWith(Trait.TAKES_IDS)
# Layers that turn tokens into ids through a vocabulary with an out-of-vocabulary token: the
# ablation reads their oov_token, num_oov_indices and invert, parameters of these two kinds only
# (Keras' IndexLookup). ENCODES_CATEGORIES is wider: Hashing and HashedCrossing have no unknown
# token, and TextVectorization has no such parameters (its "[UNK]" is fixed).
LOOKUP_LAYERS = frozenset({"StringLookup", "IntegerLookup"})
# Layers that average over the steps a mask leaves: over a sequence of padding only, 0 / 0. No
# trait says it: of the kinds that read a mask (CALL_TAKES_MASK), only GlobalAveragePooling1D
# divides by the unmasked count (Softmax zeroes a wholly masked axis, a recurrent layer keeps its state).
MASKED_AVERAGES = frozenset({"GlobalAveragePooling1D"})


def _neutral(name: str, array: np.ndarray, graph: Any, model: Any = None) -> Replacement | None:
    """A value of `name` that carries nothing the model learnt, from the layers that read it first."""
    readers = _first_readers(graph, name)
    if not readers:
        return None
    kinds = {call.kind.name for _, call in readers}
    shape = array.shape[1:]
    # The first reader, as the spec names it: "Embedding category_features step 1".
    where = f"{readers[0][1].kind.name} {graph.label(readers[0][0])}"
    if kinds <= LOOKUP_LAYERS:
        tokens = {call.params.oov_token for _, call in readers}
        usable = all(call.params.num_oov_indices >= 1 and not call.params.invert for _, call in readers)
        if len(tokens) != 1 or not usable:
            return None
        (token,) = tokens
        value = np.full(shape, token, dtype=object if array.dtype.kind in "OUS" else array.dtype)
        return Replacement("oov token", value, f"the out-of-vocabulary token of {where}")
    if not all(kind in ID_LAYERS for kind in kinds) or array.dtype.kind not in "iu":
        return None
    from ..data.binding import id_limits

    # The same layers as the readers (through the same pass-through kinds), with their id ranges.
    limits = id_limits(graph, name)
    limit = min(found.limit for found in limits)
    masked = any(found.mask_zero for found in limits)
    used = np.unique(array)
    unused = np.setdiff1d(np.arange(1 if masked else 0, limit), used)
    if unused.size:
        return Replacement(
            "unused id",
            np.full(shape, unused[-1], dtype=array.dtype),
            f"an id the data never uses: its row of {where} was never trained",
        )
    if masked and not any(_reaches(graph, node, MASKED_AVERAGES) for node, _ in readers):
        return Replacement(
            "padding",
            np.zeros(shape, dtype=array.dtype),
            f"the padding id, masked by {where}: the sequence is empty to the model",
        )
    nearest = _nearest_to_mean(array, readers, graph, model, masked)
    if nearest is not None:
        return Replacement(
            "average id",
            np.full(shape, nearest, dtype=array.dtype),
            f"the id whose row of {where} is nearest the rows' average over the data: "
            "every id is used, and a row like the average is what a mean is to a number",
        )
    return None


def _nearest_to_mean(array: np.ndarray, readers, graph: Any, model: Any, masked: bool) -> int | None:
    """The id whose Embedding row is nearest the data's average row (weighted by how often each id occurs)."""
    # Only an embedding (Embedding, ReversibleEmbedding) has a table of rows, its first weight.
    if model is None or len(readers) != 1 or not hasattr(readers[0][1].params, "input_dim"):
        return None
    from ..graph.layer_names import layer_names

    try:
        layer = model.get_layer(layer_names(graph)[readers[0][0]])
        table = np.asarray(layer.get_weights()[0], dtype="float64")
    except (KeyError, ValueError, IndexError):
        return None
    ids, counts = np.unique(array, return_counts=True)
    keep = (ids >= (1 if masked else 0)) & (ids < len(table))
    ids, counts = ids[keep], counts[keep]
    if not ids.size:
        return None
    average = (table[ids] * counts[:, None]).sum(axis=0) / counts.sum()
    first = 1 if masked else 0
    distances = np.linalg.norm(table[first:] - average, axis=1)
    return first + int(np.argmin(distances))


def _first_readers(graph: Any, name: str) -> list[tuple[str, Any]]:
    """(node id, layer call) of the layers that read input `name` first, in the spec's order.

    None when the raw values also reach a merge: no one replacement suits both.
    """
    readers = first_readers(graph, name)
    if any(graph.nodes[node_id].role != "step" or call is None for node_id, call in readers):
        return []
    return sorted(readers, key=lambda reader: graph.nodes[reader[0]].order)


def _reaches(graph: Any, start: str, kinds: frozenset[str]) -> bool:
    """Whether a layer of one of `kinds` is downstream of node `start`."""
    seen: set[str] = set()
    stack = list(graph.successors.get(start, ()))
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        call = graph.nodes[node_id].call
        if call is not None and call.kind.name in kinds:
            return True
        stack.extend(graph.successors.get(node_id, ()))
    return False


def _mode(array: np.ndarray) -> np.ndarray:
    """The most frequent value at every position of one example (over the first chunk of rows)."""
    flat = array.reshape(len(array), -1)
    modes = []
    for column in flat.T:
        values, counts = np.unique(column, return_counts=True)
        modes.append(values[np.argmax(counts)])
    return np.asarray(modes, dtype=array.dtype).reshape(array.shape[1:])


@dataclass
class _Totals:
    loss_sum: np.ndarray  # (variants, outputs)
    rows: int
    metrics: list[list[Any]]  # [variant][output] -> keras metric or None

    def loss(self, variant: int, output: int) -> float:
        return float(self.loss_sum[variant, output] / max(self.rows, 1))

    def metric(self, variant: int, output: int) -> float | None:
        metric = self.metrics[variant][output]
        return None if metric is None else float(metric.result())


def _evaluate(model, chunks, variants, scoring, typical, seed, batch_size, result) -> _Totals:
    import keras

    from ..training.feeding import predict_inputs, row_bytes

    output_names = [s.name for s in scoring]
    loss_sum = np.zeros((len(variants), len(scoring)), dtype="float64")
    metrics: list[list[Any]] = [[None] * len(scoring) for _ in variants]
    total_rows = 0
    for chunk_index, (x, y) in enumerate(chunks):
        size = len(next(iter(x.values())))
        if size == 0:
            continue
        total_rows += size
        per_call = max(1, PREDICT_BUDGET_BYTES // max(1, size * row_bytes(result.spec)))
        for start in range(0, len(variants), per_call):
            block = variants[start : start + per_call]
            inputs = {
                name: np.concatenate([_variant_input(x, name, v, typical, seed, chunk_index) for v in block])
                for name in x
            }
            predicted = model.predict(predict_inputs(inputs), batch_size=batch_size, verbose=0)
            predicted = _by_output(predicted, output_names)
            for o, score in enumerate(scoring):
                truth = np.concatenate([y[score.name]] * len(block))
                losses = score.per_example(truth, predicted[score.name])
                losses = keras.ops.convert_to_numpy(losses).astype("float64")
                loss_sum[start : start + len(block), o] += losses.reshape(len(block), size).sum(axis=1)
                for k in range(len(block)):
                    part = predicted[score.name][k * size : (k + 1) * size]
                    metric = metrics[start + k][o]
                    if metric is None and score.metric is not None:
                        metric = metrics[start + k][o] = score.new_metric(y[score.name], part)
                    if metric is not None:
                        metric.update_state(_metric_truth(y[score.name], part), part)
    return _Totals(loss_sum, total_rows, metrics)


def _metric_truth(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Labels of shape (rows,) against predictions (rows, 1): give them the trailing axis."""
    if truth.ndim == predicted.ndim - 1 and predicted.shape[-1] == 1:
        return truth[..., np.newaxis]
    return truth


def _variant_input(x, name: str, variant: Variant, typical, seed: int, chunk: int) -> np.ndarray:
    array = x[name]
    if variant.kind == "baseline" or name not in variant.group:
        return array
    if variant.kind == "ablate":
        return np.broadcast_to(typical[name], array.shape)
    # One permutation per (group, repeat, chunk), the same for every input of the group.
    key = [seed, variant.repeat, chunk, *(ord(c) for c in "+".join(variant.group))]
    order = np.random.default_rng(key).permutation(len(array))
    return array[order]


def _by_output(predicted: Any, output_names: list[str]) -> dict[str, np.ndarray]:
    if isinstance(predicted, dict):
        return {name: np.asarray(predicted[name]) for name in output_names}
    if isinstance(predicted, (list, tuple)):
        return {name: np.asarray(p) for name, p in zip(output_names, predicted, strict=True)}
    return {output_names[0]: np.asarray(predicted)}


def _report(score, o: int, variants, totals: _Totals, singles, group_list, repeats) -> OutputReport:
    from ..training.losses import metric_higher_is_better

    base_loss = totals.loss(0, o)
    base_metric = totals.metric(0, o)
    metric_object = totals.metrics[0][o]
    higher = metric_higher_is_better(metric_object) if metric_object is not None else True

    def drop(value: float | None) -> float | None:
        if value is None or base_metric is None:
            return None
        return base_metric - value if higher else value - base_metric

    def scored(group: tuple[str, ...]) -> Score:
        permuted = [i for i, v in enumerate(variants) if v.kind == "permute" and v.group == group]
        ablated = next(i for i, v in enumerate(variants) if v.kind == "ablate" and v.group == group)
        increases = np.array([totals.loss(i, o) - base_loss for i in permuted])
        drops = [drop(totals.metric(i, o)) for i in permuted]
        ddof = 1 if repeats > 1 else 0
        has_metric = base_metric is not None and all(d is not None for d in drops)
        return Score(
            importance=float(increases.mean()),
            std=float(increases.std(ddof=ddof)),
            metric_drop=float(np.mean(drops)) if has_metric else None,
            metric_std=float(np.std(drops, ddof=ddof)) if has_metric else None,
            ablation=totals.loss(ablated, o) - base_loss,
            ablation_metric_drop=drop(totals.metric(ablated, o)),
            repeats=[float(v) for v in increases],
        )

    inputs = {group[0]: scored(group) for group in singles}
    ranked = dict(sorted(inputs.items(), key=lambda item: -item[1].importance))
    return OutputReport(
        name=score.name,
        loss=str(score.loss),  # a table is shown as Huber(delta=2.0)
        baseline_loss=base_loss,
        metric=None if score.metric is None else str(score.metric),
        baseline_metric=base_metric,
        metric_higher_is_better=higher,
        inputs=ranked,
        groups={"+".join(group): scored(group) for group in group_list},
    )


def _attach_balance(explanation: Explanation, result: CheckResult, model: Any, history: Any) -> None:
    """The final branch shares recorded by `mspec fit`, from the history beside the model."""
    import json

    from ..graph.merge_points import balance_points

    if history is None and isinstance(model, (str, os.PathLike)):
        path = Path(model)
        history = path.with_name(path.name.removesuffix(".keras") + ".history.json")
    if history is None or not Path(history).is_file():
        return
    try:
        recorded = json.loads(Path(history).read_text())
    except (OSError, ValueError):
        return
    points = balance_points(result.graph)
    balance: dict[str, dict[str, float | None]] = {}
    inputs: dict[str, dict[str, list[str]]] = {}
    for point in points:
        for position, label in enumerate(point.labels):
            values = recorded.get(point.key(position))
            if not values:
                continue
            balance.setdefault(point.merge, {})[label] = values[-1]
            inputs.setdefault(point.merge, {})[label] = list(point.inputs[position])
    if balance:
        explanation.balance = balance
        explanation.balance_inputs = inputs
        explanation.balance_source = str(history)
