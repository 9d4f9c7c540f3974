"""Convolutional LSTM layers: an LSTM whose input and recurrent transformations are convolutions."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from . import dtypes as dt
from .base import (
    Activation,
    ConvPadding,
    FieldGroup,
    LayerKind,
    PositiveInt,
    Shape,
    ShapeError,
    Trait,
    format_shape,
    product,
    register,
    require_known,
)
from .geometry import (
    DataFormat,
    WindowParams,
    channel_axis,
    channels_first,
    conv_spatial,
    layout,
    require_spatial_rank,
    with_spatial,
)
from .rnn_cells import one_output_only, stateless_only
from .weights import BIAS, KERNEL, RECURRENT, Weights

Sizes = PositiveInt | list[PositiveInt]
# Kernels stacked per convolution: input, forget, candidate and output gates.
GATES = 4


# The recurrent kernel is a convolution's too: the window, then (filters, 4 x filters).
CONV_LSTM_WEIGHTS = Weights(KERNEL, replace(RECURRENT, ranks=KERNEL.ranks), BIAS, activity=True)


class ConvLSTMParams(WindowParams):
    """Keras' ConvLSTM1D/2D/3D arguments, in its order; subclasses set `rank`."""

    filters: PositiveInt
    kernel_size: Sizes
    strides: Sizes = 1
    padding: ConvPadding = "valid"
    data_format: DataFormat = None
    dilation_rate: Sizes = 1
    activation: Activation = "tanh"
    recurrent_activation: Activation = "sigmoid"
    use_bias: bool = True
    initializers: FieldGroup = CONV_LSTM_WEIGHTS.initializers
    unit_forget_bias: bool = True  # Keras puts it between the initializers and the regularizers
    penalties: FieldGroup = CONV_LSTM_WEIGHTS.penalties
    # Keras clamps rates into [0, 1]; a spec must write a value that means what it says.
    dropout: float = Field(0.0, ge=0, le=1)
    recurrent_dropout: float = Field(0.0, ge=0, le=1)
    seed: int | None = None
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False

    @model_validator(mode="after")
    def _check(self):
        self._check_lengths("kernel_size", "strides", "dilation_rate")
        self._check_strides_with_dilation()
        return self

    _one_output = field_validator("return_state")(one_output_only)
    _stateless = field_validator("stateful")(stateless_only)


class ConvLSTM1DParams(ConvLSTMParams):
    rank: ClassVar[int] = 1


class ConvLSTM2DParams(ConvLSTMParams):
    rank: ClassVar[int] = 2


class ConvLSTM3DParams(ConvLSTMParams):
    rank: ClassVar[int] = 3


def _step_shape(shape: Shape) -> Shape:
    """Return what the cell sees at each time step: the input without its time axis (axis 1)."""
    return (shape[0], *shape[2:])


def _conv_lstm_rule(layer: str):
    def rule(p: ConvLSTMParams, shapes) -> Shape:
        (shape,) = shapes
        # layout() gives "(batch, rows, cols, channels)": the time axis comes right after the batch.
        hint = f"{layer} takes (batch, time, {layout(p.rank, p.data_format).removeprefix('(batch, ')}"
        if len(shape) != p.rank + 3:
            raise ShapeError(
                f"{layer} expects a rank-{p.rank + 3} input (batch included), got {format_shape(shape)}",
                hint=hint,
            )
        step = _step_shape(shape)
        require_spatial_rank(step, layer, p.rank, p.data_format)
        where = "first" if channels_first(p.data_format) else "last"
        require_known(step[channel_axis(p.data_format)], f"channel dimension ({where} axis)", shape, layer)
        first = 3 if channels_first(p.data_format) else 2
        for axis in range(first, first + p.rank):
            # The cell builds its state for one spatial size: Keras refuses an unknown one.
            require_known(shape[axis], f"size on spatial axis {axis}", shape, layer)
        out = with_spatial(step, p.data_format, conv_spatial(layer, p, step), p.filters)
        if p.return_sequences:
            return (shape[0], shape[1], *out[1:])
        return out

    return rule


def _conv_lstm_count(p: ConvLSTMParams, shapes) -> int:
    channels = _step_shape(shapes[0])[channel_axis(p.data_format)]
    window = product(p.kernel)
    kernel = window * channels * GATES * p.filters
    recurrent = window * p.filters * GATES * p.filters
    return kernel + recurrent + (GATES * p.filters if p.use_bias else 0)


def _step_keys(p: ConvLSTMParams, shapes) -> dict:
    # The cell fixes every axis of a time step (spatial sizes and channels) when first built.
    shape = shapes[0]
    return {(0, axis): shape[axis] for axis in range(2, len(shape))}


for _rank, _params in ((1, ConvLSTM1DParams), (2, ConvLSTM2DParams), (3, ConvLSTM3DParams)):
    _name = f"ConvLSTM{_rank}D"
    register(
        LayerKind(
            _name, _params, _conv_lstm_rule(_name), _conv_lstm_count, "recurrent",
            f"LSTM over time whose input and recurrent transformations are {_rank}D convolutions.",
            build_axes=_step_keys, key_params=("filters", "kernel_size", "strides", "return_sequences"),
            positional=("filters", "kernel_size"),
            # ConvLSTM3D convolves through the 3D kernels, which take channels_first: it runs everywhere.
            traits=frozenset(
                {Trait.RECURRENT, Trait.CALL_TAKES_MASK, Trait.CPU_CHANNELS_LAST} if _rank < 3
                else {Trait.RECURRENT, Trait.CALL_TAKES_MASK}
            ),
            dtypes=dt.CONV_RECURRENT,
        )
    )  # fmt: skip
