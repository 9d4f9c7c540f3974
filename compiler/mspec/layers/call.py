"""One configured layer: a registry kind and its validated parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import LayerKind, LayerParams


@dataclass(frozen=True, repr=False)
class LayerCall:
    """A layer kind with validated parameters, as a spec step or a wrapper's `layer` declares it."""

    kind: LayerKind
    params: LayerParams
    # The Keras layer name a step gives with `name = "..."`; None: the name generated code derives.
    name: str | None = None

    def __repr__(self) -> str:
        # Compact and stable: wrappers show their layer this way in summaries and diagrams.
        args = ", ".join(f"{name}={value!r}" for name, value in self.params.explicit().items())
        return f"{self.kind.name}({args})"

    __str__ = __repr__


def make_call(step: dict[str, Any]) -> LayerCall:
    """Validate a step table ({"type": ..., params...}) through the registry, wrapped layers included.

    Raises KeyError for an unknown type and pydantic's ValidationError for bad parameters.
    """
    from ..vocabulary import LAYER_ALIASES
    from . import REGISTRY  # the lazy view: loads the kind's module on demand

    params = dict(step)
    type_name = params.pop("type")
    name = params.pop("name", None)
    kind = REGISTRY[LAYER_ALIASES.get(type_name, type_name)]  # MaxPool2D is MaxPooling2D
    if kind.wraps and isinstance(params.get("layer"), dict):
        params["layer"] = make_call(params["layer"])
    return LayerCall(kind, kind.params.model_validate(params), name)
