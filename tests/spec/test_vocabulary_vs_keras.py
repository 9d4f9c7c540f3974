"""Differential: every name Keras resolves is accepted by mspec, and what Keras cannot use is refused.

The test walks Keras' own lists (each family's `ALL_OBJECTS_DICT`, as its
`get()` reads it, and the aliases in `keras.layers`) and decides each
identifier both ways:

* Keras: the object is resolved and used where a spec would put it: an
  initializer fills, a regularizer penalises and a constraint projects a
  Dense kernel, a bias, a Conv1D and a Conv2D kernel; an activation runs in a
  Dense layer; an optimizer applies one step; losses and metrics train one
  step of a model with one output per loss (or metric), labels fitted to its
  kind. Any exception is a refusal.
* mspec: the validator, on a spec that puts the identifier in the same place.

The two must agree. The stored table (`mspec.vocabulary.keras_names`) must also be
what `tests/support/keras_vocabulary.py` reads from the installed Keras.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras.src import (  # noqa: E402
    activations,
    constraints,
    initializers,
    losses,
    metrics,
    optimizers,
    regularizers,
)

from mspec import check_text, vocabulary  # noqa: E402
from mspec.backends.codegen.source_writer import keras_object_source  # noqa: E402
from mspec.layers import REGISTRY  # noqa: E402
from mspec.vocabulary import keras_names  # noqa: E402

from support.keras_vocabulary import TARGET, render  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.slow]

BATCH = 8
CLASSES = 6
RNG = np.random.default_rng(0)


def test_stored_names_are_what_keras_has() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), (
        "mspec/vocabulary/keras_names.py differs from the installed Keras: "
        "run tests/support/keras_vocabulary.py"
    )


def _keras_ok(action: Callable[[], Any]) -> bool:
    try:
        action()
    except Exception:  # any failure is Keras refusing
        return False
    return True


# --- mspec's side: a one-layer spec with the identifier in place ------------------


def _spec(step: dict[str, Any], shape: list[int], extra: str = "") -> str:
    args = ", ".join(f"{k} = {_toml(v)}" for k, v in step.items())
    return (
        f'[model]\nname = "m"\n[inputs.a]\nshape = {shape}\n'
        f'[outputs.out]\nfrom = "a"\nlayers = [{{ {args} }}]\n{extra}'
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _mspec_ok(text: str) -> bool:
    result = check_text(text)
    return not [d for d in result.diagnostics if d.is_error]


# The places a spec puts an initializer, regularizer or constraint: (layer step, input shape).
WEIGHTS = {
    "dense kernel": ({"type": "Dense", "units": 3}, "kernel", [4]),
    "dense bias": ({"type": "Dense", "units": 3}, "bias", [4]),
    "conv1d kernel": ({"type": "Conv1D", "filters": 2, "kernel_size": 3}, "kernel", [8, 1]),
    "conv2d kernel": ({"type": "Conv2D", "filters": 2, "kernel_size": 3}, "kernel", [6, 6, 2]),
}


def _layer(step: dict[str, Any], **kwargs: Any) -> Any:
    args = {k: v for k, v in step.items() if k != "type"}
    return getattr(keras.layers, step["type"])(**args, **kwargs)


def _disagreements(verdicts: dict[Any, tuple[bool, bool]]) -> dict[str, list]:
    """Split (keras_ok, mspec_ok) verdicts into false refusals and false acceptances."""
    return {
        "false refusals": sorted(str(k) for k, (ok, accepted) in verdicts.items() if ok and not accepted),
        "false acceptances": sorted(str(k) for k, (ok, accepted) in verdicts.items() if accepted and not ok),
    }


def _assert_agree(verdicts: dict[Any, tuple[bool, bool]]) -> None:
    found = _disagreements(verdicts)
    assert found == {"false refusals": [], "false acceptances": []}, found


# --- initializers, regularizers, constraints: in every weight --------------------


def _initializer_keras(name: str, step: dict, weight: str, shape: list[int]) -> bool:
    def build() -> None:
        layer = _layer(step, **{f"{weight}_initializer": name})
        layer.build((None, *shape))

    return _keras_ok(build)


def _regularizer_keras(name: str, step: dict, weight: str, shape: list[int]) -> bool:
    def penalise() -> None:
        layer = _layer(step, **{f"{weight}_regularizer": name})
        layer(np.ones((2, *shape), "float32"))
        for loss in layer.losses:  # what fit adds to the loss: computed when read
            float(loss)

    return _keras_ok(penalise)


def _constraint_keras(name: str, step: dict, weight: str, shape: list[int]) -> bool:
    def project() -> None:
        layer = _layer(step, **{f"{weight}_constraint": name})
        layer.build((None, *shape))
        constraint = getattr(layer, f"{weight}_constraint")
        variable = getattr(layer, weight)
        np.asarray(constraint(variable))  # what the optimizer applies after each step

    return _keras_ok(project)


@pytest.mark.parametrize(
    ("family", "module", "use"),
    [
        ("initializer", initializers, _initializer_keras),
        ("regularizer", regularizers, _regularizer_keras),
        ("constraint", constraints, _constraint_keras),
    ],
)
def test_weight_objects_agree_with_keras(family: str, module: Any, use: Callable) -> None:
    verdicts = {}
    for name in module.ALL_OBJECTS_DICT:
        for where, (step, weight, shape) in WEIGHTS.items():
            keras_ok = use(name, step, weight, shape)
            spec = _spec({**step, f"{weight}_{family}": name}, shape)
            verdicts[(name, where)] = (keras_ok, _mspec_ok(spec))
    _assert_agree(verdicts)


def test_activity_regularizers_agree_with_keras() -> None:
    verdicts = {}
    step = {"type": "Dense", "units": 3}
    for name in regularizers.ALL_OBJECTS_DICT:
        keras_ok = _regularizer_keras(name, step, "activity", [4])
        verdicts[name] = (keras_ok, _mspec_ok(_spec({**step, "activity_regularizer": name}, [4])))
    _assert_agree(verdicts)


def test_weight_object_tables_build() -> None:
    """Tables with arguments: accepted, and Keras builds them from the generated expression."""
    cases = [
        ("initializer", {"type": "VarianceScaling", "scale": 2.0, "mode": "fan_out"}, "dense kernel"),
        ("initializer", {"type": "Constant", "value": 0.5}, "dense bias"),
        ("initializer", {"type": "Orthogonal", "gain": 2.0, "seed": 1}, "conv2d kernel"),
        ("initializer", {"type": "RandomNormal", "stddev": 0.1}, "conv1d kernel"),
        ("regularizer", {"type": "L1L2", "l1": 0.01, "l2": 0.02}, "dense kernel"),
        ("regularizer", {"type": "OrthogonalRegularizer", "factor": 0.1, "mode": "columns"}, "dense kernel"),
        ("constraint", {"type": "MaxNorm", "max_value": 1.5, "axis": [0, 1, 2]}, "conv2d kernel"),
        ("constraint", {"type": "MinMaxNorm", "min_value": 0.1, "max_value": 2}, "dense kernel"),
    ]
    for family, table, where in cases:
        step, weight, shape = WEIGHTS[where]
        assert _mspec_ok(_spec({**step, f"{weight}_{family}": table}, shape)), table
        obj = vocabulary.resolve(family, table)
        built = eval(keras_object_source(obj), {"keras": keras})  # the generated expression
        use = {"initializer": _initializer_keras, "regularizer": _regularizer_keras}.get(
            family, _constraint_keras
        )
        assert use(built, step, weight, shape), keras_object_source(obj)


# Refused by mspec on purpose although Keras runs them, with the reason.
DELIBERATE_ACTIVATIONS = {
    "glu": "it halves the last axis while Keras declares the layer's output unhalved (MS303)",
}


def test_activations_agree_with_keras() -> None:
    verdicts = {}
    for name in activations.ALL_OBJECTS_DICT:
        if name in DELIBERATE_ACTIVATIONS:
            continue
        step = {"type": "Dense", "units": 4, "activation": name}
        keras_ok = _keras_ok(lambda step=step: _layer(step)(np.ones((2, 4), "float32")))
        verdicts[name] = (keras_ok, _mspec_ok(_spec(step, [4])))
    _assert_agree(verdicts)


# --- optimizers ----------------------------------------------------------------------


def _step_with(optimizer: Any) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    grads = [keras.ops.ones_like(v) for v in model.trainable_variables]
    optimizer = keras.optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
    optimizer.apply(grads, model.trainable_variables)


def _compile_spec(section: str) -> str:
    return _spec({"type": "Dense", "units": 1}, [4], f'loss = "mse"\n[compile]\n{section}\n')


def test_optimizers_agree_with_keras() -> None:
    verdicts = {}
    for name in optimizers.ALL_OBJECTS_DICT:
        for spelling in (name, name.upper()):
            keras_ok = _keras_ok(lambda s=spelling: _step_with(s))
            verdicts[spelling] = (keras_ok, _mspec_ok(_compile_spec(f'optimizer = "{spelling}"')))
    for cls in keras_names.OPTIMIZER_TYPES:
        keras_ok = _keras_ok(lambda cls=cls: _step_with(getattr(keras.optimizers, cls)()))
        verdicts[f"{{ type = {cls} }}"] = (
            keras_ok,
            _mspec_ok(_compile_spec(f'optimizer = {{ type = "{cls}", learning_rate = 0.01 }}')),
        )
    _assert_agree(verdicts)


def test_optimizer_arguments_are_constructor_arguments() -> None:
    from mspec.importer.values import OPTIMIZER_DEFAULTS

    for cls, arguments in vocabulary.OPTIMIZERS.items():
        parameters = inspect.signature(getattr(keras.optimizers, cls).__init__).parameters
        assert set(arguments) <= set(parameters), (cls, set(arguments) - set(parameters))
        # What an import leaves out: Keras' own defaults, for every argument a spec may set.
        defaults = {name: parameters[name].default for name in arguments}
        assert OPTIMIZER_DEFAULTS[cls] == defaults, cls


# --- layer aliases ---------------------------------------------------------------------


def test_layer_aliases_are_keras_aliases() -> None:
    aliases = {
        name: obj.__name__
        for name, obj in vars(keras.layers).items()
        if inspect.isclass(obj) and obj.__name__ != name and obj.__name__ in REGISTRY
    }
    assert aliases == vocabulary.LAYER_ALIASES
    for alias, name in aliases.items():
        assert getattr(keras.layers, alias) is getattr(keras.layers, name)
        assert REGISTRY[name].name == name


# --- losses and metrics: one step of training -------------------------------------------

# The labels each loss or metric class is meant for; anything else is a regression.
BINARY = {
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "Hinge", "SquaredHinge", "Dice", "Tversky",
    "AUC", "Precision", "Recall", "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
    "BinaryAccuracy", "BinaryIoU", "F1Score", "FBetaScore", "Accuracy",
}  # fmt: skip
CATEGORICAL = {
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalHinge", "KLDivergence",
    "Poisson", "CosineSimilarity", "CategoricalAccuracy", "TopKCategoricalAccuracy", "OneHotIoU",
    "OneHotMeanIoU",
}  # fmt: skip
SPARSE = {
    "SparseCategoricalCrossentropy", "Circle", "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "IoU", "MeanIoU",
}  # fmt: skip
# Tables for the classes a string cannot name (their constructor needs arguments).
TABLES = {
    "IoU": {"num_classes": CLASSES, "target_class_ids": [0, 1], "sparse_y_pred": False},
    "MeanIoU": {"num_classes": CLASSES, "sparse_y_pred": False},
    "OneHotIoU": {"num_classes": CLASSES, "target_class_ids": [0, 1]},
    "OneHotMeanIoU": {"num_classes": CLASSES},
    "PrecisionAtRecall": {"recall": 0.5},
    "RecallAtPrecision": {"precision": 0.5},
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
    "Constant": {"value": 0.5},
}


# The loss of an output whose metric is being tried.
LOSS_FOR = {
    "binary": "binary_crossentropy",
    "categorical": "categorical_crossentropy",
    "sparse": "sparse_categorical_crossentropy",
    "regression": "mse",
}


def _kind(family: str, identifier: Any) -> str:
    cls = vocabulary.class_of(family, identifier)
    if cls is None:  # "crossentropy", "accuracy": binary here, so compile picks the binary form
        return "binary"
    if cls == "CTC":
        return "ctc"
    for kind, classes in (("binary", BINARY), ("categorical", CATEGORICAL), ("sparse", SPARSE)):
        if cls in classes:
            return kind
    return "regression"


def _head(kind: str, features: Any, name: str) -> Any:
    if kind == "binary":
        return keras.layers.Dense(1, activation="sigmoid", name=name)(features)
    if kind in ("categorical", "sparse"):
        return keras.layers.Dense(CLASSES, activation="softmax", name=name)(features)
    if kind == "ctc":
        steps = keras.layers.Reshape((5, CLASSES))(keras.layers.Dense(5 * CLASSES)(features))
        return keras.layers.Activation("softmax", name=name)(steps)
    return keras.layers.Dense(1, activation="softplus", name=name)(features)


def _labels(kind: str) -> np.ndarray:
    if kind == "binary":
        return RNG.integers(0, 2, (BATCH, 1)).astype("float32")
    if kind == "categorical":
        return np.eye(CLASSES, dtype="float32")[RNG.integers(0, CLASSES, BATCH)]
    if kind == "sparse":
        return RNG.integers(0, CLASSES, (BATCH,)).astype("int32")
    if kind == "ctc":
        return RNG.integers(1, CLASSES, (BATCH, 2)).astype("int32")
    return RNG.uniform(0.1, 2.0, (BATCH, 1)).astype("float32")


def _train(family: str, items: list[Any]) -> bool:
    """One step of training a model with an output per loss (or metric); whether Keras accepts it."""
    inputs = keras.Input((4,))
    features = keras.layers.Dense(8, activation="relu")(inputs)
    # A fixed first output: Keras reads a dict of labels by name only with several outputs.
    outputs, y, per_output = [_head("regression", features, "anchor")], {"anchor": _labels("regression")}, {}
    for index, item in enumerate(items):
        kind, name = _kind(family, item), f"o{index}"
        outputs.append(_head(kind, features, name))
        y[name] = _labels(kind)
        per_output[name] = item
    model = keras.Model(inputs, outputs)

    def build(item: Any) -> Any:
        if isinstance(item, vocabulary.KerasObject):
            return eval(keras_object_source(item), {"keras": keras})
        return item

    def fit() -> None:
        if family == "loss":
            model.compile(
                optimizer="sgd", loss={"anchor": "mse", **{n: build(i) for n, i in per_output.items()}}
            )
        else:
            model.compile(
                optimizer="sgd",
                loss={"anchor": "mse", **{n: LOSS_FOR[_kind(family, i)] for n, i in per_output.items()}},
                metrics={n: [build(i)] for n, i in per_output.items()},
            )
        x = RNG.normal(size=(BATCH, 4)).astype("float32")
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)

    return _keras_ok(fit)


def _failing(family: str, items: list[Any]) -> list[Any]:
    """The items that make training fail, found by halving."""
    if not items or _train(family, items):
        return []
    if len(items) == 1:
        return items
    middle = len(items) // 2
    return _failing(family, items[:middle]) + _failing(family, items[middle:])


def _resolves(module: Any, identifier: str) -> bool:
    return _keras_ok(lambda: module.get(identifier))


@pytest.mark.parametrize(("family", "module"), [("loss", losses), ("metric", metrics)])
def test_losses_and_metrics_agree_with_keras(family: str, module: Any) -> None:
    accepted, refused = [], []
    for name in [*module.ALL_OBJECTS_DICT, *vocabulary.FAMILIES[family].compile_aliases]:
        try:
            vocabulary.resolve(family, name)
            accepted.append(name)
        except Exception:
            refused.append(name)
    # Accepted: all of them train together (a failure is tracked down by halving).
    tables = [
        vocabulary.resolve(family, {"type": cls, **args})
        for cls, args in TABLES.items()
        if cls in vocabulary.FAMILIES[family].classes
    ]
    false_acceptances = _failing(family, [*accepted, *tables])
    # Refused: Keras cannot resolve them, or cannot train with them.
    false_refusals = [
        name for name in refused if name.lower() not in ("crossentropy", "ce", "accuracy", "acc")
        and _resolves(module, name) and _train(family, [name])
    ]  # fmt: skip
    assert (false_refusals, false_acceptances) == ([], [])
