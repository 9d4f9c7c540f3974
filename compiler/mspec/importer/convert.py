"""Turn a Keras model configuration into a spec document, or say what keeps it from being one.

The configuration is plain data (see `read`): every layer's `class_name`,
`config` and `inbound_nodes`, the model's `input_layers` and `output_layers`.
Each InputLayer becomes an input; each call of a layer that takes several
tensors a merge; maximal chains of one-input calls become branches, or the
head of an output when they end at one; a layer called more than once becomes
a shared layer, used by `{ shared = NAME }` steps.
"""

from __future__ import annotations

import heapq
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..diagnostics import Diagnostic, Severity
from ..layers import REGISTRY
from ..layers.base import ACTIVATIONS, LayerKind
from ..layers.call import make_call
from ..spec.validate import LAYER_NAME_RE
from ..vocabulary import DTYPES, OPTIMIZER_NAMES
from .read import ModelFileError
from .rewrite import MODEL_CLASSES, Rewrites, rewrite, sequential_as_functional
from .values import (
    OBJECT_TABLES,
    OPTIMIZER_DEFAULTS,
    OPTIMIZER_FIXED,
    is_keras_module,
    keras_object,
    object_name,
    same_number,
    same_object,
    short_float,
    unsaved_arguments,
)

# Layers that run Python code of their own: a spec refuses them, so an import reports them.
CODE_LAYERS = ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer")
# Settings Keras saves for every layer that a spec has no key for, with the values that leave them off.
FIXED_SETTINGS: dict[str, Any] = {"renorm_momentum": 0.99, "autocast": True}
# Fields where Keras saves a tuple for an int (kernel_size=3 is saved as [3, 3]): written back as the int.
SIZE_FIELDS = (
    "kernel_size",
    "strides",
    "dilation_rate",
    "pool_size",
    "size",
    "output_padding",
    "padding",
    "cropping",
    "output_size",
)
ACTIVATION_FIELDS = ("activation", "recurrent_activation")
# Call arguments that carry the masks Keras propagates by itself.
MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")
# Call arguments that are harmless at these values (what Keras records for a plain call).
NEUTRAL_ARGUMENTS = {"training": False, "return_attention_scores": False, "use_causal_mask": False}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DEFAULT = object()  # a parameter equal to its default: left out


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


@dataclass(eq=False)
class Chain:
    """A maximal run of one-input calls: a branch, or the head of an output."""

    calls: list[Call]
    name: str = ""
    source: Ref | None = None


