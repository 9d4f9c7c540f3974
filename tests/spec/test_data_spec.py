"""The spec language's data binding (`columns`, `column`) and the [train] section: validation and schema."""

from __future__ import annotations

import json

import pytest

from mspec.backends.schema import spec_schema
from mspec.pipeline import check_bytes
from mspec.spec.models import TrainSpec

BASE = """
[model]
name = "m"

[inputs.a]
shape = [3]
columns = ["x", "y", "z"]

[inputs.b]
shape = [2]

[merges.joined]
type = "Concatenate"
from = ["a", "b"]

[outputs.out]
from = "joined"
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
loss = "sparse_categorical_crossentropy"
column = "label"
"""


def check(extra: str = "", base: str = BASE):
    return check_bytes((base + extra).encode(), "spec.toml")


def lines(result) -> list[str]:
    return [d.format() for d in result.diagnostics]


def test_binding_and_train_defaults() -> None:
    result = check("\n[train]\n")
    assert result.ok, lines(result)
    spec = result.spec
    assert spec.inputs["a"].columns == ["x", "y", "z"] and spec.inputs["b"].columns is None
    assert spec.outputs["out"].column == "label" and spec.outputs["out"].label_column == "label"
    assert spec.train == TrainSpec()
    train = spec.train
    assert (train.epochs, train.batch_size, train.validation_split, train.shuffle, train.seed) == (
        10,
        32,
        0.0,
        True,
        None,
    )
    assert train.distribute == "none" and train.balance_threshold == 0.9
    assert train.early_stopping is None and train.reduce_lr_on_plateau is None and train.class_weight == {}


def test_no_train_section_leaves_none() -> None:
    assert check().spec.train is None


def test_full_train_section() -> None:
    result = check(
        """
[train]
epochs = 3
batch_size = 8
validation_split = 0.2
shuffle = false
seed = 7
distribute = "mirrored"

[train.early_stopping]
patience = 1
mode = "min"

[train.reduce_lr_on_plateau]
factor = 0.5

[train.class_weight.out]
"0" = 1
"2" = 4.5
"""
    )
    assert result.ok, lines(result)
    train = result.spec.train
    assert train.early_stopping.patience == 1 and train.early_stopping.monitor == "val_loss"
    assert train.early_stopping.restore_best_weights is True
    assert train.reduce_lr_on_plateau.factor == 0.5 and train.reduce_lr_on_plateau.patience == 2
    assert train.class_weight == {"out": {"0": 1.0, "2": 4.5}}
    assert train.class_weights("out") == {0: 1.0, 2: 4.5} and train.class_weights("other") is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "[train]\nepochs = 0\n",
            ":23:10: MS104 error: [train] key 'epochs' should be greater than or equal to 1",
        ),
        (
            "[train]\nvalidation_split = 1.0\n",
            "MS104 error: [train] key 'validation_split' should be less than 1",
        ),
        ('[train]\ndistribute = "mirored"\n', "MS105 error: [train] key 'distribute' has unknown value"),
        ("[train]\nbalance_threshold = 0\n", "MS104 error: [train] key 'balance_threshold'"),
        ("[train]\nseed = -1\n", "MS104 error: [train] key 'seed'"),
        ("[train]\nepoch = 3\n", "MS101 error: unknown key 'epoch' in [train] (did you mean 'epochs'?)"),
        (
            "[train.early_stopping]\npatiense = 3\n",
            "MS101 error: unknown key 'patiense' in [train.early_stopping] (did you mean 'patience'?)",
        ),
        ("[train.reduce_lr_on_plateau]\nfactor = 1.5\n", "[train.reduce_lr_on_plateau] key 'factor'"),
        (
            '[train.class_weight.outt]\n"0" = 1.0\n',
            ":22:1: MS201 error: [train] class_weight names unknown output 'outt' (did you mean 'out'?)",
        ),
        (
            '[train.class_weight.out]\n"one" = 1.0\n',
            ":23:1: MS105 error: [train] class_weight for output 'out': class label 'one' is not a "
            "non-negative integer",
        ),
        ('[train.class_weight.out]\n"-1" = 1.0\n', "class label '-1' is not a non-negative integer"),
        ('[train.class_weight.out]\n"1" = -2.0\n', "the weight of class '1' should be >= 0, got -2.0"),
        ('[train.class_weight.out]\n"1" = "high"\n', "MS103 error: [train] class_weight for output 'out'"),
    ],
)
def test_train_errors_are_located(extra: str, expected: str) -> None:
    result = check("\n" + extra)
    assert not result.ok
    assert any(expected in line for line in lines(result)), lines(result)


def test_columns_must_match_the_last_dimension() -> None:
    result = check(base=BASE.replace('columns = ["x", "y", "z"]', 'columns = ["x", "y"]'))
    assert lines(result) == [
        "spec.toml:7:11: MS105 error: input 'a' stacks 2 column(s) along its last axis, but the last "
        "dimension of its shape is 3 (list 3 columns, or make the last dimension 2)"
    ]


def test_columns_listed_twice() -> None:
    result = check(base=BASE.replace('columns = ["x", "y", "z"]', 'columns = ["x", "y", "x"]'))
    assert lines(result) == ["spec.toml:7:22: MS105 error: input 'a' lists column 'x' twice"]


def test_schema_describes_train_and_binding() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import tomllib

    schema = spec_schema()
    defs = schema["$defs"]
    assert "columns" in defs["InputSpec"]["properties"] and "column" in defs["OutputSpec"]["properties"]
    assert set(defs["TrainSpec"]["properties"]) >= {
        "epochs",
        "class_weight",
        "distribute",
        "balance_threshold",
    }
    data = tomllib.loads(BASE + '\n[train]\nepochs = 2\n[train.class_weight.out]\n"1" = 2.0\n')
    jsonschema.validate(data, schema)
    data["train"]["class_weight"]["out"]["x"] = 1.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    json.dumps(schema)
