"""The JSON loader: values as json.loads gives them, exact positions, and each error code."""

from __future__ import annotations

import json

import pytest

from mspec.syntax.document import Document, LoadError, Location
from mspec.syntax.json_loader import parse_json
from mspec.syntax.load import load_bytes

SAMPLE = """{
  "model": {"name": "demo"},
  "inputs": {
    "a": {"shape": [8, null], "dtype": "float32"}
  },
  "branches": {
    "x": {"from": "a", "layers": [{"type": "Dense", "units": 64}]}
  }
}
"""


def load(text: str) -> Document:
    return parse_json(text, "spec.json")


def fails(text: str) -> LoadError:
    with pytest.raises(LoadError) as info:
        load(text)
    return info.value


def test_sample_values_match_json_module() -> None:
    document = load(SAMPLE)
    assert document.data == json.loads(SAMPLE)
    assert document.path == "spec.json"
    assert list(document.data) == ["model", "inputs", "branches"]


def test_sample_key_locations() -> None:
    keys = load(SAMPLE).keys
    assert keys[("model",)] == Location(2, 3)
    assert keys[("model", "name")] == Location(2, 13)
    assert keys[("inputs",)] == Location(3, 3)
    assert keys[("inputs", "a")] == Location(4, 5)
    assert keys[("inputs", "a", "shape")] == Location(4, 11)
    assert keys[("inputs", "a", "dtype")] == Location(4, 31)
    assert keys[("branches", "x", "from")] == Location(7, 11)
    assert keys[("branches", "x", "layers")] == Location(7, 24)
    assert keys[("branches", "x", "layers", 0, "type")] == Location(7, 36)
    assert keys[("branches", "x", "layers", 0, "units")] == Location(7, 53)


def test_sample_value_locations() -> None:
    values = load(SAMPLE).values
    assert values[()] == Location(1, 1)
    assert values[("model",)] == Location(2, 12)
    assert values[("model", "name")] == Location(2, 21)
    assert values[("inputs",)] == Location(3, 13)
    assert values[("inputs", "a")] == Location(4, 10)
    assert values[("inputs", "a", "shape")] == Location(4, 20)
    assert values[("inputs", "a", "shape", 0)] == Location(4, 21)
    assert values[("inputs", "a", "shape", 1)] == Location(4, 24)
    assert values[("inputs", "a", "dtype")] == Location(4, 40)
    assert values[("branches", "x", "from")] == Location(7, 19)
    assert values[("branches", "x", "layers")] == Location(7, 34)
    assert values[("branches", "x", "layers", 0)] == Location(7, 35)
    assert values[("branches", "x", "layers", 0, "type")] == Location(7, 44)
    assert values[("branches", "x", "layers", 0, "units")] == Location(7, 62)


def test_every_key_and_value_is_located() -> None:
    document = load(SAMPLE)

    def walk(value: object, path: tuple) -> None:
        assert path in document.values, path
        if isinstance(value, dict):
            for key, item in value.items():
                assert (*path, key) in document.keys
                walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index))

    walk(document.data, ())
    assert len(document.keys) == 12
    assert len(document.values) == 16


def test_root_is_at_line_1_column_1_even_after_blank_lines() -> None:
    document = load('\n\n  {"a": 1}')
    assert document.values[()] == Location(1, 1)
    assert document.keys[("a",)] == Location(3, 4)
    assert document.values[("a",)] == Location(3, 9)


def test_columns_count_characters_not_bytes() -> None:
    document = load('{"é😀": "ü", "k": 1}')
    assert document.keys[("é😀",)] == Location(1, 2)
    assert document.values[("é😀",)] == Location(1, 8)
    assert document.keys[("k",)] == Location(1, 13)


def test_bom_is_accepted_and_is_not_a_column() -> None:
    plain = load_bytes(b'{"a": [1]}', "spec.json")
    with_bom = load_bytes(b'\xef\xbb\xbf{"a": [1]}', "spec.json")
    assert with_bom.data == plain.data == {"a": [1]}
    assert with_bom.keys == plain.keys
    assert with_bom.values == plain.values
    assert load('\ufeff{"a": 1}').keys[("a",)] == Location(1, 2)


def test_crlf_line_breaks() -> None:
    document = load('{\r\n  "a": 1,\r\n  "b": 2\r\n}\r\n')
    assert document.keys[("b",)] == Location(3, 3)
    assert document.values[("b",)] == Location(3, 8)


@pytest.mark.parametrize(
    "text",
    [
        r'{"s": "tab\there \"q\" \\ \/ \b\f\n\r \u00e9 \ud83d\ude00 \u0000"}',
        '{"n": [0, -0, 1.5, -1.5e-3, 2E+2, 1e-400, 9223372036854775807, -9223372036854775808]}',
        '{"t": true, "f": false, "z": null, "e": {}, "l": [], "nested": [[[{"x": [{}]}]]]}',
        '{"": 1, " ": 2, "key with spaces": {"": []}}',
        '  {"a"  :  1  ,  "b"  :  [  1  ,  2  ]  }  ',
    ],
)
def test_values_match_json_module(text: str) -> None:
    document = load(text)
    assert document.data == json.loads(text)
    assert repr(document.data) == repr(json.loads(text))


def test_escaped_key_is_decoded_and_located() -> None:
    document = load('{"\\u0061b": 1}')
    assert document.data == {"ab": 1}
    assert document.keys[("ab",)] == Location(1, 2)


