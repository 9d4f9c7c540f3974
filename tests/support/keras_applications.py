"""Import every keras.applications architecture and compare the rebuilt model with the original.

For each architecture: build it in Keras (weights=None, the smallest input it
allows, 10 classes), import its saved configuration with `mspec import`,
build the imported spec with mspec, copy the original weights into the
rebuilt model layer by layer (by the Keras layer names the import keeps), and
compare parameter counts, layer classes in order, every layer's output shape
and the predictions on one random batch.

A layer the import expresses with other public layers is compared with what
it becomes (see `SUBSTITUTES`); layers of nested models are compared with the
layers they were inlined as.

Run as a script for the table over every architecture (or the ones named):

    python tests/support/keras_applications.py [NAME ...]
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# The smallest input side each family accepts with its classifier on top.
SMALLEST_SIDE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
DEFAULT_SIDE = 32
CLASSES = 10
TOLERANCE = 1e-5
# What the import writes for a layer class that is not public Keras API or a tensor operation.
SUBSTITUTES = {
    "LayerScale": ("EinsumDense",),
    "CustomScaleLayer": ("Rescaling", "Add"),
}


@dataclass
class Outcome:
    """What happened to one architecture, for the table and for the test's assertions."""

    name: str
    parameters: int = 0
    imported: bool = False
    diagnostics: list[str] = field(default_factory=list)
    same_parameters: bool = False
    same_layers: list[str] = field(default_factory=list)  # mismatches; empty when equal
    same_shapes: list[str] = field(default_factory=list)  # mismatches; empty when equal
    max_difference: float | None = None  # max |original - rebuilt| over the logits
    relative_difference: float | None = None  # the same, over max |original|
    # The relative difference before the weights were copied: shows that the comparison can fail.
    relative_before_copy: float | None = None
    import_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return (
            self.imported
            and self.same_parameters
            and not self.same_layers
            and not self.same_shapes
            and self.max_difference is not None
            and self.max_difference <= TOLERANCE
            and self.relative_difference <= TOLERANCE
        )


# Every architecture of keras.applications in Keras 3.15 (a test checks this against Keras).
ARCHITECTURES = (
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
    "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S",
    "InceptionResNetV2", "InceptionV3",
    "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small",
    "NASNetLarge", "NASNetMobile",
    "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50", "ResNet50V2",
    "VGG16", "VGG19", "Xception",
)  # fmt: skip


def architectures() -> list[str]:
    """Every model constructor in keras.applications, by name."""
    import keras

    return sorted(name for name in dir(keras.applications) if name[0].isupper())


# The keras.applications module of each family, for its preprocess_input.
FAMILIES = {
    "ConvNeXt": "convnext", "DenseNet": "densenet", "EfficientNetV2": "efficientnet_v2",
    "EfficientNet": "efficientnet", "InceptionResNetV2": "inception_resnet_v2",
    "InceptionV3": "inception_v3", "MobileNetV2": "mobilenet_v2", "MobileNetV3": "mobilenet_v3",
    "MobileNet": "mobilenet", "NASNet": "nasnet", "ResNet": "resnet", "VGG16": "vgg16",
    "VGG19": "vgg19", "Xception": "xception",
}  # fmt: skip


def original_model(name: str):
    """The architecture with random weights, its smallest input, and logits (no softmax to flatten them)."""
    import keras

    side = SMALLEST_SIDE.get(name, DEFAULT_SIDE)
    constructor = getattr(keras.applications, name)
    return constructor(weights=None, input_shape=(side, side, 3), classes=CLASSES, classifier_activation=None)


def image_batch(name: str, shape: tuple) -> np.ndarray:
    """Two random images of `shape` as the architecture wants them (its own preprocess_input)."""
    import keras

    family = next(key for key in FAMILIES if name.startswith(key))
    module = FAMILIES[family]
    if family == "ResNet" and "V2" in name:
        module = "resnet_v2"
    images = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    return np.asarray(getattr(keras.applications, module).preprocess_input(images))


def leaf_layers(model) -> list[tuple[str, object]]:
    """The model's layers and tensor operations, nested models expanded in place, without InputLayers.

    Each comes with the name it has once inlined: its own, or, where the model
    holding the nested one already has a layer of that name, prefixed with the
    nested model's name (`pair_dense`), as `mspec import` names it.
    """
    import keras

    operations = list(getattr(model, "operations", model.layers))
    taken = {op.name for op in operations if not isinstance(op, keras.Model)}
    found = []
    for operation in operations:
        if isinstance(operation, keras.layers.InputLayer):
            continue
        if not isinstance(operation, keras.Model):
            found.append((operation.name, operation))
            continue
        for name, inner in leaf_layers(operation):
            new, suffix = (name if name not in taken else f"{operation.name}_{name}"), 2
            while new in taken:
                new, suffix = f"{operation.name}_{name}_{suffix}", suffix + 1
            taken.add(new)
            found.append((new, inner))
    return found


def expected_classes(layer) -> tuple[str, ...]:
    """The class names the import writes for one original layer."""
    cls = type(layer).__name__
    if cls in SUBSTITUTES:
        return SUBSTITUTES[cls]
    if type(layer).__module__.startswith("keras.src.ops"):
        if cls in ("Concatenate", "Reshape"):
            return (cls,)
        if cls in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Negative"):
            # A merge of the same name on two tensors, a Rescaling on a tensor and a number.
            return (cls,) if _tensor_count(layer) == 2 else ("Rescaling",)
        return ("Activation",)  # an activation function applied as an operation
    return (cls,)


