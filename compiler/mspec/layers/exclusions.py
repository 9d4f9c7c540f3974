"""The classes of `keras.layers` a spec cannot name, each with the reason.

`tests/layers/test_layer_coverage.py` lists every layer class Keras exports and fails
on one that is neither in the registry (or an alias of a registered class) nor
here, and on an entry here that the registry has come to support. The layers
page prints this table.
"""

from __future__ import annotations

EXCLUDED: dict[str, str] = {
    # Classes Keras exports that are no layer of their own.
    "Layer": "the base class of every layer, not a layer",
    "Wrapper": "the base class of the wrappers (Bidirectional, TimeDistributed, SpectralNormalization)",
    "InputLayer": "the model's input: written as an entry of [inputs]",
    "Pipeline": "a list of layers: write them as steps",
    # Classes that run code a spec cannot carry.
    "Lambda": "runs arbitrary Python code",
    "TFSMLayer": "loads an external TensorFlow SavedModel",
    "TorchModuleWrapper": "wraps code of another framework (a PyTorch module)",
    "JaxLayer": "wraps code of another framework (a JAX function)",
    "FlaxLayer": "wraps code of another framework (a Flax module)",
    # Layers for data a step does not carry.
    "MaxNumBoundingBoxes": (
        "pads bounding-box dictionaries (boxes and labels); on an image tensor it does nothing"
    ),
}
