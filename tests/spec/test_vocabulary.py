"""Keras' names in a spec, without Keras: spellings, tables with arguments, refusals with their reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mspec import check_text
from mspec.backends.codegen import generate_source

BASE = """
[model]
name = "m"

[inputs.a]
shape = [{shape}]

[outputs.out]
from = "a"
layers = [{step}]
{extra}
"""


def lint(step: str, shape: str = "4", extra: str = "") -> list[str]:
    result = check_text(BASE.format(step=step, shape=shape, extra=extra))
    return [d.format() for d in result.diagnostics if d.is_error]


@pytest.mark.parametrize(
    ("step", "extra"),
    [
        ('{ type = "Dense", units = 1 }', 'loss = "BinaryCrossentropy"\nmetrics = ["AUC", "Precision"]'),
        ('{ type = "Dense", units = 1 }', 'loss = "MSE"\nmetrics = ["f1_score", "pearson_correlation"]'),
        ('{ type = "Dense", units = 1 }', 'loss = "crossentropy"\nmetrics = ["ACC", "true_positives"]'),
        ('{ type = "Dense", units = 1 }', 'loss = "bce"\n[compile]\noptimizer = "Muon"'),
        (
            '{ type = "Dense", units = 1 }',
            'loss = "mse"\n[compile]\noptimizer = { type = "Lamb", beta_1 = 0.8 }',
        ),
        ('{ type = "Dense", units = 3, kernel_initializer = "HeNormal", kernel_regularizer = "L2" }', ""),
        ('{ type = "Dense", units = 3, kernel_constraint = "MaxNorm", bias_initializer = "one" }', ""),
        ('{ type = "Dense", units = 3, kernel_initializer = { type = "VarianceScaling", scale = 2.0 } }', ""),
        ('{ type = "Dense", units = 3, bias_initializer = { type = "Constant", value = 0.1 } }', ""),
        ('{ type = "Dense", units = 3, kernel_initializer = "identity" }', ""),
    ],
)
def test_keras_spellings_are_accepted(step: str, extra: str) -> None:
    assert lint(step, extra=extra) == []


@pytest.mark.parametrize(
    ("step", "shape", "extra", "message"),
    [
        (
            '{ type = "Dense", units = 3, bias_initializer = "orthogonal" }', "4", "",
            "10:59: MS105 error: Dense layer key 'bias_initializer': 'orthogonal' needs a weight of rank 2",
        ),
        (
            '{ type = "Conv1D", filters = 2, kernel_size = 3, kernel_initializer = "identity" }', "8, 1", "",
            "'identity' needs a 2-D weight (a matrix), and this weight has rank 3",
        ),
        (
            '{ type = "Dense", units = 3, bias_regularizer = "orthogonal_regularizer" }', "4", "",
            "'orthogonal_regularizer' needs a 2-D weight (a matrix), and this weight has rank 1",
        ),
        (
            '{ type = "Dense", units = 3, kernel_initializer = "constant" }', "4", "",
            """initializer 'constant' needs arguments: write { type = "Constant", value = 0.5 }""",
        ),
        (
            '{ type = "Dense", units = 3, activation = "threshold" }', "4", "",
            "activation 'threshold' cannot be used: it needs arguments",
        ),
        (
            '{ type = "Dense", units = 1 }', "4", 'loss = "mse"\nmetrics = ["IoU"]',
            'metric \'IoU\' needs arguments: write { type = "IoU", num_classes = ...',
        ),
        (
            '{ type = "Dense", units = 1 }', "4", 'loss = "mse"\nmetrics = ["mean"]',
            "metric 'mean' cannot be used: it averages one tensor",
        ),
        (
            '{ type = "Dense", units = 1 }', "4", 'loss = { type = "BinaryCrossentropy", from_logit = true }',
            "BinaryCrossentropy has no argument 'from_logit' (did you mean 'from_logits'?)",
        ),
        (
            '{ type = "Dense", units = 1 }', "4", 'loss = { type = "Huber", delta = "big" }',
            "Huber argument 'delta' should be a number",
        ),
        (
            '{ type = "Dense", units = 1 }', "4", 'loss = "mean_squared_eror"',
            "has unknown value string 'mean_squared_eror' (did you mean 'mean_squared_error'?)",
        ),
        (
            '{ type = "MaxPooling2D", padding = "SAME" }', "4, 4, 1", "",
            "has unknown value string 'SAME' (did you mean 'same'?)",
        ),
    ],
)  # fmt: skip
def test_what_keras_cannot_use_is_refused_with_the_reason(step, shape, extra, message) -> None:
    errors = lint(step, shape, extra)
    assert any(message in error for error in errors), errors
    assert all(" MS105 error: " in error for error in errors), errors


@pytest.mark.parametrize("shape", ["3, 4", "4", "2, 3, 4"])
def test_a_weight_shaped_after_the_input_is_judged_with_the_input(shape: str) -> None:
    # PReLU's alpha has the input's rank less one: Orthogonal needs it to be 2 or more, Identity 2.
    for initializer, refused in (("orthogonal", shape == "4"), ("identity", shape != "3, 4")):
        found = lint(f'{{ type = "PReLU", alpha_initializer = "{initializer}" }}', shape)
        assert len(found) == refused, found
        assert all(f"MS303 error: alpha_initializer: '{initializer}' needs" in e for e in found), found


@pytest.mark.parametrize("key", ["class_name", "module", "config", "registered_name", "fn"])
def test_a_table_cannot_name_code(key: str) -> None:
    errors = lint(f'{{ type = "Dense", units = 3, kernel_initializer = {{ type = "Zeros", {key} = "x" }} }}')
    assert len(errors) == 1 and f"Zeros has no argument {key!r}" in errors[0]
    errors = lint(
        '{ type = "Dense", units = 1 }', extra=f'loss = {{ type = "MeanSquaredError", {key} = "x" }}'
    )
    assert len(errors) == 1 and f"MeanSquaredError has no argument {key!r}" in errors[0]


def test_a_table_that_is_not_a_keras_class_is_refused() -> None:
    (error,) = lint('{ type = "Dense", units = 1 }', extra='loss = { type = "mse" }')
    assert "unknown loss class 'mse' (the class is 'MeanSquaredError')" in error
    (error,) = lint('{ type = "Dense", units = 1 }', extra='loss = { type = "LossFunctionWrapper" }')
    assert "it wraps a Python function" in error


def test_generated_code_names_what_keras_accepts() -> None:
    text = BASE.format(
        shape="8, 8, 3",
        step='{ type = "Convolution2D", filters = 2, kernel_size = 3, padding = "SAME", '
        'data_format = "CHANNELS_LAST", kernel_initializer = { type = "VarianceScaling", '
        'mode = "fan_out", scale = 2.0 } }, { type = "GlobalAvgPool2D" }, '
        '{ type = "Dense", units = 1, kernel_regularizer = { type = "L1L2", l2 = 0.01 } }',
        extra='loss = { type = "BinaryCrossentropy", from_logits = true }\n'
        'metrics = ["AUC", { type = "Precision", thresholds = [0.3, 0.7] }]',
    )
    source = generate_source(check_text(text).graph)
    # Aliases and upper-case values are written as Keras' class names and lower-case values.
    assert 'padding="same",\n        data_format="channels_last",' in source
    assert "layers.Conv2D(" in source
    # Arguments in the constructor's order, whatever the table's order.
    assert "keras.initializers.VarianceScaling(" in source
    assert source.index("scale=2.0") < source.index('mode="fan_out"')
    assert "layers.GlobalAveragePooling2D(" in source
    assert "kernel_regularizer=keras.regularizers.L1L2(l2=0.01)" in source
    assert "loss=keras.losses.BinaryCrossentropy(from_logits=True)" in source
    assert 'metrics=["AUC", keras.metrics.Precision(thresholds=[0.3, 0.7])]' in source


def test_toml_writes_json_null_as_a_name() -> None:
    toml_text = BASE.format(
        shape="6, 6, 3", step='{ type = "Dropout", rate = 0.5, noise_shape = ["batch", 1, 1, 3] }', extra=""
    )
    as_json = {
        "model": {"name": "m"},
        "inputs": {"a": {"shape": [6, 6, 3]}},
        "outputs": {
            "out": {"from": "a", "layers": [{"type": "Dropout", "rate": 0.5, "noise_shape": [None, 1, 1, 3]}]}
        },
    }
    from_toml = generate_source(check_text(toml_text).graph)
    from_json = generate_source(check_text(json.dumps(as_json), fmt="json").graph)
    assert from_toml == from_json
    assert "noise_shape=(None, 1, 1, 3)" in from_toml


def test_lint_with_keras_names_never_imports_keras() -> None:
    text = BASE.format(shape="4", step='{ type = "Dense", units = 1 }', extra='loss = "BCE"')
    probe = (
        "import sys\n"
        "import mspec\n"
        f"result = mspec.check_text({text!r})\n"
        "assert result.ok, result.diagnostics\n"
        "assert not any(m == 'keras' or m.startswith(('keras.', 'tensorflow')) for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
