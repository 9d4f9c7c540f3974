"""What a layer kind declares once: its parameters (weights among them), shape rule, traits and dtypes.

A kind's weights, each with its arguments and rank rule, are in `layers.weights`.

Every stage (validation, shape inference, the checks, summary, drawing, code
generation, training) reads the same `LayerKind` entry, so a layer is
described in exactly one place.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)

from .. import vocabulary
from ..diagnostics.rules import Rule

# A dimension: a known size, a named size (equal to every dimension with the
# same name) or None (unknown). Keras only knows ints and None; a name is
# mspec's extra knowledge and behaves like None wherever Keras checks sizes.
Dim = int | str | None
# A tensor shape including the batch dimension at index 0, as Keras prints it.
Shape = tuple[Dim, ...]


class ShapeError(Exception):
    """A layer cannot take the input shapes it is given (as Keras would refuse)."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


# Names Keras resolves from strings (only these may reach generated code), read from
# Keras into `vocabulary.keras_names`; `vocabulary` says which a spec may use.
ACTIVATIONS = vocabulary.ACTIVATIONS
INITIALIZERS = tuple(vocabulary.FAMILIES["initializer"].names)
REGULARIZERS = tuple(vocabulary.FAMILIES["regularizer"].names)
CONSTRAINTS = tuple(vocabulary.FAMILIES["constraint"].names)


def _activation_usable(name: Any) -> Any:
    if isinstance(name, str) and name in vocabulary.REFUSED_ACTIVATIONS:
        raise ValueError(f"activation {name!r} cannot be used: {vocabulary.REFUSED_ACTIVATIONS[name]}")
    return name


@dataclass(frozen=True)
class KerasNamed:
    """Marks a parameter naming a Keras object of a family (for the docs)."""

    family: str
    optional: bool = False


@dataclass(frozen=True)
class Described:
    """Says in words what a parameter holds where its type cannot (for the docs): "cell table"."""

    text: str


def _named(family: str, optional: bool) -> Any:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        return vocabulary.resolve(family, value)

    schema = vocabulary.object_ref(family, optional=optional)
    return Annotated[Any, PlainValidator(check), WithJsonSchema(schema), KerasNamed(family, optional)]


ActivationName = Annotated[
    Literal[ACTIVATIONS] | None,  # type: ignore[valid-type]
    BeforeValidator(_activation_usable),
]


def _not_glu(name: str | None) -> str | None:
    # glu halves the last axis, but a layer applying it as its activation
    # (Dense, convolutions, recurrent cells) declares its output unhalved:
    # Keras builds a model whose shapes do not match what runs.
    if name == "glu":
        raise ValueError(
            "'glu' halves the last axis, but Keras declares this layer's output without halving it, "
            "so the built model would not match what runs; gate explicitly instead "
            "(Multiply a projection by a sigmoid one)"
        )
    return name


# The activation argument of a layer with weights; the Activation layer itself takes ActivationName.
Activation = Annotated[ActivationName, AfterValidator(_not_glu)]
# A name Keras resolves ("he_normal", "HeNormal") or a table { type = "VarianceScaling", scale = 2.0 }:
# a string is kept as written, a table becomes a `vocabulary.KerasObject`. Whether the object
# suits the weight it is given (its rank) is checked with the layer (`spec.steps`).
Initializer = _named("initializer", optional=False)
Regularizer = _named("regularizer", optional=True)
Constraint = _named("constraint", optional=True)

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(ge=0, lt=1)]
Padding = Literal["valid", "same"]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def any_case(*choices: str) -> Any:
    """A choice Keras lower-cases itself ("SAME" is "same"): accepted in any case, kept in lower case."""
    spelled = ("".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in choice) for choice in choices)
    pattern = "|".join(spelled)
    return Annotated[
        Literal[choices],  # type: ignore[valid-type]
        BeforeValidator(_lower),
        WithJsonSchema({"type": "string", "pattern": f"^({pattern})$"}),
    ]


# Convolutions lower-case `padding` (pooling layers do not: Keras refuses "SAME" there).
ConvPadding = any_case("valid", "same")


class FieldGroup:
    """Several parameters declared under one name in a params class body, and put where that name stands.

    A params class's field order is the keyword order of generated code, of
    docs/layers.md, of the schema and of imported steps, so a group shared by
    many layers (a weight's initializer, regularizer and constraint: see
    `layers.weights`) must not move its parameters to the front, as a base
    class would. Write `name: FieldGroup = SomeGroup(...)`; the class gets the
    group's parameters in its place, and `field_groups` lists its groups.
    """

    def fields(self) -> list[tuple[str, Any, Any]]:
        """(parameter, annotation, default) for each parameter of the group, in keyword order."""
        raise NotImplementedError


