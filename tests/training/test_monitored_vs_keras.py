"""The quantities mspec says Keras logs (what early stopping may watch), against the logs Keras writes.

Each spec is trained for one epoch with validation data; the history's keys
(mspec's own balance/ series aside) must be exactly the names
`mspec.training.monitored` gives, with their val_ copies. A monitor naming
anything else is refused before TensorFlow starts (MS602).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow")
keras = pytest.importorskip("keras")

import mspec  # noqa: E402
from mspec.pipeline import check_file  # noqa: E402
from mspec.training import FitError, check_before_fit  # noqa: E402
from mspec.training.monitored import logged_quantities  # noqa: E402

from make_data import write_npz  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

HEADER = """
    [model]
    name = "monitored"

    [inputs.x]
    shape = [4]
    """

# Output sections, each with what it compiles; [compile] defaults where a case needs them.
CASES = {
    "string metrics": """
        [outputs.y]
        from = "x"
        layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
        loss = "binary_crossentropy"
        metrics = ["accuracy", "auc", "acc"]
        """,
    "table metrics": """
        [outputs.y]
        from = "x"
        layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
        loss = "binary_crossentropy"
        metrics = [{ type = "AUC" }, { type = "Precision", name = "p" }, { type = "BinaryAccuracy" }]
        """,
    "two outputs": """
        [outputs.yes]
        from = "x"
        layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
        loss = "binary_crossentropy"
        metrics = ["accuracy"]

        [outputs.kind]
        from = "x"
        layers = [{ type = "Dense", units = 3, activation = "softmax" }]
        loss = "sparse_categorical_crossentropy"
        metrics = [{ type = "SparseCategoricalAccuracy" }, { type = "SparseTopKCategoricalAccuracy", k = 2 }]
        """,
    "compile defaults": """
        [outputs.a]
        from = "x"
        layers = [{ type = "Dense", units = 1 }]

        [outputs.b]
        from = "x"
        layers = [{ type = "Dense", units = 2 }]
        metrics = ["mae", { type = "RootMeanSquaredError" }]

        [compile]
        loss = "mean_squared_error"
        metrics = ["mse"]
        """,
}


def labels(spec, rows: int, rng) -> dict[str, np.ndarray]:
    found = {}
    for name, node_id in spec.graph.outputs.items():
        units = spec.graph.nodes[node_id].shape[-1]
        loss = spec.spec.outputs[name].loss or spec.spec.compile.loss
        if loss == "sparse_categorical_crossentropy":
            found[name] = rng.integers(0, units, rows).astype("int32")
        elif loss == "binary_crossentropy":
            found[name] = (rng.random(rows) > 0.5).astype("float32")
        else:
            found[name] = rng.normal(size=(rows, units)).astype("float32").squeeze(-1 if units == 1 else ())
    return found


@pytest.mark.parametrize("case", list(CASES))
def test_logged_quantities_are_keras_history_keys(tmp_path: Path, case: str) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(HEADER) + textwrap.dedent(CASES[case]))
    checked = check_file(spec)
    assert checked.ok, [d.format() for d in checked.diagnostics]
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    write_npz(data, {"x": rng.normal(size=(40, 4)).astype("float32"), **labels(checked, 40, rng)})
    result = mspec.fit(spec, data, validation_split=0.25, epochs=1, verbose=0, log=lambda _: None)
    keras_keys = sorted(key for key in result.history if not key.startswith("balance/"))
    predicted = logged_quantities(checked.spec)
    training_keys = [key for key in keras_keys if not key.startswith("val_")]
    assert len(training_keys) == len(predicted), (keras_keys, predicted)
    for quantity in predicted:
        assert [key for key in training_keys if quantity.matches(key)], (quantity, keras_keys)
        assert [key for key in keras_keys if key.startswith("val_") and quantity.matches(key[4:])]


def test_a_monitor_keras_does_not_log_is_refused_before_training(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    text = textwrap.dedent(HEADER) + textwrap.dedent(CASES["two outputs"])
    spec.write_text(
        text + '\n[train]\nvalidation_split = 0.25\nearly_stopping = { monitor = "val_yes_acc" }\n'
    )
    data = tmp_path / "data.npz"
    rng = np.random.default_rng(1)
    write_npz(data, {"x": rng.normal(size=(8, 4)).astype("float32"), **labels(check_file(spec), 8, rng)})
    with pytest.raises(FitError) as refused:
        check_before_fit(spec, data)
    message = str(refused.value)
    assert "MS602 error: early_stopping watches 'val_yes_acc', which Keras does not log" in message
    assert "did you mean 'val_yes_accuracy'?" in message
    # Written as Keras logs it, the same monitor passes.
    spec.write_text(
        text + '\n[train]\nvalidation_split = 0.25\nearly_stopping = { monitor = "val_yes_accuracy" }\n'
    )
    check_before_fit(spec, data)
