"""Keep a step's Keras layer name in an imported spec only where generated code would give another.

The importer writes every layer's Keras name on its step (`name = "..."`).
Generated code derives a name for each layer from the spec's names
(`graph.layer_names`); a step whose Keras name is that derived name
anyway is written without it, so the rebuilt model has the same layer names
and the spec stays as short as it can.

Which names generated code derives depends on the names steps give (a given
name is never derived for another layer), so the kept names are found by
growing them to a fixed point. Names only change the `name` of the IR's layer
calls, never the graph, so each round renames the calls of the one checked
spec in memory and builds its graph again; nothing is parsed or validated.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..graph.build import build_graph
from ..graph.layer_names import layer_names
from ..graph.model import ModelGraph, Node
from ..layers.call import LayerCall
from ..spec.ir import Chain, Spec
from ..syntax.document import DataPath


class StepNames:
    """The Keras name each step of an imported document gives, by the step's path in the document."""

    def __init__(self, document: dict[str, Any]):
        self.steps = _named_steps(document)
        self.wanted = {path: step["name"] for path, step in self.steps.items()}

    def needed(self, graph: ModelGraph | None) -> set[DataPath]:
        """Return the steps whose Keras name generated code would not give.

        `graph` is the checked graph of the document written with every name.
        Every name is kept when there is none (the spec failed before it had
        one) or a step of it has no layer call (the check refused the layer):
        generated code names no such spec, and the check's report shows the
        spec as it was imported.
        """
        if graph is None or any(_refused(node) for node in graph.nodes.values()):
            return set(self.wanted)
        spec = graph.spec
        paths = {f"shared:{name}": ("shared", name) for name in spec.shared}
        paths.update({node.id: tuple(node.path) for node in graph.nodes.values()})
        keep: set[DataPath] = set()
        while True:
            given = {path: self.wanted[path] if path in keep else None for path in self.wanted}
            generated = layer_names(build_graph(_with_names(spec, given)))
            missing = {
                paths[key]
                for key, name in generated.items()
                if key in paths and paths[key] in self.wanted and self.wanted[paths[key]] != name
            } - keep
            if not missing:
                return keep
            keep |= missing

    def keep_only(self, kept: set[DataPath]) -> None:
        """Leave `name` on the kept steps only, last in the table, after the layer's parameters."""
        for path, step in self.steps.items():
            step.pop("name", None)
            if path in kept:
                step["name"] = self.wanted[path]


def _refused(node: Node) -> bool:
    """Whether a layer step or merge of the checked graph is one whose layer the check refused."""
    return node.role != "input" and node.shared is None and node.call is None


def _named_steps(document: dict[str, Any]) -> dict[DataPath, dict[str, Any]]:
    """Every step table carrying a `name`, by its path in the document."""
    found: dict[DataPath, dict[str, Any]] = {}
    for section in ("shared", "merges"):
        for name, step in document.get(section, {}).items():
            if isinstance(step, dict) and "name" in step:
                found[(section, name)] = step
    for section in ("branches", "outputs"):
        for name, entry in document.get(section, {}).items():
            for index, step in enumerate(entry.get("layers", [])):
                if isinstance(step, dict) and "name" in step:
                    found[(section, name, "layers", index)] = step
    return found


def _with_names(spec: Spec, names: dict[DataPath, str | None]) -> Spec:
    """Return `spec` with the layer call at each path of `names` giving that name (None: no name)."""

    def call(path: DataPath, current: LayerCall | None) -> LayerCall | None:
        if current is None or path not in names:
            return current
        return replace(current, name=names[path])

    def chain(entry: Chain) -> Chain:
        steps = tuple(replace(step, call=call(step.path, step.call)) for step in entry.steps)
        return replace(entry, steps=steps)

    return replace(
        spec,
        shared={name: call(("shared", name), shared) for name, shared in spec.shared.items()},
        branches={name: chain(branch) for name, branch in spec.branches.items()},
        merges={
            name: replace(merge, call=call(merge.path, merge.call)) for name, merge in spec.merges.items()
        },
        outputs={name: chain(output) for name, output in spec.outputs.items()},
    )
