"""Keras' serialized values and what a spec writes for them: initializers, optimizers, numbers.

Keras saves an initializer as `{"class_name": "GlorotUniform", "config": {...}}`;
a spec names it `"glorot_uniform"`. Each table below holds the serialized form
that Keras 3 gives the allow-listed name, so an imported value maps back to a
name only when Keras would build exactly that object from the name.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pydantic_core import PydanticCustomError

from ..vocabulary import FAMILIES, resolve

# Allow-listed name -> (class name, config without `seed`) that Keras builds from the name.
# "constant" is left out: Keras cannot build it from its name alone.
_SCALED = {"input_axes": None, "output_axes": None}
INITIALIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "glorot_normal": ("GlorotNormal", _SCALED),
    "glorot_uniform": ("GlorotUniform", _SCALED),
    "he_normal": ("HeNormal", _SCALED),
    "he_uniform": ("HeUniform", _SCALED),
    "identity": ("Identity", {}),
    "lecun_normal": ("LecunNormal", _SCALED),
    "lecun_uniform": ("LecunUniform", _SCALED),
    "ones": ("Ones", {}),
    "orthogonal": ("Orthogonal", {"gain": 1.0}),
    "random_normal": ("RandomNormal", {"mean": 0.0, "stddev": 0.05}),
    "random_uniform": ("RandomUniform", {"minval": -0.05, "maxval": 0.05}),
    "truncated_normal": ("TruncatedNormal", {"mean": 0.0, "stddev": 0.05}),
    "uniform": ("RandomUniform", {"minval": -0.05, "maxval": 0.05}),
    "variance_scaling": (
        "VarianceScaling",
        {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal", **_SCALED},
    ),
    "zeros": ("Zeros", {}),
}
REGULARIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "l1": ("L1", {"l1": 0.01}),
    "l2": ("L2", {"l2": 0.01}),
    "l1l2": ("L1L2", {"l1": 0.0, "l2": 0.0}),
    "orthogonal_regularizer": ("OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
}
CONSTRAINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "max_norm": ("MaxNorm", {"max_value": 2, "axis": 0}),
    "min_max_norm": ("MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    "non_neg": ("NonNeg", {}),
    "unit_norm": ("UnitNorm", {"axis": 0}),
}
# Every field whose name ends like this holds one of these objects.
OBJECT_TABLES = {"_initializer": INITIALIZERS, "_regularizer": REGULARIZERS, "_constraint": CONSTRAINTS}

# Each optimizer's constructor defaults in Keras 3, for the arguments a spec may set.
_COMMON = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}
_ADAM = {"learning_rate": 0.001, **_COMMON, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07}
OPTIMIZER_DEFAULTS: dict[str, dict[str, Any]] = {
    "Adam": {**_ADAM, "amsgrad": False},
    "AdamW": {**_ADAM, "weight_decay": 0.004, "amsgrad": False},
    "Adamax": _ADAM,
    "Nadam": _ADAM,
    "SGD": {"learning_rate": 0.01, **_COMMON, "momentum": 0.0, "nesterov": False},
    "RMSprop": {
        "learning_rate": 0.001,
        **_COMMON,
        "rho": 0.9,
        "momentum": 0.0,
        "epsilon": 1e-07,
        "centered": False,
    },
    "Adagrad": {"learning_rate": 0.001, **_COMMON, "initial_accumulator_value": 0.1, "epsilon": 1e-07},
    "Adadelta": {"learning_rate": 0.001, **_COMMON, "rho": 0.95, "epsilon": 1e-07},
    "Ftrl": {
        "learning_rate": 0.001,
        **_COMMON,
        "learning_rate_power": -0.5,
        "initial_accumulator_value": 0.1,
    },
    "Lion": {"learning_rate": 0.001, **_COMMON, "beta_1": 0.9, "beta_2": 0.99},
    "Adafactor": {
        "learning_rate": 0.001,
        **_COMMON,
        "beta_2_decay": -0.8,
        "epsilon_1": 1e-30,
        "epsilon_2": 0.001,
        "clip_threshold": 1.0,
    },
    "Lamb": _ADAM,
    "Muon": {
        "learning_rate": 0.001,
        **_COMMON,
        "weight_decay": 0.004,
        "adam_beta_1": 0.9,
        "adam_beta_2": 0.999,
        "adam_weight_decay": 0.004,
        "epsilon": 1e-07,
        "exclude_embeddings": True,
        "muon_a": 3.4445,
        "muon_b": -4.775,
        "muon_c": 2.0315,
        "adam_lr_ratio": 1,
        "momentum": 0.95,
        "ns_steps": 5,
        "nesterov": True,
        "rms_rate": 0.2,
    },
    "ScheduleFreeAdamW": {
        "learning_rate": 0.0025,
        **_COMMON,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-08,
        "warmup_steps": 0,
    },
}
# Optimizer settings a spec cannot write, with the values that leave them off.
OPTIMIZER_FIXED: dict[str, Any] = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "l1_regularization_strength": 0.0,
    "l2_regularization_strength": 0.0,
    "l2_shrinkage_regularization_strength": 0.0,
    "beta": 0.0,
    "relative_step": True,
}


def float32(value: float) -> float:
    """Return the float32 nearest to `value`, as a Python float."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def same_number(a: Any, b: Any) -> bool:
    """Return whether two numbers are equal, allowing for Keras storing one as a float32."""
    if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(x, int | float) for x in (a, b)):
        return a == b
    return a == b or float32(a) == float32(b)


