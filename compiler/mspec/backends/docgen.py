"""Generate the reference pages (layers, diagnostic codes) from the layer and rule registries.

`python -m mspec.backends.docgen` rewrites docs/layers.md and docs/diagnostics.md, the
rule tables of README.md (between `<!-- rules:PREFIX -->` and `<!-- /rules -->`), and the
layer registry's index (`mspec/layers/index.py`, which module declares each kind);
`python -m mspec.backends.docgen FOLDER` writes the first three into FOLDER instead. A test
fails when the committed pages, tables or index differ from what this produces.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from pathlib import Path

from ..layers import index_source, load_all
from ..layers.base import ACTIVATIONS, Described, KerasNamed

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
        "Generated from the layer registry by `python -m mspec.backends.docgen`; do not edit by hand.",
        "Every parameter has Keras' own name, meaning and default. Shapes include the batch",
        "dimension. Merge layers are declared under `[merges]` with a `from` list; recurrent",
        "cells go in an RNN's `cell`; all others are steps in a branch's or output's `layers`,",
        "or entries under `[shared]`.",
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
                # pydantic keeps the Annotated metadata apart
                named = next((m for m in field.metadata if isinstance(m, KerasNamed)), None)
                described = next((m for m in field.metadata if isinstance(m, Described)), None)
                if named is not None:
                    kind = f"{named.family} name or table" + (" or null" if named.optional else "")
                elif described is not None:
                    kind = described.text
                else:
                    kind = describe_type(field.annotation) + describe_bounds(field.metadata)
                lines.append(f"| `{field_name}` | {kind} | {default} |")
            lines.append("")
    from ..layers.exclusions import EXCLUDED

    lines += ["## Not supported, and why", "", "The other classes of `keras.layers`:", ""]
    lines += ["| class | reason |", "|---|---|"]
    lines += [f"| `{name}` | {reason} |" for name, reason in sorted(EXCLUDED.items())]
    lines.append("")
    return "\n".join(lines)


def diagnostics_page() -> str:
    from ..diagnostics.rules import IMBALANCE_FACTOR, RULES

    lines = [
        "# Diagnostic codes and rules",
        "",
        "Generated from the rule registry (`compiler/mspec/diagnostics/rules.py`) by",
        "`python -m mspec.backends.docgen`; do not edit by hand. `mspec rules` lists the rules and",
        "`mspec rule CODE` explains one.",
        "Codes are stable: a code keeps its meaning forever. Each finding is printed as",
        "`PATH:LINE:COL: CODE severity: message (hint)`.",
        "",
        "## Turning rules off",
        "",
        "A rule that can be ignored (all warnings, and the errors of a model that builds but",
        "cannot train: MS701, MS704, MS709) is turned off by any of:",
        "",
        '- the spec\'s own `[lint]` section: `ignore = ["MS712"]` for the whole spec, and',
        '  `per_node_ignores = { score = ["MS706"] }` for findings about one input, shared',
        "  layer, branch, merge or output;",
        "- `[tool.mspec]` in the nearest `pyproject.toml` above the spec: `select = [...]`,",
        '  `ignore = [...]`, and `per-file-ignores = { "models/legacy/*.toml" = ["MS7"] }`',
        "  (globs relative to that file's folder);",
        "- `mspec lint --select CODES` (replaces the project's `select`) and `--ignore CODES`.",
        "",
        "A selector is a code (`MS712`), a prefix (`MS7`, `MS70`), a rule name",
        "(`concatenate-imbalance`) or `ALL`. A rule is reported when it is selected (every rule",
        "is, unless `select` says otherwise) and no `ignore` names it. Errors that keep the model",
        "from being built, imported or trained are always reported. An unknown code in the",
        "spec's `[lint]` is reported (MS112); on the command line or in `pyproject.toml` it",
        "stops the run (exit 2).",
        "",
        "Only root causes are reported: a node in error, downstream of one, or feeding one (or",
        "an entry that failed validation) is not also reported as unused (MS205-MS207).",
        "",
        "Training hazards (MS7xx) are reported for models that build and then train badly. The",
        f"heuristic ones are warnings (exit 0). MS712's factor is {IMBALANCE_FACTOR}. MS711 is",
        "reported by `mspec build` only: `mspec fit` adapts Normalization layers itself.",
        "",
        "| code | name | severity | can be ignored | meaning |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| [{r.code}](#{r.code.lower()}) | {r.name} | {r.severity} | {'yes' if r.ignorable else 'no'} | "
        f"{r.summary} |"
        for r in RULES.values()
    ]
    for rule in RULES.values():
        example = rule.example.replace("`", "'")
        lines += [
            "",
            f"## {rule.code}",
            "",
            f"**{rule.name}** ({rule.severity}; reported by {rule.reported_by}; "
            + ("can be ignored" if rule.ignorable else "cannot be ignored")
            + f"): {rule.summary}.",
            "",
            rule.why,
            "",
            "```",
            example,
            "```",
            "",
            "Fix: " + rule.fix,
        ]
    return "\n".join(lines) + "\n"


# A rule table in README.md: the rules whose code starts with PREFIX (MS7: the training hazards).
_RULE_TABLE = re.compile(r"(<!-- rules:(MS\d*) -->\n)(.*?)(<!-- /rules -->)", re.DOTALL)


def rule_table(prefix: str) -> str:
    """The README's table of the rules a code prefix selects: code, brief summary, severity."""
    from ..diagnostics.rules import matching

    lines = ["| code | rule | severity |", "|---|---|---|"]
    lines += [f"| {r.code} | {r.brief or r.summary} | {r.severity} |" for r in matching(prefix)]
    return "\n".join(lines) + "\n"


def with_rule_tables(readme: str) -> str:
    """README.md's text with each rule table between its markers generated again."""
    return _RULE_TABLE.sub(lambda m: m[1] + rule_table(m[2]) + m[4], readme)


PAGES = {"layers.md": layers_page, "diagnostics.md": diagnostics_page}


# The lazy registry's index: a module of the package, so only regenerated in place.
INDEX = Path(__file__).resolve().parent.parent / "layers" / "index.py"


def main(docs: Path = Path("docs"), readme: Path = Path("README.md"), index: Path | None = INDEX) -> int:
    """Write the pages into `docs`, README.md with its rule tables to `readme`, the layer index to `index`."""
    for name, render in PAGES.items():
        (docs / name).write_text(render(), encoding="utf-8")
    source = Path("README.md")
    if source.is_file():
        readme.write_text(with_rule_tables(source.read_text(encoding="utf-8")), encoding="utf-8")
    if index is not None:
        index.write_text(index_source(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1]), Path(sys.argv[1]) / "README.md", index=None))
    sys.exit(main())
