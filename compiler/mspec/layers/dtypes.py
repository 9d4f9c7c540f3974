"""The element types (dtypes) layer kinds compute with, and the dtype they give: the families kinds declare.

Keras casts a layer's *floating-point* inputs to the layer's compute dtype
(float32) before `call` (`DTypePolicy.convert_input`); integer, boolean and
string tensors reach the layer's operations as they are. Some operations
promote them (`ops.matmul` of int32 and float32 is float32: Dense runs),
some keep them (Flatten, MaxPooling, Add), and some exist for floating point
only: the model builds, then every call fails, on TensorFlow and on JAX alike
(an Activation('sigmoid') on int32) or on TensorFlow only (Conv1D on int32
runs on JAX). The families below say which dtypes fail where, and what dtype comes
out; every kind a spec can use as a step or merge declares its family with
the kind (`LayerKind.dtypes`).

They were written from what Keras does, measured for every kind and every
dtype a spec may declare (`tests/support/dtype_survey.py`), and are checked
against Keras by `tests/layers/test_layer_dtypes_vs_keras.py`. Where a run in
training gives another dtype than at inference (random augmentations return
their input unchanged at inference, a float32 image when training), the
declared output is the inference one: the dtype `predict` and a served model
hand on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .call import LayerCall

FLOAT, INT, BOOL, STRING = "float", "int", "bool", "string"
FLOATS = ("float16", "bfloat16", "float32", "float64")
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
# The dtype Keras computes floating-point inputs in (the default policy's compute dtype).
COMPUTE = "float32"


def dtype_class(dtype: str) -> str:
    """The class of a dtype: "float", "int" (signed or unsigned), "bool" or "string"."""
    if dtype in FLOATS:
        return FLOAT
    if dtype in SIGNED or dtype in UNSIGNED:
        return INT
    return BOOL if dtype == "bool" else STRING


class Runs(enum.Enum):
    EVERYWHERE = "runs on every backend"
    NOWHERE = "fails on every backend"  # MS306
    NOT_ON_TENSORFLOW = "fails on TensorFlow, runs on JAX"  # MS305
    NOT_ON_JAX = "fails on JAX, runs on TensorFlow"  # MS305


# (the layer's parameters, its inputs' dtypes) -> the dtype it gives.
Output = Callable[[Any, Sequence[str]], str]


def keep(params: Any, dtypes: Sequence[str]) -> str:
    """The input's dtype, floating point cast to the compute dtype first (as Layer.__call__ does)."""
    return COMPUTE if dtypes[0] in FLOATS else dtypes[0]


def unchanged(params: Any, dtypes: Sequence[str]) -> str:
    """The input's dtype exactly: the layer takes its input as it is, floating point included."""
    return dtypes[0]


def computed(params: Any, dtypes: Sequence[str]) -> str:
    """The compute dtype, whatever comes in: the layer's weights or operations promote to float32."""
    return COMPUTE


def constant(dtype: str) -> Output:
    def output(params: Any, dtypes: Sequence[str]) -> str:
        return dtype

    output.__doc__ = f"Always {dtype}."
    return output


_SIGNED_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UNSIGNED_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}


def promote(params: Any, dtypes: Sequence[str]) -> str:
    """Keras' result_type of the inputs after the float cast: a float wins, then the widest integer."""
    cast = [COMPUTE if d in FLOATS else d for d in dtypes]
    if COMPUTE in cast:
        return COMPUTE
    if all(d == cast[0] for d in cast):
        return cast[0]
    numbers = [d for d in cast if d != "bool"]
    if not numbers:
        return "bool"
    signed = [_SIGNED_BITS[d] for d in numbers if d in _SIGNED_BITS]
    unsigned = [_UNSIGNED_BITS[d] for d in numbers if d in _UNSIGNED_BITS]
    if not signed:
        return f"uint{max(unsigned)}"
    if not unsigned:
        return f"int{max(signed)}"
    # A signed and an unsigned integer: the smallest signed type holding both.
    bits = max(max(signed), 2 * max(unsigned))
    return f"int{bits}" if bits <= 64 else COMPUTE


