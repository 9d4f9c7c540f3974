"""Rewrite a saved model configuration into an equivalent one of public Keras layers, one flat graph.

Runs on the plain data before conversion, so the converter sees one flat
Functional graph of layers a spec can write:

- a nested model (a Sequential or Functional called as a layer) is inlined: its
  layers become layers of the outer model, called on the tensors the nested
  model was called on (once per call, so a nested model called twice shares
  its layers);
- a tensor operation Keras recorded from Python arithmetic (`x + y`, `x * 0.5`)
  becomes the layer that computes the same: a merge on two tensors of one
  shape, a Rescaling (`x * scale + offset`) on a tensor and a number;
- the layer classes keras.applications defines for itself become public layers
  of the same function and weights: LayerScale (`x * gamma`) an EinsumDense
  `...c,c->...c` whose kernel is gamma, CustomScaleLayer (`a + b * scale`) a
  Rescaling of b and an Add.

The layer names are kept (a nested model's layer whose name the outer model
already uses is prefixed with the nested model's name), so weights copy over
by name. Each rewrite is recorded in `Rewrites` for the import to report.
"""

from __future__ import annotations

import copy
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODEL_CLASSES = ("Functional", "Sequential", "Model")
# Tensor operations (class names in keras.src.ops) and the merge layer computing the same on two tensors.
OPERATION_MERGES = {
    "Add": "Add",
    "Subtract": "Subtract",
    "Multiply": "Multiply",
    "Maximum": "Maximum",
    "Minimum": "Minimum",
}
ARITHMETIC = ("Add", "Subtract", "Multiply", "Divide", "TrueDivide")
# One-tensor operations that are a keras.activations function with its defaults: the operation's
# saved settings that must hold, and the name an Activation layer takes.
ACTIVATION_OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "Relu": ("relu", {}),
    "Relu6": ("relu6", {}),
    "LeakyRelu": ("leaky_relu", {"negative_slope": 0.2}),
    "Elu": ("elu", {"alpha": 1.0}),
    "Selu": ("selu", {}),
    "Gelu": ("gelu", {"approximate": False}),  # keras.ops.gelu approximates by default, the activation not
    "Silu": ("silu", {}),
    "HardSilu": ("hard_silu", {}),
    "Sigmoid": ("sigmoid", {}),
    "HardSigmoid": ("hard_sigmoid", {}),
    "Tanh": ("tanh", {}),
    "Softplus": ("softplus", {}),
    "Softsign": ("softsign", {}),
    "Exp": ("exponential", {}),
    "Softmax": ("softmax", {"axis": -1}),
    "LogSoftmax": ("log_softmax", {"axis": -1}),
}
OTHER_OPERATIONS = ("Concatenate", "Negative", "Reshape")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# The layer classes keras.applications defines for itself, by (module, class name) as saved.
LAYER_SCALE = ("keras.src.applications.convnext", "LayerScale")
CUSTOM_SCALE = ("keras.src.applications.inception_resnet_v2", "CustomScaleLayer")
# Keras records these call arguments at values that change nothing.
NEUTRAL_CALL_ARGUMENTS = {"training": (None, False), "mask": (None,)}

History = list  # [layer name, node index, tensor index], as Keras saves it


@dataclass
class Rewrites:
    """What the rewrite did, by kind, for the import's report; and what it could not do."""

    inlined: list[str] = field(default_factory=list)  # nested model names
    written_as: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    not_inlined: dict[str, str] = field(default_factory=dict)  # nested model name -> why not
    renamed: dict[str, str] = field(default_factory=dict)  # a nested model's layer name -> its new name

    def record(self, original: str, replacement: str, name: str) -> None:
        self.written_as[(original, replacement)].append(name)


def rewrite(config: dict[str, Any]) -> tuple[dict[str, Any], Rewrites]:
    """Return the rewritten Functional config (the given one is left as it is) and what was done."""
    rewrites = Rewrites()
    config = _inline_models(config, rewrites)
    layers = []
    for entry in config["layers"]:
        layers.extend(_public_layers(entry, rewrites))
    return {**config, "layers": layers}, rewrites


# --- nested models -----------------------------------------------------------


