"""Recurrent layers (SimpleRNN, LSTM, GRU) and the wrappers Bidirectional and TimeDistributed.

SimpleRNN, LSTM and GRU take the arguments of their cell and of RNN, declared in `rnn_cells`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import field_validator

from ..diagnostics.rules import IMPORT_MULTIPLE_OUTPUTS, IMPORT_UNEXPRESSIBLE_SETTING
from . import dtypes as dt
from .base import (
    LayerKind,
    LayerParams,
    Refusal,
    Shape,
    ShapeError,
    Trait,
    format_shape,
    register,
    require_rank,
)
from .call import LayerCall, make_call
from .rnn_cells import (
    GRUCellParams,
    LSTMCellParams,
    SequenceParams,
    SimpleRNNCellParams,
    feature_key,
    over_time,
    refuse_return_state,
    step_weight_count,
    time_step,
)


class SimpleRNNParams(SequenceParams, SimpleRNNCellParams):
    pass


class LSTMParams(SequenceParams, LSTMCellParams):
    use_cudnn: Literal["auto"] | bool = "auto"


class GRUParams(SequenceParams, GRUCellParams):
    use_cudnn: Literal["auto"] | bool = "auto"


# The recurrent layers Bidirectional runs both ways: those with their cell built in, and RNN.
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "RNN")


def _recurrent_rule(layer: str):
    def rule(p: SimpleRNNParams | LSTMParams | GRUParams, shapes) -> Shape:
        (shape,) = shapes
        step = time_step(shape, layer)
        return over_time(p, shape, (step[0], p.units))

    return rule


def _recurrent_count(p: SimpleRNNParams | LSTMParams | GRUParams, shapes) -> int:
    return step_weight_count(p, shapes[0][-1])


for _name, _params, _doc in (
    ("SimpleRNN", SimpleRNNParams, "Fully connected recurrent layer over a (batch, time, features) input."),
    ("LSTM", LSTMParams, "Long short-term memory over a (batch, time, features) input."),
    ("GRU", GRUParams, "Gated recurrent unit over a (batch, time, features) input."),
):
    register(
        LayerKind(
            _name, _params, _recurrent_rule(_name), _recurrent_count, "recurrent", _doc,
            build_axes=feature_key, key_params=("units", "return_sequences"), positional=("units",),
            import_refusals={"return_state": refuse_return_state},
            traits=frozenset({Trait.RECURRENT, Trait.CALL_TAKES_MASK}), dtypes=dt.RECURRENT,
        )
    )  # fmt: skip


# --- Wrappers ---------------------------------------------------------------


def _as_call(value: Any) -> LayerCall:
    """Accept a validated layer, or a step table to validate (the spec validator passes the former)."""
    if isinstance(value, LayerCall):
        return value
    if isinstance(value, dict) and "type" in value:
        return make_call(value)
    raise ValueError("layer must be a layer table with a 'type', such as { type = \"LSTM\", units = 32 }")


class BidirectionalParams(LayerParams):
    layer: Any
    merge_mode: Literal["concat", "sum", "mul", "ave"] | None = "concat"

    @field_validator("layer", mode="before")
    @classmethod
    def _recurrent_layer(cls, value: Any) -> LayerCall:
        call = _as_call(value)
        if call.kind.name not in RECURRENT:
            raise ValueError(
                f"Bidirectional wraps a recurrent layer ({', '.join(RECURRENT)}), got {call.kind.name}"
            )
        if call.params.go_backwards:
            # Keras derives the backward copy by setting go_backwards=True: both copies would match.
            raise ValueError(
                "Bidirectional needs a layer with go_backwards=False: it makes the backward copy itself"
            )
        return call

    @field_validator("merge_mode")
    @classmethod
    def _one_output(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError(
                "merge_mode=None is not supported: it returns the forward and backward outputs "
                "as two tensors, and a step in a spec has exactly one output"
            )
        return value


def _bidirectional_shape(p: BidirectionalParams, shapes) -> Shape:
    inner: LayerCall = p.layer
    out = inner.kind.output_shape(inner.params, shapes)
    if p.merge_mode == "concat":
        return (*out[:-1], out[-1] * 2)
    return out


def _bidirectional_count(p: BidirectionalParams, shapes) -> int:
    inner: LayerCall = p.layer
    # A forward and a backward copy, each with its own weights.
    return 2 * inner.kind.param_count(inner.params, shapes)


def _derived_backward_layer(config: dict[str, Any], backward: Any) -> Refusal | None:
    """Accept the backward layer Bidirectional derives itself: the forward one, going backwards."""
    forward = config.get("layer")
    if isinstance(forward, dict) and isinstance(backward, dict):
        ahead = _without_ids(_mapping(forward.get("config")))
        back = _without_ids(_mapping(backward.get("config")))
        for entry in (ahead, back):
            entry.pop("name", None)
            entry.pop("zero_output_for_mask", None)
        ahead["go_backwards"] = not ahead.get("go_backwards", False)
        if forward.get("class_name") == backward.get("class_name") and ahead == back:
            return None
    return Refusal(
        IMPORT_UNEXPRESSIBLE_SETTING, "a backward_layer of its own cannot be written in a spec",
        "a spec's Bidirectional derives the backward layer from `layer`",
    )  # fmt: skip


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _without_ids(value: Any) -> Any:
    """Drop the `shared_object_id` keys a .keras file adds: they differ between equal objects."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _refuse_no_merge(value: Any) -> Refusal | None:
    if value is None:
        return Refusal(
            IMPORT_MULTIPLE_OUTPUTS, "merge_mode=None cannot be written in a spec: it returns several tensors"
        )
    return None