def arithmetic(params: Any, dtypes: Sequence[str]) -> str:
    """The promoted dtype, but uint64, which Keras' TensorFlow arithmetic returns as uint32."""
    promoted = promote(params, dtypes)
    return "uint32" if promoted == "uint64" else promoted


def matmul(params: Any, dtypes: Sequence[str]) -> str:
    """Arithmetic's dtype, but int8, which Keras' matmul accumulates in int32 (as quantized layers need)."""
    promoted = arithmetic(params, dtypes)
    return "int32" if promoted == "int8" else promoted


def masked(params: Any, dtypes: Sequence[str]) -> str:
    """Masking multiplies by its mask: booleans become int32, uint64 uint32 (as arithmetic gives)."""
    if dtypes[0] == "bool":
        return "int32"
    return arithmetic(params, dtypes)


def true_divide(params: Any, dtypes: Sequence[str]) -> str:
    """The promoted dtype divided by a count: integers become floating point, 32 and 64 bits float64."""
    promoted = promote(params, dtypes)
    if promoted in FLOATS:
        return promoted
    return "float64" if promoted in ("int32", "int64", "uint32", "uint64") else COMPUTE


@dataclass(frozen=True)
class Family:
    """A way of computing that several kinds share: which dtypes fail where, and what comes out.

    `fails` and `tensorflow_fails` hold dtype classes ("int") or single
    dtypes ("uint8"): a dtype fails where it or its class is named.
    """

    name: str
    # Completes "Activation('sigmoid') in gate step 1 ___, but gets int32": what it needs.
    computes: str
    output: Output = keep
    fails: frozenset[str] = frozenset()  # on every backend: MS306
    tensorflow_fails: frozenset[str] = frozenset()  # on TensorFlow, with or without oneDNN: MS305
    jax_fails: frozenset[str] = frozenset()  # on JAX (where TensorFlow runs: MS305; where not: MS306)
    # The failures happen only when training (training=True): Dropout's mask is floating point.
    when_training: bool = False
    # What comes out when training, for a family whose training differs: noise and augmentation compute in
    # float32 (integers in, float32 out), unless the family says otherwise for a backend.
    tensorflow_training: Output = computed
    jax_training: Output = computed
    # The output dtype is the input's (the tensor's values are only moved or selected).
    keeps: bool = False
    # A merge whose inputs are promoted to one dtype first computes with that one (Add of float32 and bool
    # is an Add of float32s); else each input's dtype counts (HashedCrossing hashes each input).
    promoted: bool = False
    # A merge Keras computes two inputs at a time, left to right (Add, Multiply, Maximum, Minimum, Average):
    # each step promotes its own pair, so [bool, bool, float32] first adds two booleans.
    folds: bool = False
    # What a merge does with inputs of different dtypes (after the float cast), whatever they are.
    mixed: Runs = Runs.EVERYWHERE
    # How to give the layer what it takes, where the usual advice (vectors for ids, floats) does not fit.
    hint: str | None = None

    def when_training_gives(self, backend: str, params: Any, dtypes: Sequence[str]) -> str:
        """The dtype a family with `when_training` gives when training, on "tensorflow" or "jax"."""
        rule = self.jax_training if backend == "jax" else self.tensorflow_training
        return rule(params, dtypes)

    def verdict(self, dtype: str) -> Runs:
        keys = (dtype, dtype_class(dtype))
        on_tensorflow = any(key in self.tensorflow_fails for key in keys)
        on_jax = any(key in self.jax_fails for key in keys)
        if any(key in self.fails for key in keys) or (on_tensorflow and on_jax):
            return Runs.NOWHERE
        if on_tensorflow:
            return Runs.NOT_ON_TENSORFLOW
        return Runs.NOT_ON_JAX if on_jax else Runs.EVERYWHERE


