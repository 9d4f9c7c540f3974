"""Import a Keras 3 Functional (or Sequential) model as a spec, from its saved configuration.

Reads a `.keras` archive's `config.json`, or a JSON file holding
`model.to_json()` or `model.get_config()`, as plain data: Keras is never
imported and nothing in the file is deserialized or run. What a spec cannot
express is reported (MS401-MS410) naming the layer at fault.

`convert` turns the configuration into a spec document; the document is
written (`spec_text`) and checked by the front end, and the Keras layer names
generated code gives anyway are left out on the way (`step_names`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from ..diagnostics.rules import IMPORT_NO_MODEL, IMPORT_SELF_CHECK, IMPORT_UNEXPRESSIBLE_SETTING
from ..frontend import CheckResult, check_bytes
from .convert import Importer
from .read import ModelFileError, model_config_from_bytes, read_model_config
from .spec_text import Unrepresentable, render
from .step_names import StepNames

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
    spec_path = spec_path or os.path.splitext(path)[0] + "." + fmt
    try:
        text, checked = _write_and_check(result.document, fmt, spec_path)
    except Unrepresentable as error:
        result.diagnostics.append(
            IMPORT_UNEXPRESSIBLE_SETTING.at_file(
                path,
                f"{error} (in the imported spec)",
                "import with --format json, which has null",
            )
        )
        return result
    # An imported spec that the checker refuses is a fault of the importer, never of the model.
    for diagnostic in checked.diagnostics:
        if _training_hazard(diagnostic):
            continue
        if diagnostic.is_error:
            result.diagnostics.append(
                IMPORT_SELF_CHECK.at_file(
                    path,
                    f"the imported spec fails its check: {diagnostic.format()}",
                    "please report this: the importer wrote a spec the checker refuses",
                    node=diagnostic.node,
                )
            )
        else:
            result.diagnostics.append(diagnostic)
    if not any(d.is_error and not _training_hazard(d) for d in checked.diagnostics):
        result.text = text
    return result


def _write_and_check(document: dict[str, Any], fmt: str, spec_path: str) -> tuple[str, CheckResult]:
    """Write the document as spec text and check it; leave out the step names generated code gives anyway.

    The text with every step's Keras name is checked, and the names to keep are
    decided on the checked graph (`step_names`). When names are left out, the
    text is written again. The first check holds for it when it found nothing
    the import reports: leaving names out adds no finding, as no pass reads a
    step's name and fewer names clash less. But findings are located by line,
    and the lines after a left-out name move, so a check that found some is made
    again on the text written.
    """
    names = StepNames(document)
    try:
        text = render(document, fmt)
    except Unrepresentable:
        # No spec text to check; the document still leaves out the names generated code
        # gives, decided on the same document written as JSON, which has null.
        as_json = check_bytes(render(document, "json").encode(), spec_path, "json")
        names.keep_only(names.needed(as_json.graph))
        raise
    checked = check_bytes(text.encode(), spec_path, fmt)
    kept = names.needed(checked.graph)
    if kept == set(names.wanted):
        return text, checked
    names.keep_only(kept)
    text = render(document, fmt)
    if not all(_training_hazard(d) for d in checked.diagnostics):
        checked = check_bytes(text.encode(), spec_path, fmt)
    return text, checked


def _training_hazard(diagnostic: Diagnostic) -> bool:
    """Whether a finding of the check is a training hazard of the model itself (MS7xx).

    Softmax on one unit, an output whose loss was left out ... are no fault of
    the import: the spec is written, and linting it reports the hazard.
    """
    return diagnostic.code.startswith("MS7")


def import_model(path: str | os.PathLike, fmt: str = "toml", spec_path: str | None = None) -> ImportResult:
    """Import a `.keras` file or a JSON model configuration; ModelFileError when it is neither."""
    return import_config(read_model_config(path), os.fspath(path), fmt, spec_path)


def not_a_model(path: str, error: ModelFileError) -> Diagnostic:
    """Return the MS401 diagnostic for a file that holds no readable Keras model."""
    return IMPORT_NO_MODEL.at_file(path, str(error))


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
