"""Preprocessing layers for categorical and text features: lookups, hashing, binning, text vectorization.

They have no trainable weights (the image preprocessing layers are in
`image_preprocessing`). The stateful ones take their state from the
spec or, when it gives none, from the training data at `mspec fit` (adapt):

* `StringLookup`, `IntegerLookup`, `TextVectorization`: a `vocabulary` list,
  or `vocabulary_file = "name.txt"` (one token per line, relative to the
  spec's directory and inside it). mspec reads the file when it checks the
  spec, within `MAX_VOCABULARY_BYTES` and `MAX_VOCABULARY_TOKENS`, and never
  runs anything from it; generated code passes the tokens inline as a tuple,
  so the built model is exactly the checked one and needs no file at build
  time. Without either, `mspec fit` adapts the layer.
* `Discretization`: `bin_boundaries`, or `num_bins` (adapted by `mspec fit`).

Layers whose output width is the vocabulary size (`output_mode` one_hot,
multi_hot, count, tf_idf) get it from the vocabulary, or from `max_tokens`
with `pad_to_max_tokens`; otherwise Keras declares the width unknown, and so
does mspec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ValidationInfo, model_validator

from . import dtypes as dt
from .base import (
    LayerKind,
    LayerParams,
    NonNegativeInt,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    known,
    normalize_axis,
    product,
    register,
)

# A vocabulary file mspec reads while checking: its size in bytes, and its number of tokens.
MAX_VOCABULARY_BYTES = 1 << 20
MAX_VOCABULARY_TOKENS = 100_000

OutputMode = Literal["int", "one_hot", "multi_hot", "count", "tf_idf"]


def _no_weights(p, shapes) -> int:
    return 0


# --- vocabulary files --------------------------------------------------------


@dataclass(frozen=True)
class VocabularyFile:
    """A vocabulary file named by a spec, read when the spec is checked."""

    name: str
    tokens: tuple[str, ...]

    def __repr__(self) -> str:
        return repr(self.name)


def _spec_directory(info: ValidationInfo) -> Path:
    context = info.context or {}
    spec_path = context.get("spec_path")
    if spec_path and not str(spec_path).startswith("<"):
        return Path(spec_path).resolve().parent
    return Path.cwd().resolve()


def _read_vocabulary_file(name: str | None, info: ValidationInfo) -> VocabularyFile | None:
    if name is None:
        return None
    relative = PurePath(name)
    if not name or relative.is_absolute() or ".." in relative.parts or name.startswith("~"):
        raise ValueError("a vocabulary file is named relative to the spec's directory, without '..'")
    base = _spec_directory(info)
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"vocabulary file {name!r} leads outside the spec's directory")
    if not path.is_file():
        raise ValueError(f"vocabulary file {name!r} is not a file next to the spec ({path})")
    size = path.stat().st_size
    if size > MAX_VOCABULARY_BYTES:
        raise ValueError(f"vocabulary file {name!r} has {size:,} bytes, more than {MAX_VOCABULARY_BYTES:,}")
    try:
        text = path.read_bytes()[: MAX_VOCABULARY_BYTES + 1].decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"vocabulary file {name!r} cannot be read as UTF-8 text: {error}") from None
    if "\x00" in text:
        raise ValueError(f"vocabulary file {name!r} holds a NUL character: it is not a text file")
    # One token per line, as Keras reads the file; the last line may end with a line break.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tokens = tuple(line.removesuffix("\r") for line in lines)
    if len(tokens) > MAX_VOCABULARY_TOKENS:
        raise ValueError(
            f"vocabulary file {name!r} has {len(tokens):,} tokens, more than {MAX_VOCABULARY_TOKENS:,}"
        )
    return VocabularyFile(name, tokens)


VocabularyFileName = Annotated[str | None, AfterValidator(_read_vocabulary_file)]


def _inline_vocabulary(found: dict[str, Any], tokens: list[Any] | None) -> dict[str, Any]:
    if isinstance(found.get("vocabulary_file"), VocabularyFile):
        found.pop("vocabulary_file")
        found = {"vocabulary": list(tokens or ()), **found}
    return found


# --- StringLookup, IntegerLookup ----------------------------------------------


class _LookupParams(LayerParams):
    """What StringLookup and IntegerLookup share (Keras' IndexLookup)."""

    max_tokens: int | None = None
    num_oov_indices: NonNegativeInt = 1
    vocabulary: list[Any] | None = None
    # mspec's own: a file of tokens next to the spec, passed to Keras inline as `vocabulary`.
    vocabulary_file: VocabularyFileName = None
    idf_weights: list[float] | None = None
    invert: bool = False
    output_mode: OutputMode = "int"
    pad_to_max_tokens: bool = False
    sparse: Literal[False] = False

    def explicit(self) -> dict[str, Any]:
        """The Keras arguments: a vocabulary file becomes its tokens, given inline."""
        return _inline_vocabulary(super().explicit(), self.tokens)

    def _token(self, text: str) -> Any:
        return text

    @property
    def tokens(self) -> list[Any] | None:
        """The vocabulary as given (inline or from the file), or None: adapted by `mspec fit`."""
        if self.vocabulary is not None:
            return list(self.vocabulary)
        if isinstance(self.vocabulary_file, VocabularyFile):
            return [self._token(t) for t in self.vocabulary_file.tokens]
        return None

    @property
    def mask(self) -> Any:
        return getattr(self, "mask_token", None)

    @property
    def oov(self) -> Any:
        return getattr(self, "oov_token", None)

    def _special_tokens(self) -> list[Any]:
        mask_first = 1 if self.mask is not None and self.output_mode == "int" else 0
        return [self.mask] * mask_first + [self.oov] * self.num_oov_indices

    def own_tokens(self) -> list[Any] | None:
        """The vocabulary without the mask and OOV tokens it may start with (as Keras strips them)."""
        tokens = self.tokens
        if tokens is None:
            return None
        special = self._special_tokens()
        if special and tokens[: len(special)] == special:
            return tokens[len(special) :]
        return tokens

    @property
    def vocabulary_size(self) -> int | None:
        """The width of a one_hot/multi_hot/count/tf_idf output, None when Keras leaves it unknown."""
        if self.pad_to_max_tokens:
            return self.max_tokens
        tokens = self.own_tokens()
        if tokens is None:
            return None
        return len(self._special_tokens()) + len(tokens)

    @model_validator(mode="after")
    def _check_lookup(self):
        self.check_vocabulary()
        return self

    def check_vocabulary(self) -> None:
        """Refuse what Keras' constructor refuses (and set_vocabulary, for a given vocabulary)."""
        if self.max_tokens is not None and self.max_tokens <= 1:
            raise ValueError(f"max_tokens must be greater than 1 if set, got {self.max_tokens}")
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise ValueError("pad_to_max_tokens needs max_tokens")
        if self.vocabulary is not None and self.vocabulary_file is not None:
            raise ValueError("give the vocabulary inline or as vocabulary_file, not both")
        if self.invert and self.output_mode != "int":
            raise ValueError(f"invert needs output_mode 'int', got {self.output_mode!r}")
        if self.idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError("idf_weights are only for output_mode 'tf_idf'")
        tokens = self.tokens
        if tokens is None:
            return
        if self.output_mode == "tf_idf" and self.idf_weights is None:
            raise ValueError("a vocabulary with output_mode 'tf_idf' needs idf_weights as well")
        if not tokens:
            raise ValueError("the vocabulary is empty")
        own = self.own_tokens() or []
        repeated = sorted({repr(t) for t in own if own.count(t) > 1})
        if repeated:
            raise ValueError(f"the vocabulary repeats {', '.join(repeated[:5])}")
        if self.mask is not None and self.mask in own:
            raise ValueError(f"the mask token {self.mask!r} is in the vocabulary (Keras adds it itself)")
        if self.invert and self.oov is not None and self.oov in own:
            raise ValueError(f"the OOV token {self.oov!r} is in the vocabulary (Keras adds it itself)")
        size = len(self._special_tokens()) + len(own)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"the vocabulary has {size} entries with the special tokens, over max_tokens")
        if self.idf_weights is not None and len(self.idf_weights) != len(tokens):
            raise ValueError(
                f"idf_weights has {len(self.idf_weights)} values for a vocabulary of {len(tokens)} tokens"
            )


