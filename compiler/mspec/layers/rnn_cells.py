"""RNN, which runs a recurrent cell over the time axis, and the cells it runs.

A cell (SimpleRNNCell, LSTMCell, GRUCell) computes one time step: it reads the
step's input, (batch, features), and gives the step's output, (batch, units).
StackedRNNCells runs several cells within each step, each reading the output of
the one before. A cell is no step of its own: it goes in an RNN's `cell` (or a
StackedRNNCells' `cells`), and the spec validator refuses it anywhere else.

SimpleRNN, LSTM and GRU (`rnn`) are an RNN with their cell built in: they take
their cell's arguments and RNN's own, which are declared here once for both.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from .. import vocabulary
from ..diagnostics.rules import IMPORT_MULTIPLE_OUTPUTS
from . import dtypes as dt
from .base import (
    Activation,
    Described,
    FieldGroup,
    LayerKind,
    LayerParams,
    PositiveInt,
    Refusal,
    Regularizer,
    Shape,
    ShapeError,
    Trait,
    register,
    require_known,
    require_rank,
)
from .call import LayerCall, make_call
from .weights import BIAS, KERNEL, RECURRENT, Weights

# --- The arguments of a time step and of a layer running it -----------------


class CellParams(LayerParams):
    """The arguments of one recurrent time step: a cell's, which SimpleRNN, LSTM and GRU take too."""

    # Kernels stacked side by side in each weight: one per gate, plus the candidate.
    gates: ClassVar[int] = 1

    units: PositiveInt
    activation: Activation = "tanh"
    use_bias: bool = True
    weights: FieldGroup = Weights(KERNEL, RECURRENT, BIAS)
    # Keras clamps rates into [0, 1]; a spec must write a value that means what it says.
    dropout: float = Field(0.0, ge=0, le=1)
    recurrent_dropout: float = Field(0.0, ge=0, le=1)
    seed: int | None = None

    def bias_rows(self) -> int:
        """How many bias vectors the step keeps."""
        return 1


class SimpleRNNCellParams(CellParams):
    gates: ClassVar[int] = 1


class LSTMCellParams(CellParams):
    gates: ClassVar[int] = 4

    recurrent_activation: Activation = "sigmoid"
    unit_forget_bias: bool = True


class GRUCellParams(CellParams):
    gates: ClassVar[int] = 3

    recurrent_activation: Activation = "sigmoid"
    # True (Keras' default, cuDNN-compatible): separate input and recurrent biases.
    reset_after: bool = True

    def bias_rows(self) -> int:
        return 2 if self.reset_after else 1


def one_output_only(cls, value: bool) -> bool:
    """A field validator refusing return_state=True (recurrent and convolutional-recurrent layers)."""
    if value:
        raise ValueError(
            "return_state=True is not supported: it makes the layer return several tensors "
            "(output and states), and a step in a spec has exactly one output"
        )
    return value


def stateless_only(cls, value: bool) -> bool:
    """A field validator refusing stateful=True (recurrent and convolutional-recurrent layers)."""
    if value:
        raise ValueError(
            "stateful=True is not supported: it needs a fixed batch size and state "
            "carried between batches, which a spec does not describe"
        )
    return value


class SequenceParams(LayerParams):
    """RNN's own arguments, how a layer runs its cell over time; SimpleRNN, LSTM and GRU take them too."""

    activity_regularizer: Regularizer = None
    return_sequences: bool = False
    return_state: bool = False
    go_backwards: bool = False
    stateful: bool = False
    unroll: bool = False

    _one_output = field_validator("return_state")(one_output_only)
    _stateless = field_validator("stateful")(stateless_only)


# --- Rules shared with SimpleRNN, LSTM and GRU -------------------------------


def step_weight_count(p: CellParams, features: int) -> int:
    """The weights of one time step reading `features` inputs, as Keras' cells build them.

    A kernel (features, gates x units), a recurrent kernel (units, gates x units) and the biases.
    """
    weights = p.gates * p.units * (features + p.units)
    return weights + (p.bias_rows() * p.gates * p.units if p.use_bias else 0)


def time_step(shape: Shape, layer: str) -> Shape:
    """Check a (batch, timesteps, features) input and return what each time step reads."""
    try:
        require_rank(shape, layer, exact=3)
    except ShapeError as error:
        raise ShapeError(error.message, hint=f"{layer} takes (batch, timesteps, features)") from None
    require_known(shape[-1], "feature dimension (last axis)", shape, layer)
    return (shape[0], shape[-1])