def _tensor_count(operation) -> int:
    return len(operation._inbound_nodes[0].input_tensors)


def _output_shape(operation) -> tuple:
    return tuple(operation._inbound_nodes[0].output_tensors[0].shape)


def match_layers(original, rebuilt) -> tuple[list[tuple], list[str]]:
    """Pair each original layer with the rebuilt one of its name; say where names, classes or order differ."""
    rebuilt_layers = dict(leaf_layers(rebuilt))
    pairs, problems = [], []
    expected: list[tuple[str, str]] = []
    for name, layer in leaf_layers(original):
        classes = expected_classes(layer)
        # A layer written as several: the last keeps its name, the others are named after it.
        names = [f"{name}_{cls.lower()}" for cls in classes[:-1]] + [name]
        expected.extend(zip(names, classes, strict=True))
        if name in rebuilt_layers:
            pairs.append((layer, rebuilt_layers[name]))
    actual = [(name, type(layer).__name__) for name, layer in leaf_layers(rebuilt)]
    if sorted(actual) != sorted(expected):
        missing = sorted(set(expected) - set(actual))[:5]
        extra = sorted(set(actual) - set(expected))[:5]
        problems.append(f"expected but not rebuilt {missing}; rebuilt but not expected {extra}")
    elif [cls for _, cls in actual] != [cls for _, cls in expected]:
        problems.append("the same layers in another order")
    return pairs, problems


def compare(name: str) -> Outcome:
    """Import one architecture and compare the rebuilt model with it."""
    import keras

    from mspec.api import build_model, check_text
    from mspec.importer import import_config

    outcome = Outcome(name)
    started = time.perf_counter()
    keras.utils.set_random_seed(0)
    original = original_model(name)
    outcome.parameters = original.count_params()
    config = json.loads(original.to_json())
    timer = time.perf_counter()
    result = import_config(config, f"{name}.json", "toml")
    outcome.import_seconds = time.perf_counter() - timer
    outcome.diagnostics = [d.format() for d in result.diagnostics if d.is_error]
    outcome.imported = result.ok
    if not result.ok:
        outcome.total_seconds = time.perf_counter() - started
        return outcome
    rebuilt = build_model(check_text(result.text, "toml", f"{name}.toml"))
    outcome.same_parameters = rebuilt.count_params() == outcome.parameters

    batch = image_batch(name, original.input_shape[1:])
    want = keras.ops.convert_to_numpy(original(batch, training=False))
    scale = float(np.max(np.abs(want))) or float("nan")
    got = keras.ops.convert_to_numpy(rebuilt(batch, training=False))
    outcome.relative_before_copy = float(np.max(np.abs(want - got))) / scale

    pairs, outcome.same_layers = match_layers(original, rebuilt)
    for layer, twin in pairs:
        if getattr(layer, "weights", None):
            twin.set_weights(layer.get_weights())
        if _output_shape(twin) != _output_shape(layer):
            outcome.same_shapes.append(f"{layer.name}: {_output_shape(twin)} != {_output_shape(layer)}")

    got = keras.ops.convert_to_numpy(rebuilt(batch, training=False))
    outcome.max_difference = float(np.max(np.abs(want - got)))
    outcome.relative_difference = outcome.max_difference / scale
    outcome.total_seconds = time.perf_counter() - started
    del original, rebuilt
    keras.backend.clear_session()
    gc.collect()
    return outcome


def main(names: list[str]) -> int:
    names = names or architectures()
    print(f"{'model':20} {'params':>12} imported equal  max|diff|  relative (before copy)  import s  total s")
    failures = 0
    for name in names:
        outcome = compare(name)
        failures += not outcome.equal
        difference = "-" if outcome.max_difference is None else f"{outcome.max_difference:.1e}"
        relative = (
            "-"
            if outcome.relative_difference is None
            else f"{outcome.relative_difference:.1e} ({outcome.relative_before_copy:.1e})"
        )
        print(
            f"{name:20} {outcome.parameters:12,} {'yes' if outcome.imported else 'no':8} "
            f"{'yes' if outcome.equal else 'no':5} {difference:>10} {relative:>22} "
            f"{outcome.import_seconds:9.2f} {outcome.total_seconds:8.1f}",
            flush=True,
        )
        for line in (outcome.diagnostics + outcome.same_layers + outcome.same_shapes)[:3]:
            print("    " + line[:200])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def exportable(name: str, rows: int):
    """The architecture as mspec sees it (imported, checked, built with random weights) for `mspec export`.

    Returns (check result, Keras model). Random weights leave the logits tiny (1e-11 to 1e-7),
    which any absolute tolerance passes: the classifier is scaled so that they reach about 1 on the
    rows `--verify` generates, and every difference upstream grows with them.
    """
    import json

    import keras

    import mspec
    from mspec.artifacts.manifest import contract
    from mspec.artifacts.verify import generated_rows, keras_outputs
    from mspec.importer import import_config

    keras.utils.set_random_seed(0)
    config = json.loads(original_model(name).to_json())
    imported = import_config(config, f"{name}.json", "toml")
    assert imported.ok, f"{name} is not imported: {imported.text}"
    result = mspec.check_text(imported.text, "toml", f"{name}.toml")
    model = mspec.build_model(result)
    feed = generated_rows(contract(result), result, rows, 0)
    scale = max(float(abs(v).max()) for v in keras_outputs(model, contract(result), feed).values())
    classifier = next(layer for layer in reversed(model.layers) if layer.get_weights())
    classifier.set_weights([w / scale for w in classifier.get_weights()])
    return result, model
