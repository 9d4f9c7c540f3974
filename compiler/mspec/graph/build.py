"""Turn a validated Spec into a ModelGraph."""

from __future__ import annotations

from ..spec.ir import Chain, Spec
from .model import ModelGraph, Node, Unresolved


def build_graph(spec: Spec) -> ModelGraph:
    """Create a node per input, step and merge, and wire every `from` reference."""
    graph = ModelGraph(spec)
    pending: list[tuple[Node, list[str]]] = []  # node, names its inputs refer to

    def new(**fields) -> Node:
        return graph.add(Node(order=len(graph.nodes), **fields))

    for name in spec.inputs:
        graph.tensors[name] = new(id=name, role="input", owner=name, path=("inputs", name)).id

    def chain(owner: Chain) -> str | None:
        previous_name: str | None = owner.source
        last: str | None = None
        for index, step in enumerate(owner.steps):
            node = new(
                id=f"{owner.name}[{index}]",
                role="step",
                owner=owner.name,
                path=step.path,
                index=index,
                call=step.call if step.shared is None else spec.shared.get(step.shared),
                shared=step.shared,
            )
            if step.shared is not None and step.shared not in spec.shared:
                graph.unresolved.append(Unresolved(node.id, step.shared, (*step.path, "shared"), shared=True))
            if previous_name is not None:
                pending.append((node, [previous_name]))
                previous_name = None
            else:
                graph.add_edge(last, node.id)
                node.inputs.append(last)
            last = node.id
        return last

    for branch in spec.branches.values():
        last = chain(branch)
        if last is not None:
            graph.tensors[branch.name] = last
        else:
            # A branch without steps is another name for its source.
            pending.append((None, [branch.source]))  # type: ignore[arg-type]
    for merge in spec.merges.values():
        node = new(id=merge.name, role="merge", owner=merge.name, path=merge.path, call=merge.call)
        graph.tensors[merge.name] = node.id
        pending.append((node, list(merge.sources)))
    for output in spec.outputs.values():
        last = chain(output)
        if last is not None:
            graph.outputs[output.name] = last
            graph.tensors[output.name] = last

    _resolve(graph, pending)
    for output in spec.outputs.values():
        if output.name in graph.outputs:
            continue
        if output.source in graph.tensors:
            graph.outputs[output.name] = graph.tensors[output.source]
        else:  # an output without layers, reading a node that does not exist
            graph.unresolved.append(Unresolved(output.name, output.source, ("outputs", output.name, "from")))
    return graph


def _resolve(graph: ModelGraph, pending) -> None:
    spec = graph.spec
    # Empty branches alias their source; resolve aliases first, repeatedly, as
    # one empty branch may read another.
    aliases = {b.name: b.source for b in spec.branches.values() if not b.steps}
    for _ in range(len(aliases)):
        for name, source in aliases.items():
            if name not in graph.tensors and source in graph.tensors:
                graph.tensors[name] = graph.tensors[source]
    for name, source in aliases.items():
        if name not in graph.tensors:
            graph.unresolved.append(Unresolved(name, source, ("branches", name, "from")))
    for node, names in pending:
        if node is None:
            continue
        for position, name in enumerate(names):
            source = graph.tensors.get(name)
            if source is None:
                where = (*node.path, "from") if node.role == "merge" else _chain_from_path(node)
                if node.role == "merge":
                    where = (*where, position)
                graph.unresolved.append(Unresolved(node.id, name, where))
                continue
            graph.add_edge(source, node.id)
            node.inputs.append(source)


def _chain_from_path(node: Node):
    # A chain's first step reads the chain's `from`: point there.
    return (*node.path[:-2], "from")
