"""Static shape inference and weight counts, following Keras 3's rules.

Every node gets `shape` (batch dimension first) and `param_count`. A node whose
inputs are unknown (because of an earlier error) is skipped silently, so one
mistake is reported once and not again at every layer downstream of it.
"""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CYCLE, LAYER_SHAPE, MERGE_SHAPES, SHARED_LAYER_SHAPE
from ...layers.base import Dim, LayerKind, Shape, ShapeError, format_shape, known
from ...spec.weight_ranks import activity_rank_problem, input_weight_problem
from ..model import ModelGraph, Node


def infer_shapes(graph: ModelGraph) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    # Shared layer name -> (sizes fixed at its first use, the node of that use).
    built: dict[str, tuple[dict[tuple[int, int], Dim], Node]] = {}
    # A node missing one of its inputs (unknown name) cannot be inferred.
    incomplete = {ref.node for ref in graph.unresolved}
    for node in graph.topological_order():
        if node.role == "input":
            spec_input = graph.spec.inputs[node.owner]
            node.shape = (None, *spec_input.shape)
            node.param_count = 0
            continue
        if node.call is None or not node.inputs or node.id in incomplete:
            continue
        shapes = [graph.nodes[i].shape for i in node.inputs]
        if any(shape is None for shape in shapes):
            continue
        kind, params = node.call.kind, node.call.params
        at = "key" if node.role == "merge" else "value"
        try:
            if node.shared in built:
                node.shape, shapes = later_use(kind, params, shapes, built[node.shared][0])
            else:
                node.shape = kind.output_shape(params, shapes)
            count = kind.param_count(params, shapes)
            problem = activity_rank_problem(params, node.shape)
            if problem is not None:
                raise ShapeError(problem, hint="use a regularizer that takes any rank (l1, l2, l1l2) here")
            problem = input_weight_problem(params, shapes[0])
            if problem is not None:
                raise ShapeError(
                    problem, hint="this weight has the input's rank less one; use an initializer for any rank"
                )
        except ShapeError as error:
            rule = MERGE_SHAPES if node.role == "merge" else LAYER_SHAPE
            found.append(
                rule.at(
                    graph.document,
                    node.path,
                    _describe(graph, node, error.message),
                    error.hint,
                    at=at,
                    node=node.id,
                )
            )
            node.shape = None
            continue
        node.param_count = count
        if node.shared is not None:
            sizes = kind.build_axes(params, shapes)
            if node.shared not in built:
                built[node.shared] = (sizes, node)
                continue
            node.param_count = 0  # the weights belong to the first use
            first_sizes, first = built[node.shared]
            rank_clash = _rank_clash(graph, first, shapes) if kind.build_rank else None
            if rank_clash is not None:
                position, expected = rank_clash
                source = node.inputs[position]
                found.append(
                    SHARED_LAYER_SHAPE.at(
                        graph.document,
                        node.path,
                        f"shared layer {node.shared!r} ({kind.name}) is built for rank-{expected} inputs "
                        f"(batch included) by its first use in {graph.label(first.id)}, but here it gets "
                        f"{graph.label(source)} {format_shape(graph.nodes[source].shape)}",
                        "a shared layer keeps the input rank of its first use: give every use that rank, "
                        "e.g. with a Reshape before it",
                        at=at,
                        node=node.id,
                    )
                )
                node.shape = None
                continue
            clash = _first_clash(first_sizes, sizes)
            if clash is not None:
                (position, axis), expected = clash
                source = node.inputs[position]
                found.append(
                    SHARED_LAYER_SHAPE.at(
                        graph.document,
                        node.path,
                        f"shared layer {node.shared!r} ({kind.name}) is built for size {expected} "
                        f"on axis {axis} by its first use in {graph.label(first.id)}, but here it gets "
                        f"{graph.label(source)} {format_shape(graph.nodes[source].shape)}",
                        "a shared layer keeps its weights: give every use the same size on that axis, "
                        "e.g. with a Dense projection before it",
                        at=at,
                        node=node.id,
                    )
                )
                node.shape = None
    found += _self_produced_tensors(graph)
    found += _inference_mismatches(graph)
    return found


# Layers whose output at inference is their input, whatever shape Keras declares for them: RandomCrop
# crops (and resizes a smaller image up) in training only. Each name -> the axes it declares otherwise.
def _crop_axes(params) -> tuple[tuple[int, int], ...]:
    axes = (2, 3) if params.data_format == "channels_first" else (-3, -2)
    return tuple(zip(axes, (params.height, params.width), strict=True))


UNCHANGED_AT_INFERENCE = {"RandomCrop": _crop_axes}


