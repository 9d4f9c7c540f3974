"""The JSON Schema of the spec format, generated from the models and the layer registry."""

from __future__ import annotations

import copy
from typing import Any

from ..layers import load_all
from ..layers.base import Described
from ..spec.models import SpecFile
from ..spec.validate import LAYER_NAME_RE
from ..vocabulary import FAMILIES, LAYER_ALIASES, OBJECT_REF, object_schema

SCHEMA_ID = "https://mspec.invalid/spec.schema.json"


def _layer_schema(kind, defs: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(kind.params.model_json_schema(ref_template="#/$defs/{model}"))
    defs.update(schema.pop("$defs", {}))
    aliases = [alias for alias, name in LAYER_ALIASES.items() if name == kind.name]
    named = {"enum": [kind.name, *aliases]} if aliases else {"const": kind.name}
    properties = {"type": {**named, "description": kind.doc}}
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)
        if kind.wraps and name == "layer":
            prop = {"$ref": "#/$defs/Step"}
        prop.setdefault("description", _parameter_doc(kind, name))
        properties[name] = prop
    if not kind.is_cell:  # a cell is part of its RNN, which the step names
        properties.setdefault(
            "name",
            {
                "type": "string",
                "pattern": LAYER_NAME_RE.pattern,
                "description": "The Keras layer name; default: one derived from the spec's names.",
            },
        )
    if kind.is_merge:
        properties["from"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": "Node names, in call order.",
            "minItems": kind.min_inputs,
            **({"maxItems": kind.max_inputs} if kind.max_inputs else {}),
        }
    required = ["type", *(["from"] if kind.is_merge else []), *schema.get("required", [])]
    return {
        "title": kind.name,
        "description": kind.doc,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _parameter_doc(kind, name: str) -> str:
    """Describe a layer parameter from its registry entry, so editors can show it."""
    from .docgen import describe_bounds, describe_type, render_value

    field = kind.params.model_fields[name]
    described = next((m for m in field.metadata if isinstance(m, Described)), None)
    kind_of_value = (
        described.text if described else describe_type(field.annotation) + describe_bounds(field.metadata)
    )
    default = "required" if field.is_required() else f"default {render_value(field.get_default())}"
    return f"Keras {kind.name} argument `{name}`: {kind_of_value}; {default}."


def spec_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a spec file, keys in a stable order."""
    schema = SpecFile.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    steps, merges, cells = [], [], []
    registry = load_all()
    for name in sorted(registry):
        kind = registry[name]
        defs[f"Layer_{name}"] = _layer_schema(kind, defs)
        (cells if kind.is_cell else merges if kind.is_merge else steps).append(
            {"$ref": f"#/$defs/Layer_{name}"}
        )
    defs["SharedStep"] = {
        "type": "object",
        "description": "A use of a layer declared under [shared].",
        "properties": {"shared": {"type": "string", "description": "The name of a layer under [shared]."}},
        "required": ["shared"],
        "additionalProperties": False,
    }
    for family in FAMILIES:  # losses, initializers ...: a name or a table (`vocabulary.object_ref`)
        defs[family.capitalize()] = object_schema(family)
    defs["Step"] = {"oneOf": [{"$ref": "#/$defs/SharedStep"}, *steps]}
    defs["LayerStep"] = {"oneOf": steps}
    defs["Merge"] = {"oneOf": merges}
    defs["Cell"] = {"oneOf": cells}  # for an RNN's `cell` (`layers.rnn_cells`)
    for model in ("BranchSpec", "OutputSpec"):
        defs[model]["properties"]["layers"]["items"] = {"$ref": "#/$defs/Step"}
    schema["properties"]["shared"]["additionalProperties"] = {"$ref": "#/$defs/LayerStep"}
    schema["properties"]["merges"]["additionalProperties"] = {"$ref": "#/$defs/Merge"}
    schema = _link_objects(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _link_objects(value: Any) -> Any:
    """Replace each `vocabulary.object_ref` placeholder by a $ref to the family's $defs entry."""
    if isinstance(value, dict):
        if OBJECT_REF in value:
            rest = {k: _link_objects(v) for k, v in value.items() if k != OBJECT_REF}
            return {"$ref": f"#/$defs/{value[OBJECT_REF].capitalize()}", **rest}
        return {k: _link_objects(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_link_objects(v) for v in value]
    return value
