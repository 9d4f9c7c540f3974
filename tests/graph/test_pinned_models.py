"""Whole models that once divided mspec and Keras, pinned: each is built and run by Keras.

Each document is checked by mspec like a file, and the model generated from
it is built and run through `test_random_graphs.keras_verdict` (TensorFlow
here; a failed run asks TensorFlow with oneDNN switched and JAX). mspec must
refuse it, with the code given, exactly when Keras refuses it; where both
accept, every node has Keras' shape and the model Keras' weight count. A
change in Keras fails the case, as the verdict each case states is checked.
"""

from __future__ import annotations

import json

import pytest

keras = pytest.importorskip("keras")

from graph.test_random_graphs import assert_matches_static, keras_verdict  # noqa: E402
from mspec.graph.passes.shapes import total_param_count  # noqa: E402
from mspec.pipeline import check_bytes  # noqa: E402

from support.keras_build import as_keras  # noqa: E402
from support.keras_oracle import Verdict, concrete_shape  # noqa: E402
from support.spec_graphs import STRUCTURE_ONLY  # noqa: E402

pytestmark = [pytest.mark.keras, pytest.mark.kernels]  # the models are run on arrays

IMAGE = [4, 16, 3]


def model(inputs: dict, branches: dict, outputs: dict, shared: dict | None = None) -> dict:
    """A document: inputs name -> shape; branches and outputs name -> (source, layers)."""
    doc = {
        "model": {"name": "pinned"},
        "inputs": {name: {"shape": shape} for name, shape in inputs.items()},
        "branches": {name: {"from": source, "layers": layers} for name, (source, layers) in branches.items()},
        "outputs": {
            name: {"from": source, "layers": layers, "loss": "mse"}
            for name, (source, layers) in outputs.items()
        },
    }
    if shared:
        doc["shared"] = shared
    return doc


def step(type_: str, **params) -> dict:
    return {"type": type_, **params}


EQUALIZE, ELU, DENSE = step("Equalization"), step("ELU"), step("Dense", units=2)


# --- Equalization hands back the tensor it is given ---------------------------------------
#
# Keras' Equalization returns its input tensor itself from its symbolic call, which then records
# the tensor as the layer's own output: a cycle wherever a model output depends on a tensor another
# layer made, and for the model input handed back as an output; on a model input whose result feeds
# another layer, Keras builds the model (without the Equalization).

EQUALIZATION_MODELS = {
    "after an ELU": (model({"x": IMAGE}, {}, {"y": ("x", [ELU, EQUALIZE])}), "MS202"),
    "after a Dense, then a Dense": (model({"x": IMAGE}, {}, {"y": ("x", [DENSE, EQUALIZE, DENSE])}), "MS202"),
    "on the input, as the output": (model({"x": IMAGE}, {}, {"y": ("x", [EQUALIZE])}), "MS202"),
    "on the input, then an ELU": (model({"x": IMAGE}, {}, {"y": ("x", [EQUALIZE, ELU])}), None),
    "twice on the input, then a Dense": (
        model({"x": IMAGE}, {}, {"y": ("x", [EQUALIZE, EQUALIZE, DENSE])}),
        None,
    ),
    "on the input, beside an ELU": (
        model({"x": IMAGE}, {"e": ("x", [EQUALIZE]), "a": ("x", [ELU])}, {"y": ("e", [DENSE])}),
        None,
    ),
    "unused, after an ELU that is used": (
        model({"x": IMAGE}, {"a": ("x", [ELU]), "e": ("a", [EQUALIZE])}, {"y": ("a", [DENSE])}),
        "MS202",
    ),
    "unused, after an unused ELU": (
        model({"x": IMAGE}, {"a": ("x", [ELU]), "e": ("a", [EQUALIZE])}, {"y": ("x", [DENSE])}),
        None,
    ),
}


# --- A shared layer's later use on an unknown size ------------------------------------------
#
# The weights exist after the first use, so Keras builds a later use on an unknown size and computes
# its output shape from it: a Normalization hands the unknown size on, and a Dense after it cannot
# create its kernel; a Dense gives its units whatever it gets.