def family(
    name: str,
    computes: str,
    output: Output = keep,
    *,
    fails: Sequence[str] = (),
    tensorflow: Sequence[str] = (),
    jax: Sequence[str] = (),
    when_training: bool = False,
    tensorflow_training: Output = computed,
    jax_training: Output = computed,
    promoted: bool = False,
    folds: bool = False,
    mixed: Runs = Runs.EVERYWHERE,
    hint: str | None = None,
) -> Family:
    return Family(
        name,
        computes,
        output,
        frozenset(fails),
        frozenset(tensorflow),
        frozenset(jax),
        when_training,
        tensorflow_training,
        jax_training,
        keeps=output in (keep, promote, unchanged, arithmetic, matmul),
        promoted=promoted,
        folds=folds,
        mixed=mixed,
        hint=hint,
    )


# --- The families ----------------------------------------------------------------------------------
# Strings fail in every numeric operation, on every backend; shape-only layers move them on TensorFlow
# (JAX holds no strings at all, so no string model runs there: that is not counted against a layer).

SHAPE_ONLY = family("passes the dtype through", "only moves values", keep)
PROMOTES = family(
    "promotes integers to float",
    "computes in floating point (it promotes numbers)",
    computed,
    fails=[STRING],
)
FLOAT_ONLY = family(
    "floating point only", "computes in floating point only", computed, fails=[INT, BOOL, STRING]
)
FLOAT_ON_TENSORFLOW = family(
    "floating point only on TensorFlow",
    "computes in floating point only on TensorFlow (JAX promotes numbers)",
    computed,
    fails=[STRING],
    tensorflow=[INT, BOOL],
)
AVERAGES = family(
    "averages numbers",
    "averages numbers (in floating point only on TensorFlow)",
    computed,
    fails=[BOOL, STRING],
    tensorflow=[INT],
)
SELECTS = family("selects numbers", "selects among numbers", keep, fails=[STRING], tensorflow=[BOOL])
POOLS_MAXIMA = family(
    "selects numbers in windows",
    "selects among numbers (TensorFlow: not booleans, not 32- or 64-bit unsigned integers)",
    keep,
    fails=[STRING],
    tensorflow=[BOOL, "uint32", "uint64"],
)
# Resizing by area exists on TensorFlow only: JAX's resize refuses the interpolation, whatever the dtype.
RESIZES_BY_AREA = family(
    "resizes by area (TensorFlow only)",
    "resizes by area, which JAX lacks (TensorFlow: not booleans, not 32- or 64-bit unsigned integers)",
    keep,
    fails=[STRING],
    tensorflow=[BOOL, "uint32", "uint64"],
    jax=[FLOAT, INT, BOOL],
    hint='use interpolation = "bilinear" for a model that runs on JAX too',
)


def resizes(params: Any) -> Family:
    """Resizing by interpolation: windows of numbers, or by area, which only TensorFlow has."""
    return RESIZES_BY_AREA if params.interpolation == "area" else POOLS_MAXIMA


def upsamples(params: Any) -> Family:
    """UpSampling2D repeats values with "nearest", and resizes as Resizing does otherwise."""
    return SHAPE_ONLY if params.interpolation == "nearest" else resizes(params)


SELECTS_IN_3D = family(
    "selects numbers (3D: floating point only on TensorFlow)",
    "selects among numbers (TensorFlow's 3D pooling in floating point only)",
    keep,
    fails=[STRING],
    tensorflow=[INT, BOOL],
)
KEEPS_NUMBERS = family("keeps numbers", "computes with numbers", keep, fails=[STRING])
RECTIFIES_TO_FLOAT = family(
    "computes in float32, booleans aside",
    "computes with numbers (not booleans on TensorFlow)",
    computed,
    fails=[STRING],
    tensorflow=[BOOL],
)
DROPS_WHEN_TRAINING = family(
    "drops values with a floating-point mask when training",
    "multiplies by a floating-point mask when training",
    keep,
    fails=[INT, BOOL, STRING],
    when_training=True,
)
NOISE_WHEN_TRAINING = family(
    "adds floating-point noise when training",
    "computes with floating-point noise when training",
    keep,
    fails=[STRING],
    tensorflow=[INT, BOOL],
    when_training=True,
)
AUGMENTS_WHEN_TRAINING = family(
    "augments in float32 when training, hands values on at inference",
    "computes with numbers",
    keep,
    fails=[STRING],
    when_training=True,
)

