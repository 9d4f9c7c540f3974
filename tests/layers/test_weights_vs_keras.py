"""The weights a layer kind declares are the weights Keras creates, with the ranks the kind's rules give.

Validation refuses an initializer or regularizer that cannot serve its weight
(Identity needs a matrix: MS105) from the declared rank rules alone
(`mspec.layers.weights`), without Keras. Here each weighted kind is built in
Keras on a few inputs and settings: every weight Keras creates must be a
declared one present under those settings, of a rank its rule allows, and
every declared weight present must be created.
"""

from __future__ import annotations

import pytest

from mspec.layers import load_all
from mspec.layers.call import make_call

from support.layer_cases import L, N

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

# (step, input shapes): every kind with weights, and the settings that change which weights exist or
# their ranks (use_bias, bias_axes, center and scale, reset_after, tie_weights, the convolution's rank).
CALLS = [
    (L("Dense", units=3), [(N, 4)]),
    (L("Dense", units=3, use_bias=False), [(N, 5, 4)]),
    (L("EinsumDense", equation="ab,bc->ac", output_shape=3, bias_axes="c"), [(N, 4)]),
    (L("EinsumDense", equation="abc,cd->abd", output_shape=[5, 3]), [(N, 5, 4)]),
    (L("EinsumDense", equation="abc,cde->abde", output_shape=[5, 2, 3], bias_axes="de"), [(N, 5, 4)]),
    (L("Embedding", input_dim=10, output_dim=3), [(N, 4)]),
    (L("ReversibleEmbedding", input_dim=10, output_dim=3), [(N, 4)]),
    (L("ReversibleEmbedding", input_dim=10, output_dim=3, tie_weights=False), [(N, 4)]),
    (L("MultiHeadAttention", num_heads=2, key_dim=3), [(N, 5, 4), (N, 6, 4)]),
    (L("MultiHeadAttention", num_heads=2, key_dim=3, use_bias=False), [(N, 5, 4), (N, 6, 4)]),
    (L("GroupQueryAttention", head_dim=2, num_query_heads=2, num_key_value_heads=1), [(N, 5, 4), (N, 6, 4)]),
    (L("Conv1D", filters=2, kernel_size=3), [(N, 6, 2)]),
    (L("Conv2D", filters=2, kernel_size=3, use_bias=False), [(N, 6, 6, 2)]),
    (L("Conv3D", filters=2, kernel_size=2), [(N, 4, 4, 4, 2)]),
    (L("Conv1DTranspose", filters=2, kernel_size=3), [(N, 6, 2)]),
    (L("Conv2DTranspose", filters=2, kernel_size=3), [(N, 6, 6, 2)]),
    (L("Conv3DTranspose", filters=2, kernel_size=2), [(N, 4, 4, 4, 2)]),
    (L("SeparableConv1D", filters=2, kernel_size=3), [(N, 6, 2)]),
    (L("SeparableConv2D", filters=2, kernel_size=3), [(N, 6, 6, 2)]),
    (L("DepthwiseConv1D", kernel_size=3), [(N, 6, 2)]),
    (L("DepthwiseConv2D", kernel_size=3, use_bias=False), [(N, 6, 6, 2)]),
    (L("ConvLSTM1D", filters=2, kernel_size=3), [(N, 3, 6, 2)]),
    (L("ConvLSTM2D", filters=2, kernel_size=3), [(N, 3, 6, 6, 2)]),
    (L("ConvLSTM3D", filters=2, kernel_size=2, use_bias=False), [(N, 3, 4, 4, 4, 2)]),
    (L("SimpleRNN", units=3), [(N, 5, 4)]),
    (L("LSTM", units=3), [(N, 5, 4)]),
    (L("GRU", units=3), [(N, 5, 4)]),
    (L("GRU", units=3, reset_after=False, use_bias=False), [(N, 5, 4)]),
    (L("RNN", cell=L("SimpleRNNCell", units=3)), [(N, 5, 4)]),
    (L("RNN", cell=L("LSTMCell", units=3, use_bias=False)), [(N, 5, 4)]),
    (L("RNN", cell=L("GRUCell", units=3, reset_after=False)), [(N, 5, 4)]),
    (L("BatchNormalization"), [(N, 4)]),
    (L("BatchNormalization", center=False), [(N, 3, 4)]),
    (L("LayerNormalization", scale=False), [(N, 3, 4)]),
    (L("GroupNormalization", groups=2), [(N, 3, 4)]),
    (L("PReLU"), [(N, 4)]),
    (L("PReLU"), [(N, 3, 4)]),
    (L("PReLU", shared_axes=[1, 2]), [(N, 5, 5, 3)]),
]

