"""[search] and [tune] as `mspec lint` reads them: each mistake located at its line, with its code and hint.

Needs the core only: the static check of a space runs in a pre-commit environment.
"""

from __future__ import annotations

import json
import textwrap

import pytest

import mspec
from mspec.search_space.static_check import GRID_LIMIT, SAMPLE_SIZE, check_search, sample_combinations
from mspec.syntax.load import load_bytes

from support.commands import NO_FRAMEWORK, run_mspec

# The seed article's first example, its second branch's Dense named `dense_x2`, and a table for the
# optimizer: lines 1 to 27; [search] starts on line 28.
BASE = """\
[model]
name = "concat"

[inputs.input_1]
shape = [10]

[inputs.input_2]
shape = [5]

[branches.x1]
from = "input_1"
layers = [{ type = "Dense", units = 64, activation = "relu" }, { type = "Dropout", rate = 0.1 }]

[branches.x2]
from = "input_2"
layers = [{ type = "Dense", units = 32, activation = "relu", name = "dense_x2" }]

[merges.merged]
type = "Concatenate"
from = ["x1", "x2"]

[outputs.output]
from = "merged"
layers = [{ type = "Dense", units = 1, activation = "sigmoid" }]
loss = "binary_crossentropy"

[compile]
optimizer = { type = "Adam", learning_rate = 0.001 }
"""
SEARCH_LINE = BASE.count("\n") + 1


def lint(search: str, base: str = BASE) -> list[str]:
    """The findings of `mspec lint` on BASE with this [search] text, formatted, the file named spec.toml."""
    text = base + "[search]\n" + textwrap.dedent(search)
    result = mspec.check_text(text, name="spec.toml")
    return [d.format() for d in result.diagnostics]


def line_of(key_line: int) -> int:
    """The file line of the key on line `key_line` (1-based) of the [search] body."""
    return SEARCH_LINE + key_line


def test_a_valid_space_lints_clean_and_the_spec_stays_a_plain_spec() -> None:
    found = lint(
        """\
        "branches.x2.layers.0.units" = [32, 64]
        "compile.optimizer.learning_rate" = { low = 1e-4, high = 1e-2, log = true }
        "branches.x1.layers.1.rate" = { low = 0.0, high = 0.5, step = 0.1 }
        """
    )
    assert found == []


def test_a_path_that_names_nothing_is_located_at_its_key_with_did_you_mean() -> None:
    found = lint(
        """\
        "branchs.x2.layers.0.units" = [32, 64]
        "branches.x2.layers.0.unit" = [32, 64]
        "branches.x2.layers.3.units" = [32, 64]
        "compile.optimizer.beta_1.x" = [0.9]
        """
    )
    assert found[0].startswith(f"spec.toml:{line_of(1)}:1: MS801 error: [search] 'branchs.x2.layers.0.units'")
    assert "(did you mean 'branches'?)" in found[0]
    assert found[1].startswith(f"spec.toml:{line_of(2)}:1: MS801 error: [search] 'branches.x2.layers.0.unit'")
    assert "unknown key 'unit' in Dense layer (did you mean 'units'?)" in found[1]
    assert found[2] == (
        f"spec.toml:{line_of(3)}:1: MS801 error: [search] 'branches.x2.layers.3.units': "
        "branches.x2.layers has 1 item, so no position 3 (positions count from 0: 0 to 0)"
    )
    assert f"spec.toml:{line_of(4)}:1: MS801 error" in found[3]
    assert len(found) == 4


def test_an_optimizer_written_as_a_name_says_to_write_a_table() -> None:
    base = BASE.replace('optimizer = { type = "Adam", learning_rate = 0.001 }', 'optimizer = "adam"')
    (found,) = lint('"compile.optimizer.learning_rate" = [0.01]\n', base)
    assert "MS801" in found
    assert 'write the optimizer as a table: optimizer = { type = "Adam", learning_rate = ... }' in found


def test_a_step_name_stands_for_its_path() -> None:
    assert lint('"dense_x2.units" = [16, 32]\n') == []
    assert lint('"branches.x2.layers.dense_x2.activation" = ["relu", "tanh"]\n') == []
    (found,) = lint('"dense_x2.units" = [16]\n"branches.x2.layers.0.units" = [8]\n')
    assert found.startswith(f"spec.toml:{line_of(2)}:1: MS806 error:")
    assert "names the same parameter as 'dense_x2.units'" in found


def test_values_of_the_wrong_type_are_located_at_each_value() -> None:
    found = lint('"dense_x2.units" = [32, "64", 16.5]\n')
    column_64 = len('"dense_x2.units" = [32, ') + 1
    assert found[0] == (
        f'spec.toml:{line_of(1)}:{column_64}: MS802 error: [search] dense_x2.units = "64": '
        "Dense layer key 'units' should be a valid integer, got string '64'"
    )
    assert found[1].startswith(f"spec.toml:{line_of(1)}:{column_64 + 6}: MS802 error:")
    assert len(found) == 2


def test_a_range_outside_what_the_parameter_accepts_is_reported_at_its_end() -> None:
    (found,) = lint('"branches.x1.layers.1.rate" = { low = 0.1, high = 1.5 }\n')
    column_high = len('"branches.x1.layers.1.rate" = { low = 0.1, high = ') + 1
    assert found.startswith(f"spec.toml:{line_of(1)}:{column_high}: MS803 error: [search] ")
    assert "branches.x1.layers.1.rate = 1.5" in found
    (negative,) = lint('"compile.optimizer.learning_rate" = { low = -0.1, high = 0.1 }\n')
    assert "MS803" in negative and "learning_rate = -0.1" in negative and "should be >= 0" in negative


