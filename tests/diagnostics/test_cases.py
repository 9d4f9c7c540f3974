"""Golden cases: each bad spec in tests/cases/ with the diagnostics `mspec lint` prints for it.

A case is `NAME.toml` or `NAME.json` plus `NAME.expected`. Regenerate the
expected files with `pytest --update-golden`, then read the diff. The rules'
cases (hazard_*, lint_settings, cascade_*) have a fixed version in
tests/cases/fixed/, which must lint clean (tests/diagnostics/test_rules.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mspec.diagnostics import CODES
from mspec.diagnostics.rules import RULES
from mspec.pipeline import check_file

from support.golden import check_golden
from support.import_codes import IMPORT_CODES
from support.paths import CASES, ROOT

CASE_FILES = sorted(p for p in CASES.iterdir() if p.suffix in (".toml", ".json"))


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Diagnostics carry the path as given: run from the root so it is stable.
    monkeypatch.chdir(ROOT)


def lint_text(path: Path) -> str:
    result = check_file(path.relative_to(ROOT))
    return "".join(d.format() + "\n" for d in result.diagnostics)


@pytest.mark.parametrize("case", CASE_FILES, ids=lambda p: p.name)
def test_case(case: Path, update_golden: bool) -> None:
    first = lint_text(case)
    assert first, f"{case.name} is a known-bad case but produces no diagnostics"
    assert lint_text(case) == first, "diagnostics differ between two runs"
    check_golden(case.with_suffix(".expected"), first, update_golden)


def test_every_code_has_a_case() -> None:
    covered = set()
    for expected in CASES.glob("*.expected"):
        for line in expected.read_text().splitlines():
            covered.add(line.split(": ")[1].split()[0])
    # The importer's codes come from Keras model files, not specs: the tests in tests/importer/ cover
    # them. Data (MS5xx) and training (MS6xx) codes need data files and a run:
    # tests/training_data/test_data_checks.py, tests/training/test_fit.py and tests/explain/test_explain.py
    # cover them, each checking that every code is tested.
    elsewhere = IMPORT_CODES | {code for code in CODES if code.startswith(("MS5", "MS6"))}
    # Rules of `mspec build` (not lint): tests/diagnostics/test_rules.py covers them; of `mspec compare`
    # (specs side by side, MS807): tests/search/test_compare.py.
    not_lint = ("mspec build", "mspec compare")
    elsewhere |= {code for code, rule in RULES.items() if rule.reported_by in not_lint}
    missing = sorted(set(CODES) - covered - elsewhere)
    assert not missing, f"diagnostic codes without a golden case: {missing}"


def test_every_case_has_an_input() -> None:
    stems = {p.stem for p in CASE_FILES}
    orphans = sorted(p.name for p in CASES.glob("*.expected") if p.stem not in stems)
    assert not orphans, f"expected files without a case: {orphans}"


def test_seed_examples_point_at_the_fault() -> None:
    shared = lint_text(CASES / "seed_shared_layer.toml")
    assert shared.startswith("tests/cases/seed_shared_layer.toml:24:11:")  # the second use, in x2
    assert "(None, 5)" in shared and "size 10" in shared
    interaction = lint_text(CASES / "seed_interaction.toml")
    assert interaction.startswith(
        "tests/cases/seed_interaction.toml:21:1: MS301 error:"
    )  # [merges.interaction]
    assert "x_a (None, 64)" in interaction and "x_b (None, 32)" in interaction