def sanitize(text: str, prefix: str = "layer") -> str:
    """Turn any text into a spec name: an identifier that is not a Python keyword."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not name or not name[0].isalpha() or not name[0].isascii():
        name = prefix + ("" if name.startswith("_") else "_") + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def valid_name(text: Any) -> bool:
    """Return whether `text` can be a spec name as it is."""
    return isinstance(text, str) and bool(_NAME_RE.match(text)) and not keyword.iskeyword(text)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Importer:
    """Collects diagnostics while converting one model configuration."""

    def __init__(self, data: dict[str, Any], path: str):
        self.data = data
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.layers: dict[str, Layer] = {}
        self.rewrites = Rewrites()

    # --- reporting ----------------------------------------------------------

    def report(self, code: str, message: str, hint: str | None = None, *, node: str | None = None) -> None:
        severity = Severity.WARNING if code in ("MS408", "MS409", "MS411") else Severity.ERROR
        self.diagnostics.append(Diagnostic(self.path, 1, 1, code, severity, message, hint, node=node))

    def layer_error(self, layer: Layer, code: str, message: str, hint: str | None = None) -> None:
        self.report(code, f"{layer.label}: {message}", hint, node=layer.name)
        layer.role = "bad"

    @property
    def failed(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    # --- the whole model ----------------------------------------------------

    def convert(self) -> dict[str, Any] | None:
        """Return the spec document, or None when errors were reported."""
        config = self.data["config"]
        if self.data.get("class_name") == "Sequential":
            config = self._sequential_as_functional(config)
            if config is None:
                return None
        if not isinstance(config.get("layers"), list):
            raise ModelFileError("not a Keras model configuration: no list of layers")
        config, self.rewrites = rewrite(config)
        self._report_rewrites(self.rewrites)
        self._read_layers(config["layers"])
        inputs = self._refs(config.get("input_layers"), "input_layers")
        outputs = self._refs(config.get("output_layers"), "output_layers")
        # Outputs given as a dict ({"priority": x, ...}): their keys name the outputs.
        output_keys = config.get("output_layers")
        output_keys = list(output_keys) if isinstance(output_keys, dict) else None
        if not inputs or not outputs:
            raise ModelFileError("not a Keras model configuration: no input_layers or output_layers")
        for layer in self.layers.values():
            self._classify(layer)
        for layer in self.layers.values():
            self._read_calls(layer)
        self._check_references(inputs, outputs)
        mask_ops = self._mask_operations(outputs)
        for layer in self.layers.values():
            if layer.role == "op" and layer.name not in mask_ops:
                self.layer_error(
                    layer,
                    "MS404",
                    "a Keras operation applied to tensors (such as `x + y` or a `keras.ops` call) "
                    "cannot be written in a spec",
                    "use the equivalent layer (Add, Multiply, Reshape ...) in the model",
                )
        self._check_masks(mask_ops)
        for layer in self.layers.values():
            if layer.role in ("step", "merge"):
                layer.step = self._step(layer, layer.config, inner=False)
        if self.failed:
            return None
        return Structure(self, inputs, outputs, mask_ops, output_keys).document()

    def _sequential_as_functional(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """Rewrite a Sequential model's config as the Functional config of the same chain."""
        entries = config.get("layers")
        first = entries[0] if isinstance(entries, list) and entries else None
        shape = _dict(self.data.get("build_config")).get("input_shape")
        if not (isinstance(first, dict) and first.get("class_name") == "InputLayer") and not isinstance(
            shape, list
        ):
            self.report(
                "MS406",
                "the Sequential model was never built, so its input shape is unknown",
                "build it (give it a keras.Input or call it once) before saving",
            )
            return None
        functional = sequential_as_functional(config, shape)
        if isinstance(functional, str):
            raise ModelFileError(f"not a Keras model configuration: {functional}")
        return functional

    def _report_rewrites(self, rewrites: Rewrites) -> None:
        """Say what the import wrote differently from the saved model (one warning per kind)."""
        if rewrites.inlined:
            names = rewrites.inlined
            self.report(
                "MS411",
                f"nested model inlined, its layers now layers of the model ({len(names)}: {_listed(names)})"
                + _renames(rewrites.renamed),
                "the rebuilt model has the same layers and weights, without the nesting",
            )
        for (original, replacement), names in rewrites.written_as.items():
            self.report(
                "MS411",
                f"{original} written as {replacement}, which computes the same "
                f"({len(names)}: {_listed(names)})",
                "the rebuilt model keeps the layer names and the weights",
            )

    # --- reading layers and calls -------------------------------------------

    def _read_layers(self, entries: list[Any]) -> None:
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
                raise ModelFileError("not a Keras model configuration: a layer entry has no class_name")
            config = entry.get("config")
            if not isinstance(config, dict):
                raise ModelFileError(
                    f"not a Keras model configuration: layer {position} has no config object"
                )
            name = entry.get("name", config.get("name"))
            if not isinstance(name, str):
                raise ModelFileError(f"not a Keras model configuration: layer {position} has no name")
            if name in self.layers:
                raise ModelFileError(f"not a Keras model configuration: two layers are named {name!r}")
            nodes = entry.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                raise ModelFileError(f"not a Keras model configuration: {name!r} has malformed inbound_nodes")
            layer = Layer(
                name, entry["class_name"], entry.get("module"), entry.get("registered_name"), config, position
            )
            layer.build_config = entry.get("build_config")
            layer.calls = [Call(layer, index, *_parse_node(node, name)) for index, node in enumerate(nodes)]
            self.layers[name] = layer

    def _refs(self, value: Any, what: str) -> list[Ref]:
        if isinstance(value, dict):  # inputs or outputs given as a dict: keep its order
            value = list(value.values())
        if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
            value = [value]  # a single tensor
        if not isinstance(value, list):
            raise ModelFileError(f"not a Keras model configuration: malformed {what}")
        refs = []
        for item in value:
            ref = _history_ref(item)
            if ref is None:
                raise ModelFileError(f"not a Keras model configuration: malformed {what}")
            refs.append(ref)
        return refs

    def _classify(self, layer: Layer) -> None:
        cls, module = layer.class_name, layer.module
        if cls == "InputLayer" and is_keras_module(module):
            layer.role = "input"
            return
        if isinstance(module, str) and module.startswith("keras.src.ops"):
            layer.role = "op"
            return
        if cls in MODEL_CLASSES or "layers" in layer.config:
            why = self.rewrites.not_inlined.get(layer.name, "it is not a model configuration")
            self.layer_error(
                layer,
                "MS402",
                f"a model nested inside the model cannot be inlined: {why}",
                "rebuild the model with the nested model's layers inline",
            )
            return
        if cls in CODE_LAYERS:
            self.layer_error(
                layer,
                "MS403",
                f"{cls} layers run or load code of their own and cannot be written in a spec",
                "replace it by built-in layers",
            )
            return
        custom = not is_keras_module(module) or layer.registered_name not in (None, cls)
        if custom or cls not in REGISTRY:
            where = f" from {module!r}" if custom and isinstance(module, str) else ""
            self.layer_error(
                layer,
                "MS404",
                f"{'custom' if custom else 'unsupported'} layer class {cls}{where}: a spec cannot write it",
                "docs/layers.md lists the layers a spec supports",
            )
            return
        layer.role = "merge" if REGISTRY[cls].is_merge else "step"

    def _read_calls(self, layer: Layer) -> None:
        """Find each call's input tensors, in call order; report arguments a spec cannot write."""
        if layer.role in ("op", "bad"):  # a bad layer is reported once, for what makes it bad
            for call in layer.calls:
                call.inputs = _refs_in(call.args) + _refs_in(call.kwargs)
            return
        if layer.role == "input":
            if layer.calls:
                raise ModelFileError(
                    f"not a Keras model configuration: input {layer.name!r} has inbound nodes"
                )
            return
        names = REGISTRY[layer.class_name].call_arguments if layer.class_name in REGISTRY else ()
        for call in layer.calls:
            kwargs = dict(call.kwargs)
            if names:  # separate arguments, `layer(query, value, key)`, by position or by name
                tensors = list(call.args)
                for position, key in enumerate(names):
                    if key in kwargs:
                        tensors[position : position + 1] = [kwargs.pop(key)]
                inputs = tensors
            elif layer.role == "merge":
                inputs = call.args[0] if len(call.args) == 1 and isinstance(call.args[0], list) else None
            elif len(call.args) == 1 and isinstance(call.args[0], list) and len(call.args[0]) == 1:
                inputs = call.args[0]  # `layer([x])`: Keras unwraps a one-tensor list
            else:
                inputs = call.args if len(call.args) == 1 else None
            if inputs is None or not inputs or not all(isinstance(i, Ref) for i in inputs):
                self.layer_error(
                    layer,
                    "MS407",
                    f"called on {_short(_describe(call.args))}, which a spec cannot write",
                    "a merge takes a list of tensors, any other layer one tensor",
                )
                return
            call.inputs = list(inputs)
            for key, value in kwargs.items():
                if key in MASK_ARGUMENTS:
                    call.masks.extend(_refs_in(value))
                elif value is None or (key in NEUTRAL_ARGUMENTS and value == NEUTRAL_ARGUMENTS[key]):
                    continue
                else:
                    self.layer_error(
                        layer,
                        "MS407",
                        f"called with {key}={_short(_describe(value))}, which a spec cannot write",
                        "a spec step calls its layer on its input alone",
                    )
                    return

    def _check_references(self, inputs: list[Ref], outputs: list[Ref]) -> None:
        for ref in [*inputs, *outputs, *(r for layer in self.layers.values() for call in layer.calls
                                         for r in [*call.inputs, *call.masks])]:  # fmt: skip
            layer = self.layers.get(ref.layer)
            count = 1 if layer is not None and layer.role == "input" else len(layer.calls) if layer else 0
            if layer is None or not 0 <= ref.node < count:
                raise ModelFileError(f"not a Keras model configuration: no tensor {ref.layer}[{ref.node}]")
        if len(set(inputs)) < len(inputs):
            raise ModelFileError("not a Keras model configuration: an input is listed twice")
        used = {ref.layer for layer in self.layers.values() for call in layer.calls for ref in call.inputs}
        for layer in self.layers.values():
            if layer.role == "input" and layer.name in used and Ref(layer.name, 0, 0) not in inputs:
                raise ModelFileError(
                    f"not a Keras model configuration: {layer.name!r} is used but is not a model input"
                )
        for ref in inputs:
            if self.layers[ref.layer].role != "input":
                raise ModelFileError(
                    f"not a Keras model configuration: input {ref.layer!r} is not an InputLayer"
                )

    def _mask_operations(self, outputs: list[Ref]) -> set[str]:
        """Return the operations that only compute masks Keras derives by itself (from mask_zero)."""
        # Keras saves the mask an Embedding(mask_zero=True) computes as a NotEqual operation,
        # passed to later layers as their `mask` (and combined by more operations in merges);
        # a model built from the spec computes the same masks again, so these are left out.
        uses: dict[str, list[tuple[Layer, str]]] = {name: [] for name in self.layers}
        for layer in self.layers.values():
            for call in layer.calls:
                for ref in call.inputs:
                    uses[ref.layer].append((layer, "input"))
                for ref in call.masks:
                    uses[ref.layer].append((layer, "mask"))
        # The tensor each mask is computed from -> the value it is compared with (0, or Masking's mask_value).
        masked = {
            call.inputs[0]: layer.config.get("mask_value", 0)
            for layer in self.layers.values()
            if layer.class_name in REGISTRY and _makes_mask(layer)
            for call in layer.calls
            if call.inputs
        }
        candidates = {
            layer.name
            for layer in self.layers.values()
            if layer.role == "op" and (layer.class_name != "NotEqual" or _is_zero_mask(layer, masked))
        }
        output_layers = {ref.layer for ref in outputs}
        changed = True
        while changed:
            changed = False
            for name in sorted(candidates):
                keep = name not in output_layers and all(
                    how == "mask" or user.name in candidates for user, how in uses[name]
                )
                if not keep:
                    candidates.discard(name)
                    changed = True
        return candidates

    def _check_masks(self, mask_ops: set[str]) -> None:
        for layer in self.layers.values():
            if layer.role not in ("step", "merge"):
                continue
            for call in layer.calls:
                if any(ref.layer not in mask_ops for ref in call.masks):
                    self.layer_error(
                        layer,
                        "MS407",
                        "called with a mask of its own, which a spec cannot write",
                        "only the masks Embedding(mask_zero=True) computes are imported",
                    )
                    break

    # --- layer parameters ---------------------------------------------------

    def _step(self, layer: Layer, config: dict[str, Any], *, inner: bool) -> dict[str, Any] | None:
        """Return the step table for a layer config: `type` and the parameters that are not defaults."""
        kind = REGISTRY[layer.class_name if not inner else config["__class__"]]
        fields = kind.params.model_fields
        for key, refuse in kind.import_refusals.items():
            refusal = refuse(config[key]) if key in config else None
            if refusal is not None:
                self.layer_error(layer, refusal.code, refusal.message, refusal.hint)
                return None
        found: dict[str, Any] = {}
        ok = True
        for key, value in config.items():
            if key in ("name", "__class__"):
                continue
            if key == "dtype":
                if not _float32_policy(value):
                    self.layer_error(
                        layer,
                        "MS406",
                        f"dtype {_short(_describe(value))} cannot be written in a spec",
                        "a spec's layers compute in float32",
                    )
                    ok = False
                continue
            if key in fields:
                converted = self._parameter(layer, kind, key, value, fields[key], config)
                if converted is None:
                    ok = False
                elif converted is not _DEFAULT:
                    found[key] = converted
            elif key in kind.import_derived:
                refusal = kind.import_derived[key](config, value)
                if refusal is not None:
                    self.layer_error(layer, refusal.code, refusal.message, refusal.hint)
                    ok = False
            elif (key in FIXED_SETTINGS and value == FIXED_SETTINGS[key]) or value is None or value is False:
                continue
            elif inner and key == "zero_output_for_mask":
                continue  # set by the wrapper itself
            else:
                self.layer_error(
                    layer,
                    "MS406",
                    f"argument {key}={_short(_describe(value))} cannot be written in a spec",
                    f"{kind.name} in a spec takes the arguments listed in docs/layers.md",
                )
                ok = False
        if not ok:
            return None
        # Required arguments first, then the others in Keras' order, as generated code writes them.
        order = [n for n, f in fields.items() if f.is_required()] + [
            n for n, f in fields.items() if not f.is_required()
        ]
        step = {"type": kind.name, **{name: found[name] for name in order if name in found}}
        try:
            make_call(step)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            self.layer_error(
                layer,
                "MS406",
                f"{where}: {problem['msg']}" if where else problem["msg"],
                "the spec refuses this value",
            )
            return None
        return step

    def _parameter(
        self, layer: Layer, kind: LayerKind, key: str, value: Any, info: Any, config: dict[str, Any]
    ) -> Any:
        """Return a parameter's spec value, `_DEFAULT` to leave it out, or None after reporting."""
        default = None if info.is_required() else info.default
        if key == "layer" and kind.wraps:
            return self._inner(layer, value)
        if key == kind.cell_parameter:
            return self._cells(layer, value)
        if value is None and info.is_required():
            self.layer_error(layer, "MS406", f"{key}=None cannot be written in a spec: {key} is required")
            return None
        if key in kind.import_values:
            value = kind.import_values[key](value)
        if value is None and default is not None and key not in ACTIVATION_FIELDS:
            self.layer_error(
                layer, "MS406", f"{key}=None cannot be written in a spec: a spec has no null here"
            )
            return None
        table = next((t for suffix, t in OBJECT_TABLES.items() if key.endswith(suffix)), None)
        if table is not None:
            name = object_name(value, table) if value is not None else None
            if value is not None and name is None:
                # Not a name with Keras' default settings: a table with its arguments.
                written = keras_object(value, key.rsplit("_", 1)[-1])
                if written is None:
                    self.layer_error(
                        layer,
                        "MS406",
                        f"{key} {_short(_describe(value))} cannot be written in a spec",
                        "a spec writes Keras' own initializers, regularizers and constraints, "
                        "with plain values as arguments",
                    )
                    return None
                return written
            return _DEFAULT if not info.is_required() and same_object(name, default, table) else name
        if key in ACTIVATION_FIELDS:
            name = _activation_name(value)
            if name is None or name not in ACTIVATIONS:
                self.layer_error(
                    layer, "MS406", f"{key} {_short(_describe(value))} cannot be written in a spec",
                    "a spec names activations from keras.activations",
                )  # fmt: skip
                return None
            if not info.is_required() and name == (default or "linear"):
                return _DEFAULT
            return name
        if key == "data_format" and value == "channels_last" and default is None:
            return _DEFAULT  # Keras' own default data format, saved explicitly
        computed = kind.import_defaults.get(key)
        if computed is not None and _equivalent(value, computed(config, layer.build_config)):
            return _DEFAULT  # a default Keras computed from other keys, and saved
        if not info.is_required() and _equivalent(value, default):
            return _DEFAULT
        if key in SIZE_FIELDS and isinstance(value, list):
            flat = _flatten(value)
            if flat and all(v == flat[0] and type(v) is type(flat[0]) for v in flat):
                return flat[0]
        return value

    def _inner(self, layer: Layer, value: Any) -> dict[str, Any] | None:
        """Return the step table of the layer a wrapper wraps."""
        if not isinstance(value, dict) or not isinstance(value.get("config"), dict):
            self.layer_error(layer, "MS406", "its wrapped layer is not a layer configuration")
            return None
        cls = value.get("class_name")
        if not isinstance(cls, str):
            self.layer_error(layer, "MS406", "its wrapped layer has no class_name")
            return None
        custom = not is_keras_module(value.get("module")) or value.get("registered_name") not in (None, cls)
        if cls in MODEL_CLASSES:
            self.layer_error(layer, "MS402", f"it wraps a model ({cls}), which a spec cannot write")
            return None
        if cls in CODE_LAYERS:
            self.layer_error(layer, "MS403", f"it wraps a {cls} layer, which runs code of its own")
            return None
        if custom or cls not in REGISTRY or REGISTRY[cls].is_merge:
            self.layer_error(layer, "MS404", f"it wraps layer class {cls}, which a spec cannot write")
            return None
        return self._step(layer, {**value["config"], "__class__": cls}, inner=True)

    def _cells(self, layer: Layer, value: Any) -> Any:
        """Return the cell table, or list of them, that an RNN or a StackedRNNCells holds."""
        if not isinstance(value, list):
            return self._inner(layer, value)
        tables = [self._inner(layer, cell) for cell in value]
        return None if any(table is None for table in tables) else tables


