"""Specs that write the same model differently: `mspec diff` finds no difference between them.

Table order, comments and layout, JSON against TOML (either way round), and
parameters written at their Keras defaults (or in another spelling Keras
reads the same) make no difference. What does: [inputs] and [outputs] order,
which is the order of the Keras model's inputs and outputs.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import mspec
from mspec.cli import main

from support.review_specs import BASE

REORDERED = """\
[compile]
optimizer = "adam"

[outputs.score]
loss = "binary_crossentropy"
layers = [{ activation = "sigmoid", units = 1, type = "Dense" }]
metrics = ["accuracy"]
from = "trunk"

[outputs.rating]
loss = "sparse_categorical_crossentropy"
from = "trunk"
layers = [{ units = 5, type = "Dense", activation = "softmax" }]

[branches.trunk]
layers = [{ units = 32, activation = "relu", type = "Dense" }, { rate = 0.2, type = "Dropout" }]
from = "joined"

[merges.joined]
from = ["words", "nums", "more"]
type = "Concatenate"

[branches.more]
layers = [{ shared = "project" }, { rate = 0.1, type = "Dropout" }]
from = "extra"

[branches.nums]
layers = [{ shared = "project" }]
from = "numbers"

[branches.words]
layers = [{ output_dim = 16, input_dim = 1000, type = "Embedding" }, { type = "GlobalAveragePooling1D" }]
from = "text"

[inputs.text]
dtype = "int32"
shape = [20]

[inputs.numbers]
shape = [8]

[inputs.extra]
shape = [8]

[shared.project]
activation = "relu"
units = 16
type = "Dense"

[model]
name = "review_base"
"""

COMMENTED = "# A model for review.\n\n" + BASE.replace("\n[", "\n# the next table\n\n\n[").replace(
    "layers = [{ shared", "layers = [   # one step\n    { shared"
).replace('{ type = "Dropout", rate = 0.1 }]', '{ type = "Dropout", rate = 0.1 },\n]  # a trailing comma')

DEFAULTS = (
    BASE.replace(
        '{ type = "Dense", units = 32, activation = "relu" }',
        '{ type = "Dense", units = 32, activation = "relu", use_bias = true, kernel_initializer = '
        '"GlorotUniform", bias_initializer = { type = "Zeros" }, kernel_regularizer = {}, trainable = true }',
    )
    .replace(
        '{ type = "Dropout", rate = 0.2 }', '{ type = "Dropout", rate = 0.2, noise_shape = {}, seed = {} }'
    )
    .replace(
        '{ type = "Embedding", input_dim = 1000, output_dim = 16 }',
        '{ type = "Embedding", input_dim = 1000, output_dim = 16, embeddings_initializer = "uniform", '
        "mask_zero = false }",
    )
    .replace(
        '{ type = "GlobalAveragePooling1D" }',
        '{ type = "GlobalAveragePooling1D", data_format = "channels_last" }',
    )
    .replace('type = "Concatenate"', 'type = "Concatenate"\naxis = -1')
    .replace('optimizer = "adam"', 'optimizer = { type = "Adam" }')
    .replace('loss = "binary_crossentropy"', 'loss = "BinaryCrossentropy"\nloss_weight = 1.0')
    .replace("shape = [8]\n\n[inputs.extra]", 'shape = [8]\ndtype = "float32"\n\n[inputs.extra]')
    + "\n[train]\nepochs = 10\nbatch_size = 32\n"
)
# TOML has no null: the JSON spelling of the defaults writes the unset ones.
DEFAULTS = DEFAULTS.replace("kernel_regularizer = {}, ", "").replace(", noise_shape = {}, seed = {}", "")

CONVOLUTION = """\
[model]
name = "pictures"

[inputs.image]
shape = [32, 32, 3]

[branches.features]
from = "image"
layers = [
  {{ type = "Conv2D", filters = 8, kernel_size = {kernel} }},
  {{ type = "MaxPooling2D", pool_size = {pool}{strides} }},
  {{ type = "Flatten"{flatten} }},
]

