"""Where input branches meet: the merges at which balance is measured (no framework needed).

Each input is followed to the first merge it feeds (in graph order). A
merge is measured when it is the first merge of at least one input, at
least two of the tensors it takes depend on some input, and these depend
on two inputs or more (a merge of two branches of one input is not a meeting
of inputs). The tensors it
takes are its branches, named as the spec's `from` list names them; each
branch's *width* at the merge is the number of values it gives one example
(the product of its static shape, batch excluded), known before any run.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..syntax.document import DataPath
from .layer_names import layer_names
from .model import ModelGraph


@dataclass(frozen=True)
class MergePoint:
    """One merge and its branches: `labels[i]` names the tensor in position i of `from`."""

    merge: str  # the merge's spec name
    layer: str  # its Keras layer name
    path: DataPath
    labels: tuple[str, ...]
    inputs: tuple[tuple[str, ...], ...]  # the model inputs each branch depends on
    first_of: tuple[str, ...]  # the inputs for which this is the first merge
    # Values per example each branch brings to the merge (None: a dimension unknown until run time).
    widths: tuple[int | None, ...] = ()

    def key(self, position: int) -> str:
        """The history key of one branch: balance/<merge>/<branch>."""
        return f"balance/{self.merge}/{self.labels[position]}"

    @property
    def keys(self) -> list[str]:
        return [self.key(i) for i in range(len(self.labels))]

    def from_path(self, position: int) -> DataPath:
        return (*self.path, "from", position)

    def width(self, position: int) -> int | None:
        return self.widths[position] if position < len(self.widths) else None

    def widest(self, position: int) -> bool:
        """Whether branch `position` brings more values per example than every other branch."""
        own = self.width(position)
        others = [self.width(i) for i in range(len(self.labels)) if i != position]
        if own is None or not others or any(w is None for w in others):
            return False
        return all(own > w for w in others)  # type: ignore[operator]


def balance_points(graph: ModelGraph) -> list[MergePoint]:
    """The merges where two or more input branches meet first, in graph order."""
    names = layer_names(graph)
    reaching: dict[str, frozenset[str]] = {}
    for node in graph.topological_order():
        if node.role == "input":
            reaching[node.id] = frozenset({node.id})
        else:
            reaching[node.id] = frozenset().union(*(reaching.get(p, frozenset()) for p in node.inputs))
    merged: set[str] = set()
    points: list[MergePoint] = []
    for node in graph.topological_order():
        if node.role != "merge":
            continue
        fed = [reaching.get(p, frozenset()) for p in node.inputs]
        if sum(1 for inputs in fed if inputs) < 2 or len(set().union(*fed)) < 2:
            continue
        new = sorted(set().union(*fed) - merged, key=lambda name: graph.nodes[name].order)
        if not new:
            continue
        merged.update(new)
        sources = list(graph.spec.merges[node.owner].sources)
        if len(sources) != len(node.inputs):
            sources = [graph.label(p) for p in node.inputs]
        points.append(
            MergePoint(
                merge=node.owner,
                layer=names[node.id],
                path=node.path,
                labels=_unique(sources),
                inputs=tuple(tuple(sorted(inputs, key=lambda n: graph.nodes[n].order)) for inputs in fed),
                first_of=tuple(new),
                widths=tuple(_width(graph.nodes[p].shape) for p in node.inputs),
            )
        )
    return points


def _width(shape) -> int | None:
    """The values per example of a tensor of static shape (batch, ...), or None when a size is unknown."""
    if shape is None or len(shape) < 2:
        return None
    size = 1
    for dim in shape[1:]:
        if not isinstance(dim, int):
            return None
        size *= dim
    return size


def _unique(labels: list[str]) -> tuple[str, ...]:
    """Label a tensor used twice by one merge (`from = ["x", "x"]`) as x and x#2."""
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return tuple(unique)