def over_time(p: SequenceParams, shape: Shape, step_output: Shape) -> Shape:
    """The output of a layer running steps over `shape`'s time axis: each step's, or the last one's."""
    if p.return_sequences:
        return (shape[0], shape[1], step_output[-1])
    return step_output


def feature_key(p, shapes) -> dict:
    # The kernel is (features, units x gates): another feature size cannot reuse it.
    return {(0, -1): shapes[0][-1]}


def refuse_return_state(value: Any) -> Refusal | None:
    """An import hook for recurrent layers: return_state=True gives several tensors."""
    if value is True:
        return Refusal(
            IMPORT_MULTIPLE_OUTPUTS,
            "return_state=True makes it return several tensors; a spec step has exactly one output",
        )
    return None


# --- Cells ----------------------------------------------------------------------

CELLS = ("GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells")


def _as_cell(value: Any, where: str) -> LayerCall:
    """Accept a validated cell, or a cell table to validate (the spec validator passes the former)."""
    if isinstance(value, dict) and "type" in value:
        try:
            value = make_call(value)
        except KeyError:
            raise ValueError(f"{where}: unknown cell type {value['type']!r}") from None
    if not isinstance(value, LayerCall):
        raise ValueError(f'{where} must be a cell table, such as {{ type = "LSTMCell", units = 32 }}')
    if not value.kind.is_cell:
        raise ValueError(f"{where} {not_a_cell(value.kind.name)}")
    return value


def not_a_cell(name: str) -> str:
    """Why layer `name` cannot be a cell, and what to write instead (for a message after "RNN's cell")."""
    # LSTM, GRU and SimpleRNN build a cell of their own, which is what goes here.
    instead = f": use {name} as a step of its own, or {name}Cell here" if f"{name}Cell" in CELLS else ""
    return f"must be a recurrent cell ({', '.join(CELLS)}), got {name}{instead}"


def _as_cells(value: Any, where: str) -> tuple[LayerCall, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} must be a list of cell tables")
    if not value:
        raise ValueError(f"{where} must list one or more cells")
    # A stack of one cell builds and runs on TensorFlow; where it fails is the RNN's concern (its
    # settings decide): see `lone_cell_stacks`.
    return tuple(_as_cell(item, where) for item in value)


def lone_cell_stacks(cell: LayerCall | tuple[LayerCall, ...]) -> list[LayerCall]:
    """The lone cells of the one-cell stacks in an RNN's cell, nested stacks included.

    Keras' StackedRNNCells hands a lone cell's state back unwrapped: JAX's scan
    refuses the changed structure, and an unrolled LSTMCell then reads its two
    states from one (an IndexError on every backend).
    """
    cells = step_cells(cell)
    found = [cells[0]] if isinstance(cell, tuple) and len(cells) == 1 else []
    for item in cells:
        if item.kind.cell_parameter is not None:
            found += lone_cell_stacks(getattr(item.params, item.kind.cell_parameter))
    return found


def _cell_rule(name: str):
    def rule(p: CellParams, shapes) -> Shape:
        (step,) = shapes
        require_known(step[-1], "input size (last axis)", step, name)
        return (step[0], p.units)

    return rule


def _cell_count(p: CellParams, shapes) -> int:
    return step_weight_count(p, shapes[0][-1])


for _name, _params, _doc in (
    ("SimpleRNNCell", SimpleRNNCellParams, "One time step of SimpleRNN, for an RNN's `cell`."),
    ("LSTMCell", LSTMCellParams, "One time step of LSTM, for an RNN's `cell`."),
    ("GRUCell", GRUCellParams, "One time step of GRU, for an RNN's `cell`."),
):
    register(
        LayerKind(
            _name, _params, _cell_rule(_name), _cell_count, "recurrent cell", _doc,
            key_params=("units",), positional=("units",), is_cell=True,
            traits=frozenset(), dtypes=dt.Delegated.CELL,
        )
    )  # fmt: skip


def _steps_through(cells: tuple[LayerCall, ...], step: Shape) -> list[Shape]:
    """What each cell of a time step reads, then the step's output: each cell reads the one before's."""
    shapes = [step]
    for cell in cells:
        shapes.append(cell.kind.output_shape(cell.params, [shapes[-1]]))
    return shapes


