"""The diagram of a diff: NEW drawn by `mspec draw`'s code, with what changed marked on it.

Added boxes and arrows in green, changed boxes in blue, removed ones dashed
and grey where they stood, and arrows whose shape changed in orange with the
old shape and the new. Checked on the DOT and Mermaid text, and on the SVG
that Graphviz lays out.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import mspec
from mspec.backends.draw import svg_content
from mspec.backends.draw.dot import ADDED, CHANGED, REMOVED, RESHAPED
from mspec.cli import main

from support.review_specs import MUTATIONS

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


def diff_of(tmp_path: Path, name: str):
    mutation = next(m for m in MUTATIONS if m.name == name)
    old, new = mutation.texts()
    (tmp_path / "old.toml").write_text(old)
    (tmp_path / "new.toml").write_text(new)
    return mspec.diff(tmp_path / "old.toml", tmp_path / "new.toml")


def statement(dot: str, node_id: str) -> str:
    """The DOT statement drawing one box."""
    found = re.search(rf'^\s*"{re.escape(node_id)}" \[.*\];$', dot, re.MULTILINE)
    assert found, node_id
    return found.group(0)


def edge(dot: str, source: str, target: str) -> str:
    found = re.search(rf'^\s*"{re.escape(source)}" -> "{re.escape(target)}" \[.*\];$', dot, re.MULTILINE)
    assert found, (source, target)
    return found.group(0)


def test_added_changed_and_reshaped_in_dot(tmp_path: Path) -> None:
    dot = diff_of(tmp_path, "add_branch").diagram("dot").decode()
    added = statement(dot, "extra2[0]")
    assert f'color="{ADDED}"' in added and "+ added" in added
    changed = statement(dot, "joined")
    assert f'color="{CHANGED}"' in changed and "~ reads words, nums, more, extra2" in changed
    assert f'color="{ADDED}"' in edge(dot, "extra2[0]", "joined")
    assert f'color="{ADDED}"' in edge(dot, "numbers", "extra2[0]")
    reshaped = edge(dot, "joined", "trunk[0]")
    assert f'color="{RESHAPED}"' in reshaped and "(None, 48) → (None, 52)" in reshaped
    # What did not change is drawn as `mspec draw` draws it.
    assert "color" not in edge(dot, "text", "words[0]").replace("fontcolor", "")
    assert f'color="{ADDED}"' not in statement(dot, "words[0]")
    # The legend says what the marks mean; the title, what changed.
    assert '"legend:added"' in dot and '"legend:changed"' in dot and '"legend:reshaped"' in dot
    assert "diff against" in dot and "weights 17,910 → 18,074 (+164, +0.9%)" in dot


def test_removed_nodes_and_arrows_are_dashed_where_they_were(tmp_path: Path) -> None:
    dot = diff_of(tmp_path, "remove_step").diagram("dot").decode()
    removed = statement(dot, "removed:trunk[1]")
    assert "dashed" in removed and f'color="{REMOVED}"' in removed and "− removed" in removed
    # In the branch it stood in.
    cluster = dot[dot.index('subgraph "cluster_branch_trunk"') :]
    assert '"removed:trunk[1]"' in cluster[: cluster.index("  }")]
    for source, target in (("trunk[0]", "removed:trunk[1]"), ("removed:trunk[1]", "score[0]")):
        assert 'style="dashed"' in edge(dot, source, target)
    # Its old readers now read the step before it: new arrows.
    assert f'color="{ADDED}"' in edge(dot, "trunk[0]", "score[0]")
    rewired = diff_of(tmp_path, "rewire").diagram("dot").decode()
    assert 'style="dashed"' in edge(rewired, "more[1]", "joined")  # the input a merge no longer reads


def test_changed_outputs_and_shared_layers(tmp_path: Path) -> None:
    dot = diff_of(tmp_path, "loss").diagram("dot").decode()
    output = statement(dot, "output:score")
    assert f'color="{CHANGED}"' in output and '~ loss: \\"binary_crossentropy\\" → \\"mse\\"' in output
    shared = diff_of(tmp_path, "unshare").diagram("dot").decode()
    assert f'color="{CHANGED}"' in statement(shared, "more[0]")


def test_mermaid_marks(tmp_path: Path) -> None:
    text = diff_of(tmp_path, "remove_step").diagram("mermaid").decode()
    assert re.search(r"^  class n\d+ removed$", text, re.MULTILINE)
    assert "-.->" in text
    assert f"stroke:{REMOVED},stroke-dasharray:5 5" in text
    assert f"stroke:{ADDED}" in text
    reshaped = diff_of(tmp_path, "units").diagram("mermaid").decode()
    assert '"(None, 32) → (None, 64)"' in reshaped
    assert f"stroke:{RESHAPED}" in reshaped
    assert re.search(r"^  class n\d+ changed$", reshaped, re.MULTILINE)


def test_no_marks_without_a_change(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(next(m for m in MUTATIONS).texts()[0])
    diff = mspec.diff(tmp_path / "a.toml", tmp_path / "a.toml")
    dot = diff.diagram("dot").decode()
    for colour in (ADDED, CHANGED, REMOVED, RESHAPED):
        assert colour not in dot
    assert "no change to the model" in dot


@needs_dot
def test_svg_and_png_from_the_command_line(tmp_path: Path) -> None:
    diff_of(tmp_path, "add_branch")  # writes old.toml and new.toml
    old, new = str(tmp_path / "old.toml"), str(tmp_path / "new.toml")
    svg_path, png_path = tmp_path / "diff.svg", tmp_path / "diff.png"
    runner = CliRunner()
    assert runner.invoke(main, ["diff", old, new, "--format", "svg", "-o", str(svg_path)]).exit_code == 1
    content = svg_content(svg_path.read_text())
    assert f'stroke="{ADDED}"' in content and f'stroke="{CHANGED}"' in content
    assert f'stroke="{RESHAPED}"' in content
    assert any("(None, 48) → (None, 52)" in item for item in content)
    assert runner.invoke(main, ["diff", old, new, "--format", "png", "-o", str(png_path)]).exit_code == 1
    assert png_path.read_bytes().startswith(b"\x89PNG")
