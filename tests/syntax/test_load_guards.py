"""The loaders' limits and guards: size, depth, key length, numbers, encoding, and no crash on any input."""

from __future__ import annotations

import json
import sys
import tomllib
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mspec.syntax.document import Document, LoadError, Location
from mspec.syntax.json_loader import parse_json
from mspec.syntax.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_KEY_PARTS, MAX_NUMBER_DIGITS
from mspec.syntax.load import load_bytes, load_file
from mspec.syntax.toml_loader import parse_toml

CODES = {"MS001", "MS002", "MS003", "MS004", "MS005", "MS006"}


def fails(raw: bytes | str, name: str) -> LoadError:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    with pytest.raises(LoadError) as info:
        load_bytes(raw, name)
    return info.value


def test_limits_are_the_documented_values() -> None:
    assert MAX_FILE_BYTES == 16 * 1024 * 1024
    assert MAX_DEPTH == 64
    assert MAX_KEY_PARTS == 32
    assert MAX_NUMBER_DIGITS == 100


# --- File size --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["spec.json", "spec.toml"])
def test_file_size_limit(name: str) -> None:
    body = b'{"a": 1}' if name.endswith(".json") else b"a = 1"
    exact = body + b" " * (MAX_FILE_BYTES - len(body))
    assert load_bytes(exact, name).data == {"a": 1}
    error = fails(exact + b" ", name)
    assert error.code == "MS005"
    assert (error.line, error.col) == (1, 1)
    assert f"{MAX_FILE_BYTES:,}" in error.message


def test_load_file_reads_and_limits(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[model]\nname = 'x'\n", encoding="utf-8")
    document = load_file(good)
    assert document.data == {"model": {"name": "x"}}
    assert document.path == str(good)
    assert load_file(str(good)).keys == document.keys

    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 10)
    with pytest.raises(LoadError) as info:
        load_file(big)
    assert info.value.code == "MS005"
    assert f"{MAX_FILE_BYTES + 10:,} bytes" in info.value.message


def test_load_file_leaves_os_errors_to_the_caller(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_file(tmp_path / "missing.toml")
    with pytest.raises(IsADirectoryError):
        load_file(tmp_path)


# --- Format choice ------------------------------------------------------------------


def test_format_from_suffix_or_argument() -> None:
    assert load_bytes(b'{"a": 1}', "X.JSON").data == {"a": 1}
    assert load_bytes(b"a = 1", "dir.json/x.Toml").data == {"a": 1}
    assert load_bytes(b'{"a": 1}', "spec.txt", fmt="json").data == {"a": 1}
    assert load_bytes(b"a = 1", "spec.json", fmt="TOML").data == {"a": 1}
    assert load_bytes(bytearray(b"a = 1"), "spec.toml").data == {"a": 1}
    assert load_bytes(memoryview(b"a = 1"), "spec.toml").data == {"a": 1}


@pytest.mark.parametrize(("name", "fmt"), [("spec.yaml", None), ("spec", None), ("spec.json", "yaml")])
def test_unknown_format_is_a_load_error(name: str, fmt: str | None) -> None:
    with pytest.raises(LoadError) as info:
        load_bytes(b"{}", name, fmt)
    assert info.value.code == "MS001"


# --- Nesting depth --------------------------------------------------------------------


def json_nested(levels: int) -> str:
    """A top-level object holding levels - 1 nested arrays: `levels` containers in all."""
    return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def test_json_depth_limit() -> None:
    assert load_bytes(json_nested(MAX_DEPTH).encode(), "d.json").data["a"] is not None
    error = fails(json_nested(MAX_DEPTH + 1), "d.json")
    assert error.code == "MS005"
    assert (error.line, error.col) == (1, 7 + MAX_DEPTH - 1)
    assert error.message == "nesting is deeper than the limit of 64 levels"


def test_toml_inline_depth_limit() -> None:
    def nested(levels: int) -> str:
        return "a = " + "[" * (levels - 1) + "]" * (levels - 1)

    assert load_bytes(nested(MAX_DEPTH).encode(), "d.toml").data["a"] is not None
    error = fails(nested(MAX_DEPTH + 1), "d.toml")
    assert error.code == "MS005"
    assert (error.line, error.col) == (1, 5 + MAX_DEPTH - 1)
    inline = "a = " + "{b = " * MAX_DEPTH + "1" + "}" * MAX_DEPTH
    assert fails(inline, "d.toml").code == "MS005"


def test_toml_headers_and_dotted_keys_count_as_levels() -> None:
    header = ".".join(["h"] * 32)  # root + 32 tables: 33 levels
    dotted = ".".join(["d"] * 31)  # 30 more tables and a value: 63 levels
    ok = f"[{header}]\n{dotted} = [1]\n"  # the array is level 64
    document = load_bytes(ok.encode(), "d.toml")
    assert document.data == tomllib.loads(ok)
    error = fails(f"[{header}]\n{dotted} = [[1]]\n", "d.toml")
    assert error.code == "MS005"
    assert (error.line, error.col) == (2, len(dotted) + 5)
    error = fails(f"[{header}]\n{dotted}.x = {{}}\n", "d.toml")
    assert error.code == "MS005"


def test_toml_array_of_tables_counts_two_levels() -> None:
    # The k-th header `[[a.a...]]` (k parts) opens an entry at data path
    # ("a", i, "a", i, ...) of length 2k: a table at level 2k + 1.
    headers = ["[[" + ".".join(["a"] * k) + "]]" for k in range(1, 33)]
    ok = "\n".join(headers[:31]) + "\n"
    assert load_bytes(ok.encode(), "d.toml").data == tomllib.loads(ok)
    error = fails("\n".join(headers), "d.toml")
    assert error.code == "MS005"
    assert (error.line, error.col) == (32, 1)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"[" * 100_000, "deep.json"),
        (b"[" * 100_000 + b"]" * 100_000, "deep.json"),
        (b'{"a":' * 100_000, "deep.json"),
        (b"x = " + b"[" * 100_000 + b"]" * 100_000, "deep.toml"),
        (b"x = " + b"{a = " * 100_000, "deep.toml"),
        (b"[" + b"a." * 50_000 + b"a]", "deep.toml"),
    ],
)
def test_any_depth_is_a_load_error_not_a_crash(raw: bytes, name: str) -> None:
    error = fails(raw, name)
    assert error.code == "MS005"


