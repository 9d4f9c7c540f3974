"""Generate the reference pages (layers, diagnostic codes) from the registry and the catalogue.

`python -m mspec.docgen` rewrites docs/layers.md and docs/diagnostics.md; a
test fails when the committed pages differ from what this produces.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from .diagnostics import CODES
from .layers import load_all
from .layers.base import ACTIVATIONS, KerasNamed

_NAMED_LISTS = {tuple(ACTIVATIONS): "activation name"}


def describe_type(annotation) -> str:
    """Describe a parameter's type for people: `integer > 0`, `"valid" or "same"`..."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        if tuple(args) in _NAMED_LISTS:
            return _NAMED_LISTS[tuple(args)]
        return " or ".join(render_value(a) for a in args)
    if origin is typing.Annotated:
        base, *meta = args
        return describe_type(base) + describe_bounds(meta)
    if origin in (typing.Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        text = " or ".join(dict.fromkeys(parts))
        return text + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {describe_type(args[0])}" if args else "list"
    names = {int: "integer", float: "number", bool: "boolean", str: "string", type(None): "null"}
    if annotation in names:
        return names[annotation]
    if annotation is typing.Any:
        return "step table"
    return getattr(annotation, "__name__", str(annotation))


def describe_bounds(metadata) -> str:
    """Render pydantic constraints (gt, ge, lt, le) as ` > 0`, ` <= 1`..."""
    text = ""
    for item in metadata:
        for sub in [item, *getattr(item, "metadata", [])]:
            for bound, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
                value = getattr(sub, bound, None)
                if value is not None:
                    text += f" {sign} {value}"
    return text


def render_value(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def layers_page() -> str:
    lines = [
        "# Supported layers",
        "",
        "Generated from the layer registry by `python -m mspec.docgen`; do not edit by hand.",
        "Every parameter has Keras' own name, meaning and default. Shapes include the batch",
        "dimension. Merge layers are declared under `[merges]` with a `from` list; all others",
        "are steps in a branch's or output's `layers`, or entries under `[shared]`.",
        "",
    ]
    by_category: dict[str, list] = {}
    registry = load_all()
    for name in sorted(registry):
        by_category.setdefault(registry[name].category, []).append(registry[name])
    for category in sorted(by_category):
        lines += [f"## {category.capitalize()}", ""]
        for kind in by_category[category]:
            arity = ""
            if kind.is_merge:
                if kind.max_inputs is None:
                    arity = f" Merge: takes {kind.min_inputs} or more inputs."
                elif kind.max_inputs == kind.min_inputs:
                    arity = f" Merge: takes exactly {kind.min_inputs} inputs."
                else:
                    arity = f" Merge: takes {kind.min_inputs} to {kind.max_inputs} inputs."
            lines += [f"### {kind.name}", "", kind.doc + arity, ""]
            fields = kind.params.model_fields
            lines += ["| parameter | type | default |", "|---|---|---|"]
            for field_name, field in fields.items():
                default = (
                    "required"
                    if field.is_required()
                    else render_value(field.get_default(call_default_factory=True))
                )
                named = next((m for m in field.metadata if isinstance(m, KerasNamed)), None)
                if named is not None:  # pydantic keeps the Annotated metadata apart
                    kind = f"{named.family} name or table" + (" or null" if named.optional else "")
                else:
                    kind = describe_type(field.annotation) + describe_bounds(field.metadata)
                lines.append(f"| `{field_name}` | {kind} | {default} |")
            lines.append("")
    return "\n".join(lines)


def diagnostics_page() -> str:
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from the code catalogue by `python -m mspec.docgen`; do not edit by hand.",
        "Codes are stable: a code keeps its meaning forever. Each finding is printed as",
        "`PATH:LINE:COL: CODE severity: message (hint)`.",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    lines += [f"| {code} | {text} |" for code, text in CODES.items()]
    return "\n".join(lines) + "\n"


PAGES = {"layers.md": layers_page, "diagnostics.md": diagnostics_page}


def main(docs: Path = Path("docs")) -> int:
    for name, render in PAGES.items():
        (docs / name).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs")))