[outputs.label]
from = "features"
layers = [{{ type = "Dense", units = 10, activation = "softmax" }}]
loss = "sparse_categorical_crossentropy"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def as_json(text: str) -> str:
    return json.dumps(tomllib.loads(text), indent=2)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("reordered.toml", REORDERED),
        ("commented.toml", COMMENTED),
        ("defaults.toml", DEFAULTS),
        ("base.json", as_json(BASE)),
        ("defaults.json", as_json(DEFAULTS)),
    ],
)
def test_the_same_model_written_otherwise_is_no_difference(tmp_path: Path, name: str, text: str) -> None:
    base = write(tmp_path, "base.toml", BASE)
    other = write(tmp_path, name, text)
    assert mspec.check(other).ok, [d.format() for d in mspec.check(other).diagnostics]
    for old, new in ((base, other), (other, base)):
        diff = mspec.diff(old, new)
        assert diff.same, diff.text()
        assert diff.new_findings == [] and diff.resolved_findings == []


def test_defaults_really_are_written(tmp_path: Path) -> None:
    # The variant is not BASE in disguise: the text differs where the defaults are spelt out.
    assert "use_bias = true" in DEFAULTS and "channels_last" in DEFAULTS and "epochs = 10" in DEFAULTS
    assert "GlorotUniform" in DEFAULTS and '{ type = "Adam" }' in DEFAULTS


@pytest.mark.parametrize(
    "spelling",
    [
        {"kernel": "[3, 3]", "pool": "2", "strides": "", "flatten": ""},
        {"kernel": "3", "pool": "[2, 2]", "strides": ", strides = [2, 2]", "flatten": ""},
        {
            "kernel": "3",
            "pool": "2",
            "strides": ", strides = 2",
            "flatten": ', data_format = "channels_last"',
        },
    ],
)
def test_sizes_for_every_axis_and_derived_defaults(tmp_path: Path, spelling: dict[str, str]) -> None:
    plain = write(tmp_path, "plain.toml", CONVOLUTION.format(kernel="3", pool="2", strides="", flatten=""))
    other = write(tmp_path, "other.toml", CONVOLUTION.format(**spelling))
    assert mspec.diff(plain, other).same


def test_a_size_that_differs_is_a_difference(tmp_path: Path) -> None:
    plain = write(tmp_path, "plain.toml", CONVOLUTION.format(kernel="3", pool="2", strides="", flatten=""))
    other = write(
        tmp_path,
        "other.toml",
        CONVOLUTION.format(kernel="[3, 5]", pool="2", strides=", strides = 1", flatten=""),
    )
    diff = mspec.diff(plain, other)
    assert [(c.kind, c.node) for c in diff.changes] == [
        ("params", "features step 1"),
        ("params", "features step 2"),
    ]
    assert diff.changes[0].params == {"kernel_size": (3, [3, 5])}
    assert diff.changes[1].params == {"strides": (2, 1)}


def test_input_order_is_a_difference(tmp_path: Path) -> None:
    # The Keras model's inputs come in [inputs] order: reordering them changes how it is called.
    swapped = BASE.replace("[inputs.numbers]\nshape = [8]\n\n[inputs.extra]\nshape = [8]\n", "").replace(
        "[inputs.text]", "[inputs.extra]\nshape = [8]\n\n[inputs.numbers]\nshape = [8]\n\n[inputs.text]"
    )
    diff = mspec.diff(write(tmp_path, "a.toml", BASE), write(tmp_path, "b.toml", swapped))
    assert [(c.kind, c.section) for c in diff.changes] == [("model", "model")]
    assert diff.changes[0].params == {
        "inputs order": (["text", "numbers", "extra"], ["extra", "numbers", "text"])
    }


def test_no_difference_exits_zero(tmp_path: Path) -> None:
    base = write(tmp_path, "base.toml", BASE)
    other = write(tmp_path, "other.json", as_json(REORDERED.replace("[model]", "[model]")))
    result = CliRunner().invoke(main, ["diff", str(base), str(other)])
    assert result.exit_code == 0, result.output
    assert "no change to the model" in result.output
