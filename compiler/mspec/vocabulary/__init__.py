"""Names Keras resolves from strings, allowed in specs: dtypes, losses, metrics, optimizers...

Only these strings can reach generated code, so a spec cannot smuggle an
arbitrary name into a Keras call. The names themselves are read from Keras
into `keras_names` (generated; lint never imports Keras); this module says
which a spec may use, and how.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import PydanticCustomError

from . import keras_names as K

DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
)

INPUT_KINDS = ("numeric", "categorical", "text", "image", "sequence")

# Optimizer class -> the constructor arguments a spec may set (numbers and booleans).
_COMMON_OPTIMIZER_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm")
OPTIMIZERS: dict[str, tuple[str, ...]] = {
    "Adam": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon", "amsgrad"),
    "AdamW": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon", "amsgrad"),
    "Adamax": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon"),
    "Nadam": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon"),
    "SGD": (*_COMMON_OPTIMIZER_ARGS, "momentum", "nesterov"),
    "RMSprop": (*_COMMON_OPTIMIZER_ARGS, "rho", "momentum", "epsilon", "centered"),
    "Adagrad": (*_COMMON_OPTIMIZER_ARGS, "initial_accumulator_value", "epsilon"),
    "Adadelta": (*_COMMON_OPTIMIZER_ARGS, "rho", "epsilon"),
    "Ftrl": (*_COMMON_OPTIMIZER_ARGS, "learning_rate_power", "initial_accumulator_value"),
    "Lion": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2"),
    "Adafactor": (*_COMMON_OPTIMIZER_ARGS, "beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold"),
    "Lamb": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon"),
    "Muon": (
        *_COMMON_OPTIMIZER_ARGS,
        "adam_beta_1",
        "adam_beta_2",
        "adam_weight_decay",
        "epsilon",
        "exclude_embeddings",
        "muon_a",
        "muon_b",
        "muon_c",
        "adam_lr_ratio",
        "momentum",
        "ns_steps",
        "nesterov",
        "rms_rate",
    ),
    "ScheduleFreeAdamW": (*_COMMON_OPTIMIZER_ARGS, "beta_1", "beta_2", "epsilon", "warmup_steps"),
}
# Optimizer arguments that are booleans, and numeric ones that may be negative.
OPTIMIZER_FLAGS = ("amsgrad", "nesterov", "centered", "exclude_embeddings")
OPTIMIZER_SIGNED = ("learning_rate_power", "beta_2_decay", "muon_b")
# Strings keras.optimizers.get resolves (it lower-cases them): "adam", "SGD", "muon"... The
# optimizers that need another optimizer or a mapping cannot be named by a string.
REFUSED_OPTIMIZER_STRINGS = ("lossscaleoptimizer", "multioptimizer", "optimizer", "optimizermap")
OPTIMIZER_NAMES = {
    name: next((cls for cls in OPTIMIZERS if cls.lower() == name), name)
    for name in K.OPTIMIZER_STRINGS
    if name not in REFUSED_OPTIMIZER_STRINGS
}


# --- Keras objects named by a string or written as a table --------------------
#
# Losses, metrics, initializers, regularizers and constraints: a spec names one
# as Keras does (any identifier the family's `keras.<module>.get` resolves:
# "mse", "MeanSquaredError", "MSE"), or writes a table naming its class and
# constructor arguments: { type = "BinaryCrossentropy", from_logits = true }.
# The identifiers and arguments come from `keras_names`, generated from Keras;
# what Keras resolves but cannot use is refused here, with the reason.


@dataclass(frozen=True)
class Family:
    """One kind of Keras object a spec may name."""

    what: str  # "loss", as messages say it
    module: str  # keras.<module>
    names: dict[str, str]  # identifier -> class
    classes: dict[str, dict[str, str]]  # class -> argument -> kind ("!" suffix: required)
    defaults: dict[str, dict[str, Any]]  # class -> argument -> default value
    # class -> why a spec may not use it, named or as a table.
    refused: dict[str, str] = field(default_factory=dict)
    # class -> why a spec may not name it by a string (a table is fine).
    needs_table: dict[str, str] = field(default_factory=dict)
    # Lower-cased identifiers Keras resolves case-insensitively at compile time.
    compile_aliases: tuple[str, ...] = ()


FAMILIES: dict[str, Family] = {
    "loss": Family(
        "loss",
        "losses",
        K.LOSS_NAMES,
        K.LOSS_CLASSES,
        K.LOSS_DEFAULTS,
        refused={
            "Loss": "it is the base class: it computes no loss",
            "LossFunctionWrapper": "it wraps a Python function",
        },
        # compile() picks binary, categorical or sparse crossentropy from the labels' shape.
        compile_aliases=("crossentropy", "ce"),
    ),
    "metric": Family(
        "metric",
        "metrics",
        K.METRIC_NAMES,
        K.METRIC_CLASSES,
        K.METRIC_DEFAULTS,
        refused={
            "Metric": "it is the base class: it computes no metric",
            "MeanMetricWrapper": "it wraps a Python function",
            # update_state(values, sample_weight): compile would pass labels and predictions.
            "Mean": "it averages one tensor, while compile gives a metric labels and predictions",
            "Sum": "it sums one tensor, while compile gives a metric labels and predictions",
        },
        # compile() picks binary, categorical or sparse accuracy from the labels' shape.
        compile_aliases=("accuracy", "acc"),
    ),
    "initializer": Family(
        "initializer",
        "initializers",
        K.INITIALIZER_NAMES,
        K.INITIALIZER_CLASSES,
        K.INITIALIZER_DEFAULTS,
        refused={"Initializer": "it is the base class: it creates no values"},
        # Keras builds Constant from its name without a value and fails (KeyError 'value').
        needs_table={"Constant": '{ type = "Constant", value = 0.5 }'},
    ),
    "regularizer": Family(
        "regularizer",
        "regularizers",
        K.REGULARIZER_NAMES,
        K.REGULARIZER_CLASSES,
        K.REGULARIZER_DEFAULTS,
    ),
    "constraint": Family(
        "constraint", "constraints", K.CONSTRAINT_NAMES, K.CONSTRAINT_CLASSES, K.CONSTRAINT_DEFAULTS
    ),
}
for _family in FAMILIES.values():
    # A class whose constructor requires arguments cannot be named by a string.
    for _cls, _args in _family.classes.items():
        _required = [arg for arg, kind in _args.items() if kind.endswith("!")]
        if _required and _cls not in _family.refused:
            example = ", ".join(f"{arg} = ..." for arg in _required)
            _family.needs_table.setdefault(_cls, f'{{ type = "{_cls}", {example} }}')

# Activations Keras resolves that a layer cannot use.
REFUSED_ACTIVATIONS = {
    "threshold": "it needs arguments (threshold, default_value) that a layer's activation cannot pass",
}
ACTIVATIONS = tuple(name for name in K.ACTIVATION_NAMES if name not in REFUSED_ACTIVATIONS)

# Layer class aliases in keras.layers ("MaxPool2D" is MaxPooling2D): a spec may write either;
# the layer is the class itself, and generated code, summaries and diagrams use the class name.
LAYER_ALIASES: dict[str, str] = dict(K.LAYER_ALIASES)

# Weight ranks some initializers and regularizers cannot fill or penalise (Keras fails at build
# or at the first fit): class -> (the ranks it takes, what it needs).
RANK_LIMITS: dict[str, tuple[frozenset[int] | None, str]] = {
    "Orthogonal": (frozenset({2, 3, 4, 5, 6}), "a weight of rank 2 or more"),
    "Identity": (frozenset({2}), "a 2-D weight (a matrix)"),
    "STFT": (frozenset({3}), "a 3-D weight (a Conv1D kernel)"),
    "OrthogonalRegularizer": (frozenset({2}), "a 2-D weight (a matrix)"),
}


@dataclass(frozen=True)
class KerasObject:
    """A Keras class with constructor arguments, as a spec table writes it."""

    family: str
    type: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def module(self) -> str:
        """The keras submodule that holds the class: `losses` for keras.losses.Huber."""
        return FAMILIES[self.family].module

    def to_data(self) -> dict[str, Any]:
        """The table as a spec writes it."""
        return {"type": self.type, **{name: _plain(value) for name, value in self.args}}

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={_plain(value)!r}" for name, value in self.args)
        return f"{self.type}({args})"

    __str__ = __repr__


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def class_of(family: str, value: Any) -> str | None:
    """The Keras class a valid spec value names (None for a compile alias such as "crossentropy")."""
    if isinstance(value, KerasObject):
        return value.type
    return FAMILIES[family].names.get(value) if isinstance(value, str) else None


def resolve(family: str, value: Any) -> str | KerasObject:
    """Check a spec value naming a Keras object; return the string, or the table as a KerasObject.

    Raises ValueError with the reason for anything Keras would not resolve or could not use.
    """
    fam = FAMILIES[family]
    if isinstance(value, str):
        if value.lower() in fam.compile_aliases:
            return value
        cls = fam.names.get(value)
        if cls is None:
            # Reported like any unknown value of a fixed list, with a "did you mean".
            usable = [n for n, c in fam.names.items() if c not in fam.refused and c not in fam.needs_table]
            expected = ", ".join(repr(n) for n in [*usable, *fam.compile_aliases])
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        if cls in fam.refused:
            raise ValueError(f"{fam.what} {value!r} cannot be used: {fam.refused[cls]}")
        if cls in fam.needs_table:
            raise ValueError(f"{fam.what} {value!r} needs arguments: write {fam.needs_table[cls]}")
        return value
    if isinstance(value, dict):
        return _resolve_table(fam, family, value)
    raise ValueError(f"a {fam.what} is a name such as {next(iter(fam.names))!r} or a table with a 'type'")


def _resolve_table(fam: Family, family: str, table: dict) -> KerasObject:
    cls = table.get("type")
    if not isinstance(cls, str):
        raise ValueError(f"a {fam.what} table needs a 'type', a class of keras.{fam.module}")
    if cls not in fam.classes:
        from ..diagnostics.suggest import closest

        known = fam.names.get(cls)
        if known in fam.classes:
            hint = f" (the class is {known!r})"
        else:
            match = closest(cls, fam.classes)
            hint = f" (did you mean {match!r}?)" if match else ""
        raise ValueError(f"unknown {fam.what} class {cls!r}{hint}")
    if cls in fam.refused:
        raise ValueError(f"{fam.what} {cls!r} cannot be used: {fam.refused[cls]}")
    allowed = fam.classes[cls]
    args = []
    for name, value in table.items():
        if name == "type":
            continue
        kind = allowed.get(name)
        if kind is None:
            from ..diagnostics.suggest import closest

            match = closest(name, allowed)
            hint = f" (did you mean {match!r}?)" if match else ""
            takes = ", ".join(allowed) or "no arguments"
            raise ValueError(f"{cls} has no argument {name!r}{hint}; it takes {takes}")
        if not _is_kind(value, kind.rstrip("!")):
            raise ValueError(f"{cls} argument {name!r} should be {_KIND_TEXT[kind.rstrip('!')]}")
        args.append((name, _frozen(value)))
    missing = [name for name, kind in allowed.items() if kind.endswith("!") and name not in table]
    if missing:
        raise ValueError(f"{cls} needs argument(s) {', '.join(repr(m) for m in missing)}")
    # In the constructor's order, whatever the order of the table's keys.
    order = list(allowed)
    return KerasObject(family, cls, tuple(sorted(args, key=lambda arg: order.index(arg[0]))))


_KIND_TEXT = {
    "bool": "true or false",
    "int": "an integer",
    "number": "a number",
    "str": "a string",
    "list": "a list of numbers, strings or booleans",
    "value": "a number, string, boolean or list of them",
}


def _is_kind(value: Any, kind: str) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return number
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list) and all(_is_kind(v, "value") for v in value)
    return number or isinstance(value, bool | str) or _is_kind(value, "list")


# Regularizers that penalise weights but fail on a layer's output (activity_regularizer).
REFUSED_ACTIVITY = {
    "Regularizer": "the base class returns a plain 0.0, which Keras cannot add as an activity loss"
}


def rank_problem(family: str, value: Any, ranks: frozenset[int] | set[int] | None) -> str | None:
    """Why an initializer or regularizer cannot serve weights of these ranks; None when it can.

    `ranks` None: the value regularizes the layer's output (activity_regularizer).
    """
    cls = class_of(family, value)
    if ranks is None:
        reason = REFUSED_ACTIVITY.get(cls) if family == "regularizer" and cls else None
        return (
            f"{value if isinstance(value, str) else cls!r} cannot be an activity regularizer: {reason}"
            if reason
            else None
        )
    limit = RANK_LIMITS.get(cls) if cls else None
    if limit is None or not ranks:
        return None
    allowed, needs = limit
    bad = sorted(r for r in ranks if allowed is not None and r not in allowed)
    if not bad:
        return None
    shown = value if isinstance(value, str) else cls
    return f"{shown!r} needs {needs}, and this weight has rank {bad[0]} (Keras fails building or training)"


def loss_key(value: Any) -> str | None:
    """A loss as the snake-case name of its class ("BCE" -> "binary_crossentropy"); None if unset."""
    if value is None:
        return None
    cls = class_of("loss", value)
    if cls is None:
        return value.lower() if isinstance(value, str) else None
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls).lower()


OBJECT_REF = "x-mspec-keras-object"


def object_ref(family: str, *, optional: bool = False) -> dict[str, Any]:
    """A placeholder for the family's schema: `mspec.backends.schema` makes it a $ref to its $defs entry.

    (pydantic follows every $ref it generates, so the reference is put in afterwards.)
    """
    ref = {OBJECT_REF: family}
    return {"anyOf": [ref, {"type": "null"}]} if optional else ref


def object_schema(family: str) -> dict[str, Any]:
    """The JSON Schema of a value naming a Keras object of this family."""
    fam = FAMILIES[family]
    names = [n for n, cls in fam.names.items() if cls not in fam.refused and cls not in fam.needs_table]
    classes = [c for c in fam.classes if c not in fam.refused]
    return {
        "anyOf": [
            {"type": "string", "enum": sorted({*names, *fam.compile_aliases})},
            {
                "type": "object",
                "properties": {"type": {"type": "string", "enum": classes}},
                "required": ["type"],
            },
        ],
        "description": f"A {fam.what} of keras.{fam.module}: a name, or a table "
        f"{{ type = CLASS, argument = value, ... }}.",
    }
