"""Turn a Keras model configuration into a spec document, or say what keeps it from being one.

The configuration is plain data (see `read`): every layer's `class_name`,
`config` and `inbound_nodes`, the model's `input_layers` and `output_layers`.
The import rewrites it into one flat graph of public layers (`rewrite`), reads
each layer and each of its calls (`keras_format`), decides what each layer
becomes (an input, a step, a merge, or a mask Keras computes by itself),
writes each layer's step table (`layer_steps`), lays the calls out as a spec
(`structure`) and adds the compile settings (`training`).
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import (
    IMPORT_CODE_LAYER,
    IMPORT_NESTED_MODEL,
    IMPORT_REWRITTEN_LAYER,
    IMPORT_UNEXPRESSIBLE_CALL,
    IMPORT_UNEXPRESSIBLE_SETTING,
    IMPORT_UNSUPPORTED_LAYER,
)
from ..layers import REGISTRY
from .compile_settings import CompileSettings
from .keras_format import (
    CODE_LAYERS,
    Call,
    Layer,
    Ref,
    as_dict,
    describe,
    history_ref,
    parse_node,
    refs_in,
    short,
)
from .layer_steps import StepWriter
from .read import ModelFileError
from .reporter import Reporter
from .rewrite import MODEL_CLASSES, Rewrites, rewrite, sequential_as_functional
from .structure import Structure, sanitize
from .values import is_keras_module

# Call arguments that carry the masks Keras propagates by itself.
MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")
# Call arguments that are harmless at these values (what Keras records for a plain call).
NEUTRAL_ARGUMENTS = {"training": False, "return_attention_scores": False, "use_causal_mask": False}

# `sanitize` is defined with the other spec names, in `structure`; it is imported from here too.
__all__ = ["Importer", "sanitize"]


class Importer:
    """Converts one model configuration into a spec document, collecting diagnostics on the way."""

    def __init__(self, data: dict[str, Any], path: str):
        self.data = data
        self.path = path
        self.reporter = Reporter(path)
        self.step_writer = StepWriter(self.reporter)
        self.layers: dict[str, Layer] = {}
        self.rewrites = Rewrites()

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.reporter.diagnostics

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
                self.reporter.layer_error(
                    layer,
                    IMPORT_UNSUPPORTED_LAYER,
                    "a Keras operation applied to tensors (such as `x + y` or a `keras.ops` call) "
                    "cannot be written in a spec",
                    "use the equivalent layer (Add, Multiply, Reshape ...) in the model",
                )
        self._check_masks(mask_ops)
        for layer in self.layers.values():
            if layer.role in ("step", "merge"):
                layer.step = self.step_writer.step(layer, layer.config, inner=False)
        if self.reporter.failed:
            return None
        structure = Structure(self.reporter, self.layers, inputs, outputs, mask_ops, output_keys)
        document = structure.document(sanitize(str(self.data["config"].get("name") or "model"), "model"))
        if document is None:
            return None
        settings = CompileSettings(self.reporter, structure.output_names, structure.keras_output_names)
        settings.apply(document, self.data.get("compile_config"))
        return document

    def _sequential_as_functional(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """Rewrite a Sequential model's config as the Functional config of the same chain."""
        entries = config.get("layers")
        first = entries[0] if isinstance(entries, list) and entries else None
        shape = as_dict(self.data.get("build_config")).get("input_shape")
        if not (isinstance(first, dict) and first.get("class_name") == "InputLayer") and not isinstance(
            shape, list
        ):
            self.reporter.report(
                IMPORT_UNEXPRESSIBLE_SETTING,
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
            self.reporter.report(
                IMPORT_REWRITTEN_LAYER,
                f"nested model inlined, its layers now layers of the model ({len(names)}: {_listed(names)})"
                + _renames(rewrites.renamed),
                "the rebuilt model has the same layers and weights, without the nesting",
            )
        for (original, replacement), names in rewrites.written_as.items():
            self.reporter.report(
                IMPORT_REWRITTEN_LAYER,
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
            layer.calls = [Call(layer, index, *parse_node(node, name)) for index, node in enumerate(nodes)]
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
            ref = history_ref(item)
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
            self.reporter.layer_error(
                layer,
                IMPORT_NESTED_MODEL,
                f"a model nested inside the model cannot be inlined: {why}",
                "rebuild the model with the nested model's layers inline",
            )
            return
        if cls in CODE_LAYERS:
            self.reporter.layer_error(
                layer,
                IMPORT_CODE_LAYER,
                f"{cls} layers run or load code of their own and cannot be written in a spec",
                "replace it by built-in layers",
            )
            return
        custom = not is_keras_module(module) or layer.registered_name not in (None, cls)
        if custom or cls not in REGISTRY:
            where = f" from {module!r}" if custom and isinstance(module, str) else ""
            self.reporter.layer_error(
                layer,
                IMPORT_UNSUPPORTED_LAYER,
                f"{'custom' if custom else 'unsupported'} layer class {cls}{where}: a spec cannot write it",
                "docs/layers.md lists the layers a spec supports",
            )
            return
        layer.role = "merge" if REGISTRY[cls].is_merge else "step"

    def _read_calls(self, layer: Layer) -> None:
        """Find each call's input tensors, in call order; report arguments a spec cannot write."""
        if layer.role in ("op", "bad"):  # a bad layer is reported once, for what makes it bad
            for call in layer.calls:
                call.inputs = refs_in(call.args) + refs_in(call.kwargs)
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
                self.reporter.layer_error(
                    layer,
                    IMPORT_UNEXPRESSIBLE_CALL,
                    f"called on {short(describe(call.args))}, which a spec cannot write",
                    "a merge takes a list of tensors, any other layer one tensor",
                )
                return
            call.inputs = list(inputs)
            for key, value in kwargs.items():
                if key in MASK_ARGUMENTS:
                    call.masks.extend(refs_in(value))
                elif value is None or (key in NEUTRAL_ARGUMENTS and value == NEUTRAL_ARGUMENTS[key]):
                    continue
                else:
                    self.reporter.layer_error(
                        layer,
                        IMPORT_UNEXPRESSIBLE_CALL,
                        f"called with {key}={short(describe(value))}, which a spec cannot write",
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
                    self.reporter.layer_error(
                        layer,
                        IMPORT_UNEXPRESSIBLE_CALL,
                        "called with a mask of its own, which a spec cannot write",
                        "only the masks Embedding(mask_zero=True) computes are imported",
                    )
                    break


def _listed(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _renames(renamed: dict[str, str], limit: int = 3) -> str:
    if not renamed:
        return ""
    shown = ", ".join(f"{old!r} as {new!r}" for old, new in list(renamed.items())[:limit])
    more = f" and {len(renamed) - limit} more" if len(renamed) > limit else ""
    return f"; layers named like one of the model's own renamed: {shown}{more}"


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