def _inference_mismatches(graph: ModelGraph) -> list[Diagnostic]:
    """Layers whose inference output contradicts their declared shape, where that fails (MS303).

    Keras builds the layers after such a layer on its declared shape; at
    inference (predict, evaluate) they get its input's shape instead. The model
    fails to run on every backend when a layer after it cannot take that shape,
    or its weights were built for another size, or an output comes out with
    another shape than the model declares. The shapes at inference are followed
    from each such layer through everything that depends on it.
    """
    running: dict[str, tuple[Shape, Node]] = {}  # node -> (its shape at inference, the layer that changed it)
    reported: set[str] = set()
    found = []

    def report(origin: Node, what: str) -> None:
        if origin.id in reported:
            return
        reported.add(origin.id)
        source = origin.inputs[0]
        name = origin.call.kind.name
        found.append(
            LAYER_SHAPE.at(
                graph.document,
                origin.path,
                f"{name} declares {format_shape(origin.shape)}, but only crops in training: at inference it "
                f"hands on {graph.label(source)} {format_shape(graph.nodes[source].shape)} as it is, and "
                f"{what}",
                f"give {name} images of its height and width, or follow it only with layers that take any "
                "image size (such as GlobalAveragePooling2D)",
                at="value",
                node=origin.id,
            )
        )

    for node in graph.topological_order():
        if node.shape is None or node.call is None:
            continue
        changed = [i for i in node.inputs if i in running]
        kind, params = node.call.kind, node.call.params
        if changed:
            origin = running[changed[0]][1]
            declared = [graph.nodes[i].shape for i in node.inputs]
            actual = [running[i][0] if i in running else graph.nodes[i].shape for i in node.inputs]
            try:
                shape = kind.output_shape(params, actual)
                clash = _first_clash(kind.build_axes(params, declared), kind.build_axes(params, actual))
            except ShapeError:
                shape, clash = None, True
            if shape is None or clash is not None:
                report(
                    origin,
                    f"{graph.label(node.id)} ({kind.name}) cannot take {format_shape(actual[0])} there",
                )
            elif shape != node.shape:
                running[node.id] = (shape, origin)
        elif kind.name in UNCHANGED_AT_INFERENCE and len(node.inputs) == 1:
            given = graph.nodes[node.inputs[0]].shape
            axes = UNCHANGED_AT_INFERENCE[kind.name](params)
            if any(known(given[axis]) and given[axis] != size for axis, size in axes):
                running[node.id] = (given, node)
    for name, output in graph.outputs.items():
        if output in running:
            shape, origin = running[output]
            report(
                origin,
                f"output {name!r} comes out {format_shape(shape)}, "
                f"not {format_shape(graph.nodes[output].shape)}",
            )
    return found


# Layers whose symbolic call hands back the very tensor it was given (Keras' Equalization returns its
# input from compute_output_spec): Keras then records that tensor as the layer's own output, so the
# tensor's history points at a layer whose input is the tensor itself.
RETURNS_ITS_INPUT = frozenset({"Equalization"})


def _self_produced_tensors(graph: ModelGraph) -> list[Diagnostic]:
    """Layers that make Keras' model graph a cycle by handing back their input tensor (MS202).

    Building a model, Keras walks back from the outputs through each tensor's
    history, and stops at the model's inputs. The tensor such a layer is called
    on now comes from the layer itself: a walk that reaches it goes round in a
    cycle, unless it is a model input, where the walk stops (the layer then
    drops out of the model) -- but for the input handed back as an output
    itself. So Keras refuses the model when an output depends on the tensor
    another layer made, or when the layer on a model input is an output.
    """
    found = []
    used = graph.feeding_outputs()
    outputs = set(graph.outputs.values())
    for node in graph.topological_order():
        if not _returns_its_input(node):
            continue
        tensor = _tensor_of(graph, node.inputs[0])  # the one tensor a chain of them hands on
        source = graph.nodes[tensor]
        on_input = source.role == "input"
        if (on_input and node.id not in outputs) or (not on_input and source.id not in used):
            continue
        name = node.call.kind.name
        found.append(
            CYCLE.at(
                graph.document,
                node.path,
                f"{name} hands back the tensor it is given, {graph.label(source.id)}, which Keras then "
                f"records as {name}'s own output: building the model, Keras finds that tensor part of a "
                "cycle",
                f"{name} runs only on a model input whose result feeds another layer (and Keras drops it "
                "there): leave it out of the model, or preprocess the images before they reach it",
                at="key" if node.role == "merge" else "value",
                node=node.id,
            )
        )
    return found


def _returns_its_input(node: Node) -> bool:
    return node.call is not None and node.call.kind.name in RETURNS_ITS_INPUT and len(node.inputs) == 1


def _tensor_of(graph: ModelGraph, node_id: str) -> str:
    """The node that made the tensor a node stands for: the first before a chain of layers handing it on."""
    while _returns_its_input(graph.nodes[node_id]):
        node_id = graph.nodes[node_id].inputs[0]
    return node_id


# Layers whose output shape Keras computes from the input's sizes even once built: a depthwise
# convolution multiplies the input's channels by depth_multiplier, and an unknown number fails
# (TypeError). Their later uses are judged on the input they get, as a first use is.
COMPUTES_WITH_ITS_SIZES = frozenset({"DepthwiseConv1D", "DepthwiseConv2D"})