def sequential_as_functional(config: dict[str, Any], input_shape: Any = None) -> dict[str, Any] | str:
    """Rewrite a Sequential model's config as the Functional config of the same chain.

    A Sequential without an InputLayer gets one of `input_shape` (a nested one
    needs none: the outer call gives its tensor). Returns why not, as text, when
    it cannot.
    """
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        return "it has no layers"
    layers = [dict(entry) for entry in entries if isinstance(entry, dict)]
    if len(layers) != len(entries):
        return "a layer entry is not an object"
    names = [_entry_name(entry) for entry in layers]
    if not all(isinstance(name, str) for name in names):
        return "a layer has no name"
    if layers[0].get("class_name") != "InputLayer":
        name = next(
            n for n in ("input_layer", *(f"input_layer_{i}" for i in range(2, 10**6))) if n not in names
        )
        layers.insert(
            0,
            {
                "class_name": "InputLayer",
                "module": "keras.layers",
                "config": {"name": name, "batch_shape": input_shape},
            },
        )
        names.insert(0, name)
    for index, entry in enumerate(layers):
        entry["name"] = names[index]
        entry["inbound_nodes"] = [] if index == 0 else [{"args": [tensor(names[index - 1])], "kwargs": {}}]
    return {
        "name": config.get("name"),
        "layers": layers,
        "input_layers": [[names[0], 0, 0]],
        "output_layers": [[names[-1], 0, 0]],
    }


def is_model(entry: Any) -> bool:
    config = entry.get("config") if isinstance(entry, dict) else None
    return isinstance(config, dict) and (entry.get("class_name") in MODEL_CLASSES or "layers" in config)


def _inline_models(config: dict[str, Any], rewrites: Rewrites) -> dict[str, Any]:
    entries = config.get("layers")
    if not isinstance(entries, list) or not any(is_model(entry) for entry in entries):
        return config
    taken = {_entry_name(entry) for entry in entries if not is_model(entry)}
    # (nested model name, node, tensor) -> the history its output becomes
    outputs: dict[tuple, History] = {}
    layers: list[Any] = []
    inlined_ids: set[int] = set()
    for entry in entries:
        if not is_model(entry):
            layers.append(entry)
            continue
        name = _entry_name(entry)
        inner, why = _inner_functional(entry, rewrites)
        if why is None:
            inlined, why = _inline(entry, inner, outputs, taken, rewrites)
        if why is not None:
            rewrites.not_inlined[str(name)] = why
            layers.append(entry)
            continue
        layers.extend(inlined)
        inlined_ids.update(id(layer) for layer in inlined)
        rewrites.inlined.append(name)

    def resolve(history: History) -> History:
        return outputs.get(tuple(history[:3]), history)

    # The outer layers' calls on a nested model's outputs now read the inlined layers' outputs.
    layers = [entry if id(entry) in inlined_ids else _map_entry(entry, resolve) for entry in layers]
    return {
        **config,
        "layers": layers,
        "output_layers": _map_refs(config.get("output_layers"), resolve),
    }


def _inner_functional(entry: dict[str, Any], rewrites: Rewrites) -> tuple[dict[str, Any] | None, str | None]:
    """The nested model's own config as a flat Functional config, or why it cannot be one."""
    inner = entry["config"]
    if entry.get("class_name") == "Sequential" or "input_layers" not in inner:
        inner = sequential_as_functional(inner)
        if isinstance(inner, str):
            return None, inner
    if not isinstance(inner.get("layers"), list):
        return None, "its layers are not a list"
    nested = Rewrites()
    inner = _inline_models(inner, nested)
    if nested.not_inlined:
        which, why = next(iter(nested.not_inlined.items()))
        return None, f"its nested model {which!r} cannot be inlined: {why}"
    rewrites.inlined.extend(nested.inlined)
    if entry["config"].get("trainable") is False:
        inner = {**inner, "layers": [_frozen(layer) for layer in inner["layers"]]}
    return inner, None