def short_float(value: Any) -> Any:
    """Write a float that Keras stored as float32 (0.0010000000474974513) as it was meant (0.001)."""
    if not isinstance(value, float) or not math.isfinite(value) or float32(value) != value:
        return value
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if float32(candidate) == value:
            return candidate
    return value


def _same_config(found: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether a saved configuration means the expected one, whichever Keras 3 version saved it.

    Compared by meaning, not by key sets: a key the saving version did not
    know (Keras 3.15 added the initializers' `input_axes` and `output_axes`)
    is its default; a key only the saving version knows counts when set
    (a `seed` of None is no seed).
    """
    for key, value in found.items():
        if key in expected:
            if (value is None) != (expected[key] is None) or not same_number(value, expected[key]):
                return False
        elif value is not None:
            return False
    return True


def object_name(value: Any, table: dict[str, tuple[str, dict[str, Any]]]) -> str | None:
    """Return the allow-listed name of a serialized Keras object, or None when it has none."""
    # A string is kept when the table knows it; a serialized object maps to the first
    # name whose class and configuration (float32 rounding aside) it has exactly.
    if isinstance(value, str):
        return value if value in table else None
    if not isinstance(value, dict) or not _is_keras_module(value.get("module")):
        return None
    if value.get("registered_name") not in (None, value.get("class_name")):
        return None
    config = value.get("config") or {}
    if not isinstance(config, dict):
        return None
    for name, (class_name, expected) in table.items():
        if value.get("class_name") == class_name and _same_config(config, expected):
            return name
    return None


def keras_object(value: Any, family: str) -> str | dict[str, Any] | None:
    """The spec value for a saved loss, metric, initializer...: a name, or a table; None if none fits.

    A string is kept when a spec may write it. A serialized object of Keras'
    own becomes `{ type = CLASS, ... }` with the arguments that differ from the
    constructor's defaults (its class name alone when none does), when every
    such argument is one a spec may write.
    """
    fam = FAMILIES[family]
    if isinstance(value, str):
        return value if _resolves(family, value) else None
    if not isinstance(value, dict) or not _is_keras_module(value.get("module")):
        return None
    cls = value.get("class_name")
    config = value.get("config") or {}
    if (
        not isinstance(cls, str)
        or value.get("registered_name") not in (None, cls)
        or cls not in fam.classes
        or not isinstance(config, dict)
    ):
        return None
    defaults = fam.defaults.get(cls, {})
    args = {}
    for key, setting in config.items():
        if key in defaults and _same_setting(setting, defaults[key]):
            continue
        if key == "name" and isinstance(setting, str) and _own_name(setting, cls, fam.names):
            continue  # the name Keras gives the object itself
        if key == "dtype" and _default_dtype(setting):
            continue
        args[key] = _short_floats(setting)
    if not args and _resolves(family, cls):
        return cls
    table = {"type": cls, **args}
    return table if _resolves(family, table) else None


def unsaved_arguments(value: Any, family: str) -> list[str]:
    """Constructor arguments a saved object's configuration leaves out (Keras' Huber saves no delta)."""
    if not isinstance(value, dict) or not isinstance(value.get("config"), dict):
        return []
    cls = value.get("class_name")
    arguments = FAMILIES[family].classes.get(cls, {}) if isinstance(cls, str) else {}
    plain = ("name", "dtype", "reduction")
    defaults = FAMILIES[family].defaults.get(cls, {})
    # An argument whose default is None may be left out on purpose (AUC saves thresholds only when set).
    return [
        arg
        for arg in arguments
        if arg not in value["config"] and arg not in plain and defaults.get(arg) is not None
    ]


def _own_name(name: str, cls: str, names: dict[str, str]) -> bool:
    """Whether `name` is one Keras gives an object of class `cls` itself: "auc", "auc_2", "mse"."""
    return names.get(name) == cls or name.replace("_", "").lower().rstrip("0123456789") == cls.lower()


def _resolves(family: str, value: Any) -> bool:
    try:
        resolve(family, value)
    except (ValueError, PydanticCustomError):
        return False
    return True


def _same_setting(found: Any, default: Any) -> bool:
    if isinstance(found, list) and isinstance(default, list):
        return len(found) == len(default) and all(map(_same_setting, found, default))
    return (found is None) == (default is None) and same_number(found, default)


def _default_dtype(setting: Any) -> bool:
    """Whether a saved dtype is what Keras uses anyway (none, float32, or the float32 policy)."""
    if isinstance(setting, dict):
        setting = (setting.get("config") or {}).get("name")
    return setting in (None, "float32")


def _short_floats(value: Any) -> Any:
    return [_short_floats(v) for v in value] if isinstance(value, list) else short_float(value)


def same_object(name_a: str | None, name_b: str | None, table: dict[str, tuple[str, dict]]) -> bool:
    """Return whether two allow-listed names build the same object (uniform is random_uniform)."""
    if name_a is None or name_b is None:
        return name_a is name_b
    return table.get(name_a) == table.get(name_b)


def _is_keras_module(module: Any) -> bool:
    return module is None or (isinstance(module, str) and (module == "keras" or module.startswith("keras.")))


def is_keras_module(module: Any) -> bool:
    """Return whether a serialized object's `module` is Keras' own (or absent, as in Keras 2 files)."""
    return _is_keras_module(module)
