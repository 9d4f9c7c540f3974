"""Element types (dtypes) through the graph: what each layer gets, whether it computes with it, what it gives.

Every node whose shape is known gets `dtype`: a spec input its declared dtype,
a layer the dtype its kind declares for its inputs' (`mspec.layers.dtypes`).
A layer that cannot compute with its input's dtype on any backend is an error
(MS306), located at the step like a shape error; one that fails on TensorFlow
but runs on JAX gets the portability warning (MS305). Strings coming straight
from a spec input are left to MS709 (the hazards pass), which names the input.
A node after an error, or whose shape is unknown, is skipped silently, so one
mistake is reported once.

A model runs four ways: on TensorFlow and on JAX, at inference and when
training; each node has a dtype on each (its "tracks"). They differ where
JAX promotes what TensorFlow refuses (Conv1D on int32 gives float32 there),
and where a layer computes otherwise when training: noise and augmentation
give float32 when training and hand integers on at inference (GaussianDropout
keeps booleans on TensorFlow; RandomBrightness keeps integers). A backend
that fails on either of its tracks is out: MS305 where one backend fails and
the other runs on (JAX has no resizing by area), MS306 where the last
backend still running fails.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CPU_KERNEL_PORTABILITY, LAYER_DTYPE
from ...layers.dtypes import STRING, Judgement, Runs, dtype_class, judge
from ..model import ModelGraph, Node

# The four ways a model runs: (backend, training). A backend's two tracks fail together: a model that
# fails on TensorFlow when training does not run on TensorFlow.
TRACKS = (("tensorflow", False), ("tensorflow", True), ("jax", False), ("jax", True))
# A track's dtype after its backend failed upstream: that backend is out, the other is judged on.
FAILED = ""


def infer_dtypes(graph: ModelGraph) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    # Each node's dtype on each track. They differ where a backend promotes what the other refuses, and
    # where a layer computes otherwise when training (noise is float32 when training, ints at inference).
    tracks: dict[str, dict[tuple[str, bool], str]] = {}
    for node in graph.topological_order():
        if node.role == "input":
            node.dtype = graph.spec.inputs[node.owner].dtype
            tracks[node.id] = dict.fromkeys(TRACKS, node.dtype)
            continue
        if node.call is None or node.shape is None or not node.inputs:
            continue
        if any(i not in tracks for i in node.inputs):
            continue  # dtype unknown (after an error, or an unknown shape): not judged again
        judged = _judge_tracks(node, [tracks[i] for i in node.inputs])
        if judged is None:
            continue
        outputs, failures = judged
        report = _report(graph, node, failures, outputs)
        if report is not None:
            found.append(report)
        if all(outputs[track] == FAILED for track in TRACKS):
            continue  # fails on every backend: what follows is not judged again
        tracks[node.id] = outputs
        node.dtype = next(outputs[t] for t in (("tensorflow", False), ("jax", False)) if outputs[t] != FAILED)
    return found


def _judge_tracks(
    node: Node, inputs: list[dict[tuple[str, bool], str]]
) -> tuple[dict[tuple[str, bool], str], dict[tuple[str, bool], Judgement]] | None:
    """The node's dtype on each track, and the judgements of the tracks that fail here (None: no rule)."""
    outputs: dict[tuple[str, bool], str] = {}
    failures: dict[tuple[str, bool], Judgement] = {}
    judged: dict[tuple[str, ...], Judgement | None] = {}  # the tracks mostly carry the same dtypes
    for track in TRACKS:
        backend, training = track
        dtypes = [given[track] for given in inputs]
        if FAILED in dtypes:
            outputs[track] = FAILED
            continue
        key = tuple(dtypes)
        if key not in judged:
            judged[key] = judge(node.call, dtypes)
        judgement = judged[key]
        if judgement is None:
            return None
        fails = judgement.runs is (Runs.NOT_ON_TENSORFLOW if backend == "tensorflow" else Runs.NOT_ON_JAX)
        fails = fails or judgement.runs is Runs.NOWHERE
        if fails and (training or not judgement.when_training):
            failures[track] = judgement
            outputs[track] = FAILED
        elif training and judgement.when_training:
            outputs[track] = judgement.family.when_training_gives(backend, node.call.params, dtypes)
        else:  # a layer failing only when training still hands a dtype on at inference
            outputs[track] = judgement.output or judgement.family.output(node.call.params, dtypes)
    for backend in ("tensorflow", "jax"):  # a backend that fails in one mode does not run the model
        if any(outputs[(backend, mode)] == FAILED for mode in (False, True)):
            outputs[(backend, False)] = outputs[(backend, True)] = FAILED
    return outputs, failures


def _report(
    graph: ModelGraph,
    node: Node,
    failures: dict[tuple[str, bool], Judgement],
    outputs: dict[tuple[str, bool], str],
) -> Diagnostic | None:
    """MS306 where the last backend that ran fails here, MS305 where one fails and the other runs on."""
    if not failures:
        return None
    fails_everywhere = all(outputs[track] == FAILED for track in TRACKS)
    # The failure to name: on JAX (the last to fail) for MS306, on TensorFlow for MS305; at inference first.
    order = ("jax", "tensorflow") if fails_everywhere else ("tensorflow", "jax")
    backend, training = next(
        (backend, training)
        for backend in order
        for training in (False, True)
        if (backend, training) in failures
    )
    judgement = failures[(backend, training)]
    source = _origin(graph, node.inputs[judgement.position])
    if fails_everywhere:
        if _left_to_string_hazard(graph, judgement, source):
            return None
        return _refusal(graph, node, judgement, source, training=training)
    return _portability(graph, node, judgement, source, backend=backend, training=training)


def _judgement(graph: ModelGraph, node: Node) -> Judgement | None:
    """What the node's layer does with its inputs' dtypes; None when they are unknown."""
    if node.call is None or node.shape is None or not node.inputs:
        return None
    dtypes = [graph.nodes[i].dtype for i in node.inputs]
    if any(dtype is None for dtype in dtypes):
        return None
    return judge(node.call, dtypes)


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


def _refusal(
    graph: ModelGraph, node: Node, judgement: Judgement, source: str, *, training: bool
) -> Diagnostic:
    when = " when training (training=True)" if training else ""
    return LAYER_DTYPE.at(
        graph.document,
        node.path,
        f"{judgement.layer} in {graph.label(node.id)} {judgement.computes}, but gets {judgement.dtype} from "
        f"{_from(graph, source)}: every backend fails{when} (TensorFlow and JAX alike)",
        judgement.hint(from_input=graph.nodes[source].role == "input"),
        at=_at(node),
        node=node.id,
    )


def _portability(
    graph: ModelGraph, node: Node, judgement: Judgement, source: str, *, backend: str, training: bool
) -> Diagnostic:
    when = " when training (training=True)" if training else ""
    if backend == "tensorflow":
        fails = f"TensorFlow fails{when}, with or without oneDNN; it runs on JAX"
    else:
        fails = f"JAX fails{when}; it runs on TensorFlow"
    return CPU_KERNEL_PORTABILITY.at(
        graph.document,
        node.path,
        f"{judgement.layer} in {graph.label(node.id)} {judgement.computes}, and gets {judgement.dtype} from "
        f"{_from(graph, source)}: {fails}",
        judgement.hint(from_input=graph.nodes[source].role == "input", portable=True),
        at=_at(node),
        node=node.id,
    )


__all__ = ["infer_dtypes", "refuses_dtype"]
