"""Half-typed specs: every feature answers on every prefix of a spec, in-process, without raising.

An editor asks for completion and hover on text cut anywhere, in TOML and
JSON; the end-to-end tests check the answers on a few such texts, this one
that no cut point makes a feature fail.
"""

from __future__ import annotations

import pytest

pytest.importorskip("lsprotocol")

from mspec.lsp import actions, completion, hover, navigation
from mspec.lsp.analysis import analyse
from mspec.lsp.diagnostics import lsp_diagnostics

from support.paths import CASES, SPECS

SOURCES = [CASES / "seed_shared_layer.toml", CASES / "hazard_binary_loss.toml", SPECS / "siamese_text.json"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_feature_answers_on_every_prefix(source):
    full = source.read_text(encoding="utf-8")
    fmt = source.suffix[1:]
    uri = source.as_uri()
    good = analyse(uri, full, fmt)
    previous = good
    cuts = sorted({*range(0, len(full), 11), len(full)})
    for cut in cuts:
        text = full[:cut]
        analysis = analyse(uri, text, fmt, previous)
        diagnostics = lsp_diagnostics(analysis, None, previous)
        previous = analysis
        if not analysis.is_spec:
            continue
        for offset in {0, cut // 2, max(0, cut - 1), cut}:
            hover.hover(analysis, good, offset)
            completion.complete(analysis, good, offset)
        navigation.document_symbols(analysis)
        actions.code_actions(analysis, diagnostics)
        if cut == len(full):
            assert diagnostics == lsp_diagnostics(good)  # the whole text again: the same findings