# --- Activations ---------------------------------------------------------------------------------
# Activation applies one function: whether it exists for integers depends on the function.

_IDENTITY = family("linear", "hands values on", keep)
_RECTIFIES = family(
    "keeps integers",
    "computes with numbers (not booleans on TensorFlow)",
    keep,
    fails=[STRING],
    tensorflow=[BOOL],
)
_PROMOTES_ALL = family("promotes numbers to float32", "computes in floating point", computed, fails=[STRING])
_SOFTMAX_LIKE = family(
    "floating point only on TensorFlow, never booleans",
    "computes in floating point only (JAX promotes integers)",
    computed,
    fails=[BOOL, STRING],
    tensorflow=[INT],
)
ACTIVATION_FAMILIES: dict[str, Family] = {
    **dict.fromkeys(["sigmoid", "silu", "swish"], FLOAT_ONLY),
    **dict.fromkeys(["log_sigmoid", "log_softmax", "softmax"], _SOFTMAX_LIKE),
    "linear": _IDENTITY,
    **dict.fromkeys(["relu", "relu6"], _RECTIFIES),
    "leaky_relu": RECTIFIES_TO_FLOAT,
    **dict.fromkeys(["exponential", "tanh"], _PROMOTES_ALL),
    "hard_tanh": family(
        "floating point only on TensorFlow",
        "computes in floating point only on TensorFlow",
        keep,
        fails=[STRING],
        tensorflow=[INT, BOOL],
    ),
}


def _activation(params: Any) -> Family:
    # Every other activation is floating point on TensorFlow only: JAX promotes the integers.
    return ACTIVATION_FAMILIES.get(params.activation or "linear", FLOAT_ON_TENSORFLOW)


# --- Merges ------------------------------------------------------------------------------------------

CONCATENATES = family("concatenates", "only joins values", promote, promoted=True)
ADDS = family("adds", "adds numbers", arithmetic, tensorflow=[BOOL], promoted=True, folds=True)
COMBINES = family(
    "combines numbers",
    "computes with numbers",
    arithmetic,
    fails=[STRING],
    tensorflow=[BOOL],
    promoted=True,
    folds=True,
)
SUBTRACTS = family("subtracts", "subtracts numbers", arithmetic, fails=[BOOL, STRING], promoted=True)
AVERAGES_INPUTS = family(
    "averages inputs",
    "averages numbers",
    true_divide,
    fails=[STRING],
    tensorflow=[BOOL],
    promoted=True,
    folds=True,
)
DOT = family("dot product", "multiplies numbers", matmul, fails=[STRING], promoted=True)
# normalize = true: each input is L2-normalized first (a reciprocal square root, floating point only).
DOT_NORMALIZED = family(
    "dot product of L2-normalized inputs", "normalizes each input in floating point only", computed,
    fails=[INT, BOOL, STRING],
)  # fmt: skip
ATTENDS = family(
    "attends in floating point only on TensorFlow",
    "computes scores in floating point only on TensorFlow",
    computed,
    fails=[BOOL, STRING],
    tensorflow=[INT],
    promoted=True,
)
ATTENDS_ADDITIVELY = family(
    "adds query and key, promoting equal dtypes",
    "adds query and key (TensorFlow: of one dtype, not booleans)",
    computed,
    fails=[STRING],
    tensorflow=[BOOL],
    promoted=True,
    mixed=Runs.NOT_ON_TENSORFLOW,
)
PROJECTS = family(
    "projects every input in float32",
    "computes in floating point (it promotes numbers)",
    computed,
    fails=[STRING],
    promoted=True,
)
_GIVE_CATEGORIES = (
    'give it integer or string categories (dtype = "int32" or "string"); bucket real values first with '
    "Discretization"
)
CROSSES = family(
    "crosses integer or string categories",
    "hashes integer or string categories",
    constant("int64"),
    fails=[FLOAT, BOOL],
    hint=_GIVE_CATEGORIES,
)