def _salt_ok(salt: int | list[int] | None) -> None:
    if isinstance(salt, list) and len(salt) != 2:
        raise ValueError("salt is one integer or a list of two")


class StringLookupParams(_LookupParams):
    vocabulary: list[str] | None = None
    mask_token: str | None = None
    oov_token: str = "[UNK]"
    encoding: str = "utf-8"
    salt: int | list[int] | None = None

    @model_validator(mode="after")
    def _check_salt(self):
        _salt_ok(self.salt)
        return self


class IntegerLookupParams(_LookupParams):
    vocabulary: list[int] | None = None
    mask_token: int | None = None
    oov_token: int = -1
    vocabulary_dtype: Literal["int64"] = "int64"
    oov_method: Literal["floormod", "farmhash"] = "floormod"
    salt: int | list[int] | None = None

    def _token(self, text: str) -> Any:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"IntegerLookup's vocabulary file holds {text!r}, not an integer") from None

    @model_validator(mode="after")
    def _check_salt(self):
        _salt_ok(self.salt)
        if self.salt is not None and self.oov_method != "farmhash":
            raise ValueError("salt needs oov_method 'farmhash'")
        return self

    @model_validator(mode="after")
    def _integer_file(self):
        self.tokens  # noqa: B018 - raises for a file line that is not an integer
        return self