class _ExpandsFieldGroups(type(BaseModel)):
    """The params classes' metaclass: field groups become their parameters before pydantic reads the body."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any):
        annotations = namespace.get("__annotations__", {})
        groups: list[FieldGroup] = [g for base in bases for g in getattr(base, "field_groups", ())]
        expanded: dict[str, Any] = {}
        for field_name, annotation in annotations.items():
            group = namespace.get(field_name)
            if not isinstance(group, FieldGroup):
                expanded[field_name] = annotation
                continue
            del namespace[field_name]
            groups.append(group)
            for parameter, parameter_annotation, default in group.fields():
                expanded[parameter] = parameter_annotation
                namespace[parameter] = default
        namespace["__annotations__"] = expanded
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        cls.field_groups = tuple(dict.fromkeys(groups))  # set after pydantic: a class attribute, no field
        return cls


class LayerParams(BaseModel, metaclass=_ExpandsFieldGroups):
    """Constructor arguments of one Keras layer; defaults are Keras' own."""

    # defer_build: a spec only pays for the schemas of the layer kinds it uses.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True, frozen=True)
    # The field groups declared by the class and its bases (set by the metaclass).
    field_groups: ClassVar[tuple[FieldGroup, ...]] = ()

    trainable: bool = True

    def explicit(self) -> dict[str, Any]:
        """Return the arguments the spec set, in declaration order."""
        return {
            name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set
        }


ShapeRule = Callable[[Any, Sequence[Shape]], Shape]
CountRule = Callable[[Any, Sequence[Shape]], int]
# (input index, axis) -> size that Keras fixes when the layer is first built.
BuildKeyRule = Callable[[Any, Sequence[Shape]], dict[tuple[int, int], Dim]]


@dataclass(frozen=True)
class Refusal:
    """Why a saved Keras layer cannot become a spec step (an import diagnostic's rule, message, hint)."""

    rule: Rule
    message: str
    hint: str | None = None


# (saved config, saved build_config) -> the value Keras gives a key by default, computed from other keys.
ImportDefault = Callable[[dict[str, Any], Any], Any]
# (saved config, saved value) -> None when the value is one a spec derives by itself, else why not.
ImportDerived = Callable[[dict[str, Any], Any], "Refusal | None"]
# saved value -> None when a spec can write it, else why not.
ImportRefusal = Callable[[Any], "Refusal | None"]


class Trait(enum.Enum):
    """A fact about what a layer kind does, which a check or a stage reads from the registry.

    Each kind states its traits (`LayerKind.traits`, maybe none); the passes,
    the data binding and training read them instead of lists of names.
    """

    # --- What happens to the values (hazards, data binding, explain, the export manifest) ---
    # The kinds whose dtype family is "shape-only" (UpSampling2D's with interpolation = "nearest"), and
    # only they: Masking compares values with mask_value, so ids reaching it are judged there (MS707).
    SHAPE_ONLY = "moves, copies or drops values without computing on them"
    # Every kind whose call is the identity unless training=True: Dropout, SpatialDropout1D/2D/3D,
    # GaussianNoise, GaussianDropout, AlphaDropout. Not ActivityRegularization, which adds to the loss.
    NOISE = "adds noise or drops values, in training only"
    POOLING = "pools values over windows or axes"
    ELEMENTWISE_MERGE = "merges its inputs without changing what the values mean (Concatenate too)"
    # The SHAPE_ONLY kinds, and Masking (which only zeroes masked steps) and the Dropouts (which zero
    # values; on integers Keras refuses them in training, MS306). Not GaussianNoise, GaussianDropout
    # or AlphaDropout: in training they make other numbers of the values.
    PASSES_IDS = "hands its input's values on unchanged (moved, repeated, dropped or zero-padded)"
    # Not the Dropouts (they hand strings on at inference, but TensorFlow's dropout fails on strings
    # in training) nor Masking (comparing strings with mask_value fails).
    PASSES_STRINGS = "moves strings about (TensorFlow runs it on strings)"
    TAKES_IDS = "reads integer ids (Embedding, ReversibleEmbedding, CategoryEncoding)"
    TAKES_STRINGS = "takes raw strings and makes ids or encodings of them"
    ENCODES_CATEGORIES = "takes raw category values (strings or integers) and makes ids or encodings"
    SCALER = "rescales or buckets numbers, so that integers are fine there"
    # --- Masks (the masks pass, MS307 and MS710) ---
    MAKES_MASK = "may make a mask (Embedding with mask_zero, Masking)"
    KEEPS_MASK = "hands its (first) input's mask on unchanged"
    MERGES_MASKS = "ORs its inputs' masks when every input has one"
    FILLS_MASKED = "fills each masked input's padding before combining (so it uses the masks)"
    RECURRENT = "runs over time steps and reads the mask of its steps"
    ATTENTION = "Luong- or Bahdanau-style attention, which reads its inputs' masks"
    MULTI_HEAD_ATTENTION = "multi-head attention, which reads its inputs' masks"
    CALL_TAKES_MASK = "its call reads a mask (TimeDistributed hands it each step's slice)"
    SUPPORTS_MASKING = "supports masking by a rule of its own, though it hands no mask on as it came"
    # --- Training ---
    ADAPTS = "has state that adapt() computes from data when the spec gives none"
    # --- Configurations some backends cannot run (portability, MS305) ---
    CPU_CHANNELS_LAST = "TensorFlow's CPU kernels without oneDNN convolve channels-last tensors only"
    CPU_TRANSPOSE_LIMITS = (
        "TensorFlow's CPU kernels without oneDNN transpose channels-last tensors without dilation only"
    )
    CPU_EQUAL_STRIDES = (
        "TensorFlow's CPU kernels without oneDNN take depthwise convolutions with equal strides only"
    )


