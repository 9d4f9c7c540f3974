"""Generated reference pages and the JSON Schema stay in sync with the code."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from mspec.backends.docgen import PAGES, with_rule_tables
from mspec.backends.schema import spec_schema as build_schema
from mspec.layers import REGISTRY

from support.golden import check_golden
from support.paths import ROOT
from support.spec_files import SPEC_FILES, spec_data

SHIPPED_SCHEMA = ROOT / "docs" / "spec.schema.json"


@functools.cache
def spec_schema() -> dict:
    return build_schema()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_reference_page_is_current(page: str, update_golden: bool) -> None:
    # Regenerate with `python -m mspec.backends.docgen` (or pytest --update-golden).
    check_golden(ROOT / "docs" / page, PAGES[page](), update_golden)


def test_readme_rule_tables_are_current(update_golden: bool) -> None:
    # The tables between `<!-- rules:PREFIX -->` and `<!-- /rules -->` come from the rule registry.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- rules:MS7 -->" in readme
    check_golden(ROOT / "README.md", with_rule_tables(readme), update_golden)


def test_every_layer_is_documented() -> None:
    page = (ROOT / "docs" / "layers.md").read_text()
    missing = [name for name in REGISTRY if f"### {name}\n" not in page]
    assert not missing


def test_readme_links_the_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/spec-language.md", "docs/layers.md", "docs/diagnostics.md"):
        assert page in readme


@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_specs_validate_against_schema(spec: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(spec_data(spec), spec_schema())


def test_schema_rejects_what_lint_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = spec_data(ROOT / "specs" / "seed" / "concat_independent.toml")
    data["branches"]["x1"]["layers"][0]["unit"] = 64
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, spec_schema())


def test_shipped_schema_is_current(update_golden: bool) -> None:
    # Regenerate with `mspec schema -o docs/spec.schema.json` (or pytest --update-golden).
    check_golden(SHIPPED_SCHEMA, json.dumps(build_schema(), indent=2) + "\n", update_golden)


def test_every_key_and_parameter_is_described() -> None:
    schema = spec_schema()
    undocumented = []
    for def_name, definition in schema["$defs"].items():
        for key, prop in definition.get("properties", {}).items():
            if "description" not in prop:
                undocumented.append(f"{def_name}.{key}")
    undocumented += [key for key, prop in schema["properties"].items() if "description" not in prop]
    assert not undocumented


def test_a_json_spec_may_point_to_the_schema() -> None:
    from mspec.pipeline import check_bytes

    data = spec_data(ROOT / "specs" / "siamese_text.json")
    data = {"$schema": "../docs/spec.schema.json", **data}
    assert check_bytes(json.dumps(data).encode(), "siamese.json").ok
