"""Strategies of the recurrent kinds (`mspec.layers.rnn`): SimpleRNN, LSTM, GRU and the wrappers.

One function draws the step of each kind (see `kind.Kind`). The recurrent options are those of the
cells too (`recurrent_options`), which the RNN tests wrap in an RNN layer.
"""

from __future__ import annotations

from hypothesis import strategies as st

from support.layer_strategies import conv, core, pooling, reshaping
from support.layer_strategies.drawing import dims, pick, some
from support.layer_strategies.kind import Kind, one_input_kind, rank_near

RECURRENT = ["SimpleRNN", "LSTM", "GRU"]
UNITS = st.integers(1, 6)


def recurrent_options(name: str) -> dict:
    """The optional parameters of a recurrent layer or its cell (`name`: SimpleRNN, LSTM or GRU)."""
    options = {
        "activation": st.sampled_from(["tanh", "relu", None]),
        "use_bias": st.booleans(),
        "dropout": st.sampled_from([0.0, 0.25]),
    }
    if name != "SimpleRNN":
        options["recurrent_activation"] = st.sampled_from(["sigmoid", "hard_sigmoid"])
    if name == "GRU":
        options["reset_after"] = st.booleans()
    if name == "LSTM":
        options["unit_forget_bias"] = st.booleans()
    return options


def recurrent(name: str, *, backwards: bool = True):
    def step(draw, shapes, *, fit, plain=False):
        options = recurrent_options(name) | {"return_sequences": st.booleans(), "unroll": st.booleans()}
        if backwards:
            options["go_backwards"] = st.booleans()
        return {"type": name, "units": draw(UNITS)} | some(draw, options)

    return step


def bidirectional(draw, shapes, *, fit, plain=False):
    # Bidirectional makes the backward copy itself: the wrapped layer keeps go_backwards False.
    inner = recurrent(pick(draw, RECURRENT), backwards=False)(draw, shapes, fit=fit)
    merge_mode = st.sampled_from(["concat", "sum", "mul", "ave"])
    return {"type": "Bidirectional", "layer": inner} | some(draw, {"merge_mode": merge_mode})


# What TimeDistributed wraps; the wrapped layer sees one time step.
WRAPPED = ["Dense", "Dropout", "Flatten", "BatchNormalization", "Conv1D", "Conv2D", "MaxPooling1D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "Cropping1D", "UpSampling2D", "LSTM",
           "GRU"]  # fmt: skip


def _wrapped() -> dict[str, Kind]:
    kinds = core.KINDS | conv.KINDS | pooling.KINDS | reshaping.KINDS | KINDS
    return {name: kinds[name] for name in WRAPPED}


def time_distributed(draw, shapes, *, fit, plain=False):
    steps = [(s[0], *s[2:]) for s in shapes]
    wrapped = _wrapped()
    names = [name for name in WRAPPED if wrapped[name].fits_rank(len(steps[0]))]
    if not names:
        return None
    inner = wrapped[pick(draw, names)].step(draw, steps, fit=fit, plain=plain)
    return None if inner is None else {"type": "TimeDistributed", "layer": inner}


@st.composite
def time_distributed_case(draw, exact: bool = False):
    """A case of a wrapped kind's own, at the rank it expects, with a time axis added."""
    inner, (inner_shape,), _ = draw(_wrapped()[draw(st.sampled_from(WRAPPED))].case(exact=True))
    time = draw(dims())
    return {"type": "TimeDistributed", "layer": inner}, [(inner_shape[0], time, *inner_shape[1:])], False


KINDS = {name: one_input_kind(name, recurrent(name), (3, 3), rank_near(3)) for name in RECURRENT}
KINDS["Bidirectional"] = one_input_kind("Bidirectional", bidirectional, (3, 3), rank_near(3))
KINDS["TimeDistributed"] = Kind("TimeDistributed", time_distributed_case, time_distributed, (3, 5))
