"""Parameter values as Keras sees them, so that two ways of writing the same layer compare equal.

A layer's parameters are pydantic models with Keras' own defaults, so a
parameter left out and one written as its default already have the same
effective value. What is left to make equal:

- names of Keras objects (initializers, regularizers, constraints, losses) in
  any of the spellings Keras resolves to one class: "he_normal", "HeNormal",
  { type = "HeNormal" };
- a size given once for every axis: `kernel_size = 3` and `[3, 3]` (only for
  the parameters where Keras repeats one number per axis, BROADCAST);
- a default Keras computes from another parameter (a pooling layer's strides
  are its pool size): the layer kind's `import_defaults` say which; and
  `data_format` unset, which Keras reads as "channels_last" (as mspec's shape
  rules do).

`canonical` gives a hashable value for the comparisons, and `display` shows
one as a spec (JSON) would write it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from ..layers.base import KerasNamed, LayerParams
from ..layers.call import LayerCall
from ..vocabulary import KerasObject, class_of

SIMPLE = (str, int, float, bool, type(None))
# Parameters where one integer stands for the same integer on every axis (Keras' normalize_tuple).
BROADCAST = frozenset(
    {"kernel_size", "strides", "dilation_rate", "pool_size", "output_padding", "size", "cropping", "padding"}
)


@dataclass(frozen=True)
class CallValue:
    """A layer call as a parameter value (a wrapper's `layer`): its kind and effective parameters."""

    kind: str
    params: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ObjectValue:
    """A Keras object written as a table with arguments: { type = "L2", l2 = 0.01 }."""

    type: str
    args: tuple[tuple[str, Any], ...]


@cache
def _families(params_type: type[LayerParams]) -> dict[str, str]:
    """The parameters of a layer kind that name a Keras object, with the family each names."""
    families = {}
    for name, field in params_type.model_fields.items():
        named = next((m for m in field.metadata if isinstance(m, KerasNamed)), None)
        if named is not None:
            families[name] = named.family
    return families


def keras_object(family: str, value: Any) -> Any:
    """A Keras object's name or table, as the class (and arguments) Keras makes of it."""
    if isinstance(value, KerasObject):
        if not value.args:
            return value.type
        return ObjectValue(value.type, tuple((name, canonical(arg)) for name, arg in sorted(value.args)))
    if isinstance(value, str):
        return class_of(family, value) or value.lower()
    return canonical(value)


def canonical(value: Any) -> Any:
    """A hashable value equal for every spelling of the same Keras value (lists as tuples)."""
    if isinstance(value, SIMPLE):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return value
    if isinstance(value, list | tuple):
        return tuple(canonical(item) for item in value)
    if isinstance(value, LayerCall):
        return call_signature(value)
    if isinstance(value, KerasObject):
        return keras_object(value.family, value)
    if isinstance(value, BaseModel):
        return tuple((name, canonical(getattr(value, name))) for name in type(value).model_fields)
    if isinstance(value, dict):
        return tuple(sorted((str(key), canonical(item)) for key, item in value.items()))
    return repr(value)


def effective(call: LayerCall) -> dict[str, Any]:
    """Every parameter of a layer call, defaults included, as canonical values (plus its Keras `name`)."""
    params = call.params
    families = _families(type(params))
    values: dict[str, Any] = {}
    for name in type(params).model_fields:
        value = getattr(params, name)
        if name in families:
            values[name] = keras_object(families[name], value)
        elif type(value) in SIMPLE and not (type(value) is float and math.isnan(value)):
            values[name] = value
        else:
            values[name] = canonical(value)
    if values.get("data_format", "") is None:
        values["data_format"] = "channels_last"  # Keras' image_data_format, as mspec's shapes assume
    for name, default in call.kind.import_defaults.items():
        if values.get(name) is None:
            try:
                derived = default(values, None)
            except Exception:  # a default computed from what a saved model holds, not a spec
                continue
            if derived is not None and isinstance(derived, (*SIMPLE, list, tuple)):
                values[name] = canonical(derived)
    if call.name is not None:
        values["name"] = call.name
    return values


def call_signature(call: LayerCall) -> CallValue:
    """A hashable signature of a layer call: its kind and every effective parameter."""
    return CallValue(call.kind.name, tuple(effective(call).items()))


def same_value(name: str, old: Any, new: Any) -> bool:
    """Whether two canonical values of parameter `name` are the same for Keras."""
    if old == new:
        return True
    if name in BROADCAST:
        return _broadcast_equal(old, new) or _broadcast_equal(new, old)
    return False


def _broadcast_equal(scalar: Any, value: Any) -> bool:
    """`3` against `(3, 3)` or `((3, 3), (3, 3))`: one integer for every axis."""
    if not isinstance(scalar, int) or isinstance(scalar, bool) or not isinstance(value, tuple):
        return False
    return all(
        _broadcast_equal(scalar, item) if isinstance(item, tuple) else item == scalar for item in value
    )


def loose(value: Any) -> Any:
    """A coarser key under which every broadcast spelling of a value falls together (for alignment)."""
    if isinstance(value, tuple) and value and all(isinstance(v, int) and v == value[0] for v in value):
        return value[0]
    return value


def param_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """The parameters whose values differ, in declaration order: name -> (old, new), shown as JSON data.

    A wrapped layer of the same kind on both sides (Bidirectional's `layer`) is
    compared parameter by parameter: `layer.units`.
    """
    changes: dict[str, tuple[Any, Any]] = {}
    for name in dict.fromkeys([*new, *old]):
        before, after = old.get(name), new.get(name)
        if same_value(name, before, after):
            continue
        if isinstance(before, CallValue) and isinstance(after, CallValue) and before.kind == after.kind:
            changes.update(param_changes(dict(before.params), dict(after.params), f"{prefix}{name}."))
        else:
            changes[prefix + name] = (display(before), display(after))
    return changes


def display(value: Any) -> Any:
    """A canonical value as JSON data: tuples as lists, layer calls and Keras objects as tables."""
    if isinstance(value, SIMPLE):
        return value
    if isinstance(value, tuple):
        return [display(item) for item in value]
    if isinstance(value, CallValue):
        return {"type": value.kind, **{name: display(item) for name, item in value.params}}
    if isinstance(value, ObjectValue):
        return {"type": value.type, **{name: display(item) for name, item in value.args}}
    return value


def plain(value: Any) -> Any:
    """A value as a spec (JSON) writes it: layer calls and Keras objects as tables, tuples as lists."""
    if isinstance(value, SIMPLE):
        return value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, LayerCall):
        return {"type": value.kind.name, **{k: plain(v) for k, v in value.params.explicit().items()}}
    if isinstance(value, KerasObject):
        return value.to_data()
    if isinstance(value, BaseModel):
        return {
            name: plain(getattr(value, name))
            for name in type(value).model_fields
            if name in value.model_fields_set
        }
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return repr(value)
