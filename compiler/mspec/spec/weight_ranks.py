"""The rank of the weights a layer parameter initializes, regularizes or constrains.

Some initializers and regularizers only work on weights of a given rank
(Orthogonal needs a matrix or more, Identity a matrix); validation checks the
layer's own weights here, without Keras. Each layer declares its weights and
their rank rules with its parameters (`layers.weights`). A weight the layer's
settings leave out (no bias with `use_bias = false`) has no rank to check:
Keras never calls its initializer or regularizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..layers.weights import weight_of


def weight_ranks(parameter: str, params: Any) -> frozenset[int] | None:
    """The ranks of the weights `parameter` (such as `kernel_initializer`) applies to.

    None for `activity_regularizer`: it applies to the layer's output, not to a weight.
    """
    weight = weight_of(type(params), parameter)
    if weight is None:
        return None
    if not weight.present(params) or weight.input_ranks is not None:
        return frozenset()  # no weight, or its rank is known only with the input's shape
    return weight.ranks(params)


def input_weight_problem(params: Any, input_shape: tuple) -> str | None:
    """Why an initializer or regularizer cannot serve a weight shaped after this input; None when all can.

    The shape pass's half of MS105, for the weights whose rank follows the input (PReLU's alpha).
    """
    from ..vocabulary import rank_problem

    for name, family, value in _weight_arguments(params):
        weight = weight_of(type(params), name)
        if weight is None or weight.input_ranks is None or not weight.present(params):
            continue
        problem = rank_problem(family, value, weight.input_ranks(params, input_shape))
        if problem:
            return f"{name}: {problem}"
    return None


def _weight_arguments(params: Any) -> Iterator[tuple[str, str, Any]]:
    """(parameter, "initializer" or "regularizer", value) for each one the layer is given."""
    for name, value in params.explicit().items():
        family = name.rsplit("_", 1)[-1]
        if family in ("initializer", "regularizer") and value is not None:
            yield name, family, value


def weight_problems(call: Any) -> Iterator[tuple[str, str]]:
    """(parameter, why) for each initializer or regularizer of a layer call that cannot serve its weight.

    The same check as validation's MS105, for a call made outside a document (the differential tests).
    """
    from ..vocabulary import rank_problem

    for name, family, value in _weight_arguments(call.params):
        problem = rank_problem(family, value, weight_ranks(name, call.params))
        if problem:
            yield name, problem


# Regularizers that only penalise an output of some ranks (batch included): class -> those ranks.
# OrthogonalRegularizer compares the rows (or columns) of a matrix, and raises on any other rank
# each time the layer runs; Keras builds the model, then every call fails.
_ACTIVITY_RANKS: dict[str, frozenset[int]] = {"OrthogonalRegularizer": frozenset({2})}


def activity_rank_problem(params: Any, output_shape: Any) -> str | None:
    """Why a layer's `activity_regularizer` cannot penalise its output of this shape; None when it can.

    A Bidirectional layer's forward and backward layers regularize their own outputs, which have the
    wrapper's rank; TimeDistributed runs its layer's `call` only, without the activity regularizer.
    """
    from ..layers.call import LayerCall
    from ..vocabulary import class_of

    if not isinstance(output_shape, tuple) or not all(d is None or isinstance(d, int) for d in output_shape):
        return None  # several outputs: none of the kinds with an activity regularizer gives them here
    holders = [params]
    inner = getattr(params, "layer", None)
    if isinstance(inner, LayerCall) and hasattr(params, "merge_mode"):  # Bidirectional
        holders.append(inner.params)
    for holder in holders:
        value = getattr(holder, "activity_regularizer", None)
        cls = class_of("regularizer", value) if value is not None else None
        ranks = _ACTIVITY_RANKS.get(cls) if cls else None
        if ranks is not None and len(output_shape) not in ranks:
            shown = value if isinstance(value, str) else cls
            wanted = " or ".join(str(r) for r in sorted(ranks))
            return (
                f"activity_regularizer {shown!r} needs an output of rank {wanted} (batch included), and this "
                f"layer's output has rank {len(output_shape)}: every call raises (Keras builds the model, "
                "then fit and predict fail)"
            )
    return None
