"""Generated reference pages and the JSON Schema stay in sync with the code."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path

import pytest

from mspec.backends.docgen import PAGES
from mspec.backends.schema import spec_schema as build_schema
from mspec.layers import REGISTRY

from golden import check_golden

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_SCHEMA = ROOT / "docs" / "spec.schema.json"


@functools.cache
def spec_schema() -> dict:
    return build_schema()


SPECS = sorted(p for p in (ROOT / "specs").rglob("*") if p.suffix in (".toml", ".json"))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_reference_page_is_current(page: str, update_golden: bool) -> None:
    # Regenerate with `python -m mspec.backends.docgen` (or pytest --update-golden).
    check_golden(ROOT / "docs" / page, PAGES[page](), update_golden)


def test_every_layer_is_documented() -> None:
    page = (ROOT / "docs" / "layers.md").read_text()
    missing = [name for name in REGISTRY if f"### {name}\n" not in page]
    assert not missing


def test_readme_links_the_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/spec-language.md", "docs/layers.md", "docs/diagnostics.md"):
        assert page in readme


def _load(path: Path) -> dict:
    raw = path.read_bytes()
    return json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_specs_validate_against_schema(spec: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(_load(spec), spec_schema())


def test_schema_rejects_what_lint_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = _load(ROOT / "specs" / "seed" / "concat_independent.toml")
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

    data = _load(ROOT / "specs" / "siamese_text.json")
    data = {"$schema": "../docs/spec.schema.json", **data}
    assert check_bytes(json.dumps(data).encode(), "siamese.json").ok