# --- Key parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["{key} = 1\n", "[{key}]\n", "[[{key}]]\n", "t = {{ {key} = 1 }}\n", "[t]\n{key} = 1\n"]
)
def test_key_parts_limit(template: str) -> None:
    ok = template.format(key=".".join(["k"] * MAX_KEY_PARTS))
    assert load_bytes(ok.encode(), "k.toml").data == tomllib.loads(ok)
    error = fails(template.format(key=".".join(["k"] * (MAX_KEY_PARTS + 1))), "k.toml")
    assert error.code == "MS005"
    assert error.message == "key has more than 32 dotted parts"


def calls(action) -> int:
    """Count the function calls (Python and C) `action` makes: its work, whatever else the machine does."""
    count = 0

    def profile(frame, event, arg) -> None:
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        action()
    except LoadError:
        pass
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("template", ["{key} = 1\n", "[{key}]\n", 'x = 1\n"q".{key} = 2\n'])
def test_huge_dotted_key_is_rejected_fast_and_small(template: str) -> None:
    def raw(parts: int) -> bytes:
        return template.format(key=".".join(["a"] * parts)).encode()

    assert len(raw(20_000)) > 40_000
    tracemalloc.start()
    try:
        error = fails(raw(20_000), "k.toml")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert error.code == "MS005"
    assert peak < 20_000_000
    # The key is refused after MAX_KEY_PARTS parts: twice the key is no more work.
    work = calls(lambda: load_bytes(raw(20_000), "k.toml"))
    assert calls(lambda: load_bytes(raw(40_000), "k.toml")) <= work < 5_000


# --- Numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b'{"a": ' + b"9" * 5000 + b"}", "n.json"),
        (b'{"a": -' + b"9" * 5000 + b"}", "n.json"),
        (b'{"a": 1.' + b"9" * 5000 + b"}", "n.json"),
        (b"a = " + b"9" * 5000, "n.toml"),
        (b"a = " + b"1_" * 2500 + b"1", "n.toml"),
        (b"a = 0b" + b"1" * 5000, "n.toml"),
    ],
)
def test_huge_numbers_never_reach_int(raw: bytes, name: str) -> None:
    error = fails(raw, name)
    assert error.code == "MS004"
    assert "more than 100 digits" in error.message


# --- Encoding --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["e.json", "e.toml"])
def test_invalid_utf8_is_located_by_character(name: str) -> None:
    raw = '{"a": 1,\n"é€😀": "'.encode() + b"\xff" + b'"}'
    error = fails(raw, name)
    assert error.code == "MS003"
    assert (error.line, error.col) == (2, 9)
    assert "not valid UTF-8" in error.message and "0xFF" in error.message