def encoded_shape(shape: Shape, mode: str, depth: Any, layer: str) -> Shape:
    """The shape of ids encoded as `mode` with `depth` values (Keras' rule for lookup layers)."""
    if mode == "int":
        return shape
    if mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return (*shape[:-1], depth)
        return (*shape, depth)
    # Keras declares (depth,) for a rank-1 input, encoding the whole batch as one example, and
    # counts over axis 1, not the last axis, above rank 2 (as CategoryEncoding does).
    if len(shape) != 2:
        raise ShapeError(
            f"{layer} with output_mode={mode!r} takes a rank-2 input (batch, values), got {{0}}",
            hint="reshape the input to (batch, values) first, or use output_mode 'int' or 'one_hot'",
        )
    return (shape[0], depth)


def _lookup_shape(name: str):
    def rule(p: _LookupParams, shapes) -> Shape:
        (shape,) = shapes
        return encoded_shape(shape, p.output_mode, p.vocabulary_size, name)

    return rule


for _name, _traits, _dtypes, _params, _doc in (
    (
        "StringLookup",
        {Trait.TAKES_STRINGS, Trait.ENCODES_CATEGORIES, Trait.ADAPTS},
        dt.STRING_LOOKUP,
        StringLookupParams,
        "Maps strings to integer ids (or encodes them) through a vocabulary.",
    ),
    (
        "IntegerLookup",
        {Trait.ENCODES_CATEGORIES, Trait.ADAPTS},
        dt.INTEGER_LOOKUP,
        IntegerLookupParams,
        "Maps integer values to contiguous ids (or encodes them) through a vocabulary.",
    ),
):
    register(
        LayerKind(
            _name,
            _params,
            _lookup_shape(_name),
            _no_weights,
            "preprocessing",
            _doc + " The vocabulary comes from `vocabulary`, `vocabulary_file` or `mspec fit`.",
            key_params=("output_mode", "max_tokens"),
            traits=frozenset(_traits),
            dtypes=_dtypes,
            adapt_state="tokens",
        )
    )


# --- Hashing, HashedCrossing ----------------------------------------------------


class HashingParams(LayerParams):
    num_bins: PositiveInt
    mask_value: str | int | None = None
    salt: int | list[int] | None = None
    output_mode: Literal["int", "one_hot", "multi_hot", "count"] = "int"
    sparse: Literal[False] = False

    @model_validator(mode="after")
    def _check_salt(self):
        _salt_ok(self.salt)
        return self


