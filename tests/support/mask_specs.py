"""Spec documents for the mask tests: a masked input, the layers its mask flows through, a consumer.

A document is the JSON form of a spec (the same tables a TOML file holds). `masked_model`
writes the common shape of these tests: one input, a branch that makes (or does not make)
a mask, an optional merge, and one output; `mask_models` draws random ones for hypothesis.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

EMBEDDING_WIDTH = 8


def embedding(mask_zero: bool = True, width: int = EMBEDDING_WIDTH) -> dict:
    return {"type": "Embedding", "input_dim": 50, "output_dim": width, "mask_zero": mask_zero}


def document(
    inputs: dict[str, dict],
    branches: dict[str, dict] | None = None,
    merges: dict[str, dict] | None = None,
    output: str | None = None,
) -> dict:
    """A spec with these inputs, branches and merges, and one output from `output` (default: the last)."""
    doc: dict[str, Any] = {"model": {"name": "masks"}, "inputs": inputs}
    if branches:
        doc["branches"] = branches
    if merges:
        doc["merges"] = merges
    last = output or (list(merges or {}) or list(branches or {}))[-1]
    doc["outputs"] = {"out": {"from": last}}
    return doc


def ids(*shape: int | str | None) -> dict:
    return {"shape": list(shape), "dtype": "int32"}


def floats(*shape: int | str | None) -> dict:
    return {"shape": list(shape), "dtype": "float32"}


def branch(source: str, *layers: dict) -> dict:
    return {"from": source, "layers": list(layers)}


def merge(type_: str, *sources: str, **params) -> dict:
    return {"type": type_, "from": list(sources), **params}


# --- Random models -----------------------------------------------------------

# Layers that hand a mask on unchanged, and keep the shape (or change only the last axis).
CARRIERS = [
    {"type": "Dense", "units": 8},
    {"type": "Dropout", "rate": 0.1},
    {"type": "LayerNormalization"},
    {"type": "Activation", "activation": "relu"},
]


# Layers after which the mask no longer follows the tensor: TimeDistributed keeps its input's
# (batch, steps, positions) mask while its layer reduces the positions.
REDUCERS = [
    {"type": "TimeDistributed", "layer": {"type": "LSTM", "units": 3}},
    {"type": "TimeDistributed", "layer": {"type": "GlobalAveragePooling1D"}},
]


@st.composite
def mask_models(draw) -> dict:
    """A small random model: a masked input (Embedding mask_zero on ids of rank 2-3, or Masking),
    carriers, then one mask consumer or merge; sizes are static and never 2, the batch size of the
    runs, so that no axis broadcasts against the batch by coincidence."""
    size = st.sampled_from([1, 3, 4, 5])
    steps_shape = [draw(size) for _ in range(draw(st.integers(1, 2)))]
    masked_by = draw(st.sampled_from(["embedding", "masking", "none"]))
    if masked_by == "masking":
        inputs = {"x": floats(*steps_shape, 8)}
        first, unmasked = {"type": "Masking"}, {"type": "Identity"}
    else:
        inputs = {"x": ids(*steps_shape)}
        first, unmasked = embedding(mask_zero=masked_by == "embedding"), embedding(mask_zero=False)
    rest = draw(st.lists(st.sampled_from(CARRIERS), max_size=2))
    rank = len(steps_shape) + 2  # batch, steps..., features
    if rank == 4 and draw(st.booleans()):
        rest.append(draw(st.sampled_from(REDUCERS)))
        rank = 3
    branches = {"a": branch("x", first, *rest)}
    kind, spec = draw(st.sampled_from(_consumers(rank)))
    if kind == "step":
        branches["a"]["layers"].append(spec)
        return document(inputs, branches)
    # The other inputs: the masked branch again, or the same steps without a mask.
    branches["plain"] = branch("x", unmasked, *rest)
    arity = 3 if spec["type"] in ("Attention", "MultiHeadAttention") and draw(st.booleans()) else 2
    sources = draw(st.lists(st.sampled_from(["a", "plain"]), min_size=arity, max_size=arity))
    if spec["type"] == "Concatenate":
        spec["axis"] = draw(st.sampled_from([-1, 1]))
    return document(inputs, branches, {"m": {"type": spec.pop("type"), "from": sources, **spec}})


def _consumers(rank: int) -> list[tuple[str, dict]]:
    steps = [
        ("step", {"type": "Softmax"}),
        ("step", {"type": "BatchNormalization"}),
    ]
    if rank == 3:
        steps += [
            ("step", {"type": "LSTM", "units": 4}),
            ("step", {"type": "GRU", "units": 4, "return_sequences": True}),
            ("step", {"type": "GlobalAveragePooling1D"}),
            ("step", {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3}}),
        ]
    if rank == 4:
        steps += [
            ("step", {"type": "TimeDistributed", "layer": {"type": "LSTM", "units": 4}}),
            ("step", {"type": "TimeDistributed", "layer": {"type": "GlobalAveragePooling1D"}}),
            ("step", {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 1}),
        ]
    merges = [
        ("merge", {"type": "Attention"}),
        ("merge", {"type": "AdditiveAttention"}),
        ("merge", {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4}),
        ("merge", {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4, "dropout": 0.1}),
        ("merge", {"type": "Concatenate"}),
        ("merge", {"type": "Add"}),
        ("merge", {"type": "Multiply"}),
        ("merge", {"type": "Maximum"}),
    ]
    if rank == 4:
        merges += [
            ("merge", {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4, "attention_axes": [1, 2]}),
            ("merge", {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 4, "attention_axes": [1]}),
        ]
    if rank == 3:
        merges.append(
            (
                "merge",
                {
                    "type": "GroupQueryAttention",
                    "head_dim": 4,
                    "num_query_heads": 2,
                    "num_key_value_heads": 1,
                },
            )
        )
    return steps + merges
