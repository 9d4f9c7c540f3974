"""Training hazards (MS7xx): models Keras builds that then train badly, or not at all.

Each rule is documented, with its evidence, in `mspec.diagnostics.rules`. The pass only
looks at nodes whose shapes were inferred: a node in error (or downstream of
one) is never the subject of a hazard as well. Losses and metrics may be
written as names ("binary_crossentropy", "BinaryCrossentropy", "bce") or as
tables with a `type` (and, for losses, `from_logits`).
"""

from __future__ import annotations

from typing import Any

from ...diagnostics import Diagnostic
from ...diagnostics.rules import (
    BINARY_LOSS_UNBOUNDED_OUTPUT,
    CATEGORICAL_LOSS_WITHOUT_SOFTMAX,
    CONCATENATE_IMBALANCE,
    FLOAT_INTO_EMBEDDING,
    IDS_INTO_DENSE,
    IMBALANCE_FACTOR,
    MASK_DROPPED,
    METRIC_MEANINGLESS_FOR_LOSS,
    NORMALIZATION_NOT_ADAPTED,
    OUTPUT_WITHOUT_LOSS,
    SOFTMAX_ON_ONE_UNIT,
    SPARSE_LOSS_ON_ONE_UNIT,
    STRING_INTO_LAYER,
    Rule,
)
from ...layers.base import USES_MASK, Trait
from ..model import ModelGraph, Node
from .dtypes import refuses_dtype
from .masks import destroys_mask, mask_flow

# Values pass layers with these traits unchanged in meaning (ids stay ids, floats stay floats).
TRANSPARENT = frozenset({Trait.SHAPE_ONLY, Trait.NOISE, Trait.POOLING, Trait.ELEMENTWISE_MERGE})
# Layers that take raw category values or ids, and make ids, encodings or vectors of them.
CATEGORY_LAYERS = frozenset({Trait.TAKES_IDS, Trait.ENCODES_CATEGORIES})
BOUNDED_01 = frozenset({"sigmoid", "hard_sigmoid", "softmax", "sparse_sigmoid", "sparsemax"})
INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})

# Losses by a key that ignores case and underscores ("BinaryCrossentropy" is "binary_crossentropy").
_LOSS_KEYS = {
    "binarycrossentropy": "binary_crossentropy",
    "bce": "binary_crossentropy",
    "binaryfocalcrossentropy": "binary_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "categoricalfocalcrossentropy": "categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    **dict.fromkeys(
        [
            "mse", "meansquarederror", "mae", "meanabsoluteerror", "mape", "meanabsolutepercentageerror",
            "msle", "meansquaredlogarithmicerror", "huber", "logcosh",
        ],
        "regression",
    ),
}  # fmt: skip
_CLASSIFICATION_METRICS = {
    "accuracy", "acc", "binaryaccuracy", "categoricalaccuracy", "sparsecategoricalaccuracy",
    "topkcategoricalaccuracy", "sparsetopkcategoricalaccuracy", "auc", "precision", "recall",
    "f1score", "fbetascore", "binaryiou", "meaniou", "onehotiou", "onehotmeaniou", "iou",
    "truepositives", "truenegatives", "falsepositives", "falsenegatives",
}  # fmt: skip
_REGRESSION_ONLY_METRICS = {
    "r2score", "mape", "meanabsolutepercentageerror", "msle", "meansquaredlogarithmicerror",
}  # fmt: skip


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def _name_and_args(value: Any) -> tuple[str | None, dict[str, Any]]:
    """A loss or metric's name and arguments, whether written as a string or as a table."""
    if value is None:
        return None, {}
    if isinstance(value, str):
        return value, {}
    name = getattr(value, "type", None)
    return (name if isinstance(name, str) else None), dict(getattr(value, "args", ()) or ())


def loss_family(value: Any) -> tuple[str | None, bool]:
    """The kind of a loss (binary, categorical or sparse cross-entropy, "regression", None), from_logits."""
    name, args = _name_and_args(value)
    if name is None:
        return None, False
    return _LOSS_KEYS.get(_key(name)), bool(args.get("from_logits", False))