# --- MS001 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ('{"a": 1,}', 1, 9, "expected a key after ',', found '}' (trailing commas are not allowed)"),
        ('{"a": [1, 2,]}', 1, 13, "expected a value after ',', found ']' (trailing commas are not allowed)"),
        ('{"a": 1 "b": 2}', 1, 9, "expected ',' or '}' after object member, found '\"'"),
        ('{"a": [1 2]}', 1, 10, "expected ',' or ']' after array element, found '2'"),
        ('{"a": 1}\n// note', 2, 1, "comments are not allowed in JSON"),
        ("{'a': 1}", 1, 2, 'expected a double-quoted key, found "\'"'),
        ("{a: 1}", 1, 2, "expected a double-quoted key, found 'a'"),
        ('{"a": 01}', 1, 7, "invalid number '01'"),
        ('{"a": 1.}', 1, 7, "invalid number '1.'"),
        ('{"a": -}', 1, 7, "invalid number '-'"),
        ('{"a": .5}', 1, 7, "expected a value, found '.'"),
        ('{"a" 1}', 1, 6, "expected ':' after object key, found '1'"),
        ('{"a": tru}', 1, 7, "invalid literal 'tru': expected true, false or null"),
        ('{"a": "b', 1, 7, "unterminated string"),
        ('{"a": "b\n"}', 1, 9, "unterminated string"),
        ('{"a": "\\x"}', 1, 8, "invalid escape"),
        ('{"a": "\\u12"}', 1, 8, "invalid escape"),
        ('{"a": 1} x', 1, 10, "expected end of file after the top-level value, found 'x'"),
        ('{"a": 1}}', 1, 9, "expected end of file after the top-level value, found '}'"),
        ('{"a": 1', 1, 8, "expected ',' or '}' after object member, found end of file"),
        ('{"a": [', 1, 8, "expected a value, found end of file"),
        ("", 1, 1, "empty file: expected a JSON object"),
        ("  \n\t\n", 3, 1, "empty file: expected a JSON object"),
    ],
)
def test_syntax_errors(text: str, line: int, col: int, message: str) -> None:
    error = fails(text)
    assert error.code == "MS001"
    assert (error.line, error.col) == (line, col)
    assert message in error.message


# --- MS002 ----------------------------------------------------------------------


def test_duplicate_key_names_key_and_first_line() -> None:
    error = fails('{\n  "a": 1,\n  "b": 2,\n  "a": 3\n}')
    assert error.code == "MS002"
    assert (error.line, error.col) == (4, 3)
    assert error.message == "duplicate key 'a' (first defined on line 2)"


def test_duplicate_key_spelled_with_an_escape() -> None:
    error = fails('{"ab": 1, "\\u0061b": 2}')
    assert error.code == "MS002"
    assert (error.line, error.col) == (1, 11)


def test_same_key_in_different_objects_is_fine() -> None:
    assert load('{"a": {"a": {"a": 1}}, "b": {"a": 2}}').data["b"] == {"a": 2}


# --- MS003 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "col", "fragment"),
    [
        ('{"a": "x\ty"}', 9, "control character U+0009"),
        ('{"a": "x\x01"}', 9, "control character U+0001"),
        ('{"a":\x0b1}', 6, "control character U+000B"),
        ('{"a": "\\ud800"}', 8, "lone surrogate"),
        ('{"a": "ok \\udc00"}', 11, "lone surrogate"),
        ('{"a": "\\ude00\\ud83d"}', 8, "lone surrogate"),
        ('{"a": "\\ud83dx"}', 8, "lone surrogate"),
        ('{"\\ud800": 1}', 3, "lone surrogate"),
        ('{"a": "\ud800"}', 8, "lone surrogate"),
    ],
)
def test_encoding_errors(text: str, col: int, fragment: str) -> None:
    error = fails(text)
    assert error.code == "MS003"
    assert (error.line, error.col) == (1, col)
    assert fragment in error.message


def test_surrogate_pair_escape_is_one_character() -> None:
    assert load('{"a": "\\ud83d\\ude00"}').data == {"a": "😀"}


def test_escaped_backslash_before_u_is_not_an_escape() -> None:
    assert load('{"a": "\\\\ud800"}').data == {"a": "\\ud800"}


# --- MS004 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
        ("1e400", "too large for a 64-bit float"),
        ("-1.5e309", "too large for a 64-bit float"),
        ("9223372036854775808", "does not fit in 64 bits"),
        ("-9223372036854775809", "does not fit in 64 bits"),
        ("1" * 101, "more than 100 digits"),
        ("1." + "0" * 100, "more than 100 digits"),
        ("9" * 5000, "more than 100 digits"),
    ],
)
def test_numbers_out_of_range(number: str, fragment: str) -> None:
    error = fails('{\n  "n": [1, ' + number + "]\n}")
    assert error.code == "MS004"
    assert (error.line, error.col) == (2, 12)
    assert fragment in error.message


def test_numbers_at_the_limits_are_accepted() -> None:
    text = (
        '{"n": [9223372036854775807, -9223372036854775808, 1.'
        + "0" * 99
        + ", 1e-400, 1.7976931348623157e308]}"
    )
    assert load(text).data["n"] == [2**63 - 1, -(2**63), 1.0, 0.0, 1.7976931348623157e308]


# --- MS006 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("[1, 2]", "an array"),
        ('  "x"', "a string"),
        ("3", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
def test_top_level_must_be_an_object(text: str, what: str) -> None:
    error = fails(text)
    assert error.code == "MS006"
    assert error.message.endswith(what)
    assert error.line == 1 and error.col == len(text) - len(text.lstrip()) + 1


def test_syntax_error_wins_over_wrong_top_level() -> None:
    assert fails("[1, 2").code == "MS001"
