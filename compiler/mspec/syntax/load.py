"""Read a spec file as JSON or TOML, within fixed size and shape limits."""

from __future__ import annotations

import hashlib
import os

from .document import Document, LoadError
from .limits import ENCODING, LIMIT, MAX_FILE_BYTES, SYNTAX

_FORMATS = {"json": "json", ".json": "json", "toml": "toml", ".toml": "toml"}
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def _decode(raw: bytes) -> str:
    """Decode UTF-8, reporting binary content and bad bytes with their position."""
    for bom, name in _WIDE_BOMS:
        if raw.startswith(bom):
            raise LoadError(ENCODING, f"file is {name} encoded", 1, 1, "save the file as UTF-8")
    nul = raw.find(b"\x00")
    binary = "file looks binary: it contains a NUL byte"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.start
        if 0 <= nul < bad:
            raise _byte_error(raw, nul, binary) from None
        message = f"file is not valid UTF-8: {exc.reason} (byte 0x{raw[bad]:02X})"
        raise _byte_error(raw, bad, message, "save the file as UTF-8") from None
    if nul >= 0:
        raise _byte_error(raw, nul, binary)
    return text


def _byte_error(raw: bytes, bad: int, message: str, hint: str | None = None) -> LoadError:
    """Build an MS003 error for byte offset `bad`, located by line and character column."""
    line_start = raw.rfind(b"\n", 0, bad) + 1
    col = len(raw[line_start:bad].decode("utf-8", "replace")) + 1
    if line_start == 0 and raw.startswith(b"\xef\xbb\xbf"):
        col -= 1
    return LoadError(ENCODING, message, raw.count(b"\n", 0, bad) + 1, col, hint)


def load_bytes(raw: bytes, path: str, fmt: str | None = None) -> Document:
    """Parse the raw bytes of a spec file; `fmt` ("json"/"toml") overrides the suffix of `path`."""
    if fmt is None:
        kind = _FORMATS.get(os.path.splitext(str(path))[1].lower())
        if kind is None:
            raise LoadError(
                SYNTAX,
                f"cannot tell the format of {str(path)!r}: expected a .json or .toml file",
                hint="rename the file or give the format explicitly",
            )
    else:
        kind = _FORMATS.get(str(fmt).lower())
        if kind is None:
            raise LoadError(SYNTAX, f"unknown spec format {fmt!r}: expected 'json' or 'toml'")
    # Text is accepted too, as its UTF-8 encoding (lone surrogates then fail to decode).
    raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if len(raw) > MAX_FILE_BYTES:
        raise LoadError(
            LIMIT,
            f"file is {len(raw):,} bytes, more than the limit of {MAX_FILE_BYTES:,} bytes",
        )
    text = _decode(raw)
    # Imported here so that reading one format never loads the other parser.
    if kind == "json":
        from .json_loader import parse_json as parse
    else:
        from .toml_loader import parse_toml as parse
    document = parse(text, str(path))
    document.sha256 = hashlib.sha256(raw).hexdigest()
    return document


def load_file(path: str | os.PathLike) -> Document:
    """Read and parse a spec file; OSError (missing, unreadable) is left to the caller."""
    name = os.fsdecode(path)
    with open(name, "rb") as handle:
        # Reading one byte past the limit is enough to know it is exceeded.
        raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            size = max(os.fstat(handle.fileno()).st_size, len(raw))
            raise LoadError(LIMIT, f"file is {size:,} bytes, more than the limit of {MAX_FILE_BYTES:,} bytes")
    return load_bytes(raw, name)
