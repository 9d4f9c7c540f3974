"""A point of a search space written into the parsed document: the spec a trial trains.

Values are set in the document's data, never in its text, so a point is
checked by the same front end as any spec, and its findings point at the
spec's own lines. Only the tables on the way to a changed value are copied:
the rest is shared with the base document, which stays as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..syntax.document import DataPath, Document, Location
from .space import SEARCH, TUNE


def substituted(
    document: Document,
    assignment: Mapping[DataPath, Any],
    *,
    located: Mapping[DataPath, Location] | None = None,
) -> Document:
    """The document with each path set to its value, and without [search] and [tune].

    `located` moves the source map of some paths (their key and value) to
    other places: the static check uses it to tell a finding about one value
    from findings about the rest of the spec.
    """
    data = {key: value for key, value in document.data.items() if key not in (SEARCH, TUNE)}
    for path, value in assignment.items():
        data = _with(data, path, value)
    keys, values = document.keys, document.values
    if located:
        keys, values = dict(keys), dict(values)
        keys.update(located)
        values.update(located)
    return Document(document.path, data, keys, values, document.sha256)


def _with(node: Any, path: DataPath, value: Any) -> Any:
    """`node` with the value at `path` replaced, copying only the containers on the way."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy = dict(node)
        copy[head] = _with(node.get(head), rest, value)
        return copy
    if isinstance(node, list) and isinstance(head, int):
        copy = list(node)
        copy[head] = _with(node[head], rest, value)
        return copy
    raise KeyError(f"cannot set {path!r} in {type(node).__name__}")


def spec_data(document: Document, assignment: Mapping[DataPath, Any]) -> dict:
    """The plain spec data of a point: the values written in, no [search] and no [tune]."""
    return substituted(document, assignment).data
