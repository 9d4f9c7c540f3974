"""What the registries say, in words for an editor: layer classes, their parameters, section keys, names.

Hover and completion both read from here, and everything here reads from
the same registries the checker uses (the layer registry, the pydantic
models of the sections, the vocabulary), as docs/layers.md does; nothing is
written twice.
"""

from __future__ import annotations

import functools
import typing
from dataclasses import dataclass

from pydantic import BaseModel

from .. import vocabulary
from ..layers import KIND_MODULES, REGISTRY, LayerKind
from ..layers.base import Described, KerasNamed

SECTIONS = ("model", "inputs", "shared", "branches", "merges", "outputs", "compile", "train", "lint")
# Sections whose entries are named by the spec's author (one table per input, branch ...).
NAMED_SECTIONS = ("inputs", "shared", "branches", "merges", "outputs")
# The keys of a step table other than its layer's parameters.
STEP_KEYS = ("type", "shared", "name")


@dataclass(frozen=True)
class KeyDoc:
    """One key a table takes: what it holds and its default ("required" when it has none)."""

    name: str
    description: str
    default: str


def layer_kind(name: str | None) -> LayerKind | None:
    """The layer kind a `type` value names (aliases such as MaxPool2D included), or None."""
    if not isinstance(name, str):
        return None
    name = vocabulary.LAYER_ALIASES.get(name, name)
    return REGISTRY[name] if name in KIND_MODULES else None


@functools.cache
def layer_kinds() -> tuple[LayerKind, ...]:
    """Every layer kind, by name (imports every layer module once)."""
    from ..layers import load_all

    registry = load_all()
    return tuple(registry[name] for name in sorted(registry))


def kinds_for(section: str | None) -> list[LayerKind]:
    """The layer kinds a `type` may name in a section: merges under [merges], cells in an RNN, else steps."""
    if section == "merges":
        return [kind for kind in layer_kinds() if kind.is_merge]
    if section == "cell":
        return [kind for kind in layer_kinds() if kind.is_cell]
    return [kind for kind in layer_kinds() if not kind.is_merge and not kind.is_cell]


def parameters(kind: LayerKind) -> list[KeyDoc]:
    """A layer's parameters as a spec writes them, required ones first, then Keras' order."""
    docs = [parameter(kind, name) for name in kind.params.model_fields]
    return sorted((doc for doc in docs if doc is not None), key=lambda doc: doc.default != "required")


def parameter(kind: LayerKind, name: str) -> KeyDoc | None:
    """One parameter of a layer: its type in words and Keras' default, as docs/layers.md gives them."""
    from ..backends.docgen import describe_bounds, describe_type, render_value

    field = kind.params.model_fields.get(name)
    if field is None:
        return None
    named = next((m for m in field.metadata if isinstance(m, KerasNamed)), None)
    described = next((m for m in field.metadata if isinstance(m, Described)), None)
    if named is not None:
        what = f"{named.family} name or table" + (" or null" if named.optional else "")
    elif described is not None:
        what = described.text
    else:
        what = describe_type(field.annotation) + describe_bounds(field.metadata)
    default = (
        "required" if field.is_required() else render_value(field.get_default(call_default_factory=True))
    )
    return KeyDoc(name, what, default)


def layer_markdown(kind: LayerKind) -> str:
    """A layer class for a hover: its documentation line, arity and parameters."""
    lines = [f"**{kind.name}** ({kind.category} layer)", "", kind.doc]
    if kind.is_merge:
        most = "or more" if kind.max_inputs is None else f"to {kind.max_inputs}"
        lines[-1] += f" Merge: takes {kind.min_inputs} {most} inputs."
    lines += ["", "| parameter | type | default |", "|---|---|---|"]
    lines += [f"| `{doc.name}` | {doc.description} | {doc.default} |" for doc in parameters(kind)]
    return "\n".join(lines)


def parameter_markdown(kind: LayerKind, doc: KeyDoc) -> str:
    return (
        f"**{doc.name}**: Keras {kind.name} argument\n\n{doc.description}; "
        + ("required" if doc.default == "required" else f"default `{doc.default}`")
        + "."
    )


# --- the sections' own keys, from their pydantic models ---------------------------


def section_model(table_path: tuple) -> type[BaseModel] | None:
    """The model of the table at a path: ("inputs", "x") -> InputSpec, ("train",) -> TrainSpec."""
    from ..spec.models import SpecFile

    model: type[BaseModel] = SpecFile
    parts = list(table_path)
    while parts:
        part = parts.pop(0)
        field = _field(model, part)
        if field is None:
            return None
        annotation = field.annotation
        inner = _model_in(annotation)
        if inner is None and typing.get_origin(_strip(annotation)) is dict and parts:
            parts.pop(0)  # a name: inputs.NAME, branches.NAME ...
            inner = _model_in(typing.get_args(_strip(annotation))[1])
        if inner is None:
            return None
        model = inner
    return model


def section_keys(table_path: tuple) -> list[KeyDoc]:
    """The keys the table at a path takes, with their descriptions and defaults."""
    model = section_model(table_path)
    if model is None:
        return []
    from ..backends.docgen import render_value

    docs = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        default = (
            "required" if field.is_required() else render_value(field.get_default(call_default_factory=True))
        )
        docs.append(KeyDoc(key, field.description or "", default))
    return docs


def section_key(table_path: tuple, key: str) -> KeyDoc | None:
    return next((doc for doc in section_keys(table_path) if doc.name == key), None)


def _field(model: type[BaseModel], key: str):
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _strip(annotation):
    """Drop `| None` and Annotated wrappers."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _strip(rest[0])
    return annotation


def _model_in(annotation) -> type[BaseModel] | None:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


# --- names a value may take ------------------------------------------------------


def vocabulary_for(key: str | None, table_path: tuple) -> list[str]:
    """The names Keras resolves that a key's value may be: activations, losses, optimizers ..."""
    if key is None:
        return []
    if key == "activation":
        return list(vocabulary.ACTIVATIONS)
    if key == "optimizer":
        return sorted(vocabulary.OPTIMIZER_NAMES)
    if key == "dtype" and table_path[:1] == ("inputs",):
        return list(vocabulary.DTYPES)
    if key == "kind" and table_path[:1] == ("inputs",):
        return list(vocabulary.INPUT_KINDS)
    family = _FAMILY_KEYS.get(key) or next(
        (family for suffix, family in _FAMILY_SUFFIXES if key.endswith(suffix)), None
    )
    if family is None:
        return []
    found = vocabulary.FAMILIES[family]
    usable = [
        name for name, cls in found.names.items() if cls not in found.refused and cls not in found.needs_table
    ]
    return sorted({*usable, *found.compile_aliases})


_FAMILY_KEYS = {"loss": "loss", "metrics": "metric"}
_FAMILY_SUFFIXES = (
    ("_initializer", "initializer"),
    ("_regularizer", "regularizer"),
    ("_constraint", "constraint"),
)
