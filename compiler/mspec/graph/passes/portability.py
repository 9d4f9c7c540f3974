"""Layers Keras builds but some backends cannot run: a portability warning (MS305), never an error.

Keras' rules decide whether a model is valid: it builds, saves and runs on a
GPU, on JAX, and on a CPU with oneDNN. Some configurations still fail when
run by TensorFlow's CPU kernels without oneDNN, which TensorFlow leaves off by
default on CPUs without the instructions it wants (AVX-512 VNNI, AMX ...);
the same file then runs on one machine and not on the next. Each rule below
names the limitation and where the layer does run.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Diagnostic
from ...diagnostics.rules import CPU_KERNEL_PORTABILITY
from ...layers.base import ShapeError, Trait
from ...layers.call import LayerCall
from ...vocabulary import class_of
from ..model import ModelGraph

WHERE = "it runs on GPU, on JAX, and on a CPU with oneDNN (TF_ENABLE_ONEDNN_OPTS=1)"


def limitations(call: LayerCall, shapes: list | None = None) -> Iterator[tuple[str, str]]:
    """Yield (message, hint) for each backend limitation of a layer, a wrapped layer's included.

    `shapes`, the inputs' shapes when known (the layer accepted them), adds the
    limitations that depend on them as well as on the settings.
    """
    inner = getattr(call.params, "layer", None)
    if isinstance(inner, LayerCall):
        for message, hint in limitations(inner):
            yield f"{message} (inside {call.kind.name})", hint
    name, p, traits = call.kind.name, call.params, call.kind.traits
    channels_first = getattr(p, "data_format", None) == "channels_first"
    if Trait.CPU_CHANNELS_LAST in traits and channels_first and getattr(p, "groups", 1) == 1:
        yield (
            f"{name} with data_format 'channels_first' does not run on TensorFlow's CPU kernels without "
            f"oneDNN (they convolve channels-last tensors only: UnimplementedError); {WHERE}",
            "use channels_last for a model that runs on every CPU",
        )
    if Trait.CPU_TRANSPOSE_LIMITS in traits:
        if max(p.dilation) > 1:
            yield (
                f"{name} with dilation_rate {p.dilation_rate} does not run on TensorFlow's CPU kernels "
                f"without oneDNN (no dilation above 1 in their transposed convolution); {WHERE}",
                "use dilation_rate 1 for a model that runs on every CPU",
            )
        if channels_first:
            yield (
                f"{name} with data_format 'channels_first' does not run on TensorFlow's CPU kernels "
                f"without oneDNN (their transposed convolution takes channels-last tensors only); {WHERE}",
                "use channels_last for a model that runs on every CPU",
            )
        if p.padding == "same" and any(
            extra == 0 and ((kernel - 1) * dilation + 1) % 2 == 0
            for kernel, dilation, extra in zip(p.kernel, p.dilation, p.extra, strict=True)
        ):
            yield (
                f"{name} with padding 'same', an even window and output_padding 0 does not run on "
                "TensorFlow, with or without oneDNN: Keras declares (n - 1) * strides output positions, "
                "from which TensorFlow's transposed convolution cannot come back to an input of n; it runs "
                "on JAX",
                "use an odd kernel_size, output_padding >= 1, or leave output_padding unset",
            )
    if name == "MultiHeadAttention" and shapes is not None:
        from ...layers.attention import broadcast_batch_axes

        axes = broadcast_batch_axes(p, shapes)
        if axes:
            yield (
                f"MultiHeadAttention broadcasts the value's size 1 on unattended axes {axes} against the "
                "query: TensorFlow refuses that (InvalidArgument, with or without oneDNN); it runs on JAX",
                "give query and value the same size on those axes, or attend over them (attention_axes)",
            )
    if name.startswith("Adaptive") and shapes is not None and _adaptive_window_too_large(p, shapes[0]):
        pooling = "Max" if "Max" in name else "Average"
        yield (
            f"{name} with an output_size or an input size of 1 on a pooled axis does not run on "
            "TensorFlow, with or without oneDNN: its pooling takes a window one longer than the axis "
            "(fit and predict raise a ValueError; run eagerly with oneDNN, max pooling kills the "
            "process); it runs on JAX",
            f"for an output_size of 1 use Global{pooling}Pooling{p.rank}D(keepdims=True), which computes "
            "the same; otherwise make the pooled axes longer than 1",
        )
    if name == "MelSpectrogram" and shapes is not None and _too_short_to_reflect(p, shapes[0]):
        yield (
            f"MelSpectrogram of {shapes[0][-1]} samples does not run on TensorFlow, with or without oneDNN: "
            f"it pads both ends with fft_length // 2 = {p.fft_length // 2} reflected samples, and "
            "TensorFlow reflects at most samples - 1 (InvalidArgument); it runs on JAX",
            f"give it more than {p.fft_length // 2} samples, or a smaller fft_length",
        )
    if name == "RNN" and not p.unroll:
        # Imported here: RNN's own module, loaded by now; a spec without an RNN does not load it.
        from ...layers.rnn_cells import lone_cell_stacks

        if lone_cell_stacks(p.cell):
            yield (
                "RNN over a stack of one cell does not run on JAX: Keras' StackedRNNCells hands the lone "
                "cell's state back unwrapped, and JAX's scan refuses a loop state that changes structure "
                "(TypeError); it runs on TensorFlow",
                "write the cell itself rather than a list or stack of one cell",
            )
    if shapes is not None and (problem := _orthogonal_activity_over_batch(call, shapes)):
        yield problem
    if Trait.CPU_EQUAL_STRIDES in traits and len(set(p.stride)) > 1:
        yield (
            f"{name} with unequal strides {p.strides} does not run on TensorFlow's CPU kernels without "
            f"oneDNN (their depthwise convolution needs equal strides); {WHERE}",
            "use equal strides for a model that runs on every CPU",
        )


def _orthogonal_activity_over_batch(call: LayerCall, shapes: list) -> tuple[str, str] | None:
    """OrthogonalRegularizer in rows mode as an activity regularizer: it compares the examples of a batch.

    Its penalty needs the number of rows, the batch size, which TensorFlow's traced training step does not
    know (`ops.eye(None)`: TypeError in fit); JAX traces with the batch's size and runs it. Another rank
    than 2 fails everywhere (`spec.weight_ranks.activity_rank_problem`).
    """
    value = getattr(call.params, "activity_regularizer", None)
    if value is None or class_of("regularizer", value) != "OrthogonalRegularizer":
        return None
    if dict(getattr(value, "args", ())).get("mode", "rows") != "rows":
        return None
    try:
        output = call.kind.output_shape(call.params, shapes)
    except ShapeError:
        return None
    if len(output) != 2:
        return None
    shown = value if isinstance(value, str) else "OrthogonalRegularizer"
    return (
        f"{call.kind.name}'s activity_regularizer {shown!r} in rows mode penalises the rows of the output, "
        "one per example: fit fails on TensorFlow, whose training step does not know the batch size "
        "(TypeError, with or without oneDNN); it runs on JAX",
        'use mode = "columns", or a regularizer such as l2, for a model that trains on every backend',
    )


def _adaptive_window_too_large(p, shape) -> bool:
    """Whether TensorFlow's adaptive pooling needs a window longer than a pooled axis.

    It pools every axis twice, with windows ceil(n / out) and ceil(n / out) + 1,
    with no padding: the longer window exceeds n exactly when n or out is 1.
    """
    # Imported here: the pooling module, which declares the adaptive kinds, has loaded it by now.
    from ...layers.geometry import as_tuple, spatial_axes

    axes = spatial_axes(p.rank, p.data_format)
    sizes = [shape[axis] for axis in axes]
    wanted = as_tuple(p.output_size, p.rank)
    return any(out == 1 or size == 1 for size, out in zip(sizes, wanted, strict=True))


def _too_short_to_reflect(p, shape) -> bool:
    """Whether a waveform is too short for the reflected padding TensorFlow gives keras.ops.stft."""
    samples = shape[-1]
    return isinstance(samples, int) and samples <= p.fft_length // 2


def check_portability(graph: ModelGraph) -> list[Diagnostic]:
    found = []
    warned_shared: set[str] = set()
    for node in graph.topological_order():
        if node.call is None:
            continue
        if node.shared is not None:
            # One warning per shared layer, at its definition.
            if node.shared in warned_shared:
                continue
            warned_shared.add(node.shared)
            path, at = ("shared", node.shared), "key"
        else:
            path, at = node.path, "key" if node.role == "merge" else "value"
        shapes = [graph.nodes[i].shape for i in node.inputs]
        for message, hint in limitations(node.call, shapes if node.shape is not None else None):
            found.append(CPU_KERNEL_PORTABILITY.at(graph.document, path, message, hint, at=at, node=node.id))
    return found