@pytest.mark.parametrize(
    ("raw", "line", "col", "fragment"),
    [
        (b"\xef\xbb\xbfa = \xc3", 1, 5, "not valid UTF-8"),  # the BOM is not a column
        (b"a = '\xed\xa0\x80'", 1, 6, "not valid UTF-8"),  # an encoded surrogate
        (b"a = '\xc0\xaf'", 1, 6, "not valid UTF-8"),  # an overlong encoding
        (b"a = 1\nb = '\x00'", 2, 6, "NUL byte"),
        (b"\x00\x01\x02binary", 1, 1, "NUL byte"),
        (b"a = 1\n\x00\xff", 2, 1, "NUL byte"),
        (b"\xff\xfea\x00 \x00=\x00", 1, 1, "UTF-16"),
        (b"\xfe\xff\x00a", 1, 1, "UTF-16"),
    ],
)
def test_encoding_errors(raw: bytes, line: int, col: int, fragment: str) -> None:
    for name in ("e.toml", "e.json"):
        error = fails(raw, name)
        assert error.code == "MS003"
        assert (error.line, error.col) == (line, col)
        assert fragment in error.message


# --- Speed -------------------------------------------------------------------------------------


def big_toml(tables: int) -> str:
    layers = '[{ type = "Dense", units = 64, activation = "relu" }]'
    return "".join(f'[branches.b{i}]\nfrom = "b{i - 1}"\nlayers = {layers}\n' for i in range(tables))


def spec_text(tables: int, fmt: str) -> bytes:
    text = big_toml(tables)
    return (json.dumps(tomllib.loads(text)) if fmt == "json" else text).encode()


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_megabyte_spec_loads_in_linear_work(fmt: str) -> None:
    raw = spec_text(10_000, fmt)
    assert len(raw) > 900_000
    document = load_bytes(raw, "big", fmt)
    assert len(document.values) == 70_002 and len(document.keys) == 60_001
    where = document.values[("branches", "b9999", "layers", 0, "units")]
    if fmt == "toml":
        assert where.line == 30_000
    else:
        assert where.line == 1 and where.col > 900_000
    # Work, not seconds: four times the tables is four times the calls (quadratic work would be 16).
    small, large = spec_text(1_000, fmt), spec_text(4_000, fmt)
    load_bytes(small, "warm-up", fmt)
    ratio = calls(lambda: load_bytes(large, "large", fmt)) / calls(lambda: load_bytes(small, "small", fmt))
    assert ratio < 4.5, f"loading 4x the tables takes {ratio:.1f}x the calls"


# --- No other exception, ever --------------------------------------------------------------------

VALID_JSON = json.dumps(
    {"model": {"name": "m"}, "inputs": {"a": {"shape": [8, None]}}, "x": [1.5, -2, True, "s\u00e9\n"]},
    indent=1,
)
VALID_TOML = (
    '[model]\nname = "m"\n[inputs.a]\nshape = [8, 4]\n[[o]]\nx = { y = 1979-05-27, z = """a\nb""" }\n'
)


def check_outcome(raw: bytes, name: str, fmt: str | None = None) -> None:
    try:
        document = load_bytes(raw, name, fmt)
    except LoadError as error:
        assert error.code in CODES
        assert error.line >= 1 and error.col >= 1
        assert isinstance(error.message, str) and error.message
        return
    assert isinstance(document, Document) and isinstance(document.data, dict)
    assert document.values[()] == Location(1, 1)


ROBUST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROBUST
@given(st.binary(max_size=300), st.sampled_from(["json", "toml"]))
def test_random_bytes_give_a_document_or_a_load_error(raw: bytes, fmt: str) -> None:
    check_outcome(raw, "x", fmt)


@ROBUST
@given(st.text(max_size=200), st.sampled_from(["x.json", "x.toml"]))
def test_random_text_gives_a_document_or_a_load_error(text: str, name: str) -> None:
    check_outcome(text.encode("utf-8", "surrogatepass"), name)
    # The parsers also take text directly, where lone surrogates can occur.
    for parser in (parse_json, parse_toml):
        try:
            parser(text, name)
        except LoadError as error:
            assert error.code in CODES and error.line >= 1 and error.col >= 1


ALPHABET = st.sampled_from(
    [*"{}[]:,=.#\\ \n\t\r0123456789-+eExabtrufnlsINf", '"', "'", "\x00", "\ud800", "é"]
)


@ROBUST
@given(st.data(), st.sampled_from([(VALID_JSON, "x.json"), (VALID_TOML, "x.toml")]))
def test_mutated_specs_give_a_document_or_a_load_error(data: st.DataObject, case: tuple[str, str]) -> None:
    text, name = case
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(text)))
        choice = data.draw(st.integers(0, 2))
        if choice == 0:
            text = text[:at] + data.draw(st.text(ALPHABET, min_size=1, max_size=4)) + text[at:]
        elif choice == 1:
            text = text[:at] + text[at + data.draw(st.integers(1, 6)) :]
        else:
            start = data.draw(st.integers(0, len(text)))
            text = text[:at] + text[start : start + data.draw(st.integers(1, 20))] + text[at:]
    check_outcome(text.encode("utf-8", "surrogatepass"), name)