NORMALIZE = {"norm": step("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0])}
SHARED_DENSE = {"dense": step("Dense", units=3)}
USE_NORM, USE_DENSE = {"shared": "norm"}, {"shared": "dense"}


def shared_twice(first: list, second: list, layer: dict, after: list) -> dict:
    """One shared layer used on input `a`, then on input `b` followed by the steps `after`."""
    return model(
        {"a": first, "b": second},
        {},
        {"y1": ("a", [{"shared": "s"}]), "y2": ("b", [{"shared": "s"}, *after])},
        {"s": layer},
    )


NORMALIZE = step("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0])

# The run gives unknown sizes the oracle's size 3: the first uses are built on 3 where the later
# ones are unknown, so that the run is the call the model describes.
SHARED_MODELS = {
    "Normalization on (None, None), then a Dense": (shared_twice([3], [None], NORMALIZE, [DENSE]), "MS303"),
    "Normalization on (None, None) as the output": (shared_twice([3], [None], NORMALIZE, []), None),
    "Normalization on (None, 5, None), then a Flatten": (
        shared_twice(
            [5, 3],
            [5, None],
            step("Normalization", mean=[0.0, 1.0, 2.0], variance=[1.0, 1.0, 1.0]),
            [step("Flatten"), DENSE],
        ),
        "MS303",
    ),
    "Dense(3) built on 3, on (None, None), then a Dense": (
        shared_twice([3], [None], step("Dense", units=3), [DENSE]),
        None,
    ),
    "BatchNormalization on (None, 6, None), then a Dense": (
        shared_twice([6, 3], [6, None], step("BatchNormalization"), [DENSE]),
        "MS303",
    ),
    "LayerNormalization on (None, None), then a GlobalAveragePooling1D": (
        shared_twice([5, 3], [None, None], step("LayerNormalization"), [step("GlobalAveragePooling1D")]),
        None,
    ),
    "Conv1D on (None, 8, None), then a Dense": (
        shared_twice([8, 3], [8, None], step("Conv1D", filters=2, kernel_size=3), [DENSE]),
        None,
    ),
}

# --- RandomCrop crops in training only ------------------------------------------------------
#
# Keras declares the crop's height and width, and crops to them in training (resizing a smaller
# image up); at inference it hands the image on uncropped. The model runs as declared when the image
# has the crop's size, or when the layers after it take any size.

CROP = step("RandomCrop", height=4, width=4)
FLAT = step("Flatten")
POOL = step("GlobalAveragePooling2D")

CROP_MODELS = {
    "smaller image, then Flatten and Dense": (
        model({"x": [3, 3, 1]}, {}, {"y": ("x", [CROP, FLAT, DENSE])}),
        "MS303",
    ),
    "larger image, then Flatten and Dense": (
        model({"x": [6, 5, 1]}, {}, {"y": ("x", [CROP, FLAT, DENSE])}),
        "MS303",
    ),
    "larger image, as the output": (model({"x": [8, 8, 1]}, {}, {"y": ("x", [CROP])}), "MS303"),
    "larger image, then a Dense on the channels": (
        model({"x": [8, 8, 1]}, {}, {"y": ("x", [CROP, DENSE])}),
        "MS303",
    ),
    "smaller image, then a Conv2D and a pooling": (
        model({"x": [3, 3, 2]}, {}, {"y": ("x", [CROP, step("Conv2D", filters=2, kernel_size=2), POOL])}),
        None,
    ),
    "larger image, then a pooling and a Dense": (
        model({"x": [8, 8, 1]}, {}, {"y": ("x", [CROP, POOL, DENSE])}),
        None,
    ),
    "image of the crop's size, then Flatten and Dense": (
        model({"x": [4, 4, 1]}, {}, {"y": ("x", [CROP, FLAT, DENSE])}),
        None,
    ),
}

CASES = {**EQUALIZATION_MODELS, **SHARED_MODELS, **CROP_MODELS}


@pytest.mark.parametrize(("doc", "code"), list(CASES.values()), ids=list(CASES))
def test_pinned_model(doc: dict, code: str | None) -> None:
    keras.backend.clear_session()
    where = json.dumps(doc, indent=1)
    result = check_bytes(where.encode(), "pinned.json", selection=STRUCTURE_ONLY)
    assert result.graph is not None, where
    # A run that gives other output shapes than Keras declares fails like an error does (unknown sizes
    # are the run's, as every unknown size here is an input's).
    graph = result.graph
    declared = [graph.nodes[graph.outputs[name]].shape for name in graph.spec.outputs]
    known = None not in declared  # mspec has the shapes of every output
    outcome = keras_verdict(graph, [concrete_shape(as_keras(shape)) for shape in declared] if known else None)
    assert outcome.verdict.refused == (code is not None), (
        f"Keras: {outcome.verdict.value} {outcome.error}\n{where}"
    )
    errors = sorted({d.code for d in result.diagnostics if d.is_error})
    assert errors == ([code] if code else []), "\n".join(str(d) for d in result.diagnostics) + "\n" + where
    if code is None:
        assert outcome.verdict is Verdict.ACCEPTED, outcome.error
        built = outcome.model
        named = {layer.name for layer in built.layers} >= set(graph.spec.inputs)
        if named and graph.feeding_outputs() >= set(graph.nodes):
            assert_matches_static(graph, built, where)
        else:
            # An Equalization on a model input drops out of the model, and Keras renames that input
            # ("xCLONE"); an unused branch is no part of it: the outputs and weights are compared.
            outputs = [as_keras(graph.nodes[graph.outputs[name]].shape) for name in graph.spec.outputs]
            assert [tuple(o.shape) for o in built.outputs] == outputs, where
            assert built.count_params() == total_param_count(graph), where
