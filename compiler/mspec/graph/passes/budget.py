"""Resource bounds: a model too large to build is reported before anything tries to build it."""

from __future__ import annotations

from ...diagnostics import Diagnostic
from ..model import ModelGraph
from .common import diagnostic

# Keras starts building a model of any size and the process dies when
# memory runs out; these limits turn that into a diagnostic.
MAX_PARAMS = 2_000_000_000  # weights in the whole model (about 8 GB as float32)
MAX_NODES = 100_000  # layer calls, inputs included
BYTES_PER_PARAM = 4


def check_budget(model: ModelGraph) -> list[Diagnostic]:
    found = []
    if len(model.nodes) > MAX_NODES:
        message = f"the model has {len(model.nodes):,} nodes, more than the limit of {MAX_NODES:,}"
        found.append(diagnostic(model, "MS304", ("model",), message))
    total = sum(node.params or 0 for node in model.nodes.values())
    if total > MAX_PARAMS:
        largest = max(model.nodes.values(), key=lambda node: node.params or 0)
        message = (
            f"the model has {total:,} parameters ({_gigabytes(total)} as float32), more than the budget "
            f"of {MAX_PARAMS:,}; the largest layer is {model.label(largest.id)} with {largest.params:,}"
        )
        hint = "shrink that layer"
        found.append(diagnostic(model, "MS304", largest.path, message, hint, at="value", node=largest.id))
    return found


def _gigabytes(params: int) -> str:
    return f"{params * BYTES_PER_PARAM / 1e9:,.1f} GB"