def _hashing_shape(p: HashingParams, shapes) -> Shape:
    (shape,) = shapes
    if p.output_mode == "int":
        return shape
    if p.output_mode == "one_hot" and (len(shape) == 1 or shape[-1] != 1):
        raise ShapeError(
            "Hashing with output_mode='one_hot' declares (..., num_bins) in place of the last axis, "
            "but encodes every value of {0}: what runs would not match",
            hint="give the input a last axis of size 1",
        )
    # When run, Keras squeezes a second size-1 axis before the last one as well: (batch, ..., 1, 1)
    # comes out a rank lower than it declares.
    if p.output_mode == "one_hot" and len(shape) >= 3 and shape[-2] == 1:
        raise ShapeError(
            "Hashing with output_mode='one_hot' declares (..., 1, num_bins) for {0}, but runs with that "
            "size-1 axis squeezed away: what runs would not match",
            hint="reshape the input to (batch, 1), or give the axis before the last a size above 1",
        )
    return encoded_shape(shape, p.output_mode, p.num_bins, "Hashing")


register(
    LayerKind(
        "Hashing",
        HashingParams,
        _hashing_shape,
        _no_weights,
        "preprocessing",
        "Hashes strings or integers into `num_bins` ids (or encodes them).",
        key_params=("num_bins", "output_mode"),
        positional=("num_bins",),
        traits=frozenset({Trait.ENCODES_CATEGORIES, Trait.TAKES_STRINGS}),
        dtypes=dt.HASHING,
    )
)


class HashedCrossingParams(LayerParams):
    num_bins: PositiveInt
    output_mode: Literal["int", "one_hot"] = "int"
    sparse: Literal[False] = False


def _hashed_crossing_shape(p: HashedCrossingParams, shapes) -> Shape:
    first, second = shapes
    for shape in shapes:
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ShapeError(
                "HashedCrossing takes inputs of shape (batch,) or (batch, 1), got {0} and {1}",
                hint="cross one feature value per example",
            )
    if first != second and not (
        len(first) == len(second)
        and all(a == b or a is None or b is None for a, b in zip(first, second, strict=True))
    ):
        raise ShapeError("HashedCrossing needs inputs of equal shape, got {0} and {1}")
    if p.output_mode == "int":
        return first
    return encoded_shape(first, "one_hot", p.num_bins, "HashedCrossing")


register(
    LayerKind(
        "HashedCrossing",
        HashedCrossingParams,
        _hashed_crossing_shape,
        _no_weights,
        "preprocessing",
        "Crosses two categorical features by hashing each pair of values into `num_bins` ids.",
        min_inputs=2,
        max_inputs=2,
        key_params=("num_bins", "output_mode"),
        positional=("num_bins",),
        traits=frozenset({Trait.ENCODES_CATEGORIES, Trait.TAKES_STRINGS}),
        dtypes=dt.HASHED_CROSSING,
    )
)


# --- Discretization -------------------------------------------------------------


class DiscretizationParams(LayerParams):
    bin_boundaries: list[float] | None = None
    num_bins: NonNegativeInt | None = None
    epsilon: float = 0.01
    output_mode: Literal["int", "one_hot", "multi_hot", "count"] = "int"
    sparse: Literal[False] = False

    @model_validator(mode="after")
    def _one_source(self):
        if (self.bin_boundaries is None) == (self.num_bins is None):
            raise ValueError("give bin_boundaries, or num_bins (then `mspec fit` adapts them), not both")
        return self

    @property
    def depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins  # type: ignore[return-value]


def _discretization_shape(p: DiscretizationParams, shapes) -> Shape:
    (shape,) = shapes
    return encoded_shape(shape, p.output_mode, p.depth, "Discretization")


register(
    LayerKind(
        "Discretization",
        DiscretizationParams,
        _discretization_shape,
        _no_weights,
        "preprocessing",
        "Buckets numbers into bins by `bin_boundaries`, or `num_bins` adapted by `mspec fit`.",
        key_params=("num_bins", "output_mode"),
        traits=frozenset({Trait.ADAPTS, Trait.SCALER}),
        dtypes=dt.DISCRETIZATION,
        adapt_state="bin_boundaries",
    )
)


# --- TextVectorization ----------------------------------------------------------