# Keras' names of the weights whose arguments take another name (recurrent_initializer sets the
# recurrent kernel; a depthwise convolution calls its depthwise kernel "kernel"); a ReversibleEmbedding
# with untied weights reverses with embeddings_* arguments.
DECLARED_AS = {
    "recurrent_kernel": "recurrent",
    "depthwise_kernel": "depthwise",
    "pointwise_kernel": "pointwise",
    "reverse_embeddings": "embeddings",
}
DEPTHWISE_KINDS = ("DepthwiseConv1D", "DepthwiseConv2D")


def declared_name(kind: str, keras_name: str) -> str:
    if kind in DEPTHWISE_KINDS and keras_name == "kernel":
        return "depthwise"
    return DECLARED_AS.get(keras_name, keras_name)


def keras_weights(step: dict, shapes: list[tuple]) -> list[tuple[str, int]]:
    """(name, rank) of each weight Keras creates for the layer called on inputs of these shapes."""
    from support.keras_oracle import make_layer

    layer = make_layer(step)
    inputs = [keras.Input(batch_shape=shape) for shape in shapes]
    layer(*inputs) if len(inputs) > 1 else layer(inputs[0])
    return [
        (declared_name(step["type"], variable.name), len(variable.shape))
        for variable in layer.weights
        if "seed_generator" not in variable.path
    ]


def weighted_params(step: dict):
    """The parameters holding the weights: an RNN's are its cell's."""
    call = make_call(step)
    cell = getattr(call.params, "cell", None)
    return cell.params if hasattr(cell, "params") else call.params


def call_id(call) -> str:
    step, shapes = call
    return f"{step['type']}-" + "-".join("x".join(str(d) for d in shape[1:]) for shape in shapes)


@pytest.mark.parametrize("step, shapes", CALLS, ids=[call_id(c) for c in CALLS])
def test_declared_weights_are_the_weights_keras_creates(step: dict, shapes: list[tuple]) -> None:
    params = weighted_params(step)
    declared = {
        weight.name: weight for group in type(params).field_groups for weight in getattr(group, "weights", ())
    }
    created = keras_weights(step, shapes)
    for name, rank in created:
        assert name in declared, f"{step}: Keras creates {name!r}, which the kind does not declare"
        weight = declared[name]
        assert weight.present(params), f"{step}: Keras creates {name!r}, declared absent here"
        ranks = weight.input_ranks(params, shapes[0]) if weight.input_ranks else weight.ranks(params)
        assert rank in ranks, f"{step}: {name!r} has rank {rank}, declared {sorted(ranks)}"
    missing = {n for n, w in declared.items() if w.present(params)} - {n for n, _ in created}
    assert not missing, f"{step}: declared present but not created by Keras: {sorted(missing)}"


def test_every_kind_with_weights_has_a_call_here() -> None:
    weighted = {
        name
        for name, kind in load_all().items()
        if any(getattr(group, "weights", ()) for group in kind.params.field_groups) and not kind.is_cell
    }
    called = {step["type"] for step, _ in CALLS}
    assert weighted - called == set(), "kinds with weights but no call here"