def check_hazards(graph: ModelGraph) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    order = [node for node in graph.topological_order() if node.shape is not None]
    found += _softmax_on_one_unit(graph, order)
    found += _outputs(graph)
    found += _input_values(graph, order)
    found += _masks(graph, order)
    found += _imbalance(graph, order)
    return found


def _name(node: Node) -> str | None:
    """The layer a node runs, a wrapper's layer for TimeDistributed."""
    if node.call is None:
        return None
    if node.call.kind.name == "TimeDistributed":
        inner = getattr(node.call.params, "layer", None)
        return inner.kind.name if inner is not None else None
    return node.call.kind.name


def _traits(node: Node) -> frozenset[Trait]:
    """The traits of the layer a node runs (see `_name`); none for a node without a layer."""
    if node.call is None:
        return frozenset()
    call = node.call
    if call.kind.name == "TimeDistributed":
        call = getattr(call.params, "layer", None)
        if call is None:
            return frozenset()
    return call.kind.traits


def _activation(node: Node) -> str | None:
    """The activation a node applies last, or None when it has no such notion."""
    call = node.call
    if call is None:
        return None
    params = call.params
    if call.kind.name in ("TimeDistributed", "Bidirectional"):
        params = getattr(getattr(params, "layer", None), "params", None)
    if params is None or "activation" not in type(params).model_fields:
        return None
    return params.activation or "linear"


def _where(node: Node) -> tuple[tuple, str]:
    return node.path, "key" if node.role == "merge" else "value"


def _softmax_on_one_unit(graph: ModelGraph, order: list[Node]) -> list[Diagnostic]:
    found = []
    for node in order:
        if node.role == "input" or _activation(node) != "softmax" or node.shape[-1] != 1:
            continue
        path, at = _where(node)
        found.append(
            SOFTMAX_ON_ONE_UNIT.at(
                graph.document,
                path,
                f"{_name(node)} in {graph.label(node.id)} applies softmax over its last axis, of size 1: "
                f"its output {_shape(node)} is always 1.0",
                'use activation = "sigmoid" for one yes/no unit, or one unit per class with softmax',
                at=at,
                node=node.id,
            )
        )
    return found


def _final(graph: ModelGraph, node_id: str) -> Node:
    """Walk back from an output through layers that do not change values' range."""
    node = graph.nodes[node_id]
    while _traits(node) & {Trait.SHAPE_ONLY, Trait.NOISE} and len(node.inputs) == 1:
        node = graph.nodes[node.inputs[0]]
    return node


