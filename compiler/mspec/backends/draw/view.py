"""What a diagram shows, whatever the language it is drawn in: boxes, arrows, clusters and faults.

Both back ends (DOT and Mermaid) render the same `Diagram`, so they always
show the same information. Everything here is ordered by spec order, never
by `id()` or hashing, so a diagram is the same on every run.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass, field

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CYCLE
from ...graph.model import ModelGraph, Node
from ...layers.base import format_shape
from ..summary import layer_description

# Characters per line of a message or description inside a box: wider boxes
# push the layout apart more than taller ones.
WRAP = 44
TITLE_WRAP = 90


@dataclass
class Box:
    """One drawn node: an input, a layer step, a merge, an output, a collapsed chain or a missing name."""

    id: str
    kind: str  # "input", "step", "merge", "output", "chain" or "missing"
    lines: list[str]
    cluster: str | None = None
    shared: str | None = None  # the shared layer this box is a use of
    severity: str | None = None  # "error" or "warning" when a diagnostic is about this box
    messages: list[str] = field(default_factory=list)
    mark: str | None = None  # "added", "changed" or "removed" in a diagram of a diff (`Marks`)

    @property
    def label(self) -> str:
        return "\n".join([*self.lines, *self.messages])


@dataclass
class Arrow:
    """One tensor flowing from a box to another, labelled with its shape."""

    source: str
    target: str
    label: str
    fault: bool = False
    mark: str | None = None  # "added", "removed" or "reshaped" (its shape changed) in a diagram of a diff


@dataclass
class Cluster:
    """A branch or an output head: the boxes of one chain, framed and named."""

    id: str
    label: str
    boxes: list[str] = field(default_factory=list)


@dataclass
class Diagram:
    name: str
    title: list[str]
    boxes: dict[str, Box] = field(default_factory=dict)
    arrows: list[Arrow] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    # Consecutive uses of each shared layer, drawn as undirected links.
    shared_links: list[tuple[str, str, str]] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)  # shared layers in use, in spec order
    notes: list[Diagnostic] = field(default_factory=list)  # diagnostics about no particular box

    @property
    def heading(self) -> list[str]:
        """Return the title lines, then one line per note."""
        return [*self.title, *(_note(diagnostic) for diagnostic in self.notes)]

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.notes) or any(b.severity == "error" for b in self.boxes.values())

    def add(self, box: Box) -> Box:
        self.boxes[box.id] = box
        return box


@dataclass
class RemovedBox:
    """A node of the old model that the new one no longer has, drawn dashed where it was."""

    id: str  # unique among the diagram's boxes: "removed:<old node id>"
    kind: str  # how it is drawn: "input", "step", "merge" or "output"
    lines: list[str]
    chain: str | None = None  # the new model's branch or output head it stood in, if that still exists


@dataclass
class Marks:
    """What a diff draws on the diagram of the new model (see `mspec diff`).

    Keys are node ids of the new graph, or output boxes (`output_box(name)`);
    arrows are keyed by (source, target) the same way. Removed boxes and
    arrows name their ends by those ids or by a removed box's id.
    """

    boxes: dict[str, str] = field(default_factory=dict)  # id -> "added" or "changed"
    notes: dict[str, list[str]] = field(default_factory=dict)  # id -> lines added to its box
    arrows: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, target) -> "added"
    reshaped: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, target) -> old shape
    removed: list[RemovedBox] = field(default_factory=list)
    removed_arrows: list[tuple[str, str, str]] = field(default_factory=list)  # (source, target, label)
    # Branches a step was taken out of: marked changed where a branch is one box (--collapse).
    chains: dict[str, str] = field(default_factory=dict)
    title: list[str] = field(default_factory=list)  # lines under the diagram's title


# A box changed outranks one added: a collapsed chain with both is drawn changed.
MARK_RANK = {"added": 1, "changed": 2}


def output_box(name: str) -> str:
    """Return the box id of an output (a colon cannot occur in a spec name)."""
    return f"output:{name}"


def missing_box(name: str) -> str:
    return f"missing:{name}"


def shape_text(node: Node | None) -> str:
    return "?" if node is None or node.shape is None else format_shape(node.shape)


def build_diagram(
    graph: ModelGraph, diagnostics: list[Diagnostic], *, collapse: bool = False, marks: Marks | None = None
) -> Diagram:
    """Lay out what to draw for a checked graph and its diagnostics (and, for a diff, its marks)."""
    spec = graph.spec
    diagram = Diagram(spec.name, _title(graph))
    uses = _shared_uses(graph)
    diagram.shared = [name for name in spec.shared if name in uses]
    box_of: dict[str, str] = {}  # node id -> the box that draws it

    for node in graph.nodes.values():
        if node.role == "input":
            diagram.add(Box(node.id, "input", _input_lines(graph, node)))
            box_of[node.id] = node.id
        elif node.role == "merge":
            lines = [node.id, layer_description(node)]
            if node.shape is None:
                lines.append("shape: ?")
            diagram.add(Box(node.id, "merge", [*lines, _params(node)]))
            box_of[node.id] = node.id

    steps_of: dict[str, list[Node]] = {}  # chain name -> its steps, in order
    for node in graph.nodes.values():
        if node.role == "step":
            steps_of.setdefault(node.owner, []).append(node)
    clusters: dict[str, Cluster] = {}
    chains = [(name, False) for name in spec.branches] + [(name, True) for name in spec.outputs]
    for name, is_output in chains:
        steps = steps_of.get(name, [])
        if collapse:
            for step in steps:
                box_of[step.id] = output_box(name) if is_output else name
            if not is_output and steps:
                diagram.add(Box(name, "chain", _chain_lines(name, steps, uses)))
            continue
        if not steps:
            continue
        label = f"output head {name}" if is_output else f"branch {name}"
        cluster = Cluster(f"cluster_{'output' if is_output else 'branch'}_{name}", label)
        clusters[name] = cluster
        diagram.clusters.append(cluster)
        for step in steps:
            diagram.add(_step_box(graph, step, uses, cluster.id))
            cluster.boxes.append(step.id)
            box_of[step.id] = step.id

    for name, output in spec.outputs.items():
        last = graph.nodes.get(graph.outputs.get(name, ""))
        lines = [name, f"model output {shape_text(last)}"]
        steps = steps_of.get(name, [])
        if collapse and steps:
            lines.append(_count(len(steps), "layer") + ", " + _params_sum(steps, uses))
        if output.loss:
            weight = "" if output.loss_weight is None else f" (weight {output.loss_weight:g})"
            lines.append(f"loss: {output.loss}{weight}")
        cluster = clusters.get(name)
        diagram.add(Box(output_box(name), "output", lines, cluster=cluster.id if cluster else None))
        if cluster is not None:
            cluster.boxes.append(output_box(name))

    faults, notes = _place(graph, diagnostics)
    diagram.notes = notes
    _arrows(graph, diagram, box_of, faults)
    for node_id, found in faults.items():
        box = diagram.boxes.get(box_of.get(node_id, node_id))
        if box is not None:
            _mark(box, found)
        else:  # a node no box draws (an empty branch): still say what is wrong
            diagram.notes += found

    if not collapse:
        for name, node_ids in uses.items():
            for first, second in itertools.pairwise(node_ids):
                diagram.shared_links.append((first, second, name))
    if marks is not None:
        _apply_marks(diagram, marks, box_of)
    return diagram


def _apply_marks(diagram: Diagram, marks: Marks, box_of: dict[str, str]) -> None:
    """Colour what a diff added and changed, add what it removed (dashed), and mark changed shapes."""
    diagram.title += marks.title

    def box_id(ref: str) -> str:
        return box_of.get(ref, ref)

    for ref, mark in [*marks.boxes.items(), *marks.chains.items()]:
        box = diagram.boxes.get(box_id(ref))
        if box is not None and MARK_RANK[mark] > MARK_RANK.get(box.mark or "", 0):
            box.mark = mark
    for ref, lines in marks.notes.items():
        box = diagram.boxes.get(box_id(ref))
        if box is not None:
            box.lines += [line for text in lines for line in textwrap.wrap(text, WRAP) or [""]]
    clusters = {cluster.id: cluster for cluster in diagram.clusters}
    for removed in marks.removed:
        lines = [line for text in removed.lines for line in textwrap.wrap(text, WRAP) or [""]]
        box = Box(removed.id, removed.kind, lines, mark="removed")
        for cluster_id in (f"cluster_branch_{removed.chain}", f"cluster_output_{removed.chain}"):
            if removed.chain is not None and cluster_id in clusters:
                box.cluster = cluster_id
                clusters[cluster_id].boxes.append(removed.id)
                break
        diagram.add(box)
    reshaped = {(box_id(s), box_id(t)): old for (s, t), old in marks.reshaped.items()}
    added = {(box_id(s), box_id(t)) for s, t in marks.arrows}
    for arrow in diagram.arrows:
        key = (arrow.source, arrow.target)
        if key in added:
            arrow.mark = "added"
        elif key in reshaped:
            arrow.mark = "reshaped"
            arrow.label = f"{reshaped[key]} → {arrow.label}"
    for source, target, label in marks.removed_arrows:
        source, target = box_id(source), box_id(target)
        if source != target and source in diagram.boxes and target in diagram.boxes:
            diagram.arrows.append(Arrow(source, target, label, mark="removed"))


def _title(graph: ModelGraph) -> list[str]:
    spec = graph.spec
    lines = [f"model {spec.name}"]
    if spec.description:
        lines += textwrap.wrap(spec.description, TITLE_WRAP) or [""]
    counts = [node.param_count for node in graph.nodes.values()]
    total = "?" if None in counts else f"{sum(counts):,}"
    shared = ", shared layers counted once" if any(node.shared for node in graph.nodes.values()) else ""
    lines.append(f"total params: {total}{shared}")
    return lines


def _input_lines(graph: ModelGraph, node: Node) -> list[str]:
    spec_input = graph.spec.inputs[node.owner]
    lines = [node.id, f"Input {shape_text(node)}"]
    notes = [spec_input.dtype] if spec_input.dtype != "float32" else []
    if spec_input.kind:
        notes.append(spec_input.kind)
    if notes:
        lines.append(", ".join(notes))
    return lines


def _params(node: Node, first_use: str | None = None) -> str:
    if node.param_count is None:
        return "params: ?"
    if first_use is not None and first_use != node.id:
        return "params: shared (counted at use 1)"
    return f"params: {node.param_count:,}"


def _params_sum(nodes: list[Node], uses: dict[str, list[str]]) -> str:
    counts = [node.param_count for node in nodes]
    text = "params: ?" if None in counts else f"params: {sum(counts):,}"
    # Weights that belong to another use of a shared layer are counted there.
    if any(node.shared in uses and uses[node.shared][0] != node.id for node in nodes):
        text += " + shared"
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _chain_lines(name: str, steps: list[Node], uses: dict[str, list[str]]) -> list[str]:
    lines = [name, f"branch, {_count(len(steps), 'layer')}", f"output {shape_text(steps[-1])}"]
    lines.append(_params_sum(steps, uses))
    shared = list(dict.fromkeys(step.shared for step in steps if step.shared))
    if shared:
        lines.append("shared: " + ", ".join(shared))
    return lines


def _step_box(graph: ModelGraph, step: Node, uses: dict[str, list[str]], cluster: str) -> Box:
    lines = [graph.label(step.id), layer_description(step)]
    shared = step.shared if step.shared in uses else None
    if shared is not None:
        position, count = uses[shared].index(step.id) + 1, len(uses[shared])
        lines.append(f"shared: {shared} (use {position} of {count})")
    if step.shape is None:
        lines.append("shape: ?")
    lines.append(_params(step, uses[shared][0] if shared is not None else None))
    return Box(step.id, "step", lines, cluster=cluster, shared=shared)


def _shared_uses(graph: ModelGraph) -> dict[str, list[str]]:
    """Return each shared layer's uses in the order Keras builds them (the first one owns the weights)."""
    rank = {node.id: position for position, node in enumerate(graph.topological_order())}
    # Nodes on a cycle have no topological position: after the others, in spec order.
    ordered = sorted(graph.nodes.values(), key=lambda n: (rank.get(n.id, len(rank)), n.order))
    uses: dict[str, list[str]] = {}
    for node in ordered:
        if node.shared is not None:
            uses.setdefault(node.shared, []).append(node.id)
    # An unknown shared name is reported as such; it has no uses to link.
    return {name: uses[name] for name in graph.spec.shared if name in uses}


