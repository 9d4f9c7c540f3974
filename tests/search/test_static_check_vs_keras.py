"""The static check of a space against Keras: the invalid combinations are exactly those Keras refuses.

A space where the merge type and the branch widths interact: Multiply, Add
and Subtract need equal widths, Concatenate takes any, Dot needs its `axes`.
Every combination is built in Keras from the values alone (not from mspec's
generated code), and its verdict compared with the static check's.
"""

from __future__ import annotations

import itertools

import pytest

import mspec
from mspec.frontend import check_document
from mspec.search_space.space import read_space
from mspec.search_space.static_check import check_search, point_errors
from mspec.syntax.load import load_bytes

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.keras

X1_UNITS = [16, 32]
X2_UNITS = [16, 32, 64]
MERGES = ["Concatenate", "Multiply", "Add", "Subtract", "Dot"]
RATES = (1e-4, 1e-2)

SPEC = f"""\
[model]
name = "interaction"

[inputs.input_1]
shape = [10]

[inputs.input_2]
shape = [5]

[branches.x1]
from = "input_1"
layers = [{{ type = "Dense", units = 16, activation = "relu" }}]

[branches.x2]
from = "input_2"
layers = [{{ type = "Dense", units = 16, activation = "relu" }}]

[merges.merged]
type = "Concatenate"
from = ["x1", "x2"]

[outputs.output]
from = "merged"
layers = [{{ type = "Dense", units = 1, activation = "sigmoid" }}]
loss = "binary_crossentropy"

[compile]
optimizer = {{ type = "Adam", learning_rate = 0.001 }}

[search]
"branches.x1.layers.0.units" = {X1_UNITS}
"branches.x2.layers.0.units" = {X2_UNITS}
"merges.merged.type" = {str(MERGES).replace("'", '"')}
"compile.optimizer.learning_rate" = {{ low = {RATES[0]}, high = {RATES[1]}, log = true }}
"""


def keras_refuses(x1_units: int, x2_units: int, merge: str) -> bool:
    """Whether Keras refuses to build the model with these values (any exception while building)."""
    first, second = keras.Input((10,)), keras.Input((5,))
    x1 = keras.layers.Dense(x1_units, activation="relu")(first)
    x2 = keras.layers.Dense(x2_units, activation="relu")(second)
    try:
        merged = getattr(keras.layers, merge)()([x1, x2])
        output = keras.layers.Dense(1, activation="sigmoid")(merged)
        keras.Model([first, second], output)
    except Exception:
        return True
    return False


def test_invalid_combinations_are_exactly_those_keras_refuses() -> None:
    result = mspec.check_text(SPEC)
    space, _ = read_space(result.document)
    refused = {
        (a, b, merge): keras_refuses(a, b, merge)
        for a, b, merge in itertools.product(X1_UNITS, X2_UNITS, MERGES)
    }
    # Both verdicts occur, or the comparison would say little.
    assert any(refused.values()) and not all(refused.values())
    for (a, b, merge), keras_verdict in refused.items():
        for rate in RATES:
            values = {
                "branches.x1.layers.0.units": a,
                "branches.x2.layers.0.units": b,
                "merges.merged.type": merge,
                "compile.optimizer.learning_rate": rate,
            }
            errors = point_errors(result, space, values)
            assert bool(errors) == keras_verdict, (values, [e.format() for e in errors])

    report = check_search(check_document(load_bytes(SPEC.encode(), "spec.toml")))
    assert report.checked == report.total == len(refused) * len(RATES)
    assert report.invalid == sum(refused.values()) * len(RATES)
    warnings = [d for d in result.diagnostics if d.code == "MS804"]
    # One cause per merge type that Keras refuses in some combination.
    assert {w.message.split(":")[0].split(" = ")[-1] for w in warnings} == {
        f'"{merge}"' for merge in MERGES if any(refused[(a, b, merge)] for a in X1_UNITS for b in X2_UNITS)
    }
