"""One side of a diff: what a checked spec says about its model, as plain data.

A `ModelView` holds, for every node of the graph, what the diff compares
(the layer, its effective parameters, its inputs, the shape and weights the
shape pass inferred) and, for every named entry of the spec (input, shared
layer, branch, merge, output), what it reads and how it is trained. It holds
no layer registry objects, only values, and is never changed once made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backends.summary import call_description
from ..diagnostics import Diagnostic
from ..frontend import CheckResult
from ..graph.model import ModelGraph, Node
from ..layers.call import LayerCall
from ..spec.models import TrainSpec
from ..vocabulary import OPTIMIZER_NAMES
from .values import canonical, display, effective, keras_object, loose

SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")


@dataclass(slots=True)
class NodeView:
    """One node of the graph: an input, a layer step or a merge."""

    id: str
    role: str  # "input", "step" or "merge"
    owner: str  # the spec entry it belongs to
    index: int | None
    label: str  # as a reader knows it: "x1", "x1 step 2"
    layer: str | None  # the layer kind: "Dense"; None for an input or an invalid step
    description: str  # "Dense(64, relu)"
    shared: str | None
    # Every effective parameter, canonical (None for an input, a shared layer's use, an invalid step).
    values: dict[str, Any] | None
    key: Any  # what aligns steps: the layer and its parameters, or the shared layer used
    inputs: tuple[str, ...]
    shape: tuple | None
    weights: int | None
    used: bool = True  # whether some output depends on it (Keras keeps it)


@dataclass
class EntityView:
    """One named entry of the spec: an input, a shared layer, a branch, a merge or an output."""

    name: str
    section: str
    sources: tuple[str, ...] = ()  # the names it reads (`from`)
    nodes: tuple[str, ...] = ()  # its nodes, in order
    # What else it declares, compared once it is matched: name -> (canonical, shown) values.
    attrs: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    values: dict[str, Any] | None = None  # a merge's or shared layer's effective parameters
    layer: str | None = None  # a merge's or shared layer's kind


@dataclass
class ModelView:
    """What one spec (or saved model) says, for the diff."""

    label: str  # the file, revision or model it came from, as reports name it
    name: str | None = None  # the model's name; None for no model at all (/dev/null)
    entities: dict[str, EntityView] = field(default_factory=dict)  # inputs, branches, merges, outputs
    shared: dict[str, EntityView] = field(default_factory=dict)  # shared layers: no tensors, names apart
    nodes: dict[str, NodeView] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # node ids, dependencies first
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> the node it reads
    # Whole-spec settings, each name -> (canonical, shown): [model], [compile], [train], [lint].
    settings: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    weights: int | None = 0  # the Keras model's weight count; None when some count is unknown
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


def empty_view(label: str) -> ModelView:
    """No model at all: the side of a diff where a spec is added or deleted."""
    return ModelView(label, weights=0)


def make_view(result: CheckResult, label: str) -> ModelView:
    """The view of a checked spec whose graph was built (errors or not)."""
    graph = result.graph
    assert graph is not None and result.spec is not None
    spec = graph.spec
    view = ModelView(label, spec.name, diagnostics=list(result.diagnostics))
    view.outputs = dict(graph.outputs)
    used = graph.feeding_outputs()
    topological = graph.topological_order()
    on_order = {node.id for node in topological}
    # Nodes on a cycle have no place in the order: after the others, in spec order.
    view.order = [node.id for node in topological] + [n for n in graph.nodes if n not in on_order]
    chains = (*spec.branches.values(), *spec.outputs.values())
    chain_lengths = {chain.name: len(chain.steps) for chain in chains}
    # Layers configured alike share one dict of values.
    layers: dict[Any, tuple[dict[str, Any], Any]] = {}
    for node in graph.nodes.values():
        view.nodes[node.id] = _node_view(node, chain_lengths, node.id in used, layers)
    view.weights = _weights(graph, used)
    _entities(view, graph)
    view.settings = _settings(result)
    return view


def _layer_values(call: LayerCall, layers: dict[Any, tuple]) -> tuple[dict[str, Any], Any, str]:
    """A call's effective values, alignment key and description, once for every call configured alike."""
    try:
        # The values themselves, not the model: comparing pydantic models costs more than the values.
        params = call.params
        cache_key: Any = (
            call.kind.name,
            call.name,
            tuple(params.__dict__.values()),
            frozenset(params.model_fields_set),
        )
        found = layers.get(cache_key)
    except TypeError:  # a parameter holding a list: not hashable, computed each time
        cache_key, found = None, None
    if found is None:
        values = effective(call)
        key = (call.kind.name, tuple((name, loose(value)) for name, value in values.items()))
        found = values, key, call_description(call)
        if cache_key is not None:
            layers[cache_key] = found
    return found


def _node_view(node: Node, chain_lengths: dict[str, int], used: bool, layers: dict[Any, tuple]) -> NodeView:
    if node.role == "step" and chain_lengths.get(node.owner, 1) > 1:
        label = f"{node.owner} step {node.index + 1}"
    else:
        label = node.owner
    call = node.call
    values = None
    description = "Input" if node.role == "input" else "?"
    if call is not None:
        values, key, description = _layer_values(call, layers)
    else:
        key = ("?",)
    if node.shared is not None:
        key, values = ("shared", node.shared), None
    return NodeView(
        id=node.id,
        role=node.role,
        owner=node.owner,
        index=node.index,
        label=label,
        layer=call.kind.name if call is not None else None,
        description=description,
        shared=node.shared,
        values=values,
        key=key,
        inputs=tuple(node.inputs),
        shape=node.shape,
        weights=node.param_count,
        used=used,
    )


