"""Conformance: JSONTestSuite and toml-test (TOML 1.0 files) through load_bytes, one test per file."""

from __future__ import annotations

import datetime
import json
import math
import re

import pytest

from mspec.syntax.document import LoadError
from mspec.syntax.load import load_bytes

from support.paths import ROOT

CORPORA = ROOT.parent / "shared" / "corpora"
JSON_SUITE = CORPORA / "json-test-suite"
TOML_SUITE = CORPORA / "toml-test"
MISSING = f"conformance corpora not found at {CORPORA} (see shared/corpora/README.md)"

# Files the suites call valid that mspec rejects on purpose, with the code it gives.
JSON_POLICY = {
    # json keeps the last of duplicate keys silently; a spec with two values for
    # one key is an error (MS002).
    "y_object_duplicated_key.json": "MS002",
    "y_object_duplicated_key_and_value.json": "MS002",
}
TOML_POLICY = {
    # Non-finite floats are rejected (MS004): no model parameter means inf or nan.
    "valid/float/inf-and-nan.toml": "MS004",
    "valid/spec-1.0.0/float-2.toml": "MS004",
    "valid/comment/after-literal-no-ws.toml": "MS004",
}


def corpus_params(names: list[str]) -> list:
    if not names:
        return [pytest.param(None, id="corpus-missing", marks=pytest.mark.skip(reason=MISSING))]
    return [pytest.param(name, id=name) for name in names]


def json_files() -> list[str]:
    return sorted(p.name for p in JSON_SUITE.glob("*.json")) if JSON_SUITE.is_dir() else []


def toml_files(kind: str) -> list[str]:
    listing = TOML_SUITE / "files-toml-1.0.0"
    if not listing.is_file():
        return []
    names = listing.read_text(encoding="utf-8").split()
    return sorted(n for n in names if n.startswith(f"{kind}/") and n.endswith(".toml"))


def test_corpora_are_complete() -> None:
    if not CORPORA.is_dir():
        pytest.skip(MISSING)
    assert len(json_files()) == 318
    assert (len(toml_files("valid")), len(toml_files("invalid"))) == (210, 499)
    assert set(JSON_POLICY) <= set(json_files())
    assert set(TOML_POLICY) <= set(toml_files("valid"))


# --- JSONTestSuite -------------------------------------------------------------------


@pytest.mark.parametrize("name", corpus_params(json_files()))
def test_json_suite(name: str) -> None:
    raw = (JSON_SUITE / name).read_bytes()
    try:
        document = load_bytes(raw, name)
    except LoadError as error:
        assert error.line >= 1 and error.col >= 1
        if name.startswith("y_"):
            # A valid file is refused only by policy: listed, or not an object at the top.
            expected = JSON_POLICY.get(name)
            if expected is None:
                assert not isinstance(json.loads(raw.decode("utf-8")), dict), error.message
                expected = "MS006"
            assert error.code == expected, error.message
        return
    assert not name.startswith("n_"), "an invalid file was accepted"
    assert name not in JSON_POLICY
    assert document.data == json.loads(raw.decode("utf-8-sig"))


# --- toml-test -------------------------------------------------------------------------

_FRACTION = re.compile(r"(\.\d{6})\d+")


def from_tagged(value: object) -> object:
    """Turn toml-test's tagged JSON ({"type": "integer", "value": "42"}) into Python values."""
    if isinstance(value, list):
        return [from_tagged(item) for item in value]
    assert isinstance(value, dict)
    if set(value) == {"type", "value"} and isinstance(value["value"], str):
        kind, text = value["type"], value["value"]
        if kind == "string":
            return text
        if kind == "integer":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return text == "true"
        # Like tomllib, keep microseconds only.
        text = _FRACTION.sub(r"\1", text.replace(" ", "T").replace("t", "T"))
        if kind == "datetime":
            return datetime.datetime.fromisoformat(text.replace("z", "Z"))
        if kind == "datetime-local":
            return datetime.datetime.fromisoformat(text)
        if kind == "date-local":
            return datetime.date.fromisoformat(text)
        if kind == "time-local":
            return datetime.time.fromisoformat(text)
        raise AssertionError(f"unknown tagged type {kind!r}")
    return {key: from_tagged(item) for key, item in value.items()}


def same(a: object, b: object) -> bool:
    """Compare strictly: types (bool is not int), floats, time zones."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, datetime.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


@pytest.mark.parametrize("name", corpus_params(toml_files("valid")))
def test_toml_valid(name: str) -> None:
    raw = (TOML_SUITE / name).read_bytes()
    if name in TOML_POLICY:
        with pytest.raises(LoadError) as info:
            load_bytes(raw, name)
        assert info.value.code == TOML_POLICY[name]
        return
    document = load_bytes(raw, name)
    twin = (TOML_SUITE / name).with_suffix(".json")
    expected = from_tagged(json.loads(twin.read_text(encoding="utf-8")))
    assert same(document.data, expected), f"{document.data!r} != {expected!r}"


@pytest.mark.parametrize("name", corpus_params(toml_files("invalid")))
def test_toml_invalid(name: str) -> None:
    raw = (TOML_SUITE / name).read_bytes()
    with pytest.raises(LoadError) as info:
        load_bytes(raw, name)
    assert info.value.line >= 1 and info.value.col >= 1
