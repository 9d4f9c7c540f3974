"""`mspec diff` on the command line: its formats, exit statuses, git's driver convention, no framework."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec.cli import main

from support.commands import NO_FRAMEWORK, run_mspec
from support.review_specs import BASE, MUTATIONS

UNITS = next(m for m in MUTATIONS if m.name == "units")
ADD_BRANCH = next(m for m in MUTATIONS if m.name == "add_branch")


def pair(tmp_path: Path, mutation=UNITS, suffix: str = ".toml") -> tuple[str, str]:
    old, new = mutation.texts()
    (tmp_path / f"old{suffix}").write_text(old)
    (tmp_path / f"new{suffix}").write_text(new)
    return str(tmp_path / f"old{suffix}"), str(tmp_path / f"new{suffix}")


def run(*args: str):
    return CliRunner().invoke(main, ["diff", *args])


def test_text_names_the_change_its_effect_and_consequences(tmp_path: Path) -> None:
    result = run(*pair(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[1] == "model review_base: 1 change, 3 consequences; weights 17,910 → 19,670 (+1,760, +9.8%)"
    assert "  ~ trunk step 1: units: 32 → 64" in lines
    assert "      shape (None, 32) → (None, 64), weights 1,568 → 3,136 (+1,568)" in lines
    consequences = lines[lines.index(next(x for x in lines if x.startswith("Consequences"))) + 1 :]
    assert [line.split()[0] for line in consequences] == ["trunk", "score", "rating"]


def test_markdown_is_a_summary_line_then_a_table(tmp_path: Path) -> None:
    result = run(*pair(tmp_path, ADD_BRANCH), "--format", "markdown")
    assert result.exit_code == 1
    text = result.output
    assert "**2 changes, 1 consequence; weights 17,910 → 18,074 (+164, +0.9%)**" in text
    assert "| | node | change | output shape | weights |" in text
    assert "| ➕ | `extra2` | added Dense(4) | (None, 4) | +36 |" in text
    assert (
        "| ✏️ | `joined` | reads words, nums, more, extra2 (was words, nums, more) | "
        "(None, 48) → (None, 52) | 0 |" in text
    )
    assert "<details><summary>1 node not edited" in text


def test_markdown_cells_escape_pipes() -> None:
    from mspec.review.report import _cell

    assert _cell("a | b") == "a \\| b"


def test_json_for_tools(tmp_path: Path) -> None:
    result = run(*pair(tmp_path, ADD_BRANCH), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["same"] is False
    assert data["weights"] == {"old": 17_910, "new": 18_074, "delta": 164}
    kinds = [(c["kind"], c["node"]) for c in data["changes"]]
    assert kinds == [("added", "extra2"), ("rewired", "joined")]
    added = data["changes"][0]
    assert added["weights"] == {"old": 0, "new": 36, "delta": 36}
    assert added["shape"] == {"old": None, "new": [None, 4]}
    assert data["changes"][1]["inputs"] == {
        "old": ["words", "nums", "more"],
        "new": ["words", "nums", "more", "extra2"],
    }
    assert [c["node"] for c in data["consequences"]] == ["trunk step 1"]
    assert data["consequences"][0]["weights"] == {"old": 1_568, "new": 1_696, "delta": 128}


def test_same_models_exit_zero_and_output_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(BASE)
    target = tmp_path / "out" / "diff.md"
    target.parent.mkdir()
    result = run(
        str(tmp_path / "a.toml"), str(tmp_path / "a.toml"), "--format", "markdown", "-o", str(target)
    )
    assert result.exit_code == 0
    assert "**No change to the model**" in target.read_text()


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("missing.toml", "missing.toml: no such file or directory"),
        ("broken.toml", "broken.toml: cannot be read as a model"),
    ],
)
def test_an_unreadable_side_exits_two(tmp_path: Path, new: str, message: str) -> None:
    (tmp_path / "a.toml").write_text(BASE)
    (tmp_path / "broken.toml").write_text("[model\n")
    result = run(str(tmp_path / "a.toml"), str(tmp_path / new))
    assert result.exit_code == 2
    assert message in result.output


def test_three_arguments_are_a_usage_error(tmp_path: Path) -> None:
    result = run("a", "b", "c")
    assert result.exit_code == 2
    assert "give OLD and NEW" in result.output


def test_json_and_toml_either_way_round(tmp_path: Path) -> None:
    import tomllib

    old, new = UNITS.texts()
    (tmp_path / "old.json").write_text(json.dumps(tomllib.loads(old)))
    (tmp_path / "new.toml").write_text(new)
    result = run(str(tmp_path / "old.json"), str(tmp_path / "new.toml"), "--format", "json")
    assert [c["node"] for c in json.loads(result.output)["changes"]] == ["trunk step 1"]


# --- git's external diff convention: path old-file old-hex old-mode new-file new-hex new-mode ---


def test_git_driver_arguments(tmp_path: Path) -> None:
    old, new = pair(tmp_path)
    temporary = tmp_path / "XYZ123_x"  # git's temporary copy keeps no useful suffix here
    temporary.write_text(Path(old).read_text())
    result = run("specs/x.toml", str(temporary), "a" * 40, "100644", new, "b" * 40, "100644")
    assert result.exit_code == 0  # git stops at a driver exiting non-zero
    assert result.output.startswith("mspec diff a/specs/x.toml → b/specs/x.toml\n")
    assert "units: 32 → 64" in result.output


def test_git_driver_rename_and_added_file(tmp_path: Path) -> None:
    old, new = pair(tmp_path)
    renamed = run(
        "specs/x.toml",
        old,
        "a" * 40,
        "100644",
        new,
        "b" * 40,
        "100644",
        "specs/y.toml",
        "similarity index 90%\n",
    )
    assert renamed.exit_code == 0
    assert renamed.output.startswith("mspec diff a/specs/x.toml → b/specs/y.toml\n")
    added = run("specs/y.toml", "/dev/null", ".", ".", new, "b" * 40, "100644")
    assert added.exit_code == 0
    assert "weights 0 → 19,670" in added.output


def test_git_driver_falls_back_to_the_text_diff(tmp_path: Path) -> None:
    old, _ = pair(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nname = 1\n")
    result = run("specs/x.toml", old, "a" * 40, "100644", str(broken), "b" * 40, "100644")
    assert result.exit_code == 0
    assert "b/specs/x.toml: cannot be read as a model; the text diff instead:" in result.output
    assert "+[model\n" in result.output and "--- a/specs/x.toml" in result.output


# --- In a process of its own ---


@pytest.mark.slow
def test_no_framework_is_imported(tmp_path: Path) -> None:
    done = run_mspec("diff", *pair(tmp_path), "--format", "json")
    assert done.returncode == 1, done.stderr
    assert done.stdout.endswith(NO_FRAMEWORK)


@pytest.mark.slow
def test_the_readme_example_is_what_mspec_prints(tmp_path: Path) -> None:
    from mspec.review import diff_sides, read_side
    from mspec.review.report import to_text

    from support.paths import ROOT

    readme = (ROOT / "README.md").read_text()
    command = "$ mspec diff HEAD~1:specs/seed/concat_independent.toml specs/seed/concat_independent.toml\n"
    shown = readme[readme.index(command) + len(command) :]
    shown = shown[: shown.index("```")]
    spec = (ROOT / "specs" / "seed" / "concat_independent.toml").read_text()
    edited = spec.replace('units = 64, activation = "relu" }]', 'units = 96, activation = "relu" }]').replace(
        'units = 32, activation = "relu" }]',
        'units = 32, activation = "relu" }, { type = "Dropout", rate = 0.2 }]',
    )
    (tmp_path / "old.toml").write_text(spec)
    (tmp_path / "new.toml").write_text(edited)
    old = read_side(str(tmp_path / "old.toml"), label="HEAD~1:specs/seed/concat_independent.toml")
    new = read_side(str(tmp_path / "new.toml"), label="specs/seed/concat_independent.toml")
    assert to_text(diff_sides(old, new)) == shown