def _place(
    graph: ModelGraph, diagnostics: list[Diagnostic]
) -> tuple[dict[str, list[Diagnostic]], list[Diagnostic]]:
    """Map each diagnostic to the node (or output) it is about; the rest become notes.

    A diagnostic names its node when its pass knows it; otherwise its position
    is compared with where each node, chain and output is written in the spec.
    """
    document = graph.spec.document
    at: dict[tuple[int, int], str] = {}
    for node in graph.nodes.values():
        for prefer in ("value", "key"):
            location = document.locate(node.path, prefer=prefer)
            at.setdefault((location.line, location.col), node.id)
    for name, branch in graph.spec.branches.items():
        location = document.locate(branch.path, prefer="key")
        if name in graph.tensors:
            at.setdefault((location.line, location.col), graph.tensors[name])
    for name, output in graph.spec.outputs.items():
        location = document.locate(output.path, prefer="key")
        at.setdefault((location.line, location.col), output_box(name))
    faults: dict[str, list[Diagnostic]] = {}
    notes = []
    for diagnostic in diagnostics:
        target = diagnostic.node if diagnostic.node in graph.nodes else None
        if target is None and diagnostic.node in graph.tensors:
            target = graph.tensors[diagnostic.node]
        if target is None:
            target = at.get((diagnostic.line, diagnostic.col))
        if target is None:
            notes.append(diagnostic)
        else:
            faults.setdefault(target, []).append(diagnostic)
    return faults, notes