class Structure:
    """Splits the checked calls into inputs, shared layers, branches, merges and outputs."""

    def __init__(
        self,
        importer: Importer,
        inputs: list[Ref],
        outputs: list[Ref],
        mask_ops: set[str],
        output_keys: list[str] | None = None,
    ):
        self.importer = importer
        self.output_keys = output_keys
        self.layers = {n: layer for n, layer in importer.layers.items() if n not in mask_ops}
        self.inputs = inputs
        self.outputs = outputs
        self.taken: set[str] = set()
        self.uses: dict[Ref, list[Call]] = {}
        for layer in self.layers.values():
            for call in layer.calls:
                for ref in call.inputs:
                    self.uses.setdefault(ref, []).append(call)

    def _claim(self, preferred: str, prefix: str = "layer") -> str:
        name = preferred if valid_name(preferred) else sanitize(preferred, prefix)
        base, suffix = name, 2
        while name in self.taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self.taken.add(name)
        return name

    def _order(self) -> list[Call]:
        """Return every call in dependency order, ties broken by the order Keras saved them in."""
        calls = [c for layer in self.layers.values() if layer.role in ("step", "merge") for c in layer.calls]
        key = {id(c): (c.layer.position, c.node, i) for i, c in enumerate(calls)}
        waiting = {id(c): sum(1 for r in c.inputs if self.layers[r.layer].role != "input") for c in calls}
        ready = [(key[id(c)], c) for c in calls if waiting[id(c)] == 0]
        heapq.heapify(ready)
        order: list[Call] = []
        while ready:
            _, call = heapq.heappop(ready)
            order.append(call)
            for user in self.uses.get(call.ref, []):
                waiting[id(user)] -= 1
                if waiting[id(user)] == 0:
                    heapq.heappush(ready, (key[id(user)], user))
        if len(order) < len(calls):
            raise ModelFileError("not a Keras model configuration: the layers form a cycle")
        return order

    def document(self) -> dict[str, Any] | None:
        importer = self.importer
        for ref in [*self.outputs, *(r for c in self._all_calls() for r in c.inputs)]:
            if ref.tensor != 0:
                layer = importer.layers[ref.layer]
                importer.layer_error(
                    layer, "MS405", f"its output {ref.tensor} is used, but a spec step has exactly one output"
                )
        shared = [
            layer
            for layer in self.layers.values()
            if layer.role in ("step", "merge") and len(layer.calls) > 1
        ]
        for layer in shared:
            if layer.role == "merge":
                importer.layer_error(
                    layer,
                    "MS407",
                    f"the merge layer is called {len(layer.calls)} times; a spec merge is called once",
                )
        if importer.failed:
            return None
        order = self._order()
        output_set = set(self.outputs)

        def is_step(call: Call) -> bool:
            return call.layer.role == "step"

        # A call continues its source's chain when it is the only user of a step's tensor.
        chains: list[Chain] = []
        chain_of: dict[Ref, Chain] = {}
        for call in order:
            if not is_step(call):
                continue
            (source,) = call.inputs
            producer = self._call(source)
            if (
                producer is not None
                and is_step(producer)
                and self.uses[source] == [call]
                and source not in output_set
            ):
                chain = chain_of.pop(source)
            else:
                chain = Chain([], source=source)
                chains.append(chain)
            chain.calls.append(call)
            chain_of[call.ref] = chain

        # Names: outputs keep the names Keras gave them, then inputs, merges, shared layers, branches.
        owner: dict[Ref, str] = {}
        heads: dict[int, Chain] = {}  # output index -> the chain that is its head
        for index, ref in enumerate(self.outputs):
            chain = chain_of.get(ref)
            if chain is not None and chain not in heads.values():
                heads[index] = chain
                chain.name = self._claim(self._output_name(index, ref), "output")
                owner[ref] = chain.name
        input_names = {}
        for ref in self.inputs:
            input_names[ref.layer] = owner[ref] = self._claim(ref.layer, "input")
        merges = [c for c in order if c.layer.role == "merge"]
        for call in merges:
            owner[call.ref] = self._claim(call.layer.name, "merge")
        shared_names = {layer.name: self._claim(layer.name, "shared") for layer in shared}
        for chain in chains:
            if not chain.name:
                last = chain.calls[-1]
                base = last.layer.name if len(last.layer.calls) == 1 else f"{last.layer.name}_{last.node + 1}"
                chain.name = self._claim(base, "branch")
                owner[chain.calls[-1].ref] = chain.name

        document: dict[str, Any] = {
            "model": {"name": sanitize(str(importer.data["config"].get("name") or "model"), "model")}
        }
        if self.output_keys is not None:
            document["model"]["outputs_as"] = "dict"
        document["inputs"] = {}
        for ref in self.inputs:
            entry = self._input(self.layers[ref.layer], input_names[ref.layer])
            if entry is None:
                return None
            document["inputs"][input_names[ref.layer]] = entry
        if shared:
            document["shared"] = {shared_names[layer.name]: _named(layer) for layer in shared}

        def steps(chain: Chain) -> list[dict[str, Any]]:
            return [
                {"shared": shared_names[c.layer.name]} if c.layer.name in shared_names else _named(c.layer)
                for c in chain.calls
            ]

        branches = {
            c.name: {"from": owner[c.source], "layers": steps(c)} for c in chains if c not in heads.values()
        }
        if branches:
            document["branches"] = branches
        if merges:
            document["merges"] = {
                owner[call.ref]: {
                    "type": call.layer.step["type"],
                    "from": [owner[r] for r in call.inputs],
                    **{k: v for k, v in call.layer.step.items() if k != "type"},
                    **({"name": call.layer.name} if LAYER_NAME_RE.match(call.layer.name) else {}),
                }
                for call in merges
            }
        document["outputs"] = {}
        names = []
        for index, ref in enumerate(self.outputs):
            if index in heads:
                chain = heads[index]
                name, entry = chain.name, {"from": owner[chain.source], "layers": steps(chain)}
            else:
                # A merge, an input or another output's tensor: an output without a head,
                # which a built model carries through an Identity layer.
                preferred = self._output_name(index, ref) if self.output_keys else f"{ref.layer}_output"
                name, entry = self._claim(preferred, "output"), {"from": owner[ref]}
                importer.report(
                    "MS409",
                    f"output {index} of the model is {owner[ref]!r} itself; imported as output {name!r} "
                    "without a head, which a built model passes through an Identity layer",
                    node=ref.layer,
                )
            document["outputs"][name] = entry
            names.append(name)
        keras_names = self.output_keys or [ref.layer for ref in self.outputs]
        Training(importer, names, keras_names).apply(document)
        for name, entry in document["outputs"].items():
            keys = ("from", "layers", "loss", "loss_weight", "metrics")
            document["outputs"][name] = {k: entry[k] for k in keys if k in entry}
        return document

    def _output_name(self, index: int, ref: Ref) -> str:
        """The Keras name of output `index`: its key when the outputs are a dict, else its layer's name."""
        return self.output_keys[index] if self.output_keys else ref.layer

    def _all_calls(self) -> list[Call]:
        return [c for layer in self.layers.values() for c in layer.calls]

    def _call(self, ref: Ref) -> Call | None:
        layer = self.layers[ref.layer]
        return None if layer.role == "input" else layer.calls[ref.node]

    def _input(self, layer: Layer, name: str) -> dict[str, Any] | None:
        importer, config = self.importer, layer.config
        shape = config.get("batch_shape", config.get("batch_input_shape"))
        if not isinstance(shape, list) or not shape:
            importer.layer_error(layer, "MS406", "the input has no shape", "give keras.Input a shape")
            return None
        if shape[0] is not None:
            importer.layer_error(
                layer,
                "MS406",
                f"a fixed batch size ({shape[0]}) cannot be written in a spec",
                "a spec's inputs take any batch size",
            )
            return None
        dims: list[Any] = []
        for axis, dim in enumerate(shape[1:], start=1):
            if dim is None:
                # TOML has no null: an unknown size gets a name of its own (equal to no other).
                dims.append(f"{name}_dim{axis}")
            elif isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
                dims.append(dim)
            else:
                importer.layer_error(layer, "MS406", f"dimension {_short(dim)} cannot be written in a spec")
                return None
        entry: dict[str, Any] = {"shape": dims}
        dtype = config.get("dtype", "float32")
        if isinstance(dtype, dict):
            dtype = _dict(dtype.get("config")).get("name")
        if dtype not in DTYPES:
            importer.layer_error(layer, "MS406", f"dtype {_short(dtype)} cannot be written in a spec")
            return None
        if dtype != "float32":
            entry["dtype"] = dtype
        for flag in ("sparse", "ragged", "optional"):
            if config.get(flag):
                importer.layer_error(layer, "MS406", f"a {flag} input cannot be written in a spec")
                return None
        return entry