# --- Categories and strings ----------------------------------------------------------------------

# A lookup's encodings (one_hot, multi_hot, count) are int64 as its ids are; tf_idf weighs them in float32.
_WEIGHTED = ("tf_idf",)
IDS_TO_VECTORS = family(
    "ids in, floats out", "looks ids up (it casts values to ids)", computed, fails=[STRING]
)
_GIVE_STRINGS = 'give it strings (dtype = "string"); integer ids go to IntegerLookup or Embedding'
STRINGS_TO_IDS = family(
    "strings in, int64 out",
    "takes strings only",
    constant("int64"),
    fails=[FLOAT, INT, BOOL],
    hint=_GIVE_STRINGS,
)
STRINGS_TO_ENCODINGS = family(
    "strings in, float32 out", "takes strings only", computed, fails=[FLOAT, INT, BOOL], hint=_GIVE_STRINGS
)
# TensorFlow's lookup table casts numbers to its int64 keys: floats and booleans find their ids too.
IDS_TO_STRINGS = family(
    "ids in, strings out",
    "takes ids (numbers)",
    constant("string"),
    fails=[STRING],
    hint="give it the integer ids a StringLookup made",
)
HASHES = family("hashes anything to int64", "hashes values", constant("int64"))
HASHES_TO_ENCODINGS = family("hashes anything to float32 encodings", "hashes values", computed)
INTEGERS_TO_IDS = family("integers in, int64 out", "looks integers up", constant("int64"), fails=[STRING])
INTEGERS_TO_ENCODINGS = family("integers in, float32 out", "looks integers up", computed, fails=[STRING])
ENCODES = family("encodes ids as float32", "encodes ids", computed, fails=[STRING])
COUNTS = family(
    "counts ids into float32",
    "counts ids (TensorFlow: int32 and int64 ones only)",
    computed,
    fails=[STRING],
    tensorflow=["int8", "int16", *UNSIGNED],
)


def _category_encoding(params: Any) -> Family:
    # TensorFlow's bincount, behind multi_hot and count, takes int32 and int64 only; one_hot does not use it.
    return ENCODES if params.output_mode == "one_hot" else COUNTS


_BUCKETING = "compares numbers with boundaries (TensorFlow: not uint64)"
BUCKETS = family(
    "buckets numbers into int32 ids", _BUCKETING, constant("int32"), fails=[STRING], tensorflow=["uint64"]
)
BUCKETS_TO_ENCODINGS = family(
    "buckets numbers into float32 encodings", _BUCKETING, computed, fails=[STRING], tensorflow=["uint64"]
)


def _encodes(ids: Family, encodings: Family, modes: Sequence[str]) -> Callable[[Any], Family]:
    """A preprocessing layer's family: ids by default, float32 encodings for the given output modes."""

    def choose(params: Any) -> Family:
        return encodings if getattr(params, "output_mode", "int") in modes else ids

    return choose


_ENCODINGS = ("one_hot", "multi_hot", "count", "tf_idf")


def _string_lookup(params: Any) -> Family:
    if getattr(params, "invert", False):
        return IDS_TO_STRINGS
    return _encodes(STRINGS_TO_IDS, STRINGS_TO_ENCODINGS, _WEIGHTED)(params)


