"""A loaded spec file: its data plus where every key and value came from."""

from __future__ import annotations

from dataclasses import dataclass, field

# A path into the loaded data: dict keys and list indexes, from the root.
DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a source file (columns count characters)."""

    line: int
    col: int


@dataclass
class Document:
    """The data of one spec file and its source map.

    `keys[path]` is where the key that names `path` is written (for a TOML
    table header `[a.b]`, the start of the header line); `values[path]` is where
    the value at `path` starts. The root path `()` maps to line 1, column 1.
    """

    path: str
    data: dict
    keys: dict[DataPath, Location] = field(default_factory=dict)
    values: dict[DataPath, Location] = field(default_factory=dict)
    # SHA-256 of the bytes that were parsed: what a run record names as the spec it checked and trained.
    sha256: str = ""

    def locate(self, path: DataPath, *, prefer: str = "key") -> Location:
        """Return the best location for `path`: the key, else the value, else
        the nearest located ancestor."""
        first, second = (self.keys, self.values) if prefer == "key" else (self.values, self.keys)
        while True:
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return Location(1, 1)
            path = path[:-1]


class LoadError(Exception):
    """A spec file that cannot be turned into data: syntax, encoding or limits."""

    def __init__(self, code: str, message: str, line: int = 1, col: int = 1, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.col = col
        self.hint = hint
