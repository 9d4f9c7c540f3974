"""Writing a Keras model as a SavedModel, an ONNX file or a LiteRT file, fed and read by the spec's names.

Every format starts from one serving function, registered in Keras'
`ExportArchive` as Keras' own `model.export` does: it takes one argument per
spec input, in spec order, each a TensorSpec named after the input, and
returns a dict keyed by the spec's output names. So the SavedModel's
`serving_default` signature, the ONNX graph's inputs and outputs, and the
LiteRT signature runner's inputs and outputs all carry the spec's names,
whatever order a converter puts the tensors in (Keras' default export names
two outputs `output_0` and `output_1`; TFLite may reorder inputs).

- saved_model: the archive written with `ExportArchive.write_out`.
- onnx: the serving function frozen (its variables, and the constants it
  captures such as a Normalization's mean, become constants) and converted
  with tf2onnx, which Keras' ONNX export uses; only the spec's inputs are
  inputs of the graph.
- litert: the SavedModel converted by `tf.lite.TFLiteConverter` with the
  LiteRT runtime's built-in ops only, so that the file runs on the plain
  runtime. Keras' own LiteRT export also allows TensorFlow ops, which need
  the Flex delegate: neither the LiteRT runtime nor TensorFlow 2.21's
  interpreter has it, so such a model (a recurrent layer over a batch of
  open size needs TensorFlow's tensor lists) is refused, naming the layer.

What a converter refuses is an `ExportRefused` naming the spec layer when its
message mentions one.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from ..training.quiet import stderr_held_back
from .manifest import Contract

# (atol, rtol) per format: a SavedModel runs the same kernels (1e-6), tf2onnx's graph runs in
# onnxruntime (1e-5), LiteRT's kernels and fused ops differ most (1e-4).
TOLERANCES = {"saved_model": (1e-6, 1e-6), "onnx": (1e-5, 1e-6), "litert": (1e-4, 1e-4)}
# Rows fed to the artifact and to the Keras model by --verify, by default.
DEFAULT_ROWS = 64

FORMATS = ("saved_model", "onnx", "litert")
SIGNATURE = "serving_default"
SUFFIXES = {"saved_model": "", "onnx": ".onnx", "litert": ".tflite"}
EXTRAS = {
    "saved_model": "install the extra with: pip install 'mspec[fit]'",
    "onnx": "install the extra with: pip install 'mspec[export]'",
    "litert": "install the extra with: pip install 'mspec[export]'",
}


class ExportRefused(Exception):
    """The format cannot hold this model: one line saying why, naming the layer when known."""


def refusals(contract: Contract, fmt: str, graph: Any = None) -> list[str]:
    """What the format cannot hold, known from the spec before any framework runs.

    For ONNX: tf2onnx converts a lookup table only from a SavedModel's
    initializers, not from a function, so a string input (read by a lookup or
    hashing layer) is refused; and Keras' TensorFlow backend runs a grouped
    convolution (and a channels_first Conv3D) as a function compiled with
    XLA, which tf2onnx leaves unconverted. For LiteRT: a recurrent layer that
    is not unrolled loops over TensorFlow tensor lists, which the converter
    cannot lower to LiteRT's own ops over a batch of open size.
    """
    found: list[str] = []
    if fmt == "litert":
        return _litert_refusals(graph) if graph is not None else found
    if fmt != "onnx":
        return found
    for tensor in contract.inputs:
        if tensor.dtype == "string":
            reader = (tensor.expects or {}).get("layer", "its first layer")
            found.append(
                f"ONNX cannot hold input {tensor.name!r}: it takes strings, read by {reader}, "
                "whose lookup table tf2onnx does not convert "
                "(export as saved_model or litert, or feed ids and move the lookup out of the model)"
            )
    for node_id, node in graph.nodes.items() if graph is not None else ():
        call = node.call
        if call is None or call.kind.name not in ("Conv1D", "Conv2D", "Conv3D"):
            continue
        groups = getattr(call.params, "groups", 1)
        channels_first = call.kind.name == "Conv3D" and call.params.data_format == "channels_first"
        if groups > 1 or channels_first:
            what = f"groups={groups}" if groups > 1 else "channels_first"
            found.append(
                f"ONNX cannot hold layer {graph.label(node_id)} ({call.kind.name} with {what}): Keras' "
                "TensorFlow backend runs it as a function compiled with XLA, which tf2onnx does not convert "
                "(export as saved_model or litert)"
            )
    return found


_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN"})


def _litert_refusals(graph: Any) -> list[str]:
    found = []
    for node_id, node in graph.nodes.items():
        call = node.call
        if call is not None and call.kind.wraps and getattr(call.params, "layer", None) is not None:
            call = call.params.layer  # Bidirectional(LSTM(...)) loops as its layer does
        if call is None or call.kind.name not in _RECURRENT or getattr(call.params, "unroll", True):
            continue
        source = graph.nodes.get(node.inputs[0]) if node.inputs else None
        steps = source.shape[1] if source is not None and source.shape and len(source.shape) > 2 else None
        fix = (
            f"set unroll = true: its {steps} steps are fixed"
            if isinstance(steps, int)
            else "give the sequence a fixed length and set unroll = true"
        )
        found.append(
            f"LiteRT cannot hold layer {graph.label(node_id)} ({call.kind.name}): the LiteRT converter "
            "cannot turn its loop over a batch of open size into the runtime's own ops (tf.TensorListReserve "
            f"needs a static element shape), and the runtime has no TensorFlow ops (Flex delegate) ({fix})"
        )
    return found


_NAMES = {"saved_model": "SavedModel", "onnx": "ONNX", "litert": "LiteRT"}


def serving_archive(model: Any, contract: Contract) -> tuple[Any, Any, list[Any]]:
    """An ExportArchive tracking `model` with the named serving function; (archive, function, signature)."""
    import keras
    import tensorflow as tf

    signature = [
        tf.TensorSpec(tuple(None if d == "batch" else d for d in t.shape), tf.as_dtype(t.dtype), name=t.name)
        for t in contract.inputs
    ]
    order = [contract.inputs.index(contract.input(name)) for name in model_input_names(model)]
    output_names = [t.name for t in contract.outputs]

    def serve(*tensors):
        arguments = [tensors[i] for i in order]
        predicted = model(arguments if len(arguments) > 1 else arguments[0], training=False)
        if isinstance(predicted, dict):
            return {name: predicted[name] for name in output_names}
        if not isinstance(predicted, (list, tuple)):
            predicted = [predicted]
        return dict(zip(model_output_names(model), predicted, strict=True))

    archive = keras.export.ExportArchive()
    archive.track(model)
    function = archive.add_endpoint(SIGNATURE, serve, input_signature=signature)
    return archive, function, signature


def model_input_names(model: Any) -> list[str]:
    inputs = model.input if isinstance(model.input, dict) else model.inputs
    if isinstance(inputs, dict):
        return list(inputs)
    return [tensor.name for tensor in inputs]


def model_output_names(model: Any) -> list[str]:
    return list(model.output_names)


def write(fmt: str, model: Any, contract: Contract, target: Path) -> None:
    """Write `model` in `fmt` at `target`."""
    archive, function, signature = serving_archive(model, contract)
    if fmt == "saved_model":
        archive.write_out(str(target), verbose=False)
    elif fmt == "onnx":
        _write_onnx(function, signature, contract, target)
    elif fmt == "litert":
        _write_litert(archive, contract, target)
    else:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def _write_onnx(function: Any, signature: list[Any], contract: Contract, target: Path) -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    concrete = function.get_concrete_function(*signature)
    # The spec's inputs only: the constants the function captures are frozen, not fed.
    inputs = [tensor.name for tensor in concrete.inputs[: len(signature)]]
    # The outputs in spec order, as the inputs are.
    outputs = [concrete.structured_outputs[t.name].name for t in contract.outputs]
    renamed = dict(zip(inputs, (t.name for t in contract.inputs), strict=True))
    renamed.update({concrete.structured_outputs[t.name].name: t.name for t in contract.outputs})
    # tf2onnx calls TensorFlow 1 graph functions, each with a deprecation note, and logs every op it
    # cannot convert with a traceback: the one line of ExportRefused says it.
    loggers = [tf.get_logger(), logging.getLogger("tf2onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        frozen = tf2onnx.tf_loader.from_function(concrete, inputs, outputs)
        with tf.device("/cpu:0"):
            proto, _ = tf2onnx.convert.from_graph_def(
                frozen,
                name=contract.model,
                input_names=inputs,
                output_names=outputs,
                tensors_to_rename=renamed,
            )
    except Exception as error:
        raise ExportRefused(refused("ONNX", str(error), contract)) from error
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    # tf2onnx leaves an op it cannot convert in the graph as it was: such a graph cannot run.
    unconverted = [node for node in proto.graph.node if not onnx.defs.has(node.op_type, node.domain)]
    if unconverted:
        node = unconverted[0]
        raise ExportRefused(
            refused(
                "ONNX", f"tf2onnx cannot convert the TensorFlow op {node.op_type} ({node.name})", contract
            )
        )
    target.write_bytes(proto.SerializeToString())


def _write_litert(archive: Any, contract: Contract, target: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix=".mspec-litert-", dir=target.parent) as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            with stderr_held_back():  # its diagnostics are in the exception it raises
                flatbuffer = converter.convert()
        except Exception as error:
            raise ExportRefused(
                refused("LiteRT", str(error), contract)
                + " (it would need TensorFlow ops through the Flex delegate, which the LiteRT runtime lacks)"
            ) from error
    target.write_bytes(flatbuffer)


def refused(format_name: str, message: str, contract: Contract) -> str:
    """One line: which layer (found in the converter's message) the format cannot hold, and why."""
    layer = layer_in(message, contract)
    reason = _first_reason(message)
    where = f"layer {layer}" if layer else "the model"
    return f"{format_name} cannot hold {where}: {reason}"


def layer_in(message: str, contract: Contract) -> str | None:
    """The spec label of the first Keras layer named in a converter's message (op names hold them)."""
    for name in sorted(contract.layers, key=len, reverse=True):
        if re.search(rf"(?:^|[/\"' (]){re.escape(name)}(?:_\d+)?/", message):
            label = contract.layers[name]
            return label if label == name else f"{label} ({name})"
    return None


def _first_reason(message: str) -> str:
    for line in message.splitlines():
        line = line.strip()
        if re.search(r"error|not supported|neither|cannot|unsupported|failed", line, re.IGNORECASE):
            line = re.sub(r"^.*error:\s*", "", line)
            if line.startswith("loc("):  # an MLIR location: what follows its last "): " is the reason
                line = line.rsplit("): ", 1)[-1]
            return line[:300]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0][:300] if lines else "the converter failed"
