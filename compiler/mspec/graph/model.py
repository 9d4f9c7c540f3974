"""The model graph: one node per layer call, edges in call order."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..layers.base import Shape
from ..layers.call import LayerCall
from ..spec.ir import Spec
from ..syntax.document import DataPath, Document

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class Node:
    """One tensor-producing call: an input, a layer step or a merge.

    `shape` and `param_count` are filled in by the shape pass; `param_count` is
    the number of weights this call creates (0 for a repeated use of a shared layer).
    `dtype` (the element type of the tensor at run time) is filled in by the dtype pass.
    """

    id: str
    role: str  # "input", "step" or "merge"
    owner: str  # the spec name of the input, branch, merge or output it belongs to
    path: DataPath
    order: int  # creation order: the tie-breaker that makes every traversal deterministic
    index: int | None = None  # position in the owner's `layers`
    call: LayerCall | None = None
    shared: str | None = None
    inputs: list[str] = field(default_factory=list)
    shape: Shape | None = None
    param_count: int | None = None
    dtype: str | None = None

    @property
    def layer_name(self) -> str | None:
        return self.call.kind.name if self.call else None


@dataclass(frozen=True)
class Unresolved:
    """A reference to a name that does not exist (reported by the references pass)."""

    node: str
    name: str
    path: DataPath
    shared: bool = False


@dataclass
class ModelGraph:
    """The spec's nodes and edges, plus the maps from spec names to nodes.

    Adjacency is kept in plain dicts, enough for the linear-time traversals
    every lint runs (topological order, ancestors). `as_networkx()` gives the same
    structure as a networkx DiGraph for everything else (cycle analysis,
    drawing); networkx is imported only then, as importing it costs more
    than linting a typical spec.
    """

    spec: Spec
    nodes: dict[str, Node] = field(default_factory=dict)
    successors: dict[str, dict[str, None]] = field(default_factory=dict)  # ordered sets
    predecessors: dict[str, dict[str, None]] = field(default_factory=dict)
    tensors: dict[str, str] = field(default_factory=dict)  # spec name -> node producing that tensor
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> node producing it
    unresolved: list[Unresolved] = field(default_factory=list)
    # Every pass walks the graph in order; it is computed once per change of the graph.
    _order: list[Node] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, node: Node) -> Node:
        self.nodes[node.id] = node
        self.successors[node.id] = {}
        self.predecessors[node.id] = {}
        self._order = None
        return node

    def add_edge(self, source: str, target: str) -> None:
        self.successors[source][target] = None
        self.predecessors[target][source] = None
        self._order = None

    def as_networkx(self) -> nx.DiGraph:
        """Return the graph as a networkx DiGraph (nodes in spec order, with their Node as `node`)."""
        import networkx as nx

        digraph = nx.DiGraph()
        digraph.add_nodes_from((node_id, {"node": node}) for node_id, node in self.nodes.items())
        digraph.add_edges_from((u, v) for u, targets in self.successors.items() for v in targets)
        return digraph

    def ancestors(self, node_id: str) -> set[str]:
        """Return every node `node_id` depends on (not itself, unless on a cycle)."""
        seen: set[str] = set()
        queue = deque(self.predecessors[node_id])
        while queue:
            current = queue.popleft()
            if current not in seen:
                seen.add(current)
                queue.extend(self.predecessors[current])
        return seen

    def feeding_outputs(self) -> set[str]:
        """Return the nodes some output depends on (outputs included): the layers Keras' model keeps."""
        used = set(self.outputs.values())
        for node_id in list(used):
            used |= self.ancestors(node_id)
        return used

    @property
    def document(self) -> Document:
        """The loaded spec file the graph was built from: where its findings are located."""
        return self.spec.document

    def names_of(self, node_id: str) -> set[str]:
        """The spec names a node goes by: itself, its input, branch, merge or output, its shared layer."""
        names = {node_id}
        node = self.nodes.get(node_id)
        if node is not None:
            names.add(node.owner)
            if node.shared:
                names.add(node.shared)
        return names

    def label(self, node_id: str) -> str:
        """Name a node the way a spec author knows it: a spec name, or "branch step N"."""
        node = self.nodes[node_id]
        if self.tensors.get(node.owner) == node_id:
            return node.owner
        if node.index is not None:
            return f"{node.owner} step {node.index + 1}"
        return node.owner

    def topological_order(self) -> list[Node]:
        """Return the nodes in dependency order, ties broken by spec order.

        Nodes on a cycle, and everything downstream of one, are left out.
        """
        if self._order is None:
            self._order = self._sorted()
        return list(self._order)

    def _sorted(self) -> list[Node]:
        indegree = {n: len(self.predecessors[n]) for n in self.nodes}
        ready = [(node.order, node.id) for node in self.nodes.values() if indegree[node.id] == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            _, node_id = heapq.heappop(ready)
            order.append(self.nodes[node_id])
            for succ in self.successors[node_id]:
                indegree[succ] -= 1
                if indegree[succ] == 0:
                    heapq.heappush(ready, (self.nodes[succ].order, succ))
        return order

    def has_cycle(self) -> bool:
        return len(self.topological_order()) < len(self.nodes)
