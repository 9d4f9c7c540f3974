"""An exported artifact loaded in its own runtime: what it declares, and running it by the spec's names.

- saved_model: the loaded SavedModel's `serving_default` signature, called
  with keyword arguments as TensorFlow Serving calls it (its positions are
  the names' sorted order, the order TensorFlow flattens keywords in);
- onnx: an onnxruntime InferenceSession fed a dict of named inputs;
- litert: the LiteRT interpreter's signature runner (`ai_edge_litert`, or
  TensorFlow's `tf.lite.Interpreter` when it is not installed), fed by name:
  its tensors' positions may differ from the spec's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..training.quiet import stderr_held_back
from .formats import SIGNATURE


@dataclass(frozen=True)
class Port:
    """One input or output as the artifact declares it."""

    name: str  # the signature's (or graph's) name: what a caller feeds or reads by
    tensor: str  # the underlying tensor's name
    position: int
    dtype: str
    shape: tuple  # "batch" for the first open dimension, None for others


class Runtime:
    inputs: dict[str, Port]
    outputs: dict[str, Port]

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError


def load(fmt: str, path: Path) -> Runtime:
    if fmt == "saved_model":
        return _SavedModel(path)
    if fmt == "onnx":
        return _Onnx(path)
    if fmt == "litert":
        return _LiteRT(path)
    raise ValueError(f"unknown format {fmt!r}")


def _shape(dimensions: Any) -> tuple:
    if hasattr(dimensions, "as_list"):
        dimensions = dimensions.as_list()
    shape = [
        None if d is None or isinstance(d, str) or (isinstance(d, int) and d < 0) else int(d)
        for d in dimensions
    ]
    if shape and shape[0] is None:
        shape[0] = "batch"
    return tuple(shape)


class _SavedModel(Runtime):
    def __init__(self, path: Path) -> None:
        import tensorflow as tf

        self._loaded = tf.saved_model.load(str(path))
        if SIGNATURE not in self._loaded.signatures:
            raise OSError(f"{path}: the SavedModel has no {SIGNATURE} signature")
        self._function = self._loaded.signatures[SIGNATURE]
        tensors = _signature_tensors(path)
        # A signature is called by keyword: its position is that of the name in sorted order, the
        # order TensorFlow flattens the keywords in (and saved_model_cli lists them in).
        specs = self._function.structured_input_signature[1]
        self.inputs = {
            name: Port(name, tensors.get(name, name), i, specs[name].dtype.name, _shape(specs[name].shape))
            for i, name in enumerate(sorted(specs))
        }
        found = self._function.structured_outputs
        self.outputs = {
            name: Port(name, tensors.get(name, name), i, found[name].dtype.name, _shape(found[name].shape))
            for i, name in enumerate(sorted(found))
        }

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        found = self._function(**{name: tf.constant(value) for name, value in feed.items()})
        return {name: value.numpy() for name, value in found.items()}


def _signature_tensors(path: Path) -> dict[str, str]:
    """The graph tensor behind each input and output name of the serving signature (saved_model_cli's)."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    found: dict[str, str] = {}
    for graph in saved.meta_graphs:
        signature = graph.signature_def.get(SIGNATURE)
        if signature is not None:
            found.update({name: info.name for name, info in signature.inputs.items()})
            found.update({name: info.name for name, info in signature.outputs.items()})
    return found


_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(bfloat16)": "bfloat16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "string",
}


class _Onnx(Runtime):
    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._inference = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = {
            port.name: Port(
                port.name, port.name, i, _ONNX_TYPES.get(port.type, port.type), _shape(port.shape)
            )
            for i, port in enumerate(self._inference.get_inputs())
        }
        self.outputs = {
            port.name: Port(
                port.name, port.name, i, _ONNX_TYPES.get(port.type, port.type), _shape(port.shape)
            )
            for i, port in enumerate(self._inference.get_outputs())
        }

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = list(self.outputs)
        return dict(zip(names, self._inference.run(names, feed), strict=True))


def _interpreter(path: Path) -> Any:
    """The LiteRT runtime's interpreter, or TensorFlow's (deprecated) when ai_edge_litert is not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path))


def _without_delegate_note():
    """The LiteRT runtime's "INFO: Created TensorFlow Lite XNNPACK delegate" line, kept out of sight."""
    return stderr_held_back(keep=lambda line: not line.startswith(b"INFO: "))


def _dtype(value: Any) -> str:
    kind = np.dtype(value)
    return "string" if kind.kind in "SUO" else kind.name


class _LiteRT(Runtime):
    def __init__(self, path: Path) -> None:
        with _without_delegate_note():
            self._interpreter = _interpreter(path)
        signatures = self._interpreter.get_signature_list()
        if SIGNATURE not in signatures:
            raise OSError(f"{path}: the LiteRT model has no {SIGNATURE} signature")
        self._runner = self._interpreter.get_signature_runner(SIGNATURE)
        inputs = [d["index"] for d in self._interpreter.get_input_details()]
        outputs = [d["index"] for d in self._interpreter.get_output_details()]
        self.inputs = {
            name: Port(
                name,
                d["name"],
                inputs.index(d["index"]),
                _dtype(d["dtype"]),
                _shape(d["shape_signature"]),
            )
            for name, d in self._runner.get_input_details().items()
        }
        self.outputs = {
            name: Port(
                name,
                d["name"],
                outputs.index(d["index"]),
                _dtype(d["dtype"]),
                _shape(d["shape_signature"]),
            )
            for name, d in self._runner.get_output_details().items()
        }

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with _without_delegate_note():
            found = self._runner(**feed)
        return {name: np.asarray(value) for name, value in found.items()}