class TextVectorizationParams(LayerParams):
    max_tokens: int | None = None
    standardize: Literal["lower_and_strip_punctuation", "lower", "strip_punctuation"] | None = (
        "lower_and_strip_punctuation"
    )
    split: Literal["whitespace", "character"] | None = "whitespace"
    ngrams: PositiveInt | list[PositiveInt] | None = None
    output_mode: OutputMode = "int"
    output_sequence_length: PositiveInt | None = None
    pad_to_max_tokens: bool = False
    vocabulary: list[str] | None = None
    vocabulary_file: VocabularyFileName = None
    idf_weights: list[float] | None = None
    sparse: Literal[False] = False
    ragged: Literal[False] = False
    encoding: str = "utf-8"

    def explicit(self) -> dict[str, Any]:
        """The Keras arguments: a vocabulary file becomes its tokens, given inline."""
        return _inline_vocabulary(super().explicit(), self.tokens)

    @property
    def lookup(self) -> StringLookupParams:
        """The StringLookup Keras builds inside (its mask token is the empty string)."""
        return StringLookupParams.model_construct(
            max_tokens=self.max_tokens,
            vocabulary=self.vocabulary,
            vocabulary_file=self.vocabulary_file,
            idf_weights=self.idf_weights,
            pad_to_max_tokens=self.pad_to_max_tokens,
            mask_token="",
            output_mode=self.output_mode,
        )

    @property
    def tokens(self) -> list[str] | None:
        return self.lookup.tokens

    @model_validator(mode="after")
    def _check_vectorization(self):
        if self.output_mode != "int" and self.output_sequence_length is not None:
            raise ValueError("output_sequence_length is only for output_mode 'int'")
        self.lookup.check_vocabulary()
        return self


def _text_vectorization_shape(p: TextVectorizationParams, shapes) -> Shape:
    (shape,) = shapes
    if p.split is not None and len(shape) > 1 and shape[-1] != 1:
        raise ShapeError(
            "TextVectorization splits strings, so it takes one string per example: shape (batch,) or "
            "(batch, 1), got {0}",
            hint='declare the input with shape = [] or [1] and dtype = "string"',
        )
    if p.output_mode == "int":
        if len(shape) > 2:
            raise ShapeError("TextVectorization takes a rank-1 or rank-2 input (batch included), got {0}")
        return (shape[0], p.output_sequence_length)
    depth = p.lookup.vocabulary_size
    if p.split is None:
        if len(shape) == 1 and p.output_mode != "one_hot":
            raise ShapeError(
                f"TextVectorization without split, with output_mode={p.output_mode!r}, encodes a (batch,) "
                "input {0} as one example: what runs has no batch axis",
                hint="declare the input with shape = [1]",
            )
        return encoded_shape(
            (*shape, 1) if len(shape) <= 1 else shape, p.output_mode, depth, "TextVectorization"
        )
    if len(shape) > 1:
        raise ShapeError(
            f"TextVectorization with output_mode={p.output_mode!r} declares an extra axis for a "
            "(batch, 1) input {0} that what runs does not have",
            hint="declare the input with shape = [] (one string per example)",
        )
    return (shape[0], depth)


register(
    LayerKind(
        "TextVectorization",
        TextVectorizationParams,
        _text_vectorization_shape,
        _no_weights,
        "preprocessing",
        "Standardizes, splits and maps text to token ids (or encodes it); the vocabulary comes from "
        "`vocabulary`, `vocabulary_file` or `mspec fit`.",
        key_params=("output_mode", "max_tokens", "output_sequence_length"),
        traits=frozenset({Trait.ADAPTS, Trait.ENCODES_CATEGORIES, Trait.TAKES_STRINGS}),
        dtypes=dt.TEXT_VECTORIZATION,
        adapt_state="tokens",
    )
)


# --- CategoryEncoding, Rescaling and Normalization ---------------------------


class CategoryEncodingParams(LayerParams):
    num_tokens: PositiveInt
    output_mode: Literal["multi_hot", "one_hot", "count"] = "multi_hot"
    sparse: Literal[False] = False


def _category_encoding_shape(p: CategoryEncodingParams, shapes) -> Shape:
    (shape,) = shapes
    # Keras declares (..., num_tokens) for any rank, but counts over axis 1, not the last one,
    # above rank 2: its docs support 1D and 2D inputs only.
    if p.output_mode != "one_hot" and len(shape) > 2:
        raise ShapeError(
            f"CategoryEncoding with output_mode={p.output_mode!r} takes a rank-1 or rank-2 input "
            "(batch included), got {0}",
            hint="flatten the input to (batch, values) first, or use output_mode='one_hot'",
        )
    if p.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
        return (*shape, p.num_tokens)
    return (*shape[:-1], p.num_tokens)


