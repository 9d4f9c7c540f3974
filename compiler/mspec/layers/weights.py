"""A layer's weights, declared once: their arguments, and the ranks their initializers must suit.

A weight `w` takes three arguments, `w_initializer`, `w_regularizer` and
`w_constraint` (a normalization's moving statistics take an initializer only).
Keras orders a layer's weight arguments the same way everywhere: every
initializer, then every regularizer, the output's `activity_regularizer`, then
every constraint. A params class declares its weights with `Weights` where
those arguments stand (see `base.FieldGroup`), and validation reads each
weight's rank rule from there (`spec.weight_ranks`): some initializers and
regularizers only work on weights of a given rank (Orthogonal needs a matrix or
more, Identity a matrix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .base import Constraint, FieldGroup, Initializer, Regularizer

RankRule = Callable[[Any], frozenset[int]]
ROLES = ("initializer", "regularizer", "constraint")  # the arguments of a weight, as its name's suffixes

MATRIX = frozenset({2})
VECTOR = frozenset({1})


def _always(params: Any) -> bool:
    return True


def _uses_bias(params: Any) -> bool:
    return getattr(params, "use_bias", True) is not False


def _kernel_ranks(params: Any) -> frozenset[int]:
    # A convolution's kernel has the convolution's rank plus two (its window, then in and out
    # channels); a dense or recurrent kernel is a matrix.
    rank = getattr(params, "rank", None)
    return frozenset({rank + 2}) if isinstance(rank, int) else MATRIX


def _bias_ranks(params: Any) -> frozenset[int]:
    # A GRU with reset_after keeps an input and a recurrent bias, one row each.
    rows = getattr(params, "bias_rows", None)
    return MATRIX if callable(rows) and rows() > 1 else VECTOR


@dataclass(frozen=True)
class Weight:
    """One weight of a layer: the name its arguments start with, Keras' default initializer, its ranks.

    `ranks` gives the ranks the weight can have under the layer's parameters;
    `present` whether the layer creates it at all (no bias with `use_bias =
    false`): Keras never calls the initializer or regularizer of a weight it
    does not create.
    """

    name: str
    initializer: str
    ranks: RankRule = lambda params: VECTOR  # biases, offsets, scales and statistics are vectors
    present: Callable[[Any], bool] = _always
    penalized: bool = True  # False: an initializer only, neither regularizer nor constraint
    # For a weight shaped after the input (PReLU's alpha): its ranks from the parameters and the input's
    # shape. Validation, which sees no shapes, leaves the check to the shape pass.
    input_ranks: Callable[[Any, tuple], frozenset[int]] | None = None


KERNEL = Weight("kernel", "glorot_uniform", ranks=_kernel_ranks)
BIAS = Weight("bias", "zeros", ranks=_bias_ranks, present=_uses_bias)
RECURRENT = Weight("recurrent", "orthogonal", ranks=lambda params: MATRIX)
DEPTHWISE = Weight("depthwise", "glorot_uniform", ranks=_kernel_ranks)
POINTWISE = Weight("pointwise", "glorot_uniform", ranks=_kernel_ranks)
EMBEDDINGS = Weight("embeddings", "uniform", ranks=lambda params: MATRIX)
# A normalization's offset and scale, which `center = false` and `scale = false` leave out.
BETA = Weight("beta", "zeros", present=lambda params: params.center is not False)
GAMMA = Weight("gamma", "ones", present=lambda params: params.scale is not False)
MOVING_MEAN = Weight("moving_mean", "zeros", penalized=False)
MOVING_VARIANCE = Weight("moving_variance", "ones", penalized=False)


class Weights(FieldGroup):
    """The arguments of a layer's weights, in Keras' order; `activity` adds `activity_regularizer`.

    `parts` picks the initializers, or the regularizers and constraints, for
    the one layer family that puts another argument between them
    (ConvLSTM's `unit_forget_bias`): see `initializers` and `penalties`.
    """

    def __init__(
        self,
        *weights: Weight,
        activity: bool = False,
        parts: tuple[str, ...] = ("initializers", "penalties"),
    ) -> None:
        self.weights = weights
        self.activity = activity
        self.parts = parts

    @property
    def initializers(self) -> Weights:
        return Weights(*self.weights, activity=self.activity, parts=("initializers",))

    @property
    def penalties(self) -> Weights:
        """The regularizers, the activity regularizer and the constraints."""
        return Weights(*self.weights, activity=self.activity, parts=("penalties",))

    def fields(self) -> list[tuple[str, Any, Any]]:
        fields: list[tuple[str, Any, Any]] = []
        penalized = [w for w in self.weights if w.penalized]
        if "initializers" in self.parts:
            fields += [(f"{w.name}_initializer", Initializer, w.initializer) for w in self.weights]
        if "penalties" in self.parts:
            fields += [(f"{w.name}_regularizer", Regularizer, None) for w in penalized]
            if self.activity:
                fields.append(("activity_regularizer", Regularizer, None))
            fields += [(f"{w.name}_constraint", Constraint, None) for w in penalized]
        return fields


def weight_of(params_type: Any, parameter: str) -> Weight | None:
    """The weight whose initializer, regularizer or constraint `parameter` is; None for any other.

    `params_type` is a layer's params class.
    """
    for group in params_type.field_groups:
        for weight in getattr(group, "weights", ()):
            if parameter in {f"{weight.name}_{role}" for role in ROLES}:
                return weight
    return None