def _weights(graph: ModelGraph, used: set[str]) -> int | None:
    """The weight count of the Keras model (as mspec summary gives it), or None if some count is unknown."""
    from ..graph.passes.shapes import total_param_count

    if any(graph.nodes[node_id].param_count is None for node_id in used):
        return None
    return total_param_count(graph)


def _entities(view: ModelView, graph: ModelGraph) -> None:
    spec = graph.spec
    compile_spec = spec.compile
    default_loss = compile_spec.loss if compile_spec else None
    default_metrics = tuple(compile_spec.metrics) if compile_spec else ()
    for name, entry in spec.inputs.items():
        attrs = {
            "shape": (tuple(entry.shape), list(entry.shape)),
            "dtype": (entry.dtype, entry.dtype),
            "kind": (entry.kind, entry.kind),
            "columns": _setting(entry.columns),
        }
        _add(view, EntityView(name, "inputs", (), (name,), attrs))
    for name, call in spec.shared.items():
        values = effective(call) if call is not None else None
        kind = call.kind.name if call is not None else None
        view.shared[name] = EntityView(name, "shared", values=values, layer=kind)
    chains: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.role == "step":
            chains.setdefault(node.owner, []).append(node.id)
    for name, branch in spec.branches.items():
        _add(view, EntityView(name, "branches", (branch.source,), tuple(chains.get(name, ()))))
    for name, merge in spec.merges.items():
        call = merge.call
        values = effective(call) if call is not None else None
        kind = call.kind.name if call is not None else None
        _add(view, EntityView(name, "merges", merge.sources, (name,), values=values, layer=kind))
    for name, output in spec.outputs.items():
        loss = output.loss if output.loss is not None else default_loss
        metrics = tuple(output.metrics) or default_metrics
        attrs = {
            "loss": (keras_object("loss", loss), display(canonical(loss)) if loss is not None else None),
            # Keras weighs every loss 1.0 unless told otherwise.
            "loss_weight": (1.0 if output.loss_weight is None else output.loss_weight, output.loss_weight),
            "metrics": (canonical(metrics), [_shown(metric) for metric in metrics]),
            "column": (output.label_column, output.label_column),
        }
        entity = EntityView(name, "outputs", (output.source,), tuple(chains.get(name, ())), attrs)
        _add(view, entity)


def _add(view: ModelView, entity: EntityView) -> None:
    # A name given twice is an error (MS203) reported by the check; the first entry keeps it.
    view.entities.setdefault(entity.name, entity)


def _shown(value: Any) -> Any:
    return value.to_data() if hasattr(value, "to_data") else value


def _setting(value: Any) -> tuple[Any, Any]:
    from .values import plain

    return canonical(value), plain(value)


def _settings(result: CheckResult) -> dict[str, dict[str, tuple[Any, Any]]]:
    """[model], [compile], [train] and [lint], each key with its effective value (defaults filled in)."""
    spec = result.spec
    assert spec is not None
    model = {
        "name": (spec.name, spec.name),
        "description": (spec.description, spec.description),
        "outputs_as": (spec.outputs_as, spec.outputs_as),
    }
    compile_spec = spec.compile
    # Without [compile] and without losses, `mspec build` leaves the model uncompiled.
    compiled = compile_spec is not None or any(o.loss for o in spec.outputs.values())
    optimizer = (compile_spec.optimizer if compile_spec else "adam") if compiled else None
    compile_settings = {"optimizer": (_optimizer(optimizer), _shown(optimizer))}
    train = spec.train or TrainSpec()
    train_settings = {name: _setting(getattr(train, name)) for name in type(train).model_fields}
    lint = result.lint
    ignores = sorted(lint.ignore) if lint is not None else []
    per_node = {node: sorted(codes) for node, codes in sorted(lint.per_node.items())} if lint else {}
    lint_settings = {
        "ignore": (tuple(ignores), ignores),
        "per_node_ignores": (canonical(per_node), per_node),
    }
    settings = {"model": model, "compile": compile_settings, "train": train_settings, "lint": lint_settings}
    # A search space and how it is tuned (`mspec tune`): compared key by key, as written.
    data = result.document.data if result.document is not None else {}
    for section in ("search", "tune"):
        table = data.get(section)
        entries = table.items() if isinstance(table, dict) else ()
        settings[section] = {str(key): (canonical(value), value) for key, value in entries}
    return settings


def _optimizer(optimizer: Any) -> Any:
    """An optimizer as the class Keras makes of it: "adam" and { type = "Adam" } are the same."""
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return (OPTIMIZER_NAMES.get(optimizer.lower(), optimizer), ())
    kind = optimizer.get("type", "")
    kind = OPTIMIZER_NAMES.get(str(kind).lower(), kind)
    return (kind, tuple(sorted((k, canonical(v)) for k, v in optimizer.items() if k != "type")))