# The traits of a layer that supports masking: Keras hands it the mask without warning.
MASK_AWARE = frozenset(
    {
        Trait.KEEPS_MASK, Trait.MERGES_MASKS, Trait.FILLS_MASKED, Trait.RECURRENT, Trait.ATTENTION,
        Trait.MULTI_HEAD_ATTENTION, Trait.CALL_TAKES_MASK, Trait.SUPPORTS_MASKING,
    }
)  # fmt: skip
# The traits of a layer whose call reads a mask: where a destroyed mask would have been used.
USES_MASK = frozenset(
    {Trait.RECURRENT, Trait.ATTENTION, Trait.MULTI_HEAD_ATTENTION, Trait.FILLS_MASKED, Trait.CALL_TAKES_MASK}
)


@dataclass(frozen=True)
class LayerKind:
    """One Keras layer class as mspec knows it.

    `build_axes` returns, keyed by (input index, axis), the input sizes that
    Keras fixes when the layer is first built: a shared layer must see the
    same sizes there at every use. Shape errors may name the layer's inputs
    as `{0}`, `{1}`...; the inference pass fills in "name (None, 64)".
    """

    name: str
    params: type[LayerParams]
    output_shape: ShapeRule
    param_count: CountRule
    category: str
    doc: str
    min_inputs: int = 1
    max_inputs: int | None = 1
    build_axes: BuildKeyRule = field(default=lambda p, shapes: {})
    # Whether the first build also fixes the rank of each input (Keras' InputSpec ndim).
    build_rank: bool = False
    # Parameters worth showing in a diagram or summary, in display order.
    key_params: tuple[str, ...] = ()
    # Wrappers (Bidirectional, TimeDistributed) take another step as `layer`.
    wraps: bool = False
    # Recurrent cells (LSTMCell ...) compute one time step: they go in an RNN's `cell`, never as a step.
    is_cell: bool = False
    # The parameter holding cells as tables: RNN's `cell` (a table or a list), StackedRNNCells' `cells`.
    cell_parameter: str | None = None
    # Leading constructor arguments that generated code passes by position,
    # as people write them: `Dense(64)`, `Conv2D(32, 3)`, `Dropout(0.2)`.
    positional: tuple[str, ...] = ()
    # How generated code (and an imported call) passes the inputs: empty for one tensor, `layer(x)`,
    # or for a merge one list, `layer([a, b])`; else the names of separate arguments, in order:
    # ("query", "value", "key") is `layer(query, value)` or `layer(query, value, key)`.
    call_arguments: tuple[str, ...] = ()
    # --- importing a saved Keras model (`importer.convert`) ---
    # Config keys whose default Keras computes from other keys (pooling strides are the pool size):
    # a saved value equal to it is left out of the step.
    import_defaults: Mapping[str, ImportDefault] = field(default_factory=dict, hash=False)
    # Config keys whose saved value a spec spells otherwise: value -> spec value (before defaults).
    import_values: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict, hash=False)
    # Config keys that are no parameter but that Keras saves with a value a spec derives by itself
    # (Bidirectional's backward_layer): refused unless the value is the derived one.
    import_derived: Mapping[str, ImportDerived] = field(default_factory=dict, hash=False)
    # Config keys whose value makes the whole layer one a spec cannot write (return_state=True).
    import_refusals: Mapping[str, ImportRefusal] = field(default_factory=dict, hash=False)
    # Whether a layer with this saved config computes a mask Keras passes on by itself
    # (Embedding(mask_zero=True)): the operations Keras saves for that mask are left out.
    makes_mask: Callable[[dict[str, Any]], bool] | None = None
    # --- declared by every kind (a test checks that none is left out) ---
    # What the kind does, as the checks need to know it (`Trait`); an empty set is a statement too.
    traits: frozenset[Trait] | None = None
    # The dtypes it computes with and the dtype it gives: a family of `layers.dtypes` (or a function
    # of the parameters giving one), or `dtypes.Delegated` for a wrapper or a cell.
    dtypes: Any = None
    # With the ADAPTS trait: the parameter holding the state that adapt() computes when it is None.
    adapt_state: str | None = None

    @property
    def is_merge(self) -> bool:
        return self.max_inputs is None or self.max_inputs > 1

    @property
    def call_style(self) -> Literal["single", "list", "separate"]:
        """How the layer is called: `layer(x)`, `layer([a, b])` or `layer(query, value, key)`."""
        if self.call_arguments:
            return "separate"
        return "list" if self.is_merge else "single"