def _when_above_zero(parameter: str, noisy: Family, *, all_at_one: bool = False) -> Callable[[Any], Family]:
    """A dropout or noise layer: at a rate (stddev) of 0 Keras skips its computation, training or not.

    With `all_at_one`, a rate of 1 drops everything: Keras' dropout then gives zeros of the
    input's dtype, which any dtype holds, and computes no mask either.
    """

    def declared(params: Any) -> Family:
        value = getattr(params, parameter)
        return noisy if value > 0 and not (all_at_one and value >= 1) else SHAPE_ONLY

    return declared


def _brightness_on_jax(params: Any, dtypes: Sequence[str]) -> str:
    """RandomBrightness on JAX when training: integers stay integers (at most 32 bits, as JAX computes
    without x64), booleans become int32, floating point float32 (measured; the other noise gives float32)."""
    dtype = dtypes[0]
    if dtype in FLOATS:
        return COMPUTE
    if dtype == "bool":
        return "int32"
    return {"int64": "int32", "uint64": "uint32"}.get(dtype, dtype)


DROPS_INPUTS_WHEN_TRAINING = family(
    "computes in floating point, and drops its inputs with a floating-point mask when training",
    "drops its inputs with a floating-point mask when training (dropout > 0)",
    computed,
    fails=[INT, BOOL, STRING],
    when_training=True,
)


def _input_dropout(params: Any) -> float:
    """The dropout a recurrent layer applies to its inputs: its own, or its (first) cell's for an RNN."""
    cell = getattr(params, "cell", None)
    if isinstance(cell, (list, tuple)):
        cell = cell[0]
    if isinstance(cell, LayerCall):
        cells = getattr(cell.params, "cells", None)  # a StackedRNNCells: the first cell reads the inputs
        return _input_dropout(cells[0].params if cells else cell.params)
    return getattr(params, "dropout", 0.0)


def _recurrent(without_dropout: Family) -> Callable[[Any], Family]:
    """A recurrent layer: with dropout on its inputs, training multiplies them by a float mask."""

    def declared(params: Any) -> Family:
        return DROPS_INPUTS_WHEN_TRAINING if _input_dropout(params) > 0 else without_dropout

    return declared


def _dot(params: Any) -> Family:
    return DOT_NORMALIZED if params.normalize else DOT


# What a kind declares (`LayerKind.dtypes`): its family, or a function of its parameters giving the family.
Declaration = Family | Callable[[Any], Family]


class Delegated(enum.Enum):
    """The declaration of a kind whose dtypes another kind decides."""

    WRAPPED = "computes as the layer it wraps"
    # SpectralNormalization casts its wrapped layer's result back to its input's dtype (ints in, ints out).
    WRAPPED_CAST_BACK = "computes as the layer it wraps, then gives its input's dtype"
    CELL = "a recurrent cell: the RNN running it declares the dtypes"


