"""Generated code is inert: hostile strings in a spec never become code.

Every string a spec can carry into generated Python is either validated
(names are identifiers; activations, losses, metrics, dtypes and optimizers
come from allow-lists) or free text (the description, the source path) that
lands inside the module docstring. We feed hostile strings into each and
check the module's syntax tree.
"""

from __future__ import annotations

import ast
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mspec.backends.codegen import generate_source
from mspec.pipeline import check_bytes

HOSTILE = [
    '"""; import os; os.system("echo pwned"); """',
    "'''; __import__('os').system('id'); '''",
    "\\",
    'trailing backslash \\"""',
    "\\N{LATIN SMALL LETTER A}\\x00\\u0000",
    "line\nbreak\r\nimport os",
    "#!/bin/sh\n# -*- coding: latin-1 -*-",
    "{__import__('os')}",
    "é ü 日本語 \u202e",
]
FORBIDDEN_NAMES = {"eval", "exec", "compile", "__import__", "open", "pickle", "marshal", "os", "subprocess"}
FORBIDDEN_TEXT = ("safe_mode=False", "enable_unsafe_deserialization", "eval(", "exec(", "pickle", "marshal")


def spec_with(description: str, loss: str = "mse") -> bytes:
    spec = {
        "model": {"name": "hostile", "description": description},
        "inputs": {"a": {"shape": [4]}},
        "branches": {"x": {"from": "a", "layers": [{"type": "Dense", "units": 2, "activation": "relu"}]}},
        "outputs": {"out": {"from": "x", "loss": loss, "metrics": ["mae"]}},
        "compile": {"optimizer": {"type": "Adam", "learning_rate": 0.01}},
    }
    return json.dumps(spec).encode()


def _root(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else type(node).__name__


def assert_inert(source: str) -> None:
    tree = ast.parse(source)
    kinds = [type(node).__name__ for node in tree.body]
    assert kinds == ["Expr", "Import", "ImportFrom", "FunctionDef", "If"], kinds
    assert isinstance(tree.body[0].value, ast.Constant)  # the docstring, and nothing else
    assert [alias.name for alias in tree.body[1].names] == ["keras"]
    assert tree.body[2].module == "keras" and [a.name for a in tree.body[2].names] == ["layers"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id not in FORBIDDEN_NAMES, node.id
        if isinstance(node, ast.Attribute):
            # Attributes are only ever looked up on Keras and on the model.
            assert _root(node) in {"keras", "layers", "model", "build_model"}, ast.unparse(node)
    body = source.split('"""', 2)[2]  # everything after the docstring
    for text in FORBIDDEN_TEXT:
        assert text not in body


@pytest.mark.parametrize("description", HOSTILE)
def test_hostile_description_stays_in_the_docstring(description: str) -> None:
    result = check_bytes(spec_with(description), "hostile.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    source = generate_source(result.graph, "specs/hostile.json")
    assert_inert(source)


@pytest.mark.parametrize("path", ['a"""b.toml', "a\\b.toml", 'x\n"""\nimport os\n.toml'])
def test_hostile_source_path_stays_in_the_docstring(path: str) -> None:
    result = check_bytes(spec_with("fine"), "hostile.json")
    assert_inert(generate_source(result.graph, path))


@pytest.mark.parametrize("loss", ["__import__('os')", "mse); import os; (", "os.system"])
def test_strings_outside_the_allow_lists_are_refused(loss: str) -> None:
    result = check_bytes(spec_with("fine", loss=loss), "hostile.json")
    assert not result.ok
    assert any(d.code == "MS105" for d in result.diagnostics)


@settings(max_examples=int(os.environ.get("MSPEC_FUZZ_EXAMPLES", "300")), deadline=None)
@given(st.text(max_size=60))
def test_any_description_is_inert(description: str) -> None:
    result = check_bytes(spec_with(description), "hostile.json")
    if result.ok:  # lone surrogates are refused by the loader
        assert_inert(generate_source(result.graph, "hostile.json"))


# --- the names policy ---------------------------------------------------------
# Spec names must be ASCII identifiers (so no two can collide after Unicode
# NFKC normalisation) and not Python keywords. Soft keywords, builtins and the
# names the generated module itself uses are valid spec names: their Python
# variables get a trailing underscore, while Keras layer and output names
# stay exactly as written.

POLICY_SPEC = {
    "model": {"name": "keras"},
    "inputs": {"input": {"shape": [4]}, "type": {"shape": [4]}},
    "branches": {"layers": {"from": "input", "layers": [{"type": "Dense", "units": 4}]}},
    "merges": {"match": {"type": "Add", "from": ["layers", "type"]}},
    "outputs": {"model": {"from": "match", "layers": [{"type": "Dense", "units": 1}], "loss": "mse"}},
}


def test_names_that_shadow_python_or_keras_get_safe_variables() -> None:
    result = check_bytes(json.dumps(POLICY_SPEC).encode(), "policy.json")
    assert result.ok, [d.format() for d in result.diagnostics]
    source = generate_source(result.graph, "policy.json")
    assert_inert(source)
    assert 'input_ = keras.Input(shape=(4,), name="input")' in source
    assert 'layers_ = layers.Dense(4, name="layers")(input_)' in source
    assert 'match_ = layers.Add(name="match")([layers_, type_])' in source
    assert "model = keras.Model(inputs=[input_, type_], outputs=model_, " in source


@pytest.mark.parametrize("name", ["café", "ｘ1", "x-1", "1x", "class", "None", "x y", ""])
def test_non_identifier_and_keyword_names_are_refused(name: str) -> None:
    spec = {"model": {"name": "m"}, "inputs": {name: {"shape": [2]}}, "outputs": {"o": {"from": name}}}
    result = check_bytes(json.dumps(spec).encode(), "names.json")
    assert [d.code for d in result.diagnostics if d.is_error][:1] == ["MS107"]


@pytest.mark.keras
def test_shadowing_names_build_in_keras() -> None:
    pytest.importorskip("keras")
    from mspec.backends.keras_model.build import build_model

    result = check_bytes(json.dumps(POLICY_SPEC).encode(), "policy.json")
    model = build_model(result.graph)
    assert model.name == "keras" and model.output_names == ["model"]