def _frozen(entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("class_name") == "InputLayer" or not isinstance(entry.get("config"), dict):
        return entry
    return {**entry, "config": {**entry["config"], "trainable": False}}


def _inline(
    entry: dict[str, Any],
    inner: dict[str, Any],
    outputs: dict[tuple, History],
    taken: set[str],
    rewrites: Rewrites,
) -> tuple[list[dict[str, Any]], str | None]:
    """The nested model's layers, once per call, called on the outer tensors; or why not."""
    model = _entry_name(entry)
    inner_inputs = _refs(inner.get("input_layers"))
    inner_outputs = _refs(inner.get("output_layers"))
    if inner_inputs is None or inner_outputs is None:
        return [], "its inputs or outputs are malformed"
    input_names = [ref[0] for ref in inner_inputs]
    body = [layer for layer in inner["layers"] if _entry_name(layer) not in input_names]
    renamed: dict[str, str] = {}
    for layer in body:
        own = _entry_name(layer)
        if not isinstance(own, str):
            return [], "a layer has no name"
        new = own if own not in taken else f"{model}_{own}"
        suffix = 2
        while new in taken:
            new, suffix = f"{model}_{own}_{suffix}", suffix + 1
        renamed[own] = new
        taken.add(new)
        if new != own:
            rewrites.renamed[own] = new
    node_counts = {_entry_name(layer): len(layer.get("inbound_nodes", [])) for layer in body}
    calls = entry.get("inbound_nodes", [])
    nodes: dict[str, list[Any]] = {_entry_name(layer): [] for layer in body}
    for index, node in enumerate(calls):
        arguments = _call_tensors(node, input_names)
        if isinstance(arguments, str):
            return [], arguments
        # A nested model called on an earlier nested model's output reads its inlined layers.
        by_input = {
            name: outputs.get(tuple(history), history)
            for name, history in zip(input_names, arguments, strict=True)
        }

        def inside(history: History, index: int = index, by_input: dict = by_input) -> History:
            name = history[0]
            if name in by_input:
                return by_input[name]
            if name in renamed:
                return [renamed[name], index * node_counts[name] + history[1], history[2]]
            return history

        for layer in body:
            for inner_node in layer.get("inbound_nodes", []):
                nodes[_entry_name(layer)].append(_map_node(inner_node, inside))
        for position, ref in enumerate(inner_outputs):
            outputs[(model, index, position)] = inside(list(ref))
    inlined = []
    for layer in body:
        own = _entry_name(layer)
        layer_config = {**layer.get("config", {}), "name": renamed[own]}
        inlined.append({**layer, "name": renamed[own], "config": layer_config, "inbound_nodes": nodes[own]})
    return inlined, None


def _call_tensors(node: Any, input_names: list[str]) -> list[History] | str:
    """The outer tensors one call of a nested model passes to its inputs, in input order."""
    count = len(input_names)
    if isinstance(node, list):  # Keras 2: one [name, node, tensor, kwargs] entry per tensor
        found = [list(e[:3]) for e in node if isinstance(e, list) and len(e) >= 3]
        return found if len(found) == count == len(node) else "its call is malformed"
    if not isinstance(node, dict):
        return "its call is malformed"
    args, kwargs = node.get("args", []), dict(node.get("kwargs", {}))
    for key, value in list(kwargs.items()):
        if key == "mask" and isinstance(value, list) and all(v is None for v in value):
            value = None  # a nested model of several inputs is called with a mask per input
        if key in NEUTRAL_CALL_ARGUMENTS and value in NEUTRAL_CALL_ARGUMENTS[key]:
            del kwargs[key]
    if kwargs or len(args) != 1:
        return "it is called with arguments other than its inputs"
    given = args[0]
    if isinstance(given, dict) and given.get("class_name") != "__keras_tensor__":
        given = [given.get(name) for name in input_names]  # inputs passed as a dict
    tensors = given if isinstance(given, list) else [given]
    histories = [_history(t) for t in tensors]
    if len(histories) != count or any(h is None for h in histories):
        return f"it is called on {len(tensors)} values for its {count} inputs"
    return histories


# --- tensor operations and application layers ------------------------------------


def _public_layers(entry: Any, rewrites: Rewrites) -> list[Any]:
    """The entry itself, or the public layers that compute what it computes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return [entry]
    module, cls = entry.get("module"), entry.get("class_name")
    operation = isinstance(module, str) and module.startswith("keras.src.ops")
    if operation and cls in (*ARITHMETIC, *OPERATION_MERGES, *ACTIVATION_OPERATIONS, *OTHER_OPERATIONS):
        replacement = _operation_as_layer(entry)
        if replacement is not None:
            rewrites.record(_operation_text(entry), replacement["class_name"], _entry_name(entry))
            return [replacement]
        return [entry]
    if (module, cls) == LAYER_SCALE:
        replacement = _layer_scale(entry)
        if replacement is not None:
            rewrites.record(f"{cls} layer", "EinsumDense", _entry_name(entry))
            return [replacement]
    if (module, cls) == CUSTOM_SCALE:
        replacement = _custom_scale(entry)
        if replacement is not None:
            rewrites.record(f"{cls} layer", "Rescaling + Add", _entry_name(entry))
            return replacement
    return [entry]


def _operation_as_layer(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The layer computing what a recorded tensor operation computes, or None when there is none."""
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        return None
    args, kwargs = nodes[0].get("args"), nodes[0].get("kwargs")
    if kwargs or not isinstance(args, list) or not args:
        return None
    if entry["class_name"] in ACTIVATION_OPERATIONS or entry["class_name"] in OTHER_OPERATIONS:
        return _one_input_operation(entry, args)
    return _arithmetic(entry, args)


def _one_input_operation(entry: dict[str, Any], args: list[Any]) -> dict[str, Any] | None:
    """An activation function, `-x`, `ops.concatenate` or `ops.reshape` keeping the batch axis."""
    cls, name = entry["class_name"], _entry_name(entry)
    settings = {key: value for key, value in entry["config"].items() if key != "name"}
    if cls == "Concatenate":
        tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else None
        if not tensors or len(tensors) < 2 or not all(_history(t) and _float_tensor(t) for t in tensors):
            return None  # also the boolean masks Keras joins for a masked Concatenate: left to the importer
        axis, shape = settings.get("axis", 0), _shape(tensors[0])
        rank = len(shape) if isinstance(shape, list) else None
        if not isinstance(axis, int) or rank is None or axis % rank == 0:
            return None  # joined along the batch axis: no layer does that
        return _layer("Concatenate", name, {"axis": axis}, [{"args": [tensors], "kwargs": {}}])
    if len(args) != 1 or _history(args[0]) is None or not _float_tensor(args[0]):
        return None
    node = [{"args": [args[0]], "kwargs": {}}]
    if cls in ACTIVATION_OPERATIONS:
        activation, defaults = ACTIVATION_OPERATIONS[cls]
        if settings != defaults:
            return None
        return _layer("Activation", name, {"activation": activation}, node)
    if cls == "Negative":
        return _layer("Rescaling", name, {"scale": -1.0, "offset": 0.0}, node)
    # Reshape: a layer keeps the batch axis, so only a new shape of -1 and then known sizes.
    shape, target = _shape(args[0]), settings.get("newshape")
    if not isinstance(target, list) or len(target) < 2 or target[0] != -1 or not isinstance(shape, list):
        return None
    sizes, known = target[1:], shape[1:]
    if not all(_is_number(size) and size > 0 for size in [*sizes, *known]):
        return None
    if math.prod(sizes) != math.prod(known):
        return None
    return _layer("Reshape", name, {"target_shape": sizes}, node)


def _arithmetic(entry: dict[str, Any], args: list[Any]) -> dict[str, Any] | None:
    """A merge for `x op y` on two tensors of one shape, a Rescaling for `x op number`."""
    if len(args) != 2:
        return None
    cls, name = entry["class_name"], _entry_name(entry)
    tensors = [arg for arg in args if _history(arg) is not None]
    if not all(_float_tensor(t) for t in tensors):
        return None
    if len(tensors) == 2:
        if cls not in OPERATION_MERGES or _shape(args[0]) != _shape(args[1]) or _shape(args[0]) is None:
            return None
        return _layer(OPERATION_MERGES[cls], name, {}, [{"args": [args], "kwargs": {}}])
    number = next((arg for arg in args if _is_number(arg)), None)
    if len(tensors) != 1 or number is None:
        return None
    tensor_first = _history(args[0]) is not None
    if cls == "Add":
        scale, offset = 1.0, number
    elif cls == "Multiply":
        scale, offset = number, 0.0
    elif cls == "Subtract":
        scale, offset = (1.0, -number) if tensor_first else (-1.0, number)
    elif tensor_first and number != 0:  # x / number; number / x has no layer
        scale, offset = 1.0 / number, 0.0
    else:
        return None
    return _layer(
        "Rescaling", name, {"scale": float(scale), "offset": float(offset)},
        [{"args": [tensors[0]], "kwargs": {}}],
    )  # fmt: skip


def _operation_text(entry: dict[str, Any]) -> str:
    """How the operation reads in Python: `x + y`, `x * number` ..."""
    symbol = {"Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "TrueDivide": "/"}
    cls = entry["class_name"]
    args = entry["inbound_nodes"][0]["args"]
    if cls == "Negative":
        return "tensor operation `-x`"
    if cls in ACTIVATION_OPERATIONS or cls in OTHER_OPERATIONS:
        function = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls).lower()
        return f"tensor operation `ops.{function}(...)`"
    if cls in symbol:
        left, right = ("x" if _history(arg) is not None else "number" for arg in args)
        text = f"{left} {symbol[cls]} {'y' if left == right else right}"
    else:
        text = f"ops.{cls.lower()}(x, y)"
    return f"tensor operation `{text}`"


def _layer_scale(entry: dict[str, Any]) -> dict[str, Any] | None:
    """LayerScale(init_values, projection_dim) computes `x * gamma`: an EinsumDense with gamma as kernel."""
    config = entry["config"]
    value, size = config.get("init_values"), config.get("projection_dim")
    if not _is_number(value) or not isinstance(size, int) or isinstance(size, bool):
        return None
    initializer = {"module": "keras.initializers", "class_name": "Constant", "config": {"value": value}}
    settings = {"equation": "...c,c->...c", "output_shape": [size], "kernel_initializer": initializer}
    return _layer("EinsumDense", _entry_name(entry), settings, entry.get("inbound_nodes", []), config)


def _custom_scale(entry: dict[str, Any]) -> list[dict[str, Any]] | None:
    """CustomScaleLayer(scale) computes `a + b * scale`: a Rescaling of b, then an Add."""
    config, nodes = entry["config"], entry.get("inbound_nodes")
    scale = config.get("scale")
    if not _is_number(scale) or not isinstance(nodes, list) or len(nodes) != 1:
        return None
    node = nodes[0]
    args = node.get("args") if isinstance(node, dict) else None
    if not isinstance(args, list) or len(args) != 1 or node.get("kwargs"):
        return None
    pair = args[0]
    if not isinstance(pair, list) or len(pair) != 2 or any(_history(t) is None for t in pair):
        return None
    name = _entry_name(entry)
    scaled_name = f"{name}_rescaling"
    scaled = _layer("Rescaling", scaled_name, {"scale": float(scale), "offset": 0.0},
                    [{"args": [pair[1]], "kwargs": {}}], config)  # fmt: skip
    total = _layer("Add", name, {}, [{"args": [[pair[0], tensor(scaled_name)]], "kwargs": {}}], config)
    return [scaled, total]


def _layer(
    cls: str, name: str, settings: dict[str, Any], nodes: list[Any], like: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A public layer entry; `like` gives the trainable flag and dtype policy of the layer it replaces."""
    config: dict[str, Any] = {"name": name, **settings}
    for key in ("trainable", "dtype"):
        if like is not None and key in like:
            config[key] = like[key]
    return {"module": "keras.layers", "class_name": cls, "config": config, "registered_name": None,
            "name": name, "inbound_nodes": copy.deepcopy(nodes)}  # fmt: skip


# --- saved tensors ------------------------------------------------------------------


def tensor(name: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    """A saved tensor: output `index` of call `node` of layer `name`."""
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, index]}}


def _entry_name(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return None
    config = entry.get("config")
    return entry.get("name") or (config.get("name") if isinstance(config, dict) else None)


def _history(value: Any) -> History | None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        config = value.get("config")
        history = config.get("keras_history") if isinstance(config, dict) else None
        if isinstance(history, list) and len(history) >= 3 and isinstance(history[0], str):
            return history
    return None


def _shape(value: Any) -> Any:
    return value.get("config", {}).get("shape") if isinstance(value, dict) else None


def _float_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("config", {}).get("dtype", "float32") in FLOAT_DTYPES


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _refs(value: Any) -> list[History] | None:
    """A model's input_layers or output_layers as a list of [name, node, tensor]."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, list) and len(v) >= 3 for v in value):
        return None
    return [list(v[:3]) for v in value]


def _map_refs(value: Any, change: Callable[[History], History]) -> Any:
    """input_layers/output_layers with every [name, node, tensor] passed through `change`."""
    if isinstance(value, dict):
        return {key: _map_refs(v, change) for key, v in value.items()}
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return list(change(list(value)))
    if isinstance(value, list):
        return [_map_refs(v, change) for v in value]
    return value


def _map_node(node: Any, change: Callable[[History], History]) -> Any:
    """A saved call with every tensor's history passed through `change` (both Keras 3 and 2 forms)."""
    if isinstance(node, list) and node and all(isinstance(e, list) and len(e) >= 3 for e in node):
        return [[*change(list(e[:3])), *e[3:]] for e in node]  # Keras 2
    return _map_tensors(node, change)


def _map_tensors(value: Any, change: Callable[[History], History]) -> Any:
    history = _history(value)
    if history is not None:
        new = change(list(history[:3]))
        return {**value, "config": {**value["config"], "keras_history": list(new)}}
    if isinstance(value, dict):
        return {key: _map_tensors(v, change) for key, v in value.items()}
    if isinstance(value, list):
        return [_map_tensors(v, change) for v in value]
    return value


def _map_entry(entry: Any, change: Callable[[History], History]) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("inbound_nodes"), list):
        return entry
    return {**entry, "inbound_nodes": [_map_node(node, change) for node in entry["inbound_nodes"]]}