def later_use(
    kind: LayerKind, params, shapes: list[Shape], sizes: dict[tuple[int, int], Dim]
) -> tuple[Shape, list[Shape]]:
    """The output shape of a shared layer's later use, and the input shapes its acceptance was judged on.

    Keras builds the weights once, at the first use; a later use is accepted on
    an input whose size is unknown where the weights fix one (the first use's
    size then stands in for it, see `_with_built_sizes`). Its output shape is
    still computed from the input the layer actually gets: an unknown size that
    the layer hands on stays unknown (a Normalization first used on (None, 3)
    gives (None, None) on (None, None)), and the layer after it is judged on that.
    Raises ShapeError when the layer cannot take the input.
    """
    if kind.name in COMPUTES_WITH_ITS_SIZES:
        return kind.output_shape(params, shapes), shapes
    filled = _with_built_sizes(shapes, sizes)
    output = kind.output_shape(params, filled)
    if filled == shapes:
        return output, filled
    try:
        return kind.output_shape(params, shapes), filled  # the layer needs none of the sizes it was built for
    except ShapeError:
        pass
    if len(shapes) == 1 and output == filled[0] and _hands_on_its_input(kind, params, filled[0], shapes[0]):
        return shapes[0], filled
    return output, filled


def _hands_on_its_input(kind: LayerKind, params, filled: Shape, actual: Shape) -> bool:
    """Whether a layer whose output has its (filled) input's shape gives its input's shape whatever it is.

    Probes with other sizes where the input's are unknown tell a layer that hands its input's shape on
    (a normalization) from one whose output only happens to match it (Dense(3) built on 3 features, a
    Conv1D of 3 filters in 3 groups on 3 channels: twice the size keeps the groups whole). A layer
    that refuses every probe ties those sizes to its settings (Normalization's mean and variance):
    Keras' output shape for it is its input's.
    """
    probes = [
        tuple(
            grow(size) if known(size) and not known(was) else size
            for size, was in zip(filled, actual, strict=True)
        )
        for grow in (lambda size: size + 1, lambda size: 2 * size)  # 2 * size keeps divisibility (groups)
    ]
    accepted = []
    for probe in probes:
        try:
            accepted.append(kind.output_shape(params, [probe]) == probe)
        except ShapeError:
            continue
    return all(accepted)


def _with_built_sizes(shapes: list[Shape], sizes: dict[tuple[int, int], Dim]) -> list[Shape]:
    """Give a later use of a shared layer the sizes its weights were built for, where its input's are unknown.

    The weights exist already, so Keras needs no size to create them: it
    builds the call on an unknown size (and checks it when the model runs).
    """
    filled = [list(shape) for shape in shapes]
    for (position, axis), size in sizes.items():
        if position >= len(filled) or not known(size):
            continue
        shape = filled[position]
        if -len(shape) <= axis < len(shape) and not known(shape[axis]):
            shape[axis] = size
    return [tuple(shape) for shape in filled]


def _rank_clash(graph: ModelGraph, first: Node, shapes: list[Shape]) -> tuple[int, int] | None:
    """Return the first input position whose rank differs from the first use's, with that rank."""
    for position, (source, shape) in enumerate(zip(first.inputs, shapes, strict=False)):
        expected = len(graph.nodes[source].shape)
        if len(shape) != expected:
            return position, expected
    return None


def _first_clash(first: dict, now: dict):
    for key, expected in first.items():
        got = now.get(key)
        if known(expected) and known(got) and got != expected:
            return key, expected
    return None


def _describe(graph: ModelGraph, node: Node, message: str) -> str:
    """Fill a rule's `{0}`, `{1}`... with the names and shapes of the node's inputs."""
    described = [f"{graph.label(i)} {format_shape(graph.nodes[i].shape)}" for i in node.inputs]
    try:
        return message.format(*described)
    except (IndexError, KeyError, ValueError):
        return message


def total_param_count(graph: ModelGraph) -> int:
    """Return the weight count of the Keras model: what some output depends on, a shared layer once.

    Layers no output depends on are left out, as Keras leaves them out of the
    model (mspec warns about them: MS205-MS207).
    """
    used = graph.feeding_outputs()
    # A shared layer's weights sit on its first use, which may be one that no output needs.
    shared_params: dict[str, int] = {}
    for node in graph.nodes.values():
        if node.shared is not None:
            shared_params[node.shared] = shared_params.get(node.shared, 0) + (node.param_count or 0)
    total = 0
    shared_used: set[str] = set()
    for node_id in used:
        node = graph.nodes[node_id]
        if node.shared is not None:
            shared_used.add(node.shared)
        else:
            total += node.param_count or 0
    return total + sum(shared_params[name] for name in shared_used)


__all__ = ["Shape", "infer_shapes", "later_use", "total_param_count"]