class Training:
    """Carries compile_config (optimizer, losses, loss weights, metrics) into the spec."""

    # What a spec cannot hold (a loss object, a learning-rate schedule ...) is left out
    # with a warning (MS408): the model itself still imports.

    def __init__(self, importer: Importer, names: list[str], keras_names: list[str]):
        self.importer = importer
        self.names = names
        self.keras_names = keras_names

    def warn(self, message: str, hint: str | None = None) -> None:
        self.importer.report("MS408", message, hint)

    def apply(self, document: dict[str, Any]) -> None:
        config = self.importer.data.get("compile_config")
        if not isinstance(config, dict) or not config:
            return  # never compiled: Keras saves no compile_config, or an empty one
        outputs = document["outputs"]
        compile_section: dict[str, Any] = {"optimizer": self._optimizer(config.get("optimizer"))}
        for key, spec_key, check in (("loss", "loss", self._loss), ("metrics", "metrics", self._metrics)):
            value = config.get(key)
            if value is None:
                continue
            per_output = self._per_output(value, key)
            if per_output is None:  # one value for every output
                converted = check(value)
                if converted is None:
                    continue
                if len(self.names) == 1:
                    outputs[self.names[0]][spec_key] = converted
                else:
                    compile_section[spec_key] = converted
                continue
            for name, item in per_output.items():
                converted = check(item) if item is not None else None
                if converted:
                    outputs[name][spec_key] = converted
        weights = config.get("loss_weights")
        if weights is not None:
            for name, weight in (self._per_output(weights, "loss_weights") or {}).items():
                if isinstance(weight, int | float) and not isinstance(weight, bool) and weight >= 0:
                    outputs[name]["loss_weight"] = float(weight)
                elif weight is not None:
                    self.warn(f"loss weight {_short(weight)} for output {name!r} is left out")
        if config.get("weighted_metrics"):
            self.warn("weighted_metrics are left out: a spec has no key for them")
        document["compile"] = compile_section

    def _per_output(self, value: Any, what: str) -> dict[str, Any] | None:
        """Split a per-output dict or list by spec output name; None for one value for all outputs."""
        if isinstance(value, dict) and "class_name" not in value:
            result = {}
            for key, item in value.items():
                if key in self.keras_names:
                    result[self.names[self.keras_names.index(key)]] = item
                else:
                    self.warn(f"{what} for {key!r}, which is not an output of the model, are left out")
            return result
        if what == "metrics" and isinstance(value, list) and not any(isinstance(v, list) for v in value):
            return None
        if isinstance(value, list):
            if len(value) == len(self.names):
                return dict(zip(self.names, value, strict=True))
            self.warn(f"{what} {_short(value)} do not match the model's {len(self.names)} outputs: left out")
            return {}
        return None

    def _loss(self, value: Any) -> Any:
        written = keras_object(value, "loss")
        if written is None:
            self.warn(
                f"loss {_short(_describe(value))} is left out",
                "a spec writes Keras' own losses, with plain values as arguments",
            )
        self._unsaved(value, "loss")
        return written

    def _unsaved(self, value: Any, family: str) -> None:
        """Warn about constructor arguments Keras did not save (Huber's delta): the spec has the default."""
        missing = unsaved_arguments(value, family)
        if missing:
            self.warn(
                f"{family} {value['class_name']}: Keras saved no {', '.join(missing)}, so the spec has "
                "Keras' default",
                "set it in the spec if the model was compiled with another value",
            )

    def _metrics(self, value: Any) -> list[Any] | None:
        items = value if isinstance(value, list) else [value]
        kept = []
        for item in items:
            written = keras_object(item, "metric")
            if written is not None:
                kept.append(written)
                self._unsaved(item, "metric")
            else:
                self.warn(
                    f"metric {_short(_describe(item))} is left out",
                    "a spec writes Keras' own metrics, with plain values as arguments",
                )
        return kept or None

    def _optimizer(self, value: Any) -> Any:
        if value is None:
            return "adam"
        if isinstance(value, str):
            if value.lower() in OPTIMIZER_NAMES:
                return value.lower()
            self.warn(f"optimizer {value!r} is left out: adam is used instead")
            return "adam"
        cls = value.get("class_name") if isinstance(value, dict) else None
        cls = cls if isinstance(cls, str) else None
        config = value.get("config") if isinstance(value, dict) else None
        if (
            cls not in OPTIMIZER_DEFAULTS
            or not isinstance(config, dict)
            or not is_keras_module(value.get("module"))
        ):
            self.warn(f"optimizer {_short(_describe(value))} is left out: adam is used instead")
            return "adam"
        defaults = OPTIMIZER_DEFAULTS[cls]
        settings: dict[str, Any] = {}
        for key, setting in config.items():
            if key == "name":
                continue
            if key in defaults:
                if isinstance(setting, dict):
                    self.warn(
                        f"optimizer {key} {_short(_describe(setting))} is left out: the default is used"
                    )
                elif not (setting is None and defaults[key] is None) and not same_number(
                    setting, defaults[key]
                ):
                    if setting is None:
                        self.warn(f"optimizer {key}=None is left out: the default is used")
                    else:
                        settings[key] = short_float(setting)
            elif key in OPTIMIZER_FIXED:
                if not same_number(setting, OPTIMIZER_FIXED[key]):
                    self.warn(
                        f"optimizer setting {key}={_short(setting)} is left out: a spec has no key for it"
                    )
            elif setting is not None and setting is not False:
                self.warn(f"optimizer setting {key}={_short(setting)} is left out: a spec has no key for it")
        if not settings:
            return cls.lower()
        return {"type": cls, **{k: settings[k] for k in defaults if k in settings}}