def _note(diagnostic: Diagnostic) -> str:
    return f"line {diagnostic.line}: {diagnostic.code} {diagnostic.severity.value}: {diagnostic.message}"


def _mark(box: Box, found: list[Diagnostic]) -> None:
    if any(d.is_error for d in found):
        box.severity = "error"
    elif box.severity is None:
        box.severity = "warning"
    for diagnostic in found:
        text = f"{diagnostic.code} {diagnostic.severity.value}: {diagnostic.message}"
        box.messages += textwrap.wrap(text, WRAP, break_on_hyphens=False)


def _arrows(
    graph: ModelGraph, diagram: Diagram, box_of: dict[str, str], faults: dict[str, list[Diagnostic]]
) -> None:
    """Add an arrow per tensor between boxes, marking those that feed a shape error or form a cycle."""
    # A shape error is about the tensors a node receives: those arrows are at fault too.
    shape_faults = {
        node_id
        for node_id, found in faults.items()
        if any(d.is_error and d.code.startswith("MS3") for d in found)
    }
    on_cycle: set[str] = set()
    if any(d.code == CYCLE.code for found in faults.values() for d in found) and graph.has_cycle():
        on_cycle = {n for n in graph.nodes if n in graph.ancestors(n)}
    missing: dict[str, list[str]] = {}  # unknown name -> the nodes that read it
    for ref in graph.unresolved:
        if not ref.shared and ref.node in graph.nodes:
            missing.setdefault(ref.name, []).append(ref.node)
    for name, output in graph.spec.outputs.items():
        if name not in graph.outputs and output.source not in graph.tensors:
            missing.setdefault(output.source, []).append(output_box(name))

    for name, readers in missing.items():
        known = name in graph.spec.shared or name in graph.spec.broken
        lines = [name, "not a node" if name in graph.spec.shared else "invalid" if known else "unknown name"]
        diagram.add(Box(missing_box(name), "missing", lines, severity="error"))
        for reader in readers:
            diagram.arrows.append(Arrow(missing_box(name), box_of.get(reader, reader), "?", fault=True))

    for node in graph.nodes.values():
        target = box_of[node.id]
        for source_id in node.inputs:
            source = box_of[source_id]
            if source == target:
                continue  # inside a collapsed chain
            fault = node.id in shape_faults or (source_id in on_cycle and node.id in on_cycle)
            diagram.arrows.append(Arrow(source, target, shape_text(graph.nodes[source_id]), fault))
    for name, node_id in graph.outputs.items():
        source = box_of[node_id]
        if source != output_box(name):
            diagram.arrows.append(Arrow(source, output_box(name), shape_text(graph.nodes[node_id])))
