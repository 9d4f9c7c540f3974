"""`mspec lsp` end to end: a real client over stdio against the server in a subprocess.

One server serves the whole module (starting it is the slow part); each test
opens its own files in a temporary folder, so that no pyproject.toml above
them changes which rules are reported, except where a test puts one there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")

from lsprotocol import types

from mspec.pipeline import check_file

from support.lsp_client import Editor
from support.paths import CASES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    started = Editor()
    started.start(root)
    yield started
    started.stop()


@pytest.fixture
def folder(tmp_path):
    return tmp_path


def copy_case(name: str, folder: Path) -> Path:
    target = folder / name
    shutil.copy(CASES / name, target)
    return target


def lint_locations(path: Path) -> list[tuple[str, int, int]]:
    """What `mspec lint` reports for a file: (code, 0-based line, 0-based column)."""
    return [(d.code, d.line - 1, d.col - 1) for d in check_file(path).diagnostics]


def starts(diagnostics: list[types.Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.range.start.line, d.range.start.character) for d in diagnostics]


# --- diagnostics -----------------------------------------------------------------------


def test_shared_layer_on_the_wrong_size_is_reported_at_its_second_use_then_cleared_by_a_fix(editor, folder):
    path = copy_case("seed_shared_layer.toml", folder)
    uri = editor.open(path)
    found = editor.diagnostics(uri)
    assert starts(found) == lint_locations(path)
    (diagnostic,) = found
    assert diagnostic.code == "MS302"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert editor.text_of(uri, diagnostic.range) == '{ shared = "shared_layer" }'
    assert "built for size 10" in diagnostic.message and "Dense projection" in diagnostic.message
    assert diagnostic.code_description is not None and diagnostic.code_description.href.endswith("#ms302")

    editor.replace(uri, "shape = [5]", "shape = [10]")
    assert editor.diagnostics(uri) == []


def test_merge_of_unequal_shapes_is_reported_on_its_header_then_cleared_by_a_fix(editor, folder):
    path = copy_case("seed_interaction.toml", folder)
    uri = editor.open(path)
    found = editor.diagnostics(uri)
    assert starts(found) == lint_locations(path)
    (diagnostic,) = found
    assert diagnostic.code == "MS301"
    assert editor.text_of(uri, diagnostic.range) == "[merges.interaction]"
    assert "(None, 64)" in diagnostic.message and "(None, 32)" in diagnostic.message

    editor.replace(uri, "units = 32", "units = 64")
    assert editor.diagnostics(uri) == []


def test_the_projects_rule_selection_and_the_specs_lint_table_are_respected(editor, folder):
    path = copy_case("hazard_binary_loss.toml", folder)
    uri = editor.open(path)
    assert {d.code for d in editor.diagnostics(uri)} == {"MS703"}
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )

    project = folder / "pyproject.toml"
    project.write_text('[tool.mspec]\nignore = ["MS703"]\n')
    uri = editor.open(path)
    assert editor.diagnostics(uri) == []

    # The project's settings edited while the spec is open.
    project.write_text('[tool.mspec]\nselect = ["MS7"]\n')
    editor.file_changed(project)
    assert {d.code for d in editor.diagnostics(uri)} == {"MS703"}

    # The spec's own [lint] table.
    editor.replace(uri, "[compile]", '[lint]\nignore = ["MS703"]\n\n[compile]')
    assert editor.diagnostics(uri) == []


def test_a_toml_file_that_is_no_spec_gets_nothing(editor, folder):
    path = folder / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\nversion = "1.0"\n\n[tool.ruff]\nline-length = 100\n')
    uri = editor.open(path)
    assert editor.diagnostics(uri) == []
    assert editor.hover(uri, "na|me") is None
    assert editor.completion(uri, "line-|length") == []


# --- hover and completion ---------------------------------------------------------------------


def test_hover_on_a_branch_shows_its_layer_shape_weights_and_uses(editor, folder):
    uri = editor.open(copy_case("seed_interaction.toml", folder))
    editor.diagnostics(uri)
    shown = editor.hover(uri, "[branches.x_|a]")
    assert shown is not None
    text = shown.contents.value
    assert "(None, 64)" in text  # Dense(64) on a 10-wide input
    assert "Dense(64, relu)" in text
    assert f"{10 * 64 + 64:,}" in text  # its weights: kernel and bias
    assert "`interaction`" in text and "`merged`" in text  # where it is used

    # The same facts on the name where it is used.
    assert "(None, 64)" in editor.hover(uri, 'from = ["x_|a", "x_b"]').contents.value


def test_hover_on_a_layer_type_and_a_parameter_shows_the_registrys_documentation(editor, folder):
    uri = editor.open(copy_case("seed_shared_layer.toml", folder))
    editor.diagnostics(uri)
    layer = editor.hover(uri, 'type = "De|nse"').contents.value
    assert "Dense" in layer and "`units`" in layer and "`kernel_initializer`" in layer
    parameter = editor.hover(uri, "un|its = 32").contents.value
    assert "units" in parameter and "required" in parameter


def test_completion_lists_layer_types_then_the_chosen_layers_parameters(editor, folder):
    path = copy_case("seed_shared_layer.toml", folder)
    uri = editor.open(path)
    editor.diagnostics(uri)
    editor.replace(
        uri,
        'layers = [{ shared = "shared_layer" }]\n\n[branches.x2]',
        'layers = [{ type = "De }]\n\n[branches.x2]',
    )
    labels = [item.label for item in editor.completion(uri, 'type = "De| }]')]
    assert "Dense" in labels and "Concatenate" not in labels  # a merge is no step

    editor.replace(uri, '{ type = "De }]', '{ type = "Dense",  }]')
    parameters = [item.label for item in editor.completion(uri, '{ type = "Dense", | }]')]
    assert "units" in parameters and "activation" in parameters and "type" not in parameters


def test_completion_offers_node_names_in_from_and_vocabulary_values(editor, folder):
    uri = editor.open(copy_case("seed_interaction.toml", folder))
    editor.diagnostics(uri)
    names = [item.label for item in editor.completion(uri, 'from = ["x_a", "x_|b", "interaction"]')]
    assert {"input_a", "input_b", "x_a", "x_b", "interaction"} <= set(names) and "merged" not in names
    activations = [item.label for item in editor.completion(uri, 'activation = "re|lu" }]\n\n[branches.x_b]')]
    assert "relu" in activations and "sigmoid" in activations


# --- navigation -----------------------------------------------------------------------------


def test_definition_references_and_rename_of_a_branch(editor, folder):
    path = copy_case("seed_interaction.toml", folder)
    uri = editor.open(path)
    editor.diagnostics(uri)

    definition = editor.definition(uri, 'from = ["x_a", "x_|b"]')
    target = definition[0] if isinstance(definition, list) else definition
    assert editor.text_of(uri, target.range) == "x_b"
    assert target.range.start.line == editor.at(uri, "[branches.|x_b]").line

    references = editor.references(uri, "[branches.x_|b]")
    text = editor.texts[uri]
    assert len(references) == text.count('"x_b"') + 1  # two `from` lists and its own header
    assert all(editor.text_of(uri, where.range) == "x_b" for where in references)

    edit = editor.rename(uri, "[branches.x_|b]", "right")
    editor.apply(uri, edit.changes[uri])
    renamed = editor.texts[uri]
    assert "x_b" not in renamed and "[branches.right]" in renamed and renamed.count('"right"') == 2
    # The renamed spec means the same: the same finding, now naming the new branch.
    (diagnostic,) = editor.diagnostics(uri)
    assert diagnostic.code == "MS301" and "right (None, 32)" in diagnostic.message


def test_outline_lists_inputs_branches_merges_and_outputs(editor, folder):
    uri = editor.open(copy_case("seed_interaction.toml", folder))
    editor.diagnostics(uri)
    sections = {
        symbol.name: [child.name for child in symbol.children or []] for symbol in editor.symbols(uri)
    }
    assert sections["inputs"] == ["input_a", "input_b"]
    assert sections["branches"] == ["x_a", "x_b"]
    assert sections["merges"] == ["interaction", "merged"]
    assert sections["outputs"] == ["output"]


# --- quick fixes -------------------------------------------------------------------------------


def test_a_quick_fix_applies_a_did_you_mean(editor, folder):
    path = copy_case("seed_interaction.toml", folder)
    uri = editor.open(path, path.read_text().replace('from = "input_b"', 'from = "imput_b"'))
    (diagnostic,) = [d for d in editor.diagnostics(uri) if "imput_b" in d.message]
    (fix,) = [a for a in editor.code_actions(uri, diagnostic) if "input_b" in a.title]
    editor.apply(uri, fix.edit.changes[uri])
    assert 'from = "input_b"' in editor.texts[uri]
    assert not [d for d in editor.diagnostics(uri) if "imput_b" in d.message]


def test_quick_fixes_set_the_missing_sigmoid_and_ignore_a_finding_for_one_node(editor, folder):
    path = copy_case("hazard_binary_loss.toml", folder)
    uri = editor.open(path)
    found = editor.diagnostics(uri)
    linear = next(d for d in found if "'linear'" in d.message)
    (fix,) = [a for a in editor.code_actions(uri, linear) if "sigmoid" in a.title]
    editor.apply(uri, fix.edit.changes[uri])
    after = editor.diagnostics(uri)
    assert not [d for d in after if "'linear'" in d.message]
    assert len(after) == len(found) - 1

    rectified = next(d for d in after if "'rectified'" in d.message)
    (ignore,) = [a for a in editor.code_actions(uri, rectified) if "per_node_ignores" in a.title]
    editor.apply(uri, ignore.edit.changes[uri])
    assert not [d for d in editor.diagnostics(uri) if "'rectified'" in d.message]
    assert "per_node_ignores" in editor.texts[uri]


# --- broken text ---------------------------------------------------------------------------------


def test_half_typed_text_reports_the_syntax_error_and_hover_keeps_the_last_good_facts(editor, folder):
    uri = editor.open(copy_case("seed_interaction.toml", folder))
    editor.diagnostics(uri)
    editor.replace(uri, 'type = "Multiply"', 'type = "Mul')
    (syntax,) = editor.diagnostics(uri)
    assert syntax.severity == types.DiagnosticSeverity.Error
    assert syntax.range.start.line == editor.at(uri, 'type = "Mul|').line
    assert "(None, 64)" in editor.hover(uri, "[branches.x_|a]").contents.value

    for fragment in ('"', "[", "{ type", "from = [", "= ", "]]]", "\x00"):
        editor.replace(uri, "\n[compile]", f"\n{fragment}\n[compile]")
        assert editor.diagnostics(uri), fragment  # reported, and the server still answers
    editor.replace(uri, 'type = "Mul', 'type = "Multiply"')
    assert editor.hover(uri, "[branches.x_|a]") is not None


# --- the command ----------------------------------------------------------------------------------


def test_without_the_lsp_extra_the_command_names_it_and_exits_2():
    hide_pygls = "import sys; sys.modules['pygls'] = None; from mspec.cli import run; run()"
    done = subprocess.run([sys.executable, "-c", hide_pygls, "lsp"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'mspec[lsp]'" in done.stderr