# --- helpers ------------------------------------------------------------------


def _named(layer: Layer) -> dict[str, Any]:
    """A layer's step table with its Keras name (names equal to the generated ones are dropped later)."""
    if layer.step is None or not LAYER_NAME_RE.match(layer.name):
        return layer.step  # a name a spec cannot give: the rebuilt layer gets the derived one
    return {**layer.step, "name": layer.name}


def _listed(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _renames(renamed: dict[str, str], limit: int = 3) -> str:
    if not renamed:
        return ""
    shown = ", ".join(f"{old!r} as {new!r}" for old, new in list(renamed.items())[:limit])
    more = f" and {len(renamed) - limit} more" if len(renamed) > limit else ""
    return f"; layers named like one of the model's own renamed: {shown}{more}"


def _dict(value: Any) -> dict[str, Any]:
    """Return `value` when it is a dict, else an empty one: saved data may hold anything anywhere."""
    return value if isinstance(value, dict) else {}


def _history_ref(item: Any) -> Ref | None:
    """Return the Ref of a saved tensor: `{"config": {"keras_history": [...]}}` or `[name, node, tensor]`."""
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        item = _dict(item.get("config")).get("keras_history")
    if (
        isinstance(item, list)
        and len(item) >= 3
        and isinstance(item[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in item[1:3])
    ):
        return Ref(item[0], item[1], item[2])
    return None


def _convert(value: Any) -> Any:
    """Replace every saved tensor in a call's arguments by its Ref."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            ref = _history_ref(value)
            if ref is None:
                raise ModelFileError("not a Keras model configuration: a tensor has no keras_history")
            return ref
        return {k: _convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert(v) for v in value]
    return value


def _parse_node(node: Any, layer: str) -> tuple[list[Any], dict[str, Any]]:
    """Return a saved call's (args, kwargs), tensors as Refs; Keras 2's list form included."""
    if (
        isinstance(node, dict)
        and isinstance(node.get("args", []), list)
        and isinstance(node.get("kwargs", {}), dict)
    ):
        return _convert(node.get("args", [])), _convert(node.get("kwargs", {}))
    if isinstance(node, list) and node and all(isinstance(e, list) and len(e) >= 3 for e in node):
        # Keras 2: [[name, node, tensor, kwargs], ...], one entry per input tensor.
        refs = [_history_ref(e) for e in node]
        if any(r is None for r in refs):
            raise ModelFileError(f"not a Keras model configuration: malformed inbound node of {layer!r}")
        kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
        kwargs = {
            k: (_history_ref(v) or _convert(v)) if isinstance(v, list) else _convert(v)
            for k, v in kwargs.items()
        }
        return ([refs[0]] if len(refs) == 1 else [refs]), kwargs
    raise ModelFileError(f"not a Keras model configuration: malformed inbound node of {layer!r}")


def _refs_in(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs_in(v)]
    return []


def _describe(value: Any) -> Any:
    """Return a readable form of saved data: tensors by layer name, Keras objects by class name."""
    if isinstance(value, Ref):
        return f"<tensor {value.layer}>"
    if isinstance(value, list):
        return [_describe(v) for v in value]
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            config = value.get("config")
            inner = f"({_short(config, 50)})" if config else ""
            return f"{value['class_name']}{inner}"
        return {k: _describe(v) for k, v in value.items()}
    return value


def _is_zero_mask(layer: Layer, masked: dict[Ref, Any]) -> bool:
    """Return whether an operation is `not_equal(x, 0)` on the input of an Embedding(mask_zero=True),
    or `not_equal(x, mask_value)` on the input of a Masking layer."""
    return (
        any(
            len(call.args) == 2
            and isinstance(call.args[0], Ref)
            and call.args[0] in masked
            and call.args[1] == masked[call.args[0]]
            for call in layer.calls
        )
        and len(layer.calls) == 1
    )


def _makes_mask(layer: Layer) -> bool:
    """Whether the layer computes a mask Keras passes on by itself (Embedding(mask_zero=True))."""
    makes_mask = REGISTRY[layer.class_name].makes_mask
    return makes_mask is not None and makes_mask(layer.config)


def _float32_policy(value: Any) -> bool:
    if value is None or value == "float32":
        return True
    return (
        isinstance(value, dict)
        and value.get("class_name") in ("DTypePolicy", "Policy")
        and _dict(value.get("config")).get("name") == "float32"
    )


def _activation_name(value: Any) -> str | None:
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    # Keras saves a built-in activation function as {"class_name": "function", "config": "relu", ...}.
    is_function = isinstance(value, dict) and value.get("class_name") == "function"
    if is_function and isinstance(value.get("config"), str) and value.get("module") in ("builtins", None):
        return value["config"]
    return None


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _equivalent(value: Any, default: Any) -> bool:
    """Return whether a saved value means the default: `[1, 1]` is `1`, `[-1]` is `-1`."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    if isinstance(value, list) and not isinstance(default, list) and default is not None:
        flat = _flatten(value)
        return bool(flat) and all(_equivalent(v, default) for v in flat)
    if isinstance(value, list) and isinstance(default, list):
        return len(value) == len(default) and all(
            _equivalent(a, b) for a, b in zip(value, default, strict=True)
        )
    return value == default and (value is None) == (default is None)