def _stack_count(cells: tuple[LayerCall, ...], step: Shape) -> int:
    inputs = _steps_through(cells, step)[:-1]
    return sum(cell.kind.param_count(cell.params, [shape]) for cell, shape in zip(cells, inputs, strict=True))


# `mspec.backends.schema` makes the placeholder a $ref to its `Cell` entry, the schemas of every cell kind.
CELL_SCHEMA = vocabulary.object_ref("cell")
CELL_LIST_SCHEMA = {"type": "array", "items": CELL_SCHEMA, "minItems": 1}


class StackedRNNCellsParams(LayerParams):
    cells: Annotated[Any, Described("list of cell tables"), WithJsonSchema(CELL_LIST_SCHEMA)]

    @field_validator("cells", mode="before")
    @classmethod
    def _cell_list(cls, value: Any) -> tuple[LayerCall, ...]:
        return _as_cells(value, "StackedRNNCells' cells")


register(
    LayerKind(
        "StackedRNNCells", StackedRNNCellsParams,
        lambda p, shapes: _steps_through(p.cells, shapes[0])[-1],
        lambda p, shapes: _stack_count(p.cells, shapes[0]),
        "recurrent cell",
        "Runs its `cells` in turn within each time step, each reading the one before's output; "
        "for an RNN's `cell`.",
        key_params=("cells",), positional=("cells",), is_cell=True, cell_parameter="cells",
        traits=frozenset(), dtypes=dt.Delegated.CELL,
    )
)  # fmt: skip


# --- RNN -------------------------------------------------------------------------


class _CellParam(LayerParams):
    """RNN's `cell`, declared apart so that it comes first, as in Keras' signature."""

    # Keras also takes a list of cells, which it stacks in a StackedRNNCells: kept as written.
    cell: Annotated[
        Any,
        Described("cell table, or list of cell tables (stacked)"),
        WithJsonSchema({"oneOf": [CELL_SCHEMA, CELL_LIST_SCHEMA]}),
    ]

    @field_validator("cell", mode="before")
    @classmethod
    def _recurrent_cell(cls, value: Any) -> LayerCall | tuple[LayerCall, ...]:
        if isinstance(value, list | tuple):
            return _as_cells(value, "RNN's cell")
        return _as_cell(value, "RNN's cell")


class RNNParams(SequenceParams, _CellParam):
    # Whether a masked time step outputs zeros rather than the last unmasked step's output.
    zero_output_for_mask: bool = False

    @model_validator(mode="after")
    def _unrolled_lone_lstm(self) -> RNNParams:
        if self.unroll and any(c.kind.name == "LSTMCell" for c in lone_cell_stacks(self.cell)):
            raise ValueError(
                "an LSTMCell alone in a stack of cells cannot be unrolled: the stack hands its two states "
                "back as one, and every backend fails on the first step; write the LSTMCell itself as the "
                "cell, or leave unroll false"
            )
        return self


def step_cells(cell: LayerCall | tuple[LayerCall, ...]) -> tuple[LayerCall, ...]:
    """The cells each time step of an RNN runs in turn: its cell, or the cells of its list."""
    return cell if isinstance(cell, tuple) else (cell,)


def _rnn_shape(p: RNNParams, shapes) -> Shape:
    (shape,) = shapes
    step_output = _steps_through(step_cells(p.cell), time_step(shape, "RNN"))[-1]
    return over_time(p, shape, step_output)


def _rnn_count(p: RNNParams, shapes) -> int:
    return _stack_count(step_cells(p.cell), time_step(shapes[0], "RNN"))


register(
    LayerKind(
        "RNN", RNNParams, _rnn_shape, _rnn_count, "recurrent",
        "Runs a recurrent `cell` (LSTMCell, GRUCell, SimpleRNNCell or StackedRNNCells) over the time "
        "axis of a (batch, time, features) input.",
        build_axes=feature_key, key_params=("cell", "return_sequences"), positional=("cell",),
        cell_parameter="cell", import_refusals={"return_state": refuse_return_state},
        traits=frozenset({Trait.CALL_TAKES_MASK, Trait.RECURRENT}), dtypes=dt.RECURRENT,
    )
)  # fmt: skip
