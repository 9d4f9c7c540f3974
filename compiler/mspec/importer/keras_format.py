"""A saved Keras model's layers, calls and tensors, read from the plain data of its configuration.

Keras saves each layer with its `class_name`, `config` and `inbound_nodes`
(one node per call, its arguments holding the tensors it was called on as
`keras_history` references). `Layer`, `Call` and `Ref` hold that data for the
import; the functions below read nodes and tensors in both the Keras 3 and the
Keras 2 form, and describe saved values in diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .read import ModelFileError

# Layers that run Python code of their own: a spec refuses them, so an import reports them.
CODE_LAYERS = ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer")


@dataclass(frozen=True, order=True)
class Ref:
    """A tensor in the model: output `tensor` of call `node` of layer `layer` (Keras' keras_history)."""

    layer: str
    node: int
    tensor: int


@dataclass(eq=False)
class Call:
    """One call of a layer: the node Keras saved in the layer's `inbound_nodes`."""

    layer: Layer
    node: int
    args: list[Any]
    kwargs: dict[str, Any]
    inputs: list[Ref] = field(default_factory=list)
    masks: list[Ref] = field(default_factory=list)

    @property
    def ref(self) -> Ref:
        return Ref(self.layer.name, self.node, 0)


@dataclass(eq=False)
class Layer:
    """One entry of the model's `layers`."""

    name: str
    class_name: str
    module: Any
    registered_name: Any
    config: dict[str, Any]
    position: int
    calls: list[Call] = field(default_factory=list)
    role: str = "step"  # input, step, merge, op (a Keras operation), bad (already reported)
    step: dict[str, Any] | None = None  # the converted `{ type = ..., params }` table
    build_config: Any = None

    @property
    def label(self) -> str:
        return f"layer {self.name!r} ({self.class_name})"


def as_dict(value: Any) -> dict[str, Any]:
    """Return `value` when it is a dict, else an empty one: saved data may hold anything anywhere."""
    return value if isinstance(value, dict) else {}


def history_ref(item: Any) -> Ref | None:
    """Return the Ref of a saved tensor: `{"config": {"keras_history": [...]}}` or `[name, node, tensor]`."""
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        item = as_dict(item.get("config")).get("keras_history")
    if (
        isinstance(item, list)
        and len(item) >= 3
        and isinstance(item[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in item[1:3])
    ):
        return Ref(item[0], item[1], item[2])
    return None


def _tensors_as_refs(value: Any) -> Any:
    """Replace every saved tensor in a call's arguments by its Ref."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            ref = history_ref(value)
            if ref is None:
                raise ModelFileError("not a Keras model configuration: a tensor has no keras_history")
            return ref
        return {k: _tensors_as_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensors_as_refs(v) for v in value]
    return value


def parse_node(node: Any, layer: str) -> tuple[list[Any], dict[str, Any]]:
    """Return a saved call's (args, kwargs), tensors as Refs; Keras 2's list form included."""
    if (
        isinstance(node, dict)
        and isinstance(node.get("args", []), list)
        and isinstance(node.get("kwargs", {}), dict)
    ):
        return _tensors_as_refs(node.get("args", [])), _tensors_as_refs(node.get("kwargs", {}))
    if isinstance(node, list) and node and all(isinstance(e, list) and len(e) >= 3 for e in node):
        # Keras 2: [[name, node, tensor, kwargs], ...], one entry per input tensor.
        refs = [history_ref(e) for e in node]
        if any(r is None for r in refs):
            raise ModelFileError(f"not a Keras model configuration: malformed inbound node of {layer!r}")
        kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
        kwargs = {
            k: (history_ref(v) or _tensors_as_refs(v)) if isinstance(v, list) else _tensors_as_refs(v)
            for k, v in kwargs.items()
        }
        return ([refs[0]] if len(refs) == 1 else [refs]), kwargs
    raise ModelFileError(f"not a Keras model configuration: malformed inbound node of {layer!r}")


def refs_in(value: Any) -> list[Ref]:
    """Every tensor in a call's arguments, in the order they are written."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    return []


def short(value: Any, limit: int = 80) -> str:
    """Return `repr(value)`, cut to `limit` characters for a diagnostic."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value: Any) -> Any:
    """Return a readable form of saved data: tensors by layer name, Keras objects by class name."""
    if isinstance(value, Ref):
        return f"<tensor {value.layer}>"
    if isinstance(value, list):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            config = value.get("config")
            inner = f"({short(config, 50)})" if config else ""
            return f"{value['class_name']}{inner}"
        return {k: describe(v) for k, v in value.items()}
    return value