def _outputs(graph: ModelGraph) -> list[Diagnostic]:
    spec = graph.spec
    compile_ = spec.compile
    default_loss = compile_.loss if compile_ is not None else None
    default_metrics = tuple(compile_.metrics) if compile_ is not None else ()
    trained = compile_ is not None or spec.train is not None or any(o.loss for o in spec.outputs.values())
    found = []
    for name, output in spec.outputs.items():
        own = output.loss is not None
        loss = output.loss if own else default_loss
        if loss is None:
            if trained:
                found.append(
                    OUTPUT_WITHOUT_LOSS.at(
                        graph.document,
                        output.path,
                        f"output {name!r} has no loss: Keras' fit stops with 'No loss to compute' "
                        "(mspec fit refuses it: MS601)",
                        'give it a loss, e.g. loss = "mean_squared_error", or set [compile] loss',
                        node=name,
                    )
                )
            continue
        node_id = graph.outputs.get(name)
        if node_id is None or graph.nodes[node_id].shape is None:
            continue
        last = _final(graph, node_id)
        if last.shape is None or not isinstance(last.shape[-1], int):
            continue
        units, activation = last.shape[-1], _activation(last)
        family, from_logits = loss_family(loss)
        loss_path = (*output.path, "loss") if own else ("compile", "loss")
        loss_name = _name_and_args(loss)[0]
        layer = f"{_name(last)}({units}, {activation})" if activation else f"{_name(last)} ({units} wide)"
        problem = None
        if family == "sparse_categorical_crossentropy" and units == 1:
            problem = (
                SPARSE_LOSS_ON_ONE_UNIT,
                f"output {name!r} has one unit but {loss_name} reads class indices 0 .. units-1: "
                "with one class there is nothing to learn, and label 1 is out of range",
                'use loss = "binary_crossentropy" with one sigmoid unit, or one unit per class',
            )
        elif (
            family in ("categorical_crossentropy", "sparse_categorical_crossentropy")
            and not from_logits
            and activation is not None
            and activation != "softmax"
        ):
            detail = (
                "on one unit the normalized prediction is always 1 (loss 0, nothing learnt)"
                if units == 1
                else "it divides predictions by their sum and clips them, which is not a distribution "
                "for this activation"
            )
            problem = (
                CATEGORICAL_LOSS_WITHOUT_SOFTMAX,
                f"output {name!r} ends in {layer}, but {loss_name} expects a softmax distribution: {detail}",
                'end the output with activation = "softmax", or use binary_crossentropy for independent '
                "yes/no labels",
            )
        elif (
            family == "binary_crossentropy"
            and not from_logits
            and activation is not None
            and activation not in BOUNDED_01
        ):
            problem = (
                BINARY_LOSS_UNBOUNDED_OUTPUT,
                f"output {name!r} ends in {layer}, whose values are not bounded to [0, 1], but {loss_name} "
                "expects probabilities: Keras clips them to [1e-7, 1 - 1e-7] and clipped predictions get "
                "no gradient",
                'add activation = "sigmoid" to the last layer',
            )
        if problem is not None:
            rule, message, hint = problem
            found.append(rule.at(graph.document, loss_path, message, hint, at="value", node=name))
        metrics, metrics_path = (
            (output.metrics, (*output.path, "metrics"))
            if output.metrics
            else (default_metrics, ("compile", "metrics"))
        )
        for index, metric in enumerate(metrics):
            reason = _metric_problem(metric, family, units)
            if reason is not None:
                found.append(
                    METRIC_MEANINGLESS_FOR_LOSS.at(
                        graph.document,
                        (*metrics_path, index),
                        f"output {name!r}: metric {_name_and_args(metric)[0]!r} {reason}",
                        "use a metric of the task: mae or root_mean_squared_error for a regression, "
                        "accuracy or auc for a classifier",
                        at="value",
                        node=name,
                    )
                )
    return found


def _metric_problem(metric: Any, family: str | None, units: int) -> str | None:
    name = _name_and_args(metric)[0]
    if name is None or family is None:
        return None
    key = _key(name)
    if family == "regression" and key in _CLASSIFICATION_METRICS:
        return (
            "counts classes, but the loss is a regression loss: predictions are thresholded against "
            "real targets"
        )
    if family != "regression" and key in _REGRESSION_ONLY_METRICS:
        return "measures a regression, but the loss is a classification loss"
    if units == 1 and key in ("categoricalaccuracy", "topkcategoricalaccuracy"):
        return "compares the arg-max of one unit with the arg-max of one label: it is always 1.0"
    if family == "sparse_categorical_crossentropy" and key in ("categoricalaccuracy", "binaryaccuracy"):
        return "expects one-hot or binary labels, but the loss takes class indices"
    if family == "categorical_crossentropy" and units > 1 and key == "sparsecategoricalaccuracy":
        return "expects class indices, but the loss takes one-hot labels"
    return None


