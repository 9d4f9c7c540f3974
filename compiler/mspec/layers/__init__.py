"""The layer registry: one `LayerKind` per supported Keras layer class.

The kinds live in one module per Keras family (`core`, `convolutional`,
`pooling`, `normalization`, `regularization`, `reshaping`, `merging`,
`attention`, `activations`, `rnn`, `preprocessing` ...), as Keras itself
groups them under `keras/src/layers/<family>/`.

`REGISTRY` maps a Keras class name to its kind. It loads lazily: looking up
`Dense` imports only the module that declares it, so linting a spec pays
only for the layer kinds it uses (each kind's pydantic model costs time to
create). Iterating over the registry loads every module. Which module
declares a kind is read from `index`, generated from the family modules
(`index_source`, written by `python -m mspec.backends.docgen`): adding a
kind means declaring it in its family module, then regenerating.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Set

from . import base
from .base import Dim, LayerKind, LayerParams, Shape, ShapeError, Trait, format_shape
from .index import KIND_MODULES  # the module declaring each kind, generated (see index_source)

# The modules that declare no kind: what the family modules share, and the generated index.
SHARED_MODULES = frozenset({"base", "call", "dtypes", "exclusions", "geometry", "index"})


class _LazyRegistry(Mapping[str, LayerKind]):
    """A read-only view of `base.REGISTRY` that imports a kind's module on first lookup."""

    def __getitem__(self, name: str) -> LayerKind:
        if name not in base.REGISTRY:
            module = KIND_MODULES.get(name) if isinstance(name, str) else None
            if module is None:
                raise KeyError(name)
            importlib.import_module(f"{__name__}.{module}")
        return base.REGISTRY[name]

    def __contains__(self, name: object) -> bool:
        return name in KIND_MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(KIND_MODULES))

    def __len__(self) -> int:
        return len(KIND_MODULES)


REGISTRY: Mapping[str, LayerKind] = _LazyRegistry()


class KindsWith(Set[str]):
    """The names of the kinds that declare any of some traits.

    For stages that ask by name (`name in KindsWith(Trait.TAKES_IDS)`): a membership test
    loads only the module of the kind asked about; iterating loads them all.
    """

    def __init__(self, *traits: Trait):
        self.traits = frozenset(traits)

    def __contains__(self, name: object) -> bool:
        return name in KIND_MODULES and bool(REGISTRY[name].traits & self.traits)  # type: ignore[index]

    def __iter__(self) -> Iterator[str]:
        return (name for name in sorted(KIND_MODULES) if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def load_all() -> dict[str, LayerKind]:
    """Import every layer module and return the complete registry."""
    for module in sorted(set(KIND_MODULES.values())):
        importlib.import_module(f"{__name__}.{module}")
    return dict(base.REGISTRY)


def declared_modules() -> dict[str, str]:
    """Import every family module in this package and return the module declaring each kind.

    A kind belongs to the module defining its parameters (a test checks that this module
    registers it); the generated index (`index_source`) is written from this.
    """
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if info.name not in SHARED_MODULES:
            importlib.import_module(f"{__name__}.{info.name}")
    return {name: kind.params.__module__.rpartition(".")[2] for name, kind in sorted(base.REGISTRY.items())}


def index_source() -> str:
    """The text of `layers/index.py`: `KIND_MODULES` as the family modules declare it."""
    lines = [
        '"""The module declaring each layer kind, for the lazy registry.',
        "",
        "Generated from the family modules by `python -m mspec.backends.docgen`; do not edit by hand.",
        "A test fails when it differs from what the modules declare.",
        '"""',
        "",
        "KIND_MODULES: dict[str, str] = {",
        *(f'    "{name}": "{module}",' for name, module in declared_modules().items()),
        "}",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "KIND_MODULES",
    "REGISTRY",
    "Dim",
    "KindsWith",
    "LayerKind",
    "LayerParams",
    "Shape",
    "ShapeError",
    "Trait",
    "format_shape",
]
