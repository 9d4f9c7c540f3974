"""Element types (dtypes) through the graph: what each layer gets, whether it computes with it, what it gives.

Every node whose shape is known gets `dtype`: a spec input its declared dtype,
a layer the dtype its kind declares for its inputs' (`mspec.layers.dtypes`).
A layer that cannot compute with its input's dtype on any backend is an error
(MS306), located at the step like a shape error; one that fails on TensorFlow
but runs on JAX gets the portability warning (MS305). Strings coming straight
from a spec input are left to MS709 (the hazards pass), which names the input.
A node after an error, or whose shape is unknown, is skipped silently, so one
mistake is reported once.

After a layer that fails on TensorFlow only, the model can run on JAX alone,
where the dtypes may differ: JAX promotes what TensorFlow refuses (Conv1D on
int32 gives float32), and a noise layer gives float32 when training (but
RandomBrightness keeps integers). What follows is judged with JAX's dtypes, at
inference and in training, and is an error only where JAX fails too.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic, Severity
from ...layers.dtypes import STRING, Judgement, Runs, dtype_class, judge
from ..model import ModelGraph, Node
from .common import diagnostic


def infer_dtypes(graph: ModelGraph) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    # Nodes after a TensorFlow-only failure: their dtypes on JAX (at inference, in training).
    on_jax: dict[str, tuple[str, str]] = {}
    for node in graph.topological_order():
        if node.role == "input":
            node.dtype = graph.spec.inputs[node.owner].dtype
            continue
        if any(i in on_jax for i in node.inputs):
            _judge_on_jax(graph, node, on_jax, found)
            continue
        judgement = _judgement(graph, node)
        if judgement is None:
            continue
        if judgement.runs is not Runs.EVERYWHERE:
            source = _origin(graph, node.inputs[judgement.position])
            if judgement.runs is Runs.NOWHERE:
                if not _left_to_string_hazard(graph, judgement, source):
                    found.append(_refusal(graph, node, judgement, source))
                continue  # dtype unknown: what follows is not judged again
            found.append(_portability(graph, node, judgement, source))
            training = judgement.family.on_jax(node.call.params, _dtypes_in(graph, node), training=True)
            on_jax[node.id] = (judgement.output, training)
        node.dtype = judgement.output
    return found


def _judge_on_jax(graph: ModelGraph, node: Node, on_jax: dict[str, tuple[str, str]], found: list) -> None:
    """A node after a TensorFlow-only failure (MS305 there): an error only if JAX fails here too."""
    if node.call is None or node.shape is None:
        return
    judged = []
    for mode in (0, 1):  # at inference, in training
        dtypes = [on_jax[i][mode] if i in on_jax else graph.nodes[i].dtype for i in node.inputs]
        if any(dtype is None for dtype in dtypes):
            return
        judged.append((dtypes, judge(node.call, dtypes)))
    (inference_dtypes, at_inference), (training_dtypes, in_training) = judged
    if at_inference is None or in_training is None:
        return
    if at_inference.runs is Runs.NOWHERE and not at_inference.when_training:
        failing = at_inference
    else:
        failing = in_training if in_training.runs is Runs.NOWHERE else None
    if failing is not None:
        source = _origin(graph, node.inputs[failing.position])
        if not _left_to_string_hazard(graph, failing, source):
            found.append(_refusal(graph, node, failing, source))
        return
    # A layer that fails only when training, given the inference dtypes, still hands a dtype on there.
    inference = at_inference.output or at_inference.family.output(node.call.params, inference_dtypes)
    training = in_training.family.on_jax(node.call.params, training_dtypes, training=True)
    on_jax[node.id] = (inference, training)
    node.dtype = inference


def _judgement(graph: ModelGraph, node: Node) -> Judgement | None:
    """What the node's layer does with its inputs' dtypes; None when they are unknown."""
    if node.call is None or node.shape is None or not node.inputs:
        return None
    dtypes = _dtypes_in(graph, node)
    if any(dtype is None for dtype in dtypes):
        return None
    return judge(node.call, dtypes)


def _dtypes_in(graph: ModelGraph, node: Node) -> list[str | None]:
    return [graph.nodes[i].dtype for i in node.inputs]


def refuses_dtype(graph: ModelGraph, node: Node) -> bool:
    """Whether the dtype pass reports MS306 at this node (the hazards pass then says nothing more there)."""
    judgement = _judgement(graph, node)
    if judgement is None or judgement.runs is not Runs.NOWHERE:
        return False
    return not _left_to_string_hazard(graph, judgement, _origin(graph, node.inputs[judgement.position]))


def _origin(graph: ModelGraph, node_id: str) -> str:
    """Where a node's dtype was made: back through layers that hand their input's dtype on.

    A Flatten makes no new ids: an error names the input, or the Hashing, they came from.
    """
    node = graph.nodes[node_id]
    while node.role != "input":
        judgement = _judgement(graph, node)
        if judgement is None or not judgement.keeps:
            break
        kept = next((i for i in node.inputs if graph.nodes[i].dtype == node.dtype), None)
        if kept is None:
            break
        node = graph.nodes[kept]
    return node.id


def _left_to_string_hazard(graph: ModelGraph, judgement: Judgement, source: str) -> bool:
    """Strings from a spec input are MS709's: it names the input and says how to turn strings into ids."""
    return dtype_class(judgement.dtype) == STRING and graph.nodes[source].role == "input"


def _from(graph: ModelGraph, source: str) -> str:
    node = graph.nodes[source]
    if node.role == "input":
        return f"input {node.owner!r}"
    return f"{node.layer_name} in {graph.label(source)}"


def _at(node: Node) -> str:
    return "key" if node.role == "merge" else "value"


def _refusal(graph: ModelGraph, node: Node, judgement: Judgement, source: str) -> Diagnostic:
    when = " when training (training=True)" if judgement.when_training else ""
    return diagnostic(
        graph,
        "MS306",
        node.path,
        f"{judgement.layer} in {graph.label(node.id)} {judgement.computes}, but gets {judgement.dtype} from "
        f"{_from(graph, source)}: every backend fails{when} (TensorFlow and JAX alike)",
        judgement.hint(from_input=graph.nodes[source].role == "input"),
        at=_at(node),
        node=node.id,
    )


def _portability(graph: ModelGraph, node: Node, judgement: Judgement, source: str) -> Diagnostic:
    when = " when training (training=True)" if judgement.when_training else ""
    return diagnostic(
        graph,
        "MS305",
        node.path,
        f"{judgement.layer} in {graph.label(node.id)} {judgement.computes}, and gets {judgement.dtype} from "
        f"{_from(graph, source)}: TensorFlow fails{when}, with or without oneDNN; it runs on JAX",
        judgement.hint(from_input=graph.nodes[source].role == "input", portable=True),
        severity=Severity.WARNING,
        at=_at(node),
        node=node.id,
    )


__all__ = ["infer_dtypes", "refuses_dtype"]
