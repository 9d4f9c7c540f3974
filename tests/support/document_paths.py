"""Walking nested JSON-like documents (dicts and lists), for the tests that damage them at random."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]


def value_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Yield the path of `value` itself and of every value nested in it, keys and indexes in order."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from value_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from value_paths(item, (*prefix, index))


def parent_of(document: Any, path: Path) -> Any:
    """Return the dict or list holding the value at `path` (a non-empty path)."""
    return functools.reduce(lambda value, key: value[key], path[:-1], document)
