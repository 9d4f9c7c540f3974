"""The rule registry, selecting and ignoring rules, root causes only, and finding specs by content."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from mspec.diagnostics import Severity, rules
from mspec.diagnostics.rules import RULES, RULES_BY_NAME, matching
from mspec.diagnostics.selection import SelectionError, project_selection
from mspec.pipeline import check_file
from mspec.syntax import limits
from mspec.syntax.load import load_bytes

from support.paths import CASES, ROOT

FIXED = CASES / "fixed"
PACKAGE = ROOT / "compiler" / "mspec"
SPEC_SUFFIXES = (".toml", ".json")
# Specs meant to be clean: shipped ones, and the fixed version of every rule's case.
CLEAN = sorted(
    [*(ROOT / "specs").rglob("*.toml"), *(ROOT / "specs").rglob("*.json"), *FIXED.iterdir()],
    key=str,
)


def mspec(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mspec", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


# --- the registry ---------------------------------------------------------------------


def _code_literals(path: Path) -> list[tuple[int, str]]:
    """The string tokens of a module that are exactly a code, such as "MS101" (not prose that cites one)."""
    found = []
    with path.open(encoding="utf-8") as source:
        for token in tokenize.generate_tokens(source.readline):
            if token.type == tokenize.STRING and re.fullmatch(r"[\"']MS\d{3}[\"']", token.string):
                found.append((token.start[0], token.string[1:-1]))
    return found


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p != PACKAGE / "diagnostics" / "rules.py"]


def test_every_rule_is_a_name_in_the_catalogue() -> None:
    for rule in RULES.values():
        assert getattr(rules, rule.name.upper().replace("-", "_")) is rule, rule.code
    declared = [value for value in vars(rules).values() if isinstance(value, rules.Rule)]
    assert sorted(declared, key=lambda r: r.code) == list(RULES.values()), "every rule is in the catalogue"


def test_every_code_left_in_the_source_is_a_registered_rule() -> None:
    used = {code for path in _sources() for _, code in _code_literals(path)}
    assert used - set(RULES) == set(), "codes used but not declared in mspec.diagnostics.rules"


def test_every_rule_is_reported_somewhere() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in _sources())
    unused = [
        code
        for code, rule in RULES.items()
        if not re.search(rf"\b{rule.name.upper().replace('-', '_')}\b", text) and f'"{code}"' not in text
    ]
    assert unused == [], "rules declared that nothing reports"


# Every module names its rules (`rules.UNKNOWN_KEY`) rather than writing their codes, except the load
# stage: it sits below the catalogue and keeps its codes, which the next test ties to their rules.
CODES_KEPT = ("syntax/limits.py",)


def test_modules_name_their_rules() -> None:
    written = []
    for path in _sources():
        name = path.relative_to(PACKAGE).as_posix()
        if name in CODES_KEPT:
            continue
        written += [f"{name}:{line}: {code}" for line, code in _code_literals(path)]
    assert written == [], "name the rule (mspec.diagnostics.rules) instead of writing its code"


def test_load_error_codes_are_the_load_rules() -> None:
    # The load stage sits below the catalogue, so it keeps its codes: each is the rule of that meaning.
    named = {
        limits.SYNTAX: rules.SYNTAX_ERROR,
        limits.DUPLICATE: rules.DUPLICATE_KEY,
        limits.ENCODING: rules.ENCODING_ERROR,
        limits.NUMBER: rules.NUMBER_OUT_OF_RANGE,
        limits.LIMIT: rules.LIMIT_EXCEEDED,
        limits.NOT_A_TABLE: rules.NOT_A_TABLE,
    }
    for code, rule in named.items():
        assert rule.code == code, rule.name


def test_a_rule_builds_its_diagnostic_with_its_own_severity() -> None:
    document = load_bytes(b'[model]\nname = "m"\nunits = 3\n', "m.toml")
    found = rules.UNKNOWN_KEY.at(document, ("model", "units"), "unknown key 'units' in [model]")
    assert found.format() == "m.toml:3:1: MS101 error: unknown key 'units' in [model]"
    found = rules.UNUSED_INPUT.at(document, ("model", "units"), "unused", "remove it", at="value", node="x")
    assert (found.line, found.col, found.severity, found.node) == (3, 9, Severity.WARNING, "x")
    assert rules.IMPORT_COMPILE_LEFT_OUT.at_file("m.keras", "left out").format() == (
        "m.keras:1:1: MS408 warning: left out"
    )


def test_rules_are_complete_and_consistent() -> None:
    assert list(RULES) == sorted(RULES)
    assert len(RULES_BY_NAME) == len(RULES), "rule names are unique"
    for rule in RULES.values():
        assert re.fullmatch(r"MS\d{3}", rule.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
        assert rule.severity in ("error", "warning")
        assert rule.summary and rule.why and rule.example and rule.fix, rule.code
        if rule.severity == "warning":
            assert rule.ignorable, rule.code
        # Errors are fixed, but for hazards of a model that builds: it trains nothing.
        assert rule.ignorable == (rule.severity == "warning" or rule.code in ("MS701", "MS704", "MS709"))


def test_training_hazards_cite_their_evidence() -> None:
    for code, rule in RULES.items():
        if code.startswith("MS7"):
            assert re.search(r"Keras|article|reproduced|mspec fit", rule.why), code


def test_selectors() -> None:
    assert [r.code for r in matching("MS70")] == [f"MS70{i}" for i in range(1, 10)]
    assert [r.code for r in matching("concatenate-imbalance")] == ["MS712"]
    assert [r.code for r in matching("ms712")] == ["MS712"]
    assert len(matching("ALL")) == len(RULES)
    assert matching("MS9") == [] and matching("nonsense") == []


def test_rules_and_rule_commands() -> None:
    listed = mspec("rules")
    assert listed.returncode == 0
    for code in RULES:
        assert code in listed.stdout
    assert "MS712  concatenate-imbalance" in listed.stdout
    as_json = json.loads(mspec("rules", "--format", "json").stdout)
    assert {entry["code"] for entry in as_json} == set(RULES)
    one = mspec("rule", "MS701")
    assert one.returncode == 0
    assert "softmax-on-one-unit" in one.stdout and "Why:" in one.stdout and "Fix:" in one.stdout
    assert mspec("rule", "mask-dropped").stdout.startswith("MS710 (mask-dropped)")
    missing = mspec("rule", "MS7122")
    assert missing.returncode == 2 and "no rule 'MS7122'" in missing.stderr


# --- precision and the cases of each rule ---------------------------------------------


@pytest.mark.parametrize("spec", CLEAN, ids=lambda p: str(p.relative_to(ROOT)))
def test_clean_specs_have_no_findings(spec: Path) -> None:
    result = check_file(spec)
    assert [d.format() for d in result.diagnostics] == []


def test_every_rule_case_has_a_fixed_version() -> None:
    cases = {p.name for p in CASES.glob("hazard_*.toml")} | {"lint_settings.toml", "cascade_metric_typo.toml"}
    assert cases <= {p.name for p in FIXED.iterdir()}
    hazards = {code for code in RULES if code.startswith("MS7") and RULES[code].reported_by == "mspec lint"}
    fired = set()
    for case in CASES.glob("hazard_*.toml"):
        fired |= {d.code for d in check_file(case).diagnostics}
    assert hazards <= fired


def test_a_misspelt_metric_gives_one_diagnostic() -> None:
    result = check_file(CASES / "cascade_metric_typo.toml")
    assert [d.code for d in result.diagnostics] == ["MS105"]


def test_an_error_in_a_merge_is_not_also_unused() -> None:
    codes = [d.code for d in check_file(CASES / "merge_shapes.toml").diagnostics]
    assert codes == ["MS301", "MS301", "MS301"]


def test_normalization_without_statistics_is_reported_by_build_only(tmp_path: Path) -> None:
    lint = mspec("lint", "specs/churn.toml")
    assert lint.returncode == 0 and "MS711" not in lint.stdout
    build = mspec("build", "--source-only", "-o", str(tmp_path), "specs/churn.toml")
    assert build.stdout.count("MS711 warning") == 2
    assert "specs/churn.toml:25:5: MS711" in build.stdout  # demographic_features' Normalization


# --- turning rules off ------------------------------------------------------------------


def test_select_and_ignore_on_the_command_line() -> None:
    case = "tests/cases/hazard_metric.toml"
    everything = mspec("lint", case)
    assert everything.stdout.count("MS705") == 4
    assert "MS705" not in mspec("lint", "--ignore", "MS705", case).stdout
    assert "MS705" not in mspec("lint", "--ignore", "MS7", case).stdout
    assert "MS705" not in mspec("lint", "--select", "MS706", case).stdout
    assert mspec("lint", "--select", "metric-meaningless-for-loss", case).stdout.count("MS705") == 4
    unknown = mspec("lint", "--ignore", "MS799", case)
    assert unknown.returncode == 2 and "'MS799' names no rule" in unknown.stderr


def test_errors_that_break_the_build_cannot_be_ignored() -> None:
    broken = mspec("lint", "--ignore", "MS3", "--select", "MS7", "tests/cases/seed_interaction.toml")
    assert broken.returncode == 1 and "MS301 error" in broken.stdout
    hazard = mspec("lint", "--ignore", "MS701", "tests/cases/hazard_softmax_one_unit.toml")
    assert hazard.returncode == 0 and "MS701" not in hazard.stdout


def test_the_spec_lint_section() -> None:
    codes = [d.code for d in check_file(CASES / "lint_settings.toml").diagnostics]
    assert "MS712" not in codes and "MS205" in codes and codes.count("MS112") == 3


def test_project_settings_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "models" / "legacy").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.mspec]\nignore = ["MS706"]\n'
        '[tool.mspec.per-file-ignores]\n"models/legacy/*.toml" = ["MS7"]\n'
    )
    for folder in ("models", "models/legacy"):
        (tmp_path / folder / "metric.toml").write_text((CASES / "hazard_metric.toml").read_text())
        (tmp_path / folder / "no_loss.toml").write_text((CASES / "hazard_no_loss.toml").read_text())
    result = mspec("lint", "models", cwd=tmp_path)
    assert result.returncode == 0
    assert "MS706" not in result.stdout
    assert result.stdout.count("MS705") == 4 and "legacy" not in result.stdout
    assert "4 files checked" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.mspec]\nignore = ["MS7O5"]\n')
    project_selection.__globals__["_project_cache"].clear()
    with pytest.raises(SelectionError, match="'MS7O5' names no rule"):
        project_selection(tmp_path / "models" / "metric.toml")
    project_selection.__globals__["_project_cache"].clear()


# --- finding specs ----------------------------------------------------------------------


def test_specs_are_recognised_by_content(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "good.toml").write_text((ROOT / "specs" / "churn.toml").read_text())
    (tmp_path / "models" / "bad.json").write_text((ROOT / "specs" / "siamese_text.json").read_text()[:-20])
    (tmp_path / "models" / "typo.toml").write_text((CASES / "syntax_toml.toml").read_text())
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    (tmp_path / "package.json").write_text('{ "name": "x", "inputs": [] }')
    (tmp_path / "config.toml").write_text('model = "gpt"\n[model_providers.x]\nname = "y"\n')
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "spec.toml").write_text((CASES / "cycle.toml").read_text())
    walked = mspec("lint", ".", cwd=tmp_path)
    assert walked.returncode == 1
    assert "3 files checked" in walked.stderr
    assert "models/bad.json" in walked.stdout and "models/typo.toml" in walked.stdout
    named = ["pyproject.toml", "package.json", "config.toml", "models/good.toml"]
    assert mspec("lint", "--specs-only", *named, cwd=tmp_path).returncode == 0
    assert mspec("lint", *named, cwd=tmp_path).returncode == 1  # named without --specs-only: checked


def test_an_imported_model_with_a_hazard_is_written_and_linted() -> None:
    from mspec.importer import import_config
    from mspec.pipeline import check_bytes

    from support.keras_configs import functional_model, keras_layer

    data = functional_model(keras_layer("Dense", "y", {"units": 1, "activation": "softmax"}, "x"))
    result = import_config(data, "hand.json")
    assert result.ok and result.text is not None and result.diagnostics == []
    linted = check_bytes(result.text.encode(), "imported.toml")
    assert [d.code for d in linted.diagnostics] == ["MS701"]