# The declarations of the kinds whose family depends on their parameters, or that no other kind shares.
ACTIVATION = _activation
DOTS = _dot
RECURRENT = _recurrent(PROMOTES)
CONV_RECURRENT = _recurrent(FLOAT_ON_TENSORFLOW)
MASKS_NUMBERS = family("masks numbers", "computes with numbers", masked, fails=[STRING])
DROPOUT = _when_above_zero("rate", DROPS_WHEN_TRAINING, all_at_one=True)
ALPHA_DROPOUT = _when_above_zero("rate", NOISE_WHEN_TRAINING)
GAUSSIAN_NOISE = _when_above_zero("stddev", NOISE_WHEN_TRAINING)
GAUSSIAN_DROPOUT = _when_above_zero(
    "rate",
    family(
        "multiplies by floating-point noise when training",
        "multiplies by floating-point noise when training (TensorFlow: not integers)",
        keep,
        fails=[STRING],
        tensorflow=[INT],
        when_training=True,
        tensorflow_training=keep,  # booleans stay booleans there (JAX: float32)
    ),
)
RANDOM_BRIGHTNESS = family(
    "adds a random brightness when training",
    "adds a random brightness when training (TensorFlow: not booleans)",
    keep,
    fails=[STRING],
    tensorflow=[BOOL],
    when_training=True,
    tensorflow_training=keep,
    jax_training=_brightness_on_jax,
)
ACTIVITY_PENALTY = family(
    "keeps numbers, adds a loss of their size",
    "computes the size of numbers (TensorFlow: not booleans, not 8- or 16-bit integers)",
    keep,
    fails=[STRING],
    tensorflow=[BOOL, "int8", "int16", "uint8", "uint16"],
)
# RandomCrop takes its input as it is (no cast to float32): float16 stays float16 at inference.
RANDOM_CROP = family(
    "crops in float32 when training, hands values on at inference",
    "computes with numbers",
    unchanged,
    fails=[STRING],
    when_training=True,
)
HASHED_CROSSING = _encodes(
    CROSSES,
    family(
        "crosses categories into float32 encodings",
        "hashes integer or string categories",
        computed,
        fails=[FLOAT, BOOL],
        hint=_GIVE_CATEGORIES,
    ),
    _ENCODINGS,
)
STRING_LOOKUP = _string_lookup
TEXT_VECTORIZATION = _encodes(STRINGS_TO_IDS, STRINGS_TO_ENCODINGS, _WEIGHTED)
HASHING = _encodes(HASHES, HASHES_TO_ENCODINGS, _ENCODINGS)
INTEGER_LOOKUP = _encodes(INTEGERS_TO_IDS, INTEGERS_TO_ENCODINGS, _WEIGHTED)
CATEGORY_ENCODING = _category_encoding
DISCRETIZATION = _encodes(BUCKETS, BUCKETS_TO_ENCODINGS, _ENCODINGS)


def declaration(call: LayerCall) -> Family | None:
    """The family a layer call computes in (a wrapper's: its wrapped layer's); None if it has none."""
    declared = call.kind.dtypes
    if isinstance(declared, Delegated):
        inner = getattr(call.params, "layer", None)
        if declared is Delegated.CELL or not isinstance(inner, LayerCall):
            return None
        wrapped = declaration(inner)
        if wrapped is not None and declared is Delegated.WRAPPED_CAST_BACK:
            return replace(wrapped, output=keep, keeps=True)
        return wrapped
    if declared is None or isinstance(declared, Family):
        return declared
    return declared(call.params)


def describe(call: LayerCall) -> str:
    """Name a layer call as a message shows it: Activation('sigmoid'), TimeDistributed(Dense)."""
    inner = getattr(call.params, "layer", None)
    if isinstance(inner, LayerCall):
        return f"{call.kind.name}({describe(inner)})"
    if call.kind.name == "Activation":
        return f"Activation({call.params.activation or 'linear'!r})"
    return call.kind.name


@dataclass(frozen=True)
class Judgement:
    """What a layer call does with its inputs' dtypes."""

    layer: str  # as a message names it
    family: Family
    runs: Runs
    output: str | None  # the dtype it gives (None when it fails everywhere)
    position: int = 0  # the input whose dtype fails (the first such)
    dtype: str = ""  # that input's dtype
    hints: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def computes(self) -> str:
        return self.family.computes

    @property
    def when_training(self) -> bool:
        return self.family.when_training

    @property
    def keeps(self) -> bool:
        return self.family.keeps

    def hint(self, *, from_input: bool, portable: bool = False) -> str:
        """How to give the layer a dtype it computes with (from_input: the dtype is a spec input's)."""
        kind = dtype_class(self.dtype)
        if self.family.hint is not None:
            return self.family.hint
        if kind == STRING:
            fix = "turn the strings into ids first: StringLookup, Hashing or TextVectorization"
        else:
            cast = "put a Rescaling (scale = 1.0) before it, which computes in float32"
            declare = 'declare the input dtype = "float32"'
            if kind == BOOL:
                fix = f"{declare} (booleans as 0.0 and 1.0), or {cast}" if from_input else cast
            else:
                fix = "turn ids into vectors first (Embedding or CategoryEncoding); if the values are "
                fix += f"quantities, {declare}, or {cast}" if from_input else f"quantities, {cast}"
        return f"for a model that runs on TensorFlow too: {fix}" if portable else fix


