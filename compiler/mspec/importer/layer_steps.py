"""Write one Keras layer's saved config as a spec step table: its type and the parameters it needs.

A parameter equal to its default is left out, so the step reads like a
hand-written one; a value a spec cannot hold is reported (MS402-MS406) naming
the layer. Wrappers and recurrent layers hold the step table of the layer or
cells they wrap.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..diagnostics.rules import (
    IMPORT_CODE_LAYER,
    IMPORT_NESTED_MODEL,
    IMPORT_UNEXPRESSIBLE_SETTING,
    IMPORT_UNSUPPORTED_LAYER,
)
from ..layers import REGISTRY
from ..layers.base import ACTIVATIONS, LayerKind
from ..layers.call import make_call
from .keras_format import CODE_LAYERS, Layer, as_dict, describe, short
from .reporter import Reporter
from .rewrite import MODEL_CLASSES
from .values import OBJECT_TABLES, is_keras_module, keras_object, object_name, same_object

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
_DEFAULT = object()  # a parameter equal to its default: left out


class StepWriter:
    """Converts layer configs into step tables, reporting what a spec cannot write."""

    def __init__(self, reporter: Reporter):
        self.reporter = reporter

    def step(self, layer: Layer, config: dict[str, Any], *, inner: bool) -> dict[str, Any] | None:
        """Return the step table for a layer config: `type` and the parameters that are not defaults."""
        kind = REGISTRY[layer.class_name if not inner else config["__class__"]]
        fields = kind.params.model_fields
        for key, refuse in kind.import_refusals.items():
            refusal = refuse(config[key]) if key in config else None
            if refusal is not None:
                self.reporter.layer_error(layer, refusal.rule, refusal.message, refusal.hint)
                return None
        found: dict[str, Any] = {}
        ok = True
        for key, value in config.items():
            if key in ("name", "__class__"):
                continue
            if key == "dtype":
                if not _float32_policy(value):
                    self.reporter.layer_error(
                        layer,
                        IMPORT_UNEXPRESSIBLE_SETTING,
                        f"dtype {short(describe(value))} cannot be written in a spec",
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
                    self.reporter.layer_error(layer, refusal.rule, refusal.message, refusal.hint)
                    ok = False
            elif (key in FIXED_SETTINGS and value == FIXED_SETTINGS[key]) or value is None or value is False:
                continue
            elif inner and key == "zero_output_for_mask":
                continue  # set by the wrapper itself
            else:
                self.reporter.layer_error(
                    layer,
                    IMPORT_UNEXPRESSIBLE_SETTING,
                    f"argument {key}={short(describe(value))} cannot be written in a spec",
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
            self.reporter.layer_error(
                layer,
                IMPORT_UNEXPRESSIBLE_SETTING,
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
            self.reporter.layer_error(
                layer,
                IMPORT_UNEXPRESSIBLE_SETTING,
                f"{key}=None cannot be written in a spec: {key} is required",
            )
            return None
        if key in kind.import_values:
            value = kind.import_values[key](value)
        if value is None and default is not None and key not in ACTIVATION_FIELDS:
            self.reporter.layer_error(
                layer,
                IMPORT_UNEXPRESSIBLE_SETTING,
                f"{key}=None cannot be written in a spec: a spec has no null here",
            )
            return None
        table = next((t for suffix, t in OBJECT_TABLES.items() if key.endswith(suffix)), None)
        if table is not None:
            name = object_name(value, table) if value is not None else None
            if value is not None and name is None:
                # Not a name with Keras' default settings: a table with its arguments.
                written = keras_object(value, key.rsplit("_", 1)[-1])
                if written is None:
                    self.reporter.layer_error(
                        layer,
                        IMPORT_UNEXPRESSIBLE_SETTING,
                        f"{key} {short(describe(value))} cannot be written in a spec",
                        "a spec writes Keras' own initializers, regularizers and constraints, "
                        "with plain values as arguments",
                    )
                    return None
                return written
            return _DEFAULT if not info.is_required() and same_object(name, default, table) else name
        if key in ACTIVATION_FIELDS:
            name = _activation_name(value)
            if name is None or name not in ACTIVATIONS:
                self.reporter.layer_error(
                    layer,
                    IMPORT_UNEXPRESSIBLE_SETTING,
                    f"{key} {short(describe(value))} cannot be written in a spec",
                    "a spec names activations from keras.activations",
                )
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
            self.reporter.layer_error(
                layer, IMPORT_UNEXPRESSIBLE_SETTING, "its wrapped layer is not a layer configuration"
            )
            return None
        cls = value.get("class_name")
        if not isinstance(cls, str):
            self.reporter.layer_error(
                layer, IMPORT_UNEXPRESSIBLE_SETTING, "its wrapped layer has no class_name"
            )
            return None
        custom = not is_keras_module(value.get("module")) or value.get("registered_name") not in (None, cls)
        if cls in MODEL_CLASSES:
            self.reporter.layer_error(
                layer, IMPORT_NESTED_MODEL, f"it wraps a model ({cls}), which a spec cannot write"
            )
            return None
        if cls in CODE_LAYERS:
            self.reporter.layer_error(
                layer, IMPORT_CODE_LAYER, f"it wraps a {cls} layer, which runs code of its own"
            )
            return None
        if custom or cls not in REGISTRY or REGISTRY[cls].is_merge:
            self.reporter.layer_error(
                layer, IMPORT_UNSUPPORTED_LAYER, f"it wraps layer class {cls}, which a spec cannot write"
            )
            return None
        return self.step(layer, {**value["config"], "__class__": cls}, inner=True)

    def _cells(self, layer: Layer, value: Any) -> Any:
        """Return the cell table, or list of them, that an RNN or a StackedRNNCells holds."""
        if not isinstance(value, list):
            return self._inner(layer, value)
        tables = [self._inner(layer, cell) for cell in value]
        return None if any(table is None for table in tables) else tables


def _float32_policy(value: Any) -> bool:
    if value is None or value == "float32":
        return True
    return (
        isinstance(value, dict)
        and value.get("class_name") in ("DTypePolicy", "Policy")
        and as_dict(value.get("config")).get("name") == "float32"
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
