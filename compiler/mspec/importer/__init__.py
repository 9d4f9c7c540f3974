"""Import a Keras 3 Functional (or Sequential) model as a spec, from its saved configuration.

Reads a `.keras` archive's `config.json`, or a JSON file holding
`model.to_json()` or `model.get_config()`, as plain data: Keras is never
imported and nothing in the file is deserialized or run. What a spec cannot
express is reported (MS401-MS410) naming the layer at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic, Severity
from .convert import Importer
from .read import ModelFileError, model_config_from_bytes, read_model_config
from .spec_text import Unrepresentable, render

FORMATS = ("toml", "json")


@dataclass
class ImportResult:
    """A spec document imported from a model, its text, and what was reported on the way."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    document: dict[str, Any] | None = None
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None and not any(d.is_error for d in self.diagnostics)


def import_config(
    data: dict[str, Any], path: str, fmt: str = "toml", spec_path: str | None = None
) -> ImportResult:
    """Convert a serialized model (the parsed JSON) into spec text, and check that text as `lint` would."""
    # `path` names the model in diagnostics about it; `spec_path` names the spec in the
    # check's own diagnostics (default: the model's path with the format's suffix).
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    importer = Importer(data, path)
    result = ImportResult(path)
    result.document = importer.convert()
    result.diagnostics = importer.diagnostics
    if result.document is None:
        return result
    keep_layer_names(result.document)
    try:
        text = render(result.document, fmt)
    except Unrepresentable as error:
        result.diagnostics.append(
            Diagnostic(
                path,
                1,
                1,
                "MS406",
                Severity.ERROR,
                f"{error} (in the imported spec)",
                "import with --format json, which has null",
            )
        )
        return result
    # An imported spec that the checker refuses is a fault of the importer, never of the model.
    from ..pipeline import check_bytes

    spec_path = spec_path or os.path.splitext(path)[0] + "." + fmt
    checked = check_bytes(text.encode(), spec_path, fmt)
    for diagnostic in checked.diagnostics:
        if diagnostic.code.startswith("MS7"):
            # A training hazard of the model itself (softmax on one unit, an output whose loss
            # was left out ...) is no fault of the import: the spec is written, and linting it
            # reports the hazard.
            continue
        if diagnostic.is_error:
            result.diagnostics.append(
                Diagnostic(
                    path,
                    1,
                    1,
                    "MS410",
                    Severity.ERROR,
                    f"the imported spec fails its check: {diagnostic.format()}",
                    "please report this: the importer wrote a spec the checker refuses",
                    node=diagnostic.node,
                )
            )
        else:
            result.diagnostics.append(diagnostic)
    if not any(d.is_error and not d.code.startswith("MS7") for d in checked.diagnostics):
        result.text = text
    return result


def keep_layer_names(document: dict[str, Any]) -> None:
    """Drop each step's Keras `name` that generated code would give the layer anyway.

    The importer writes every layer's Keras name on its step; a name is kept only
    where it differs from the name `codegen.python.layer_names` derives, so the
    rebuilt model has the same layer names and the spec stays as short as it can.
    """
    from ..backends.codegen.python import layer_names
    from ..graph.build import build_graph
    from ..spec.validate import validate
    from ..syntax.load import LoadError, load_bytes
    from .spec_text import render as write

    named = _named_steps(document)
    wanted = {path: step["name"] for path, step in named.items()}
    keep: set[tuple] = set()
    while True:
        for path, step in named.items():
            if path in keep:
                step["name"] = wanted[path]
            else:
                step.pop("name", None)
        try:
            spec, _ = validate(load_bytes(write(document, "json").encode(), "imported.json", "json"))
        except LoadError:
            spec = None
        if spec is None:  # the check after the import reports what is wrong; keep every name
            keep = set(wanted)
            break
        graph = build_graph(spec)
        generated = layer_names(graph)
        paths = {f"shared:{name}": ("shared", name) for name in spec.shared}
        paths.update({node.id: tuple(node.path) for node in graph.nodes.values()})
        missing = {
            paths[key]
            for key, name in generated.items()
            if key in paths and paths[key] in wanted and wanted[paths[key]] != name
        } - keep
        if not missing:
            break
        keep |= missing
    for path, step in named.items():
        if path in keep:
            # Kept last in the table, after the layer's parameters.
            step.pop("name", None)
            step["name"] = wanted[path]


def _named_steps(document: dict[str, Any]) -> dict[tuple, dict[str, Any]]:
    """Every step table carrying a `name`, by its path in the document."""
    found: dict[tuple, dict[str, Any]] = {}
    for section in ("shared", "merges"):
        for name, step in document.get(section, {}).items():
            if isinstance(step, dict) and "name" in step:
                found[(section, name)] = step
    for section in ("branches", "outputs"):
        for name, entry in document.get(section, {}).items():
            for index, step in enumerate(entry.get("layers", [])):
                if isinstance(step, dict) and "name" in step:
                    found[(section, name, "layers", index)] = step
    return found


def import_model(path: str | os.PathLike, fmt: str = "toml", spec_path: str | None = None) -> ImportResult:
    """Import a `.keras` file or a JSON model configuration; ModelFileError when it is neither."""
    return import_config(read_model_config(path), os.fspath(path), fmt, spec_path)


def not_a_model(path: str, error: ModelFileError) -> Diagnostic:
    """Return the MS401 diagnostic for a file that holds no readable Keras model."""
    return Diagnostic(path, 1, 1, "MS401", Severity.ERROR, str(error))


__all__ = [
    "FORMATS",
    "ImportResult",
    "ModelFileError",
    "import_config",
    "import_model",
    "model_config_from_bytes",
    "not_a_model",
    "read_model_config",
    "render",
]
