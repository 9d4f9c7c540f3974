"""Reading the two sides of a diff: a spec file, a git revision of one, a saved Keras model, or nothing.

    specs/x.toml           a spec, TOML or JSON (by its suffix; by its first character otherwise)
    HEAD~1:specs/x.toml    a spec as a git revision holds it (`git show REV:PATH`, PATH from the
                           repository's top, or ./PATH from the current folder, as git reads it)
    model.keras            a saved Keras model (or model.to_json() output), imported on the fly with
                           `mspec import`'s importer, which reads its configuration as data
    /dev/null              no model: the side of a spec added or deleted (git's diff driver gives it)

A side that cannot be read at all (no such file, a revision git does not
know, a syntax error, a model the importer refuses) raises SideUnreadable; a
spec with errors is read as far as the checks get (its graph, with the
shapes that could be inferred) and its errors are part of its view.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic
from ..frontend import CheckResult
from ..pipeline import check_bytes
from .model import ModelView, empty_view, make_view

NO_FILE = ("/dev/null", os.devnull)
# REV:PATH; an index stage (:1:PATH) or the index itself (:PATH) too.
_REVISION = re.compile(r"^(?P<rev>[^:]*):(?:[0-3]:)?(?P<path>.+)$")


class SideUnreadable(Exception):
    """One side of a diff cannot be read as a model; `diagnostics` says why when a check did."""

    def __init__(self, label: str, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(f"{label}: {message}")
        self.label = label
        self.message = message
        self.diagnostics = diagnostics or []


@dataclass
class Side:
    """One side of a diff: its label, its check (None for no model) and its view."""

    label: str
    origin: str  # "file", "git", "keras" or "none"
    result: CheckResult | None = None
    view: ModelView = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.view is None:
            self.view = (
                make_view(self.result, self.label) if self.result is not None else empty_view(self.label)
            )


def read_side(
    source: str | os.PathLike | CheckResult, *, label: str | None = None, name: str | None = None
) -> Side:
    """Read one side: `source` is a path, REV:PATH, /dev/null, or a CheckResult already made.

    `label` names the side in reports and diagnostics (default: `source` as given);
    `name` is the path that tells the format when `source` is a temporary file
    (git's diff driver hands over /tmp/XXXXXX_x.toml for the old side of specs/x.toml).
    """
    if isinstance(source, CheckResult):
        if source.graph is None:
            raise SideUnreadable(source.path, "cannot be read as a model", source.diagnostics)
        return Side(label or source.path, "file", source)
    text = os.fspath(source)
    label = label or text
    if text in NO_FILE:
        return Side(label, "none")
    if os.path.exists(text):
        if os.path.isdir(text):
            raise SideUnreadable(label, "is a directory: give a spec file, or REV:PATH")
        try:
            raw = Path(text).read_bytes()
        except OSError as error:
            raise SideUnreadable(label, f"cannot read: {error.strerror or error}") from None
        return _side_from_bytes(raw, label, name or text, "file", selection_path=text)
    found = _REVISION.match(text)
    if found is None:
        raise SideUnreadable(label, "no such file or directory")
    path = found["path"]
    raw = git_show(text, label)
    return _side_from_bytes(raw, label, name or path, "git", selection_path=path)


def git_show(revision: str, label: str) -> bytes:
    """The bytes of REV:PATH, as `git show` gives them (in the current folder's repository)."""
    try:
        done = subprocess.run(["git", "show", revision], capture_output=True, check=False)
    except FileNotFoundError:
        raise SideUnreadable(label, "no such file, and git is not installed to read it as REV:PATH") from None
    if done.returncode != 0:
        said = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        what = "; ".join(line.removeprefix("fatal: ").removeprefix("hint: ") for line in said)
        what = what or f"git show exited with status {done.returncode}"
        raise SideUnreadable(label, f"no such file, nor a revision git can show ({what})")
    return done.stdout


def _side_from_bytes(raw: bytes, label: str, name: str, origin: str, selection_path: str) -> Side:
    suffix = os.path.splitext(name)[1].lower()
    if raw.startswith(b"PK") or suffix == ".keras" or (suffix == ".json" and _keras_json(raw)):
        return Side(label, "keras", _imported(raw, label))
    fmt = {".toml": "toml", ".json": "json"}.get(suffix) or _sniff(raw)
    selection = _selection(selection_path, label)
    result = check_bytes(raw, label, fmt, selection)
    if result.graph is None:
        raise SideUnreadable(label, "cannot be read as a model", result.diagnostics)
    return Side(label, origin, result)


def _keras_json(raw: bytes) -> bool:
    """Whether JSON text holds a Keras model's configuration (model.to_json()) rather than a spec."""
    if b'"class_name"' not in raw:
        return False
    import json

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "class_name" in data and "model" not in data


def _sniff(raw: bytes) -> str:
    """A file named without .toml or .json: JSON when its text starts with `{`."""
    return "json" if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "toml"


def _selection(path: str, label: str):
    """The rules the nearest pyproject.toml turns off for this spec, as `lint` reads them."""
    from ..diagnostics.selection import SelectionError, project_selection

    try:
        return project_selection(path)
    except SelectionError as error:
        raise SideUnreadable(label, str(error)) from None


def _imported(raw: bytes, label: str) -> CheckResult:
    """A saved Keras model imported as a spec (by the importer: no Keras, no code run) and checked."""
    from ..importer import import_config
    from ..importer.read import ModelFileError, model_config_from_file_bytes

    try:
        config = model_config_from_file_bytes(raw)
    except ModelFileError as error:
        raise SideUnreadable(label, f"not a Keras model: {error}") from None
    imported = import_config(config, label, "toml", spec_path=f"{label} (imported)")
    if not imported.ok or imported.text is None:
        problems = [d for d in imported.diagnostics if d.is_error]
        raise SideUnreadable(label, "the importer cannot turn this model into a spec", problems)
    return check_bytes(imported.text.encode(), f"{label} (imported)", "toml")


def read_sides(
    old: str,
    new: str,
    *,
    old_label: str | None = None,
    new_label: str | None = None,
    old_name: str | None = None,
    new_name: str | None = None,
) -> tuple[Side, Side]:
    """Read both sides of a diff (see `read_side` for the labels and names)."""
    return read_side(old, label=old_label, name=old_name), read_side(new, label=new_label, name=new_name)