register(
    LayerKind(
        "CategoryEncoding",
        CategoryEncodingParams,
        _category_encoding_shape,
        _no_weights,
        "preprocessing",
        "Encodes integer category indexes as one-hot, multi-hot or count vectors.",
        key_params=("num_tokens", "output_mode"),
        traits=frozenset({Trait.TAKES_IDS}),
        dtypes=dt.CATEGORY_ENCODING,
    )
)


class RescalingParams(LayerParams):
    scale: float
    offset: float = 0.0


register(
    LayerKind(
        "Rescaling", RescalingParams, lambda p, shapes: shapes[0], _no_weights, "core",
        "Computes `inputs * scale + offset`.", key_params=("scale", "offset"), positional=("scale",),
        traits=frozenset({Trait.KEEPS_MASK, Trait.SCALER}), dtypes=dt.PROMOTES,
    )
)  # fmt: skip


def _value_shape(value: float | list[float]) -> tuple[int, ...]:
    return (len(value),) if isinstance(value, list) else ()


class NormalizationParams(LayerParams):
    axis: int | list[int] | None = -1
    mean: float | list[float] | None = None
    variance: float | list[float] | None = None
    invert: bool = False

    @model_validator(mode="after")
    def _mean_with_variance(self):
        if (self.mean is None) != (self.variance is None):
            raise ValueError("give both mean and variance, or neither (then call adapt())")
        if self.mean is None:
            return self
        if _value_shape(self.mean) != _value_shape(self.variance):
            raise ValueError("mean and variance must have the same shape: two numbers or equal-length lists")
        if isinstance(self.mean, list) and not self.kept_axes:
            raise ValueError("a list of means needs a kept axis to lie along, but axis keeps none")
        return self

    @property
    def kept_axes(self) -> list[int]:
        if self.axis is None:
            return []
        return [self.axis] if isinstance(self.axis, int) else list(self.axis)


def _normalization_shape(p: NormalizationParams, shapes) -> Shape:
    (shape,) = shapes
    kept = [normalize_axis(axis, len(shape), "Normalization", shape) for axis in p.kept_axes]
    for axis in kept:
        # Keras shapes the mean and variance (given or adapted) by the kept axes, batch included.
        if not known(shape[axis]):
            raise ShapeError(
                f"Normalization needs a known size on every kept axis, but axis {axis} of {{0}} is unknown",
                hint="give that dimension a fixed size in the input shape, or keep other axes with `axis`",
            )
    repeated = {axis for axis in kept if kept.count(axis) > 1}
    if p.mean is None and any(shape[axis] != 1 for axis in repeated):
        # The adapted statistics get one entry per listed axis and no longer fit the input.
        raise ShapeError(
            f"Normalization axis {p.axis} names the same axis twice for input {{0}}",
            hint="list each axis once, either counting from the start or from the end",
        )
    if isinstance(p.mean, list):
        # Keras lines a list up with the last kept axis and broadcasts it there.
        last = max(kept)
        if len(p.mean) not in (1, shape[last]):
            raise ShapeError(
                f"Normalization mean and variance have {len(p.mean)} values, but axis {last} of {{0}} "
                f"has size {shape[last]}",
                hint="give one value per position on the last kept axis, or a single value",
            )
    return shape


def _normalization_count(p: NormalizationParams, shapes) -> int:
    if p.mean is not None:
        return 0
    # adapt() state: a mean and a variance per kept position, plus a sample count.
    return 2 * product([shapes[0][a] for a in p.kept_axes]) + 1  # type: ignore[operator]


register(
    LayerKind(
        "Normalization",
        NormalizationParams,
        _normalization_shape,
        _normalization_count,
        "preprocessing",
        "Feature-wise standardization with a given or adapted mean and variance.",
        build_axes=lambda p, shapes: {(0, a): shapes[0][a] for a in p.kept_axes},
        traits=frozenset({Trait.ADAPTS, Trait.KEEPS_MASK, Trait.SCALER}),
        dtypes=dt.PROMOTES,
        adapt_state="mean",
    )
)
