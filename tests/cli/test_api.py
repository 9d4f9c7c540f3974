"""The Python API as a notebook uses it."""

from __future__ import annotations

import pytest

import mspec

from support.paths import CASES, ROOT

SEED = ROOT / "specs" / "seed" / "concat_independent.toml"


def test_check_reports_without_raising() -> None:
    result = mspec.check(CASES / "seed_interaction.toml")
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["MS301"]


def test_check_text() -> None:
    text = '[model]\nname = "m"\n[inputs.a]\nshape = [3]\n[outputs.o]\nfrom = "a"\n'
    assert mspec.check_text(text).ok
    bad = mspec.check_text('{"model": {"name": "m"}}', fmt="json")
    assert {d.code for d in bad.diagnostics} == {"MS102"}


def test_generate_source_raises_spec_error_on_bad_spec() -> None:
    with pytest.raises(mspec.SpecError) as caught:
        mspec.generate_source(CASES / "seed_shared_layer.toml")
    assert "MS302" in str(caught.value)
    assert "def build_model() -> keras.Model:" in mspec.generate_source(SEED)


@pytest.mark.keras
def test_build_model() -> None:
    pytest.importorskip("keras")
    model = mspec.build_model(SEED)
    assert model.count_params() == 993
    assert model.name == "concat_independent"