def _input_values(graph: ModelGraph, order: list[Node]) -> list[Diagnostic]:
    """MS707-MS709: where the raw values of id, float and string inputs first meet a layer."""
    spec = graph.spec
    kinds: dict[str, str] = {}
    for name, entry in spec.inputs.items():
        explicit = entry.kind in ("categorical", "text")
        if entry.dtype == "string":
            kinds[name] = "string"
        elif explicit or (entry.dtype in INTEGER_DTYPES and entry.kind not in ("numeric", "image")):
            kinds[name] = "categorical" if explicit else "integer"
        elif entry.dtype in FLOAT_DTYPES:
            kinds[name] = "float"
    raw: dict[str, frozenset[str]] = {}
    reported: set[tuple[Rule, str]] = set()
    found: list[Diagnostic] = []

    def report(rule: Rule, source: str, node: Node, message: str, hint: str) -> None:
        if (rule, source) in reported:
            return
        reported.add((rule, source))
        found.append(rule.at(graph.document, ("inputs", source), message, hint, node=source))

    for node in order:
        if node.role == "input":
            raw[node.id] = frozenset({node.id}) if node.id in kinds else frozenset()
            continue
        incoming = frozenset().union(*(raw.get(i, frozenset()) for i in node.inputs))
        if not incoming:
            raw[node.id] = incoming
            continue
        layer, traits = _name(node) or "?", _traits(node)
        where = f"{layer} in {graph.label(node.id)}"
        entry_of = spec.inputs
        for source in sorted(incoming):
            kind = kinds[source]
            dtype = entry_of[source].dtype
            if kind == "string" and not traits & {Trait.PASSES_STRINGS, Trait.TAKES_STRINGS}:
                report(
                    STRING_INTO_LAYER,
                    source,
                    node,
                    f"input {source!r} holds strings and reaches {where}, which cannot take strings "
                    "(Keras fails when the first batch is cast to numbers)",
                    "put a StringLookup, Hashing or TextVectorization first, or map the strings to "
                    'integer ids in the data and declare dtype = "int32"',
                )
            elif kind == "float" and Trait.TAKES_IDS in traits:
                report(
                    FLOAT_INTO_EMBEDDING,
                    source,
                    node,
                    f"input {source!r} is {dtype} and feeds {where}, which casts it to int32: "
                    "1.7 becomes id 1, 0.3 id 0",
                    'declare the ids as integers: dtype = "int32"',
                )
            elif (
                kind in ("categorical", "integer")
                and not traits & TRANSPARENT
                and not traits & CATEGORY_LAYERS
                and not (kind == "integer" and Trait.SCALER in traits)
                # Where the layer cannot compute with the ids at all, MS306 says so: advice would be noise.
                and not refuses_dtype(graph, node)
            ):
                described = f"kind {entry_of[source].kind!r}" if kind == "categorical" else dtype
                hint = "put an Embedding (then Flatten), a CategoryEncoding or an IntegerLookup before it"
                if kind == "integer":
                    hint += '; if these are counts or measurements, declare kind = "numeric"'
                report(
                    IDS_INTO_DENSE,
                    source,
                    node,
                    f"input {source!r} ({described}) holds ids and reaches {where} without an Embedding "
                    "or CategoryEncoding: the layer treats ids as quantities",
                    hint,
                )
        raw[node.id] = incoming if traits & TRANSPARENT else frozenset()
    return found


def _masks(graph: ModelGraph, order: list[Node]) -> list[Diagnostic]:
    """MS710: a mask from Embedding(mask_zero=true) or Masking reaching a layer that destroys it.

    Where masks flow is the masks pass' (`masks.mask_flow`), as Keras hands them on.
    """
    flow, _ = mask_flow(graph)
    found = []
    for node in order:
        if node.call is None or node.role == "input":
            continue
        incoming = next((flow[i] for i in node.inputs if flow.get(i) is not None), None)
        if incoming is None or not destroys_mask(node):
            continue
        layer = node.call.kind.name
        user = _first_user(graph, node)
        after = (
            f"; {graph.label(user.id)} ({user.call.kind.name}) downstream would have used it" if user else ""
        )
        path, at = _where(node)
        masked_by = graph.nodes[incoming.producer].call.kind.name
        setting = "mask_zero = true" if masked_by != "Masking" else masked_by
        undo = "set mask_zero = false" if masked_by != "Masking" else "remove the Masking layer"
        found.append(
            MASK_DROPPED.at(
                graph.document,
                path,
                f"{layer} in {graph.label(node.id)} does not support masking: the mask of "
                f"{graph.label(incoming.producer)} ({setting}) is destroyed here and padding counts "
                f"as data{after}",
                "use layers that keep the mask (GlobalAveragePooling1D, LSTM, GRU) after the "
                f"{masked_by}, or {undo}",
                at=at,
                node=node.id,
            )
        )
    return found


