"""Differential tests of the preprocessing layer kinds against Keras, their vocabulary files, lint and fit.

Same method as every layer differential test (`support.layer_agreement`): Keras
(through `support.keras_oracle`, which feeds strings to StringLookup, Hashing
and TextVectorization, and int64 values to IntegerLookup and HashedCrossing) is
the truth for what is accepted, the output shape and `count_params()`. Cases
marked `run` also call the layer on arrays; layers without state (no
vocabulary, Discretization with `num_bins`) fail there until adapted, so their
cases are symbolic only, and `mspec fit` adapts them (tested at the end). Every
generated case runs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from hypothesis import strategies as st

from mspec.layers import KIND_MODULES

from support.layer_cases import (
    Case,
    L,
    N,
    check_deliberate_refusal,
    check_every_kind_has_accepted_and_refused,
    check_explicit_case,
    check_generated_cases,
    no,
    ok,
    param,
)

pytestmark = [pytest.mark.keras]

# The lookup, hashing and text layers, and the image layers; CategoryEncoding, Normalization and
# Rescaling are tested with the core kinds (support.explicit_cases).
PREPROCESSING_MODULES = ("preprocessing", "image_preprocessing")
TESTED_ELSEWHERE = ("CategoryEncoding", "Normalization", "Rescaling")
KINDS = sorted(
    name
    for name, module in KIND_MODULES.items()
    if module in PREPROCESSING_MODULES and name not in TESTED_ELSEWHERE
)
AB = ["a", "b"]

CASES = [
    # StringLookup: ids keep the shape; encodings are as wide as the vocabulary with its OOV index.
    ok(L("StringLookup", vocabulary=AB), (N, 1), run=True),
    ok(L("StringLookup"), (N, 1)),
    ok(L("StringLookup", vocabulary=AB, output_mode="one_hot"), (N, 1), run=True),
    ok(L("StringLookup", vocabulary=AB, output_mode="one_hot"), (N, 3), run=True),
    ok(L("StringLookup", vocabulary=AB, output_mode="multi_hot"), (N, 3), run=True),
    ok(L("StringLookup", vocabulary=AB, output_mode="count", mask_token=""), (N, 3), run=True),
    ok(L("StringLookup", vocabulary=AB, output_mode="count", num_oov_indices=3), (N, 3), run=True),
    ok(L("StringLookup", vocabulary=["[UNK]", "a", "b"], output_mode="multi_hot"), (N, 3), run=True),
    ok(L("StringLookup", output_mode="multi_hot"), (N, 3)),
    ok(L("StringLookup", output_mode="multi_hot", max_tokens=5, pad_to_max_tokens=True), (N, 3)),
    ok(L("StringLookup", vocabulary=AB, output_mode="tf_idf", idf_weights=[0.5, 1.0]), (N, 3), run=True),
    ok(L("StringLookup", vocabulary=AB, invert=False, oov_token="?"), (N, "T"), run=True),
    no(L("StringLookup", vocabulary=AB, output_mode="multi_hot"), (N, 2, 3), run=True),
    no(L("StringLookup", max_tokens=1), (N, 1)),
    no(L("StringLookup", pad_to_max_tokens=True), (N, 1)),
    no(L("StringLookup", num_oov_indices=-1), (N, 1)),
    no(L("StringLookup", invert=True, output_mode="one_hot"), (N, 1)),
    no(L("StringLookup", vocabulary=["a", "a"]), (N, 1)),
    no(L("StringLookup", vocabulary=[]), (N, 1)),
    no(L("StringLookup", vocabulary=["a", "b", "c"], max_tokens=3), (N, 1)),
    no(L("StringLookup", vocabulary=AB, output_mode="tf_idf"), (N, 3)),
    no(L("StringLookup", vocabulary=AB, idf_weights=[1.0, 2.0]), (N, 3)),
    no(L("StringLookup", vocabulary=["a", ""], mask_token=""), (N, 1)),
    no(L("StringLookup", output_mode="binary_hot"), (N, 1)),
    # IntegerLookup
    ok(L("IntegerLookup", vocabulary=[3, 4, 5], output_mode="one_hot"), (N, 1), run=True),
    ok(L("IntegerLookup", vocabulary=[-1, 3, 4, 5], output_mode="multi_hot"), (N, 2), run=True),
    ok(L("IntegerLookup", vocabulary=[3, 4], mask_token=0), (N, 2), run=True),
    ok(L("IntegerLookup", oov_method="farmhash", salt=7), (N, 2)),
    no(L("IntegerLookup", salt=7), (N, 2)),
    no(L("IntegerLookup", vocabulary_dtype="int32"), (N, 2)),
    no(L("IntegerLookup", vocabulary=[0, 1], mask_token=0), (N, 2)),
    # Hashing and HashedCrossing
    ok(L("Hashing", num_bins=4), (N, 3), run=True),
    ok(L("Hashing", num_bins=4, mask_value="", salt=[1, 2]), (N, 3), run=True),
    ok(L("Hashing", num_bins=4, output_mode="one_hot"), (N, 1), run=True),
    ok(L("Hashing", num_bins=4, output_mode="multi_hot"), (N, 3), run=True),
    no(L("Hashing", num_bins=4, output_mode="one_hot"), (N, 3), run=True),
    no(L("Hashing", num_bins=4, output_mode="one_hot"), (N,), run=True),
    no(L("Hashing", num_bins=2, output_mode="one_hot"), (N, 1, 1), run=True),
    no(L("Hashing", num_bins=3, output_mode="one_hot"), (N, 2, 1, 1), run=True),
    ok(L("Hashing", num_bins=1, output_mode="one_hot"), (N, 2, 1), run=True),
    no(L("Hashing", num_bins=4, output_mode="count"), (N, 2, 3), run=True),
    no(L("Hashing", num_bins=0), (N, 3)),
    no(L("Hashing", num_bins=4, output_mode="tf_idf"), (N, 3)),
    no(L("Hashing", num_bins=4, salt=[1, 2, 3]), (N, 3)),
    ok(L("HashedCrossing", num_bins=5), (N, 1), (N, 1), run=True),
    ok(L("HashedCrossing", num_bins=5, output_mode="one_hot"), (N, 1), (N, 1), run=True),
    ok(L("HashedCrossing", num_bins=5, output_mode="one_hot"), (N,), (N,), run=True),
    no(L("HashedCrossing", num_bins=5), (N, 2), (N, 2), run=True),
    no(L("HashedCrossing", num_bins=5), (N, 1), (N,)),
    no(L("HashedCrossing", num_bins=5, output_mode="count"), (N, 1), (N, 1)),
    # Discretization
    ok(L("Discretization", bin_boundaries=[0.0, 1.0]), (N, 3), run=True),
    ok(L("Discretization", bin_boundaries=[0.0, 1.0], output_mode="one_hot"), (N, 1), run=True),
    ok(L("Discretization", bin_boundaries=[0.0, 1.0], output_mode="one_hot"), (N, 3), run=True),
    ok(L("Discretization", bin_boundaries=[0.0, 1.0], output_mode="multi_hot"), (N, 3), run=True),
    ok(L("Discretization", num_bins=4), (N, 3)),
    ok(L("Discretization", num_bins=4, output_mode="count"), (N, 3)),
    no(L("Discretization"), (N, 3)),
    no(L("Discretization", num_bins=4, bin_boundaries=[0.0]), (N, 3)),
    no(L("Discretization", num_bins=-1), (N, 3)),
    # TextVectorization
    ok(L("TextVectorization", vocabulary=AB), (N,), run=True),
    ok(L("TextVectorization", vocabulary=AB), (N, 1), run=True),
    ok(L("TextVectorization", vocabulary=AB, output_sequence_length=4), (N, 1), run=True),
    ok(L("TextVectorization", vocabulary=AB, output_mode="multi_hot"), (N,), run=True),
    ok(L("TextVectorization", vocabulary=AB, output_mode="multi_hot", split=None), (N, 1), run=True),
    ok(L("TextVectorization", vocabulary=AB, output_mode="one_hot", split=None), (N,), run=True),
    ok(L("TextVectorization", vocabulary=AB, split=None, output_sequence_length=3), (N, 1), run=True),
    ok(L("TextVectorization", vocabulary=AB, output_mode="tf_idf", idf_weights=[1.0, 2.0]), (N,), run=True),
    ok(L("TextVectorization", vocabulary=AB, ngrams=2, standardize="lower", split="character"), (N,),
       run=True),
    ok(L("TextVectorization", max_tokens=20, output_mode="count", pad_to_max_tokens=True), (N,)),
    ok(L("TextVectorization"), (N,)),
    no(L("TextVectorization", vocabulary=AB, output_mode="multi_hot"), (N, 1), run=True),
    no(L("TextVectorization", vocabulary=AB, output_mode="multi_hot", split=None), (N,), run=True),
    no(L("TextVectorization", output_mode="count", output_sequence_length=3), (N,)),
    no(L("TextVectorization", standardize="upper"), (N,)),
    no(L("TextVectorization", split="comma"), (N,)),
    no(L("TextVectorization", vocabulary=AB, output_mode="tf_idf"), (N,)),
    # Resizing and cropping
    ok(L("Resizing", height=4, width=5), (N, 8, 8, 3), run=True),
    ok(L("Resizing", height=4, width=5, data_format="channels_first", interpolation="nearest"), (N, 3, 8, 8)),
    ok(L("Resizing", height=4, width=5, crop_to_aspect_ratio=True), (N, N, N, 3)),
    no(L("Resizing", height=4, width=5, interpolation="cubic"), (N, 8, 8, 3), run=True),
    ok(L("CenterCrop", height=4, width=5), (N, 8, 8, 3), run=True),
    ok(L("CenterCrop", height=4, width=5, data_format="channels_first"), (N, 3, 8, 8), run=True),
    no(L("CenterCrop", height=4, width=5), (N, 8), run=True),
    ok(L("RandomCrop", height=4, width=5), (N, 8, 8, 3), run=True),
    ok(L("RandomCrop", height=4, width=5, seed=1), (N, 3, 3, 3), run=True),
    no(L("RandomCrop", height=4, width=5), (N, 8), run=True),
    # Random augmentations keep the shape of a batch of images.
    ok(L("RandomFlip"), (N, 8, 8, 3), run=True),
    ok(L("RandomFlip", mode="horizontal", seed=3), (N, 8, 8, 3), run=True),
    no(L("RandomFlip"), (N, 8), run=True),
    ok(L("RandomRotation", factor=0.2), (N, 8, 8, 3), run=True),
    ok(L("RandomRotation", factor=[-0.1, 0.3], fill_mode="constant"), (N, 8, 8, 3), run=True),
    no(L("RandomRotation", factor=2.0), (N, 8, 8, 3)),
    no(L("RandomRotation", factor=0.2, fill_mode="mirror"), (N, 8, 8, 3)),
    ok(L("RandomZoom", height_factor=0.2), (N, 8, 8, 3), run=True),
    ok(L("RandomZoom", height_factor=[-0.2, 0.3], width_factor=0.1), (N, 8, 8, 3), run=True),
    no(L("RandomZoom", height_factor=-1.0), (N, 8, 8, 3)),
    no(L("RandomZoom", height_factor=0.2, interpolation="bicubic"), (N, 8, 8, 3)),
    ok(L("RandomTranslation", height_factor=0.2, width_factor=0.1), (N, 8, 8, 3), run=True),
    no(L("RandomTranslation", height_factor=1.5, width_factor=0.1), (N, 8, 8, 3)),
    no(L("RandomTranslation", height_factor=[0.1, 0.2, 0.3], width_factor=0.1), (N, 8, 8, 3)),
    ok(L("RandomContrast", factor=0.2), (N, 8, 8, 3), run=True),
    ok(L("RandomContrast", factor=0.2, value_range=[0, 1]), (N, 8, 8, 3), run=True),
    no(L("RandomContrast", factor=-0.2), (N, 8, 8, 3)),
    no(L("RandomContrast", factor=0.2), (N, 8), run=True),
    ok(L("RandomBrightness", factor=0.2), (N, 8, 8, 3), run=True),
    ok(L("RandomBrightness", factor=[-0.2, 0.1], value_range=[0, 1]), (N, 8, 8, 3), run=True),
    no(L("RandomBrightness", factor=0.2, value_range=[0, 1, 2]), (N, 8, 8, 3)),
    no(L("RandomBrightness", factor=0.2), (N, 8), run=True),
]  # fmt: skip

# What mspec refuses although Keras builds it.
DELIBERATE = [
    ("Keras encodes a rank-1 input as ONE example: the output (depth,) has no batch axis",
     ok(L("StringLookup", vocabulary=AB, output_mode="multi_hot"), (N,), run=True)),
    ("Keras encodes a rank-1 input as ONE example: the output (depth,) has no batch axis",
     ok(L("Hashing", num_bins=4, output_mode="multi_hot"), (N,), run=True)),
    ("above rank 2 Keras counts over axis 1, not the last axis (mspec refuses it as for CategoryEncoding)",
     ok(L("Discretization", bin_boundaries=[0.0, 1.0], output_mode="count"), (N, 2, 3), run=True)),
    ("Keras takes a rank-3 tensor as one unbatched image: the batch axis would be resized as the height",
     ok(L("Resizing", height=4, width=5), (N, 8, 8), run=True)),
    ("Keras takes a rank-3 tensor as one unbatched image: the batch axis would be cropped as the height",
     ok(L("CenterCrop", height=4, width=5), (N, 8, 8), run=True)),
    ("Keras takes a rank-3 tensor as one unbatched image: the batch axis would be flipped as the height",
     ok(L("RandomFlip"), (N, 8, 8), run=True)),
    ("Keras takes a rank-3 tensor as one unbatched image",
     ok(L("RandomRotation", factor=0.1), (N, 8, 8))),
    ("an unknown flip mode flips nothing in Keras: surely a misspelling",
     ok(L("RandomFlip", mode="diagonal"), (N, 8, 8, 3))),
    ("sparse outputs would need every following layer to take sparse tensors",
     ok(L("StringLookup", vocabulary=AB, output_mode="multi_hot", sparse=True), (N, 3))),
]  # fmt: skip


@pytest.mark.parametrize("case", [param(c) for c in CASES])
def test_case(case: Case) -> None:
    check_explicit_case(case)


@pytest.mark.parametrize("reason, case", [param(c, r) for r, c in DELIBERATE])
def test_deliberate_refusal(reason: str, case: Case) -> None:
    check_deliberate_refusal(reason, case)


def test_every_kind_has_accepted_and_refused_cases() -> None:
    check_every_kind_has_accepted_and_refused(KINDS, CASES)


# --- Generated cases ------------------------------------------------------------

MODES = st.sampled_from(["int", "one_hot", "multi_hot", "count"])


def values_shape(draw, mode: str, min_size: int = 1) -> tuple:
    # Encodings of rank-1 and rank-3 inputs are refused on purpose (see DELIBERATE): not drawn.
    if mode in ("multi_hot", "count"):
        return (N, draw(st.sampled_from([1, 2, 3])))
    return (N, *draw(st.lists(st.sampled_from([1, 2, 3]), min_size=min_size, max_size=2)))


TOKENS = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=4, unique=True)


@st.composite
def lookup_case(draw):
    # At least one OOV index: the oracle's strings are not in the vocabulary.
    mode = draw(MODES)
    step = L(
        "StringLookup", vocabulary=draw(TOKENS), output_mode=mode, num_oov_indices=draw(st.integers(1, 3))
    )
    if draw(st.booleans()):
        step["mask_token"] = ""
    return step, [values_shape(draw, mode)], True


@st.composite
def hashing_case(draw):
    mode = draw(MODES)
    step = L("Hashing", num_bins=draw(st.integers(1, 6)), output_mode=mode)
    return step, [values_shape(draw, mode, min_size=0)], True


@st.composite
def discretization_case(draw):
    bounds = sorted(draw(st.lists(st.floats(-2, 2), min_size=0, max_size=3, unique=True)))
    mode = draw(MODES)
    step = L("Discretization", bin_boundaries=bounds, output_mode=mode)
    return step, [values_shape(draw, mode)], True


@st.composite
def image_case(draw):
    name = draw(st.sampled_from(["Resizing", "CenterCrop", "RandomCrop", "RandomFlip", "RandomZoom"]))
    step = L(name)
    if name in ("Resizing", "CenterCrop", "RandomCrop"):
        step.update(height=draw(st.integers(1, 6)), width=draw(st.integers(1, 6)))
    elif name == "RandomZoom":
        step["height_factor"] = draw(st.floats(-0.9, 0.9))
    if draw(st.booleans()):
        step["data_format"] = draw(st.sampled_from(["channels_last", "channels_first"]))
    shape = (N, *draw(st.lists(st.integers(2, 6), min_size=3, max_size=3)))
    return step, [shape], True


GENERATED = {
    "StringLookup": lookup_case(),
    "Hashing": hashing_case(),
    "Discretization": discretization_case(),
    "images": image_case(),
}


@pytest.mark.kernels
@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_cases(name: str) -> None:
    check_generated_cases(GENERATED[name])


# --- Vocabulary files, code generation, lint ---------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


CITIES = """
    [model]
    name = "cities"

    [inputs.city]
    shape = [1]
    dtype = "string"

    [branches.c]
    from = "city"
    layers = [
        {{ type = "StringLookup", {vocabulary} }},
        {{ type = "Embedding", input_dim = 5, output_dim = 4 }},
        {{ type = "Flatten" }},
    ]

    [outputs.y]
    from = "c"
    layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
    loss = "binary_crossentropy"
    """


def test_vocabulary_file_is_read_next_to_the_spec_and_inlined(tmp_path: Path) -> None:
    import mspec

    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "cities.txt").write_text('paris\nlondon\nrome "x"\n')
    spec = write(tmp_path, "spec.toml", CITIES.format(vocabulary='vocabulary_file = "vocab/cities.txt"'))
    result = mspec.check(spec)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    source = mspec.generate_source(spec)
    assert 'vocabulary=("paris", "london", \'rome "x"\')' in source or 'rome \\"x\\"' in source
    assert "cities.txt" not in source


@pytest.mark.parametrize(
    "name, problem",
    [
        ("../outside.txt", "without '..'"),
        ("/etc/hostname", "relative to the spec"),
        ("missing.txt", "is not a file"),
        ("big.txt", "more than"),
    ],
)
def test_vocabulary_file_refusals(tmp_path: Path, name: str, problem: str) -> None:
    import mspec

    (tmp_path / "big.txt").write_bytes(b"x\n" * (600 * 1024))
    spec = write(tmp_path, "spec.toml", CITIES.format(vocabulary=f'vocabulary_file = "{name}"'))
    result = mspec.check(spec)
    assert not result.ok
    assert any(d.code == "MS105" and problem in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]


def test_strings_and_ids_into_their_layers_lint_clean() -> None:
    from mspec.api import check_text

    text = textwrap.dedent(CITIES.format(vocabulary='vocabulary = ["paris", "rome"]')) + textwrap.dedent(
        """
        [inputs.plan]
        shape = [1]
        dtype = "int64"
        kind = "categorical"

        [branches.p]
        from = "plan"
        layers = [{ type = "IntegerLookup", vocabulary = [3, 7], output_mode = "one_hot" },
                  { type = "Dense", units = 2 }]

        [outputs.z]
        from = "p"
        loss = "mean_squared_error"
        """
    )
    result = check_text(text)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    lookup = '    { type = "StringLookup", vocabulary = ["paris", "rome"] },\n'
    assert lookup in text
    broken = text.replace(lookup, "")  # strings straight into the Embedding
    codes = {d.code for d in check_text(broken).diagnostics}
    assert "MS709" in codes


# --- mspec fit adapts a StringLookup --------------------------------------------------


@pytest.mark.slow
def test_fit_adapts_a_string_lookup_on_a_parquet_column(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    import mspec

    rng = np.random.default_rng(0)
    cities = rng.choice(["paris", "london", "rome"], size=300, p=[0.5, 0.3, 0.2])
    labels = (cities == "paris").astype("float32")
    data = tmp_path / "data.parquet"
    pq.write_table(pa.table({"city": cities, "y": labels}), data)
    spec = write(tmp_path, "spec.toml", CITIES.format(vocabulary="max_tokens = 10"))
    said: list[str] = []
    # No stream=True: fit feeds string inputs through tf.data by itself (Keras' NumPy path refuses them).
    result = mspec.fit(spec, data, epochs=1, verbose=0, log=said.append)
    layer = result.model.get_layer("c_string_lookup")
    assert layer.get_vocabulary() == ["[UNK]", "paris", "london", "rome"]
    assert result.run["adapted_layers"] == ["c_string_lookup"]
    assert any("adapted layer 'c_string_lookup'" in line for line in said)
