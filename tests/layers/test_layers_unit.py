"""Fast checks of the layer registry that need no Keras: messages, names, parameters, wrappers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mspec.layers import REGISTRY, ShapeError
from mspec.layers.call import LayerCall, make_call
from mspec.layers.geometry import conv_length, layout, pool_length, transpose_length

N = None


def infer(step: dict, *shapes):
    call = make_call(step)
    return call.kind.output_shape(call.params, list(shapes))


def count(step: dict, *shapes) -> int:
    call = make_call(step)
    return call.kind.param_count(call.params, list(shapes))


def refusal(step: dict, *shapes) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        infer(step, *shapes)
    return caught.value


def invalid(step: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        make_call(step)
    return str(caught.value)


# --- The registry as a whole --------------------------------------------------


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_kind_is_described(name: str) -> None:
    kind = REGISTRY[name]
    assert kind.doc and "\n" not in kind.doc and kind.doc.endswith(".")
    assert kind.category
    fields = kind.params.model_fields
    assert all(key in fields for key in kind.key_params), kind.key_params
    assert all(name in fields for name in kind.positional), kind.positional


def test_kinds_that_fix_their_rank() -> None:
    # Keras' InputSpec(ndim=...) fixes the rank of these others too.
    fixed = {name for name, kind in REGISTRY.items() if kind.build_rank}
    others = {"EinsumDense", "GroupNormalization", "PReLU", "STFTSpectrogram"}
    others |= {"SpatialDropout2D", "SpatialDropout3D"}
    assert fixed == {"BatchNormalization", *others}


def test_wrappers_are_marked() -> None:
    wrappers = {name for name, kind in REGISTRY.items() if kind.wraps}
    assert wrappers == {"Bidirectional", "SpectralNormalization", "TimeDistributed"}


# --- Window arithmetic --------------------------------------------------------


@pytest.mark.parametrize(
    "size, kernel, stride, dilation, padding, expected",
    [
        (10, 3, 1, 1, "valid", 8),
        (10, 3, 2, 1, "valid", 4),
        (10, 3, 1, 3, "valid", 4),
        (2, 3, 1, 1, "valid", 0),
        (11, 3, 2, 1, "same", 6),
        (11, 3, 2, 1, "causal", 6),
        ("T", 3, 1, 1, "same", "T"),
        ("T", 1, 1, 1, "valid", "T"),
        ("T", 3, 1, 1, "valid", None),
        ("T", 3, 2, 1, "same", None),
        (None, 3, 1, 1, "same", None),
    ],
)
def test_conv_length(size, kernel, stride, dilation, padding, expected) -> None:
    assert conv_length(size, kernel, stride, dilation, padding) == expected


def test_pool_and_transpose_lengths() -> None:
    assert pool_length(10, 3, 2, "valid") == 4
    assert pool_length(10, 3, 2, "same") == 5
    assert pool_length("T", 1, 1, "valid") == "T"
    assert transpose_length(10, 3, 2, 1, "valid", None) == 21
    assert transpose_length(10, 3, 2, 1, "same", None) == 20
    assert transpose_length(10, 3, 2, 1, "same", 1) == 20
    assert transpose_length(1, 2, 1, 1, "same", 0) == 0
    assert transpose_length("T", 3, 1, 1, "same", None) == "T"
    assert transpose_length("T", 3, 1, 1, "valid", None) is None


def test_layout() -> None:
    assert layout(1, None) == "(batch, steps, channels)"
    assert layout(2, "channels_first") == "(batch, channels, rows, cols)"


# --- Named sizes survive where the size cannot change -----------------------


def test_names_kept_through_size_preserving_windows() -> None:
    same = {"type": "Conv1D", "filters": 4, "kernel_size": 3, "padding": "same"}
    assert infer(same, ("B", "T", 3)) == ("B", "T", 4)
    assert infer({"type": "Conv1D", "filters": 4, "kernel_size": 3}, (N, "T", 3)) == (N, N, 4)
    assert infer({"type": "MaxPooling1D", "pool_size": 1}, (N, "T", 3)) == (N, "T", 3)
    assert infer({"type": "UpSampling1D", "size": 1}, (N, "T", 3)) == (N, "T", 3)
    assert infer({"type": "UpSampling1D"}, (N, "T", 3)) == (N, N, 3)
    assert infer({"type": "ZeroPadding2D", "padding": [0, 1]}, (N, "H", "W", 3)) == (N, "H", N, 3)
    assert infer({"type": "Cropping1D", "cropping": 0}, (N, "T", 3)) == (N, "T", 3)
    assert infer({"type": "GlobalMaxPooling1D"}, (N, "T", "C")) == (N, "C")


def test_names_kept_through_recurrent_layers_and_wrappers() -> None:
    lstm = {"type": "LSTM", "units": 8, "return_sequences": True}
    assert infer(lstm, ("B", "T", 3)) == ("B", "T", 8)
    assert infer({"type": "Bidirectional", "layer": lstm}, ("B", "T", 3)) == ("B", "T", 16)
    summed = {"type": "Bidirectional", "layer": lstm, "merge_mode": "sum"}
    assert infer(summed, ("B", "T", 3)) == ("B", "T", 8)
    dense = {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}
    assert infer(dense, ("B", "T", 5, 3)) == ("B", "T", 5, 2)


# --- Weight counts ------------------------------------------------------------


def test_recurrent_counts() -> None:
    assert count({"type": "SimpleRNN", "units": 4}, (N, 5, 3)) == 3 * 4 + 4 * 4 + 4
    assert count({"type": "LSTM", "units": 4}, (N, 5, 3)) == 4 * (3 * 4 + 4 * 4 + 4)
    # reset_after (the default) keeps two bias rows.
    assert count({"type": "GRU", "units": 4}, (N, 5, 3)) == 3 * (3 * 4 + 4 * 4) + 2 * 3 * 4
    assert count({"type": "GRU", "units": 4, "reset_after": False}, (N, 5, 3)) == 3 * (3 * 4 + 4 * 4 + 4)
    assert count({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4}}, (N, 5, 3)) == 2 * 128


def test_convolution_counts() -> None:
    assert (
        count({"type": "Conv2D", "filters": 8, "kernel_size": 3, "groups": 2}, (N, 9, 9, 4)) == 9 * 2 * 8 + 8
    )
    separable = {"type": "SeparableConv1D", "filters": 8, "kernel_size": 3, "depth_multiplier": 2}
    assert count(separable, (N, 9, 4)) == 3 * 4 * 2 + 4 * 2 * 8 + 8
    assert count({"type": "DepthwiseConv1D", "kernel_size": 3, "depth_multiplier": 2}, (N, 9, 4)) == 3 * 8 + 8
    assert count({"type": "Conv1DTranspose", "filters": 8, "kernel_size": 3}, (N, 9, 4)) == 3 * 8 * 4 + 8


# --- Refusals: parameters -----------------------------------------------------


@pytest.mark.parametrize(
    "step, words",
    [
        ({"type": "LSTM", "units": 4, "return_state": True}, "return_state=True is not supported"),
        ({"type": "GRU", "units": 4, "stateful": True}, "stateful=True is not supported"),
        ({"type": "Bidirectional", "layer": {"type": "GRU", "units": 4}, "merge_mode": None}, "two tensors"),
        ({"type": "Bidirectional", "layer": {"type": "Dense", "units": 4}}, "wraps a recurrent layer"),
        (
            {"type": "Bidirectional", "layer": {"type": "GRU", "units": 4, "go_backwards": True}},
            "go_backwards",
        ),
        ({"type": "TimeDistributed", "layer": {"type": "Add"}}, "single-input layer"),
        ({"type": "TimeDistributed", "layer": 3}, "layer table with a 'type'"),
        ({"type": "Conv2D", "filters": 8, "kernel_size": [3, 3, 3]}, "a list of 2"),
        ({"type": "Conv2D", "filters": 9, "kernel_size": 3, "groups": 2}, "divisible by groups"),
        (
            {"type": "Conv1D", "filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
            "dilation_rate",
        ),
        (
            {"type": "Conv1DTranspose", "filters": 8, "kernel_size": 3, "output_padding": 1},
            "smaller than strides",
        ),
        ({"type": "AveragePooling2D"}, "pool_size"),
        ({"type": "ZeroPadding2D", "padding": [1, 2, 3]}, "[[top, bottom], [left, right]]"),
        ({"type": "Cropping1D", "cropping": [1, 2, 3]}, "[before, after]"),
        ({"type": "GaussianNoise", "stddev": 1.5}, "less than or equal to 1"),
        ({"type": "Normalization", "mean": [0.5], "variance": 2.0}, "same shape"),
        ({"type": "Normalization", "axis": None, "mean": [0.5], "variance": [2.0]}, "keeps none"),
    ],
)
def test_parameter_refusals(step: dict, words: str) -> None:
    assert words in invalid(step)


def test_wrapped_layer_errors_propagate() -> None:
    assert "units" in invalid({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 0}})


# --- Refusals: shapes ---------------------------------------------------------


def formatted(error: ShapeError, *names: str) -> str:
    # The inference pass fills {0}, {1}... with input names: literal braces must be doubled.
    return error.message.format(*names)


def test_empty_convolution_output_names_the_input() -> None:
    error = refusal({"type": "Conv2D", "filters": 8, "kernel_size": 3}, (N, 2, 10, 3))
    text = formatted(error, "image (None, 2, 10, 3)")
    assert "empty output" in text and "image (None, 2, 10, 3)" in text and "(3, 3)" in text
    assert "padding 'same'" in error.hint


def test_wrong_rank_hints_at_the_layout() -> None:
    error = refusal({"type": "Conv1D", "filters": 8, "kernel_size": 3}, (N, 10))
    assert "rank-3" in error.message and error.hint == "Conv1D takes (batch, steps, channels)"
    error = refusal({"type": "MaxPooling2D", "data_format": "channels_first"}, (N, 3, 4))
    assert error.hint == "MaxPooling2D takes (batch, channels, rows, cols)"
    error = refusal({"type": "LSTM", "units": 4}, (N, 10))
    assert error.hint == "LSTM takes (batch, timesteps, features)"


def test_unknown_channels_and_groups() -> None:
    error = refusal({"type": "Conv2D", "filters": 8, "kernel_size": 3}, (N, 8, 8, N))
    assert "channel dimension" in error.message
    error = refusal({"type": "Conv1D", "filters": 8, "kernel_size": 3, "groups": 2}, (N, 8, 3))
    assert "divisible by 2" in formatted(error, "x")


def test_cropping_everything_is_refused() -> None:
    error = refusal({"type": "Cropping2D", "cropping": [[1, 2], [0, 0]]}, (N, 3, 3, 2))
    assert "nothing would be left" in formatted(error, "x (None, 3, 3, 2)")


def test_glu_activation_is_refused_with_the_reason() -> None:
    error = refusal({"type": "Activation", "activation": "glu"}, (N, 4))
    assert "halves the last axis of x" in formatted(error, "x")
    assert infer({"type": "Activation", "activation": "glu"}, (N,)) == (N,)


def test_repeated_axes_are_refused() -> None:
    error = refusal({"type": "LayerNormalization", "axis": [1, -2]}, (N, 3, 4))
    assert "names the same axis twice for input x" in formatted(error, "x")
    error = refusal({"type": "Normalization", "axis": [1, -1]}, (N, 2))
    assert "names the same axis twice" in formatted(error, "x")
    # A given mean does not depend on the repeats, and a size-1 axis fits either way.
    assert infer({"type": "Normalization", "axis": [1, -1], "mean": 0.5, "variance": 1.0}, (N, 2)) == (N, 2)
    assert count({"type": "Normalization", "axis": [1, -1]}, (N, 1)) == 3


def test_weightless_layer_normalization_needs_no_size() -> None:
    step = {"type": "LayerNormalization", "center": False, "scale": False}
    assert infer(step, (N, N)) == (N, N) and count(step, (N, N)) == 0
    call = make_call(step)
    assert call.kind.build_axes(call.params, [(N, 4)]) == {}


def test_normalization_mean_must_fit_the_last_kept_axis() -> None:
    step = {"type": "Normalization", "axis": [1, 2], "mean": [0.0, 1.0, 2.0], "variance": [1.0, 1.0, 1.0]}
    error = refusal(step, (N, 3, 2))
    assert "3 values, but axis 2 of x has size 2" in formatted(error, "x")
    assert count({"type": "Normalization", "axis": 0}, (5, 4)) == 11


def test_category_encoding_counts_only_up_to_rank_2() -> None:
    error = refusal({"type": "CategoryEncoding", "num_tokens": 4, "output_mode": "count"}, (N, 3, 2))
    assert "rank-1 or rank-2" in formatted(error, "x") and "one_hot" in error.hint
    one_hot = {"type": "CategoryEncoding", "num_tokens": 4, "output_mode": "one_hot"}
    assert infer(one_hot, (N, 3, 2)) == (N, 3, 2, 4)


def test_merges_take_any_known_batch_size() -> None:
    assert infer({"type": "Add"}, (N, 4), (3, 4)) == (3, 4)
    assert infer({"type": "Add"}, ("B", 4), ("B", 1)) == ("B", 4)
    assert infer({"type": "Add"}, ("B", 4), (N, 4)) == (N, 4)


def test_dot_refuses_what_keras_cannot_check() -> None:
    error = refusal({"type": "Dot", "axes": 1}, (N, 4), (N, N))
    assert "(4 != None)" in formatted(error, "a", "b") and "unknown size" in error.hint
    assert "out of range" in refusal({"type": "Dot", "axes": [1, 3]}, (N, 1), (N, 1)).message
    assert "batch axis" in refusal({"type": "Dot", "axes": [-2, -2]}, (N, 4), (N, 4)).message
    assert infer({"type": "Dot", "axes": 1}, (N, "T"), (N, "S")) == (N, 1)


def test_attention_checks_what_running_needs() -> None:
    error = refusal({"type": "Attention"}, (N, 3, 4), (N, 5, 6), (N, 7, 4))
    assert "same length" in formatted(error, "q", "v", "k") and "k" in formatted(error, "q", "v", "k")
    error = refusal({"type": "Attention"}, (N, 3, 4), (N, 2, 5, 4))
    assert "same rank, got q and v" in formatted(error, "q", "v")
    assert "rank 3 or more" in refusal({"type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2},
                                       (N, 4), (N, 4)).message  # fmt: skip
    concat = {"type": "Attention", "score_mode": "concat"}
    assert infer(concat, (N, 3, 1), (N, 5, 4)) == (N, 3, 4)
    assert infer({"type": "Attention"}, (N, 2, 3, 4), (N, 1, 5, 4)) == (N, 2, 3, 4)
    error = refusal({"type": "Attention"}, (N, 1, 3, 4), (N, 2, 5, 4))
    assert "on axis 1" in formatted(error, "q", "v")


def test_time_distributed_explains_the_step_shape() -> None:
    error = refusal({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}}, (N, 5, N))
    text = formatted(error, "seq (None, 5, None)")
    assert text.startswith("TimeDistributed applies Dense to each time step of seq (None, 5, None)")
    assert "(None, None)" in text


# --- Wrappers and LayerCall ---------------------------------------------------


def test_make_call_validates_nested_steps() -> None:
    call = make_call(
        {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 4, "return_sequences": True}}
    )
    assert isinstance(call.params.layer, LayerCall)
    assert call.params.layer.kind is REGISTRY["LSTM"]
    assert repr(call) == "Bidirectional(layer=LSTM(units=4, return_sequences=True))"


def test_wrappers_accept_a_validated_layer() -> None:
    inner = make_call({"type": "Dense", "units": 3})
    params = REGISTRY["TimeDistributed"].params.model_validate({"layer": inner})
    assert params.layer is inner


# --- RNN and its cells --------------------------------------------------------


def test_cells_and_their_holders_are_marked() -> None:
    cells = {name for name, kind in REGISTRY.items() if kind.is_cell}
    assert cells == {"GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"}
    holders = {name: kind.cell_parameter for name, kind in REGISTRY.items() if kind.cell_parameter}
    assert holders == {"RNN": "cell", "StackedRNNCells": "cells"}


def test_rnn_holds_its_cells_as_written() -> None:
    call = make_call({"type": "RNN", "cell": {"type": "LSTMCell", "units": 4}, "return_sequences": True})
    assert call.params.cell.kind is REGISTRY["LSTMCell"]
    assert repr(call) == "RNN(cell=LSTMCell(units=4), return_sequences=True)"
    listed = make_call(
        {"type": "RNN", "cell": [{"type": "GRUCell", "units": 2}, {"type": "LSTMCell", "units": 3}]}
    )
    assert [cell.kind.name for cell in listed.params.cell] == ["GRUCell", "LSTMCell"]


def test_an_rnn_of_a_cell_is_the_layer_with_that_cell_built_in() -> None:
    for layer, extra in (
        ("SimpleRNN", {}),
        ("LSTM", {"unit_forget_bias": False}),
        ("GRU", {"reset_after": False}),
    ):
        cell = {"type": f"{layer}Cell", "units": 4, **extra}
        rnn = {"type": "RNN", "cell": cell, "return_sequences": True}
        built_in = {"type": layer, "units": 4, "return_sequences": True, **extra}
        assert infer(rnn, ("B", "T", 3)) == infer(built_in, ("B", "T", 3)) == ("B", "T", 4)
        assert count(rnn, (N, 5, 3)) == count(built_in, (N, 5, 3))


def test_stacked_cells_read_the_previous_cells_output() -> None:
    stacked = {
        "type": "StackedRNNCells",
        "cells": [{"type": "GRUCell", "units": 8}, {"type": "SimpleRNNCell", "units": 4}],
    }
    rnn = {"type": "RNN", "cell": stacked}
    assert infer(rnn, (N, 5, 3)) == (N, 4)
    # GRUCell on 3 features, then SimpleRNNCell on the GRUCell's 8 outputs.
    assert count(rnn, (N, 5, 3)) == (3 * (3 * 8 + 8 * 8) + 2 * 3 * 8) + (8 * 4 + 4 * 4 + 4)
    assert count({"type": "RNN", "cell": stacked["cells"]}, (N, 5, 3)) == count(rnn, (N, 5, 3))
    nested = {"type": "RNN", "cell": [stacked, {"type": "LSTMCell", "units": 2}], "return_sequences": True}
    assert infer(nested, (N, "T", 3)) == (N, "T", 2)
    assert count(nested, (N, 5, 3)) == count(rnn, (N, 5, 3)) + 4 * (4 * 2 + 2 * 2 + 2)


def test_rnn_explains_its_input() -> None:
    rnn = {"type": "RNN", "cell": {"type": "GRUCell", "units": 2}}
    assert refusal(rnn, (N, 5)).hint == "RNN takes (batch, timesteps, features)"
    assert "needs a known feature dimension" in refusal(rnn, (N, 5, "F")).message


def test_rnn_takes_cells_and_only_cells() -> None:
    assert "got LSTM: use LSTM as a step of its own, or LSTMCell here" in invalid(
        {"type": "RNN", "cell": {"type": "LSTM", "units": 4}}
    )
    assert "unknown cell type 'LSTMCel'" in invalid({"type": "RNN", "cell": {"type": "LSTMCel", "units": 4}})
    assert "must be a cell table" in invalid({"type": "RNN", "cell": 4})
    assert "one or more cells" in invalid({"type": "RNN", "cell": []})
    assert "one or more cells" in invalid({"type": "StackedRNNCells", "cells": []})
    assert "must be a list of cell tables" in invalid(
        {"type": "StackedRNNCells", "cells": {"type": "GRUCell"}}
    )
    assert "return_state=True is not supported" in invalid(
        {"type": "RNN", "cell": {"type": "GRUCell", "units": 2}, "return_state": True}
    )


def test_build_axes_of_wrappers_follow_the_time_axis() -> None:
    norm = make_call({"type": "TimeDistributed", "layer": {"type": "BatchNormalization", "axis": 1}})
    assert norm.kind.build_axes(norm.params, [(N, 5, 4, 3)]) == {(0, 2): 4}
    dense = make_call({"type": "TimeDistributed", "layer": {"type": "Dense", "units": 2}})
    assert dense.kind.build_axes(dense.params, [(N, 5, 3)]) == {(0, -1): 3}
    conv = make_call({"type": "Conv2D", "filters": 2, "kernel_size": 3, "data_format": "channels_first"})
    assert conv.kind.build_axes(conv.params, [(N, 3, 8, 8)]) == {(0, 1): 3}