def test_unknown_names_as_choices_are_refused_with_did_you_mean() -> None:
    (found,) = lint('"merges.merged.type" = ["Concatenate", "Multiplx"]\n')
    assert "MS803 error" in found and "(did you mean 'Multiply'?)" in found


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[]", "has no choices"),
        ("7", "should be a list of choices or a range table, got 7 (write [7] for one value"),
        ("{ low = 2, high = 1 }", "`low` (2) should be below `high` (1)"),
        ("{ low = 0, high = 1, log = true }", "a log range needs `low` > 0"),
        ("{ low = 1, high = 8, log = true, step = 1 }", "give `log` or `step`, not both"),
        ("[16, 16]", "lists 16 twice"),
        ("[{ units = 4 }]", "choices are strings, numbers or booleans"),
    ],
)
def test_malformed_search_values(value: str, message: str) -> None:
    (found,) = lint(f'"dense_x2.units" = {value}\n')
    assert f"spec.toml:{line_of(1)}:" in found and "MS802 error" in found
    assert message in found


def test_a_misspelt_range_key_says_so() -> None:
    found = lint('"dense_x2.units" = { low = 8, hihg = 64 }\n')
    assert any("MS101" in f and "'hihg'" in f and "did you mean 'high'?" in f for f in found)


def test_tune_section_is_validated() -> None:
    found = lint('"dense_x2.units" = [16, 32]\n\n[tune]\ndirection = "down"\nmetrik = "val_loss"\n')
    assert any("MS105" in f and "'direction'" in f for f in found)
    assert any("MS101" in f and "'metrik'" in f and "did you mean 'metric'?" in f for f in found)


# --- The combinations -----------------------------------------------------------------------------------

INTERACTION = """\
"dense_x2.units" = [32, 64]
"merges.merged.type" = ["Concatenate", "Multiply"]
"compile.optimizer.learning_rate" = { low = 1e-4, high = 1e-2, log = true }
"""


def test_invalid_combinations_are_counted_and_grouped_by_cause_at_the_values_involved() -> None:
    (found,) = lint(INTERACTION)
    column_32 = len('"dense_x2.units" = [') + 1
    assert found == (
        f"spec.toml:{line_of(1)}:{column_32}: MS804 warning: dense_x2.units = 32 with "
        'merges.merged.type = "Multiply": Multiply needs equal shapes, got x1 (None, 64) and '
        "x2 (None, 32); 2 of 8 combinations (found at line 18)"
    )


def test_a_space_without_a_valid_point_is_an_error() -> None:
    found = lint('"dense_x2.units" = [16, 32]\n"merges.merged.type" = ["Multiply", "Add"]\n')
    empty = [f for f in found if " MS805 error: " in f]
    assert empty == [
        f"spec.toml:{SEARCH_LINE}:1: MS805 error: no point of the search space is valid: all 4 combinations "
        "have errors (each cause is reported at the values involved, as MS804)"
    ]
    causes = [f for f in found if " MS804 warning: " in f]
    assert len(causes) == 2  # one per merge type: Multiply, Add
    assert all("2 of 4 combinations (4 invalid in all)" in f for f in causes)


def test_lint_exit_status_and_json_for_a_space(tmp_path) -> None:
    warning = tmp_path / "warn.toml"
    warning.write_text(BASE + "[search]\n" + INTERACTION)
    empty = tmp_path / "empty.toml"
    empty.write_text(BASE + '[search]\n"dense_x2.units" = [16]\n"merges.merged.type" = ["Multiply"]\n')
    ok = run_mspec("lint", str(warning), "--format", "json")
    assert ok.returncode == 0, ok.stderr
    assert NO_FRAMEWORK in ok.stdout  # the core alone: no framework imported
    payload = json.loads(ok.stdout.split(NO_FRAMEWORK)[0])
    assert [d["code"] for d in payload] == ["MS804"]
    failed = run_mspec("lint", str(empty))
    assert failed.returncode == 1
    assert "MS805 error" in failed.stdout


def test_the_base_spec_must_be_valid_before_combinations_are_checked() -> None:
    broken = BASE.replace('type = "Concatenate"', 'type = "Multiply"')
    found = lint('"dense_x2.units" = [16, 32]\n', broken)
    assert [f.split(": ")[1].split()[0] for f in found] == ["MS301"]


def test_checking_a_space_leaves_the_parsed_document_as_it_was() -> None:
    document = load_bytes((BASE + "[search]\n" + INTERACTION).encode(), "spec.toml")
    before = json.dumps(document.data, sort_keys=True)
    from mspec.frontend import check_document

    check_search(check_document(document))
    assert json.dumps(document.data, sort_keys=True) == before


def test_a_large_space_is_sampled_with_every_value_and_the_same_sample_each_time() -> None:
    sizes = [10, 10, 10, 10]
    first = sample_combinations(sizes)
    assert first == sample_combinations(sizes)
    assert len(first) == SAMPLE_SIZE < 10**4
    for position, size in enumerate(sizes):
        assert {point[position] for point in first} == set(range(size))
    values = ", ".join(str(8 * (i + 1)) for i in range(10))
    document = load_bytes(
        (
            BASE
            + f'[search]\n"branches.x1.layers.0.units" = [{values}]\n"dense_x2.units" = [{values}]\n'
            + '"branches.x1.layers.1.rate" = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n'
            + '"merges.merged.type" = ["Concatenate", "Add"]\n'
        ).encode(),
        "spec.toml",
    )
    from mspec.frontend import check_document

    report = check_search(check_document(document))
    assert report.total == 2000 <= GRID_LIMIT and report.checked == 2000  # a grid this size is not sampled
    # Add is invalid exactly when the widths differ: 90 of 100 width pairs, times 10 rates.
    assert report.invalid == 900
