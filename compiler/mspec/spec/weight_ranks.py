"""The rank of the weights a layer parameter initializes, regularizes or constrains.

Some initializers and regularizers only work on weights of a given rank
(Orthogonal needs a matrix or more, Identity a matrix); validation checks the
layer's own weights here, without Keras. The ranks follow Keras' layers:
a Dense or recurrent kernel is a matrix, a convolution kernel has the
convolution's rank plus two, a bias or a normalization scale is a vector.
"""

from __future__ import annotations

from typing import Any


def weight_ranks(kind: str, parameter: str, params: Any) -> frozenset[int] | None:
    """The ranks of the weights `parameter` (such as `kernel_initializer`) applies to.

    None for `activity_regularizer`: it applies to the layer's output, not to a weight.
    """
    weight = parameter.rsplit("_", 1)[0]
    if weight == "activity":
        return None
    from ..layers import REGISTRY  # here: the registry's modules import the spec package

    rule = REGISTRY[kind].weight_ranks if kind in REGISTRY else None
    if rule is not None:
        return rule(weight, params)
    if weight in ("kernel", "depthwise", "pointwise"):
        rank = getattr(params, "rank", None)
        return frozenset({rank + 2}) if isinstance(rank, int) else frozenset({2})
    if weight in ("recurrent", "embeddings"):
        return frozenset({2})
    return frozenset({1})  # biases, beta, gamma, moving statistics