REGISTRY: dict[str, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    """Add a layer kind to the registry, refusing a second entry for a name."""
    if kind.name in REGISTRY:
        raise ValueError(f"layer kind {kind.name!r} registered twice")
    if (kind.traits is not None and Trait.ADAPTS in kind.traits) != (kind.adapt_state is not None):
        raise ValueError(f"layer kind {kind.name!r}: the ADAPTS trait goes with adapt_state, only with it")
    REGISTRY[kind.name] = kind
    return kind


# --- helpers shared by the shape rules ------------------------------------


def known(dim: Dim) -> bool:
    """Return whether Keras knows this dimension's size."""
    return isinstance(dim, int)


def format_shape(shape: Shape) -> str:
    """Render a shape the way Keras prints it: `(None, 64)`, names kept."""
    parts = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def product(dims: Sequence[Dim]) -> Dim:
    """Multiply sizes; unknown if any factor is unknown."""
    total = 1
    for d in dims:
        if not known(d):
            return None
        total *= d  # type: ignore[operator]
    return total


def require_rank(shape: Shape, layer: str, *, exact: int | None = None, minimum: int | None = None) -> None:
    """Raise ShapeError unless the shape (batch included) has the rank the layer needs."""
    rank = len(shape)
    if exact is not None and rank != exact:
        raise ShapeError(
            f"{layer} expects a rank-{exact} input (batch included), got {format_shape(shape)}",
        )
    if minimum is not None and rank < minimum:
        raise ShapeError(
            f"{layer} expects an input of rank {minimum} or more (batch included), got {format_shape(shape)}",
        )


def require_known(dim: Dim, what: str, shape: Shape, layer: str) -> int:
    """Return a dimension that Keras needs to know to create weights, or raise."""
    if not known(dim):
        raise ShapeError(
            f"{layer} needs a known {what} to create its weights, got {format_shape(shape)}",
            hint="give that dimension a fixed size in the input shape",
        )
    return dim  # type: ignore[return-value]


def normalize_axis(axis: int, rank: int, layer: str, shape: Shape) -> int:
    """Turn a possibly negative axis into a positive one, or raise like Keras."""
    if not -rank <= axis < rank:
        raise ShapeError(f"{layer} axis {axis} is out of range for input {format_shape(shape)}")
    return axis % rank


# --- helpers shared by several families --------------------------------------

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _name_is_null(dim: Any) -> Any:
    # TOML has no null: as in an input's shape, a name is a dimension of unknown size.
    return None if isinstance(dim, str) and _NAME.match(dim) else dim


# A dimension in a layer argument: a size, null, or (TOML's spelling of null) a name.
UnknownDim = Annotated[
    int | None,
    BeforeValidator(_name_is_null),
    WithJsonSchema(
        {"anyOf": [{"type": "integer"}, {"type": "null"}, {"type": "string", "pattern": _NAME.pattern}]}
    ),
]


def names_for_nulls(names: Callable[[int], list[str]]) -> Callable[[Any], Any]:
    """An import hook: write a saved list's nulls as names, TOML's spelling of null (see UnknownDim)."""

    def convert(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [name if d is None else d for name, d in zip(names(len(value)), value, strict=True)]

    return convert


def as_keras(shape: Shape) -> Shape:
    """Forget dimension names: Keras only sees sizes and None."""
    return tuple(d if known(d) else None for d in shape)


def all_inputs(count: int) -> str:
    """Placeholders naming every input: "{0} and {1} and {2}"."""
    return " and ".join(f"{{{i}}}" for i in range(count))


def axis_list(axis: int | list[int]) -> list[int]:
    """One axis or several, as a list."""
    return [axis] if isinstance(axis, int) else list(axis)


def distinct_axes(axes: list[int], shape: Shape, layer: str) -> list[int]:
    """Return the axes made positive, refusing one out of range or named twice (Keras fails when run)."""
    positive = [normalize_axis(axis, len(shape), layer, shape) for axis in axes]
    if len(set(positive)) < len(positive):
        raise ShapeError(
            f"{layer} axis {axes} names the same axis twice for input {{0}}",
            hint="list each axis once, either counting from the start or from the end",
        )
    return positive
