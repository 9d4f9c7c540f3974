"""Where the server puts things: the loaders' character columns as the protocol's code units.

The protocol counts columns in UTF-16 code units unless client and server
agree otherwise, while the loaders count characters: a character outside the
Basic Multilingual Plane (an emoji in a description) is one character but two
UTF-16 units and four UTF-8 bytes. These run in-process: no server needed.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("lsprotocol")

from lsprotocol import types

from mspec.lsp.analysis import analyse
from mspec.lsp.diagnostics import lsp_diagnostics

SPEC = {
    "model": {"name": "m", "description": "two faces: 😀😀"},
    "inputs": {"a": {"shape": [10]}},
    "branches": {"x": {"from": "nowhere", "layers": [{"type": "Dense", "units": 4}]}},
    "outputs": {"out": {"from": "x", "loss": "mse"}},
}


@pytest.mark.parametrize(
    ("encoding", "units"),
    [
        (types.PositionEncodingKind.Utf16, lambda s: len(s.encode("utf-16-le")) // 2),
        (types.PositionEncodingKind.Utf8, lambda s: len(s.encode("utf-8"))),
        (types.PositionEncodingKind.Utf32, len),
    ],
)
def test_a_finding_after_wide_characters_is_placed_in_the_agreed_code_units(encoding, units):
    text = json.dumps(SPEC, ensure_ascii=False)  # one line, the emoji before the finding
    analysis = analyse("file:///tmp/spec.json", text, "json", encoding=encoding)
    (found,) = [d for d in lsp_diagnostics(analysis) if "nowhere" in d.message]
    start = text.index('"nowhere"')
    assert found.range.start == types.Position(line=0, character=units(text[:start]))
    assert found.range.end == types.Position(line=0, character=units(text[: start + len('"nowhere"')]))
    # And back: the protocol's position is the offset it came from.
    assert analysis.lines.offset_at(found.range.start) == start