def _first_user(graph: ModelGraph, start: Node) -> Node | None:
    seen = {start.id}
    frontier = list(graph.successors[start.id])
    while frontier:
        node_id = frontier.pop(0)
        if node_id in seen:
            continue
        seen.add(node_id)
        node = graph.nodes[node_id]
        if node.call is not None and node.call.kind.traits & USES_MASK:
            return node
        frontier.extend(graph.successors[node_id])
    return None


def _imbalance(graph: ModelGraph, order: list[Node]) -> list[Diagnostic]:
    """MS712: a Concatenate whose inputs from different model inputs differ widely in width."""
    found = []
    for node in order:
        if node.role != "merge" or node.call is None or node.call.kind.name != "Concatenate":
            continue
        axis = node.call.params.axis
        widths = {}
        for source in node.inputs:
            shape = graph.nodes[source].shape
            width = shape[axis] if shape is not None and -len(shape) <= axis < len(shape) else None
            if isinstance(width, int):
                widths[source] = width
        if len(widths) < 2 or max(widths.values()) < IMBALANCE_FACTOR * min(widths.values()):
            continue
        origins = {source: _model_inputs(graph, source) for source in widths}
        best = None
        for wide in widths:
            for narrow in widths:
                if origins[wide] & origins[narrow] or widths[wide] < IMBALANCE_FACTOR * widths[narrow]:
                    continue
                ratio = widths[wide] / widths[narrow]
                if best is None or ratio > best[0]:
                    best = (ratio, wide, narrow)
        if best is None:
            continue
        _, wide, narrow = best
        path, at = _where(node)
        found.append(
            CONCATENATE_IMBALANCE.at(
                graph.document,
                path,
                f"{graph.label(node.id)} concatenates {graph.label(wide)} ({widths[wide]:,} wide) with "
                f"{graph.label(narrow)} ({widths[narrow]:,} wide), {widths[wide] // widths[narrow]:,} "
                f"times narrower: the wide input can overwhelm the narrow one (factor {IMBALANCE_FACTOR})",
                f"project {graph.label(wide)} down (Dense, pooling) or {graph.label(narrow)} up before "
                "concatenating",
                at=at,
                node=node.id,
            )
        )
    return found


def _model_inputs(graph: ModelGraph, node_id: str) -> frozenset[str]:
    if graph.nodes[node_id].role == "input":
        return frozenset({node_id})
    return frozenset(n for n in graph.ancestors(node_id) if graph.nodes[n].role == "input")


def _shape(node: Node) -> str:
    from ...layers.base import format_shape

    return format_shape(node.shape)


def build_warnings(graph: ModelGraph) -> list[Diagnostic]:
    """MS711, reported by `mspec build` only: Normalization layers the saved model leaves unadapted."""
    found = []
    for node in graph.topological_order():
        if node.call is None or node.call.kind.name != "Normalization":
            continue
        if getattr(node.call.params, "mean", None) is not None:
            continue
        path, at = (("shared", node.shared), "key") if node.shared else _where(node)
        found.append(
            NORMALIZATION_NOT_ADAPTED.at(
                graph.document,
                path,
                f"Normalization in {graph.label(node.id)} has no mean and variance: the built model "
                "passes raw values through (mean 0, variance 1) until adapt() is called",
                "train with mspec fit, which adapts it to the training data, or give mean and variance",
                at=at,
                node=node.id,
            )
        )
    return found