register(
    LayerKind(
        "Bidirectional", BidirectionalParams, _bidirectional_shape, _bidirectional_count, "recurrent",
        "Runs a recurrent `layer` forwards and backwards and merges both outputs (`merge_mode`).",
        build_axes=lambda p, shapes: p.layer.kind.build_axes(p.layer.params, shapes),
        key_params=("layer", "merge_mode"), wraps=True, positional=("layer",),
        import_derived={"backward_layer": _derived_backward_layer},
        import_refusals={"merge_mode": _refuse_no_merge},
        traits=frozenset({Trait.CALL_TAKES_MASK, Trait.RECURRENT}), dtypes=dt.Delegated.WRAPPED,
    )
)  # fmt: skip


class TimeDistributedParams(LayerParams):
    layer: Any

    @field_validator("layer", mode="before")
    @classmethod
    def _single_input_layer(cls, value: Any) -> LayerCall:
        call = _as_call(value)
        if call.kind.is_merge:
            raise ValueError(f"TimeDistributed wraps a single-input layer, got {call.kind.name}")
        return call


def _step_shape(shape: Shape) -> Shape:
    """Return what the wrapped layer sees: the input without its time axis (axis 1)."""
    return (shape[0], *shape[2:])


def _time_distributed_shape(p: TimeDistributedParams, shapes) -> Shape:
    (shape,) = shapes
    require_rank(shape, "TimeDistributed", minimum=3)
    inner: LayerCall = p.layer
    step = _step_shape(shape)
    try:
        out = inner.kind.output_shape(inner.params, [step])
    except ShapeError as error:
        # The wrapped layer's message names its own input; here that is one time step of {0}.
        detail = error.message.format(format_shape(step)).replace("{", "{{").replace("}", "}}")
        raise ShapeError(
            f"TimeDistributed applies {inner.kind.name} to each time step of {{0}}, "
            f"shaped {format_shape(step)}: {detail}",
            hint=error.hint,
        ) from error
    return (out[0], shape[1], *out[1:])


def _time_distributed_count(p: TimeDistributedParams, shapes) -> int:
    inner: LayerCall = p.layer
    return inner.kind.param_count(inner.params, [_step_shape(shapes[0])])


def _time_distributed_keys(p: TimeDistributedParams, shapes) -> dict:
    inner: LayerCall = p.layer
    keys = inner.kind.build_axes(inner.params, [_step_shape(shapes[0])])
    # Axis a >= 1 of a step is axis a + 1 of the input; batch and negative axes are unchanged.
    return {(index, axis + 1 if axis >= 1 else axis): size for (index, axis), size in keys.items()}


register(
    LayerKind(
        "TimeDistributed", TimeDistributedParams, _time_distributed_shape, _time_distributed_count,
        "recurrent",
        "Applies `layer` to every time step (axis 1) of its input, with one set of weights.",
        build_axes=_time_distributed_keys, key_params=("layer",), wraps=True, positional=("layer",),
        traits=frozenset({Trait.KEEPS_MASK}), dtypes=dt.Delegated.WRAPPED,
    )
)  # fmt: skip