def judge(call: LayerCall, dtypes: Sequence[str]) -> Judgement | None:
    """Whether a layer call computes with its inputs' dtypes, where it fails, and the dtype it gives.

    None for a cell, or a wrapper without its layer (a test checks that every kind declares one).
    """
    declared = declaration(call)
    if declared is None:
        return None
    layer = describe(call)
    if declared.folds and len(dtypes) > 2:
        return _judge_folded(call, declared, layer, dtypes)
    if declared.promoted and len(dtypes) > 1:
        return _judge_promoted(call, declared, layer, dtypes)
    worst, position = Runs.EVERYWHERE, 0
    for index, dtype in enumerate(dtypes):
        runs = declared.verdict(dtype)
        if runs is Runs.EVERYWHERE:
            continue
        # Fails everywhere, or TensorFlow fails on one input and JAX on another.
        if runs is Runs.NOWHERE or worst not in (Runs.EVERYWHERE, runs):
            return Judgement(layer, declared, Runs.NOWHERE, None, index, dtype)
        if worst is Runs.EVERYWHERE:
            worst, position = runs, index
    return _judged(call, declared, layer, dtypes, worst, position)


def _judge_promoted(call: LayerCall, declared: Family, layer: str, dtypes: Sequence[str]) -> Judgement:
    """A merge that computes with its inputs' common dtype: judged on that one (and on their mixing)."""
    cast = [COMPUTE if dtype in FLOATS else dtype for dtype in dtypes]
    if STRING in cast and any(dtype != STRING for dtype in cast):
        # Strings and numbers have no common dtype: every backend refuses to mix them.
        return Judgement(layer, declared, Runs.NOWHERE, None, cast.index(STRING), STRING)
    common = promote(call.params, dtypes)
    runs = declared.verdict(common)
    position = next((i for i, dtype in enumerate(cast) if dtype == common), 0)
    if runs is Runs.EVERYWHERE and len(set(cast)) > 1 and declared.mixed is not Runs.EVERYWHERE:
        runs = declared.mixed
        position = next(i for i, dtype in enumerate(cast) if dtype != cast[0])
    if runs is Runs.NOWHERE:
        return Judgement(layer, declared, runs, None, position, dtypes[position])
    return _judged(call, declared, layer, dtypes, runs, position)


def _judge_folded(call: LayerCall, declared: Family, layer: str, dtypes: Sequence[str]) -> Judgement:
    """A merge computed two inputs at a time: each step judged on its pair (the sum so far, the next)."""
    worst, position = Runs.EVERYWHERE, 0
    so_far = dtypes[0]
    for index in range(1, len(dtypes)):
        step = _judge_promoted(call, declared, layer, [so_far, dtypes[index]])
        blamed = index if step.position == 1 else 0  # the sum so far stands for the first input
        if step.runs is Runs.NOWHERE:
            return Judgement(layer, declared, step.runs, None, blamed, dtypes[blamed])
        if step.runs is Runs.NOT_ON_TENSORFLOW and worst is Runs.EVERYWHERE:
            worst, position = step.runs, blamed
        so_far = arithmetic(call.params, [so_far, dtypes[index]])
    return _judged(call, declared, layer, dtypes, worst, position)


def _judged(call: LayerCall, declared: Family, layer: str, dtypes: Sequence[str], runs: Runs, position: int):
    return Judgement(layer, declared, runs, declared.output(call.params, dtypes), position, dtypes[position])


__all__ = [
    "Declaration",
    "Delegated",
    "Family",
    "Judgement",
    "Runs",
    "declaration",
    "describe",
    "dtype_class",
    "judge",
]
