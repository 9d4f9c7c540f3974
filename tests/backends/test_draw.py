"""Diagrams: golden DOT and Mermaid, determinism, escaping, faults in red, --collapse, the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec.backends.draw import MISSING_DOT, GraphvizMissing, render, svg_content, to_dot, to_mermaid
from mspec.backends.draw.dot import RED
from mspec.backends.draw.escape import dot_quote, mermaid_quote
from mspec.cli import main
from mspec.pipeline import check_bytes, check_file

from support.golden import check_golden
from support.paths import CASES, GOLDEN, ROOT
from support.spec_files import SPEC_FILES
from support.wide_specs import generated_spec

BROKEN = [CASES / "seed_interaction.toml", CASES / "seed_shared_layer.toml"]
DIAGRAMS = ROOT / "diagrams"
README_PICTURE = DIAGRAMS / "siamese_text.png"
HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz's dot is not installed")


def checked(spec: Path):
    result = check_file(spec)
    assert result.graph is not None, [d.format() for d in result.diagnostics]
    return result


def dot_of(spec: Path, **options) -> str:
    result = checked(spec)
    return to_dot(result.graph, result.diagnostics, **options)


def mermaid_of(spec: Path, **options) -> str:
    result = checked(spec)
    return to_mermaid(result.graph, result.diagnostics, **options)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


# --- a reader for the DOT we write: one statement per line ------------------

QUOTED = r'"(?:[^"\\]|\\.)*"'
NODE = re.compile(rf"^\s*({QUOTED}) \[(.*)\];$")
EDGE = re.compile(rf"^\s*({QUOTED}) -> ({QUOTED}) \[(.*)\];$")
ATTRIBUTE = re.compile(rf"(\w+)=({QUOTED})")


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text[1:-1])


def parse_dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """Return the nodes (id -> attributes) and edges of DOT text written by to_dot."""
    nodes, edges = {}, []
    for line in text.splitlines():
        if match := EDGE.match(line):
            attributes = {k: unquote(v) for k, v in ATTRIBUTE.findall(match.group(3))}
            edges.append((unquote(match.group(1)), unquote(match.group(2)), attributes))
        elif (match := NODE.match(line)) and match.group(1) not in ('"graph"', '"node"', '"edge"'):
            nodes[unquote(match.group(1))] = {k: unquote(v) for k, v in ATTRIBUTE.findall(match.group(2))}
    return nodes, edges


def graphviz_json(text: str) -> dict:
    """Lay out DOT text with Graphviz itself and return its JSON description."""
    done = subprocess.run(["dot", "-Tjson"], input=text.encode(), capture_output=True, check=True)
    return json.loads(done.stdout)


def graphviz_nodes(layout: dict) -> dict[str, dict]:
    return {o["name"]: o for o in layout["objects"] if "nodes" not in o}


# --- golden files and determinism --------------------------------------------


@pytest.mark.parametrize("spec", SPEC_FILES + BROKEN, ids=lambda p: p.name)
def test_dot_matches_golden(spec: Path, update_golden: bool) -> None:
    text = dot_of(spec)
    assert dot_of(spec) == text, "two drawings differ"
    (GOLDEN / "dot").mkdir(parents=True, exist_ok=True)
    check_golden(GOLDEN / "dot" / f"{spec.stem}.dot", text, update_golden)


@pytest.mark.parametrize("spec", SPEC_FILES + BROKEN, ids=lambda p: p.name)
def test_mermaid_matches_golden(spec: Path, update_golden: bool) -> None:
    text = mermaid_of(spec)
    assert mermaid_of(spec) == text, "two drawings differ"
    (GOLDEN / "mermaid").mkdir(parents=True, exist_ok=True)
    check_golden(GOLDEN / "mermaid" / f"{spec.stem}.mmd", text, update_golden)


@pytest.mark.parametrize("seed", ["0", "4242"])
def test_same_text_under_another_hash_seed(seed: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT / "compiler")}
    for fmt, suffix, draw in (("dot", "dot", dot_of), ("mermaid", "mmd", mermaid_of)):
        folder = tmp_path / fmt
        command = [sys.executable, "-m", "mspec", "draw", *map(str, SPEC_FILES), "--format", fmt]
        done = subprocess.run(
            [*command, "-o", str(folder)], capture_output=True, text=True, cwd=ROOT, env=env
        )
        assert done.returncode == 0, done.stderr
        for spec in SPEC_FILES:
            name = checked(spec).spec.name
            assert (folder / f"{name}.{suffix}").read_text(encoding="utf-8") == draw(spec)


def test_node_ids_come_from_spec_names() -> None:
    nodes, _ = parse_dot(dot_of(ROOT / "specs" / "siamese_text.json"))
    drawn = {n for n in nodes if not n.startswith("legend:")}
    assert drawn == {
        "question_1",
        "question_2",
        "encoded_1[0]",
        "encoded_1[1]",
        "encoded_2[0]",
        "encoded_2[1]",
        "difference",
        "product",
        "similarity",
        "comparison",
        "is_duplicate[0]",
        "is_duplicate[1]",
        "output:is_duplicate",
    }


# --- the committed diagrams --------------------------------------------------


@needs_dot
@pytest.mark.parametrize("spec", SPEC_FILES, ids=lambda p: p.name)
def test_committed_svg_is_current(spec: Path, update_golden: bool) -> None:
    name = checked(spec).spec.name
    fresh = render(dot_of(spec), "svg").decode("utf-8")
    path = DIAGRAMS / f"{name}.svg"
    if update_golden:
        DIAGRAMS.mkdir(exist_ok=True)
        path.write_text(fresh, encoding="utf-8")
        if path.with_suffix(".png") == README_PICTURE:
            README_PICTURE.write_bytes(render(dot_of(spec), "png"))
        return
    assert path.exists(), f"{path} is missing: run pytest --update-golden (or mspec draw specs)"
    committed = path.read_text(encoding="utf-8")
    stale = f"{path.name} is out of date: run pytest --update-golden"
    assert svg_content(committed) == svg_content(fresh), stale


def test_diagrams_folder_has_one_svg_per_spec() -> None:
    names = {checked(spec).spec.name for spec in SPEC_FILES}
    assert {p.stem for p in DIAGRAMS.glob("*.svg")} == names
    assert README_PICTURE.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- escaping ----------------------------------------------------------------


def test_dot_quote_keeps_every_character_literal() -> None:
    assert dot_quote('say "hi"') == r'"say \"hi\""'
    assert dot_quote("a\\b") == r'"a\\b"'
    assert dot_quote(r"\N \l \G") == r'"\\N \\l \\G"'
    assert dot_quote("one\ntwo\r\nthree\rfour") == r'"one\ntwo\nthree\nfour"'
    assert dot_quote("<b>x</b>") == '"<b>x</b>"'
    assert dot_quote("&lt; & &amp;") == '"&amp;lt; &amp; &amp;amp;"'
    assert dot_quote("模型 ünïcødé ✓") == '"模型 ünïcødé ✓"'
    assert dot_quote("tab\there\x00\x1b") == '"tab here\ufffd\ufffd"'
    assert dot_quote("\\") == r'"\\"'  # a trailing backslash cannot escape the closing quote


def test_mermaid_quote_keeps_every_character_literal() -> None:
    assert mermaid_quote('say "hi"') == '"say #quot;hi#quot;"'
    assert mermaid_quote("<b>x</b>") == '"#lt;b#gt;x#lt;/b#gt;"'
    assert mermaid_quote("# {a} [b] |c| `d` &") == '"#35; #123;a#125; #91;b#93; #124;c#124; #96;d#96; #amp;"'
    assert mermaid_quote("#quot;") == '"#35;quot;"'  # a code typed by the user stays text
    assert mermaid_quote("one\ntwo\r\nthree") == '"one<br/>two<br/>three"'
    assert mermaid_quote("模型 ünïcødé (None, 64)") == '"模型 ünïcødé (None, 64)"'


INJECTION = """
[model]
name = "injection"
description = '''quote " backslash \\N <b>bold</b> &lt;b&gt; {braces} [brackets] |pipe| `tick` \
# 模型 "]; evil [label="x'''

[inputs.a]
shape = [4]

[branches.b]
from = 'ghost"]; evil2 [label="y <i>'
layers = [{ type = "Dense", units = 2 }]

[outputs.out]
from = "a"
layers = [{ type = "Dense", units = 1 }]
loss = "mse"
"""
INJECTION_NODES = {
    "a",
    'missing:ghost"]; evil2 [label="y <i>',
    "b[0]",
    "out[0]",
    "output:out",
    "legend:input",
    "legend:step",
    "legend:output",
    "legend:error",
}


def injection():
    result = check_bytes(INJECTION.encode(), "injection.toml")
    assert result.graph is not None
    return result


@needs_dot
def test_injected_text_adds_no_node_and_shows_literally() -> None:
    result = injection()
    layout = graphviz_json(to_dot(result.graph, result.diagnostics))
    assert set(graphviz_nodes(layout)) == INJECTION_NODES
    title = [t["text"] for t in layout["_ldraw_"] if "text" in t]
    assert " ".join(title[1:-2]) == result.spec.description  # the description's wrapped lines
    ghost = graphviz_nodes(layout)['missing:ghost"]; evil2 [label="y <i>']
    assert next(t["text"] for t in ghost["_ldraw_"] if "text" in t) == 'ghost"]; evil2 [label="y <i>'


def test_injected_text_stays_inside_mermaid_labels() -> None:
    result = injection()
    text = to_mermaid(result.graph, result.diagnostics)
    labels = re.findall(r'"[^"]*"', text)
    assert labels, text
    for label in labels:
        assert not set(label[1:-1].replace("<br/>", "")) & set("<>{}[]|`"), label
    # Outside the labels only Mermaid syntax is left: no text of the spec.
    outside = re.sub(r'"[^"]*"', '""', text)
    assert "evil" not in outside and "ghost" not in outside
    boxes = re.findall(r"^\s*(n\d+)[\[\(\{]", text, flags=re.MULTILINE)
    assert len(boxes) == len(INJECTION_NODES) - 4  # the legend is DOT's only


# --- what the diagrams show --------------------------------------------------


def test_broken_example_3_marks_the_multiply_and_both_inputs_red() -> None:
    nodes, edges = parse_dot(dot_of(CASES / "seed_interaction.toml"))
    multiply = nodes["interaction"]
    assert multiply["color"] == RED and multiply["shape"] == "hexagon"
    assert "MS301 error: Multiply needs equal shapes" in multiply["label"]
    into = {(s, a["label"].strip()): a.get("color") for s, t, a in edges if t == "interaction"}
    assert into == {("x_a[0]", "(None, 64)"): RED, ("x_b[0]", "(None, 32)"): RED}
    red = {(s, t) for s, t, a in edges if a.get("color") == RED}
    assert red == {("x_a[0]", "interaction"), ("x_b[0]", "interaction")}
    # Downstream of the error, shapes are unknown and shown as such.
    assert "shape: ?" in nodes["merged"]["label"] and "shape: ?" in nodes["output[0]"]["label"]
    assert {a["label"].strip() for s, t, a in edges if s == "merged"} == {"?"}


@needs_dot
def test_broken_example_3_renders_red_in_svg() -> None:
    svg = render(dot_of(CASES / "seed_interaction.toml"), "svg").decode()
    group = r'<g id="(?:node|edge)\d+" class="(node|edge)">\s*<title>([^<]*)</title>(.*?)</g>'
    groups = re.findall(group, svg, re.S)
    red = {title for kind, title, body in groups if f'stroke="{RED}"' in body and "legend" not in title}
    assert red == {"interaction", "x_a[0]&#45;&gt;interaction", "x_b[0]&#45;&gt;interaction"}


def test_shared_example_2_is_one_layer_used_twice() -> None:
    nodes, edges = parse_dot(dot_of(CASES / "seed_shared_layer.toml"))
    first, second = nodes["x1[0]"], nodes["x2[0]"]
    assert first["fillcolor"] == second["fillcolor"] != "#ffffff"
    assert "shared: shared_layer (use 1 of 2)" in first["label"] and "params: 352" in first["label"]
    assert "shared: shared_layer (use 2 of 2)" in second["label"]
    assert "params: shared (counted at use 1)" in second["label"]
    assert second["color"] == RED and "MS302 error" in second["label"]
    assert ("input_2", "x2[0]") in {(s, t) for s, t, a in edges if a.get("color") == RED}
    links = [(s, t, a) for s, t, a in edges if a.get("dir") == "none"]
    assert [(s, t) for s, t, _ in links] == [("x1[0]", "x2[0]")]
    assert links[0][2]["style"] == "dashed" and links[0][2]["constraint"] == "false"


def test_shared_weights_are_counted_once() -> None:
    text = dot_of(ROOT / "specs" / "siamese_text.json")
    assert "total params: 1,321,409, shared layers counted once" in text
    nodes, _ = parse_dot(text)
    assert "params: 1,280,000" in nodes["encoded_1[0]"]["label"]
    assert "params: shared (counted at use 1)" in nodes["encoded_2[0]"]["label"]
    assert nodes["encoded_1[0]"]["fillcolor"] == nodes["encoded_2[0]"]["fillcolor"]
    assert nodes["encoded_1[1]"]["fillcolor"] == nodes["encoded_2[1]"]["fillcolor"]
    assert nodes["encoded_1[0]"]["fillcolor"] != nodes["encoded_1[1]"]["fillcolor"]


def test_every_edge_carries_its_shape_and_every_node_its_layer() -> None:
    nodes, edges = parse_dot(dot_of(ROOT / "specs" / "seed" / "concat_independent.toml"))
    shapes = {(s, t): a["label"].strip() for s, t, a in edges if a.get("style") != "invis"}
    assert shapes == {
        ("input_1", "x1[0]"): "(None, 10)",
        ("input_2", "x2[0]"): "(None, 5)",
        ("x1[0]", "merged"): "(None, 64)",
        ("x2[0]", "merged"): "(None, 32)",
        ("merged", "output[0]"): "(None, 96)",
        ("output[0]", "output:output"): "(None, 1)",
    }
    assert nodes["x1[0]"]["label"] == "x1\nDense(64, relu)\nparams: 704"
    assert nodes["merged"]["shape"] == "hexagon" and nodes["input_1"]["shape"] == "ellipse"
    assert nodes["output:output"]["peripheries"] == "2"


def test_branches_and_heads_are_labelled_clusters() -> None:
    text = dot_of(ROOT / "specs" / "multi_output_reviews.toml")
    clusters = re.findall(r'subgraph "(cluster_[^"]*)" \{\n\s*graph \[label="([^"]*)"', text)
    assert clusters == [
        ("cluster_branch_review_features", "branch review_features"),
        ("cluster_branch_metadata_features", "branch metadata_features"),
        ("cluster_branch_shared_trunk", "branch shared_trunk"),
        ("cluster_output_rating", "output head rating"),
        ("cluster_output_category", "output head category"),
        ("cluster_legend", "legend"),
    ]


def test_rankdir_and_bad_rankdir() -> None:
    assert 'rankdir="LR"' in dot_of(ROOT / "specs" / "image_tabular.toml", rankdir="LR")
    assert mermaid_of(ROOT / "specs" / "image_tabular.toml", rankdir="LR").splitlines()[1] == "flowchart LR"
    with pytest.raises(ValueError):
        dot_of(ROOT / "specs" / "image_tabular.toml", rankdir="BT")


def test_unknown_reference_is_drawn_as_a_missing_box() -> None:
    nodes, edges = parse_dot(dot_of(CASES / "unknown_reference.toml"))
    missing = {n: a for n, a in nodes.items() if n.startswith("missing:")}
    assert missing and all(a["color"] == RED and "dashed" in a["style"] for a in missing.values())
    assert all(a.get("color") == RED for s, t, a in edges if s in missing)


def test_warnings_are_amber_and_the_rest_are_notes() -> None:
    text = dot_of(CASES / "unused.toml")
    nodes, _ = parse_dot(text)
    warned = {n: a for n, a in nodes.items() if "warning:" in a["label"]}
    assert set(warned) == {"b", "side[0]"}
    assert all(a["color"] == "#d97706" for a in warned.values())
    # An unused shared layer has no box: the title says it, not in red (a warning).
    assert "line 10: MS207 warning: shared layer 's' is never used" in text
    assert 'fontcolor="#0f172a"' in text.splitlines()[1] and '"legend:error"' not in text


def test_mermaid_shows_the_same_faults() -> None:
    text = mermaid_of(CASES / "seed_interaction.toml")
    assert text.startswith("%%{init:") and "\nflowchart TB\n" in text
    ids = dict(re.findall(r'^\s*(n\d+)\S*?"([^"<]*)', text, flags=re.MULTILINE))
    multiply = next(i for i, first in ids.items() if first == "interaction")
    assert re.search(rf"^\s*class (?:\S+,)?{multiply}(?:,\S+)? error$", text, flags=re.MULTILINE)
    assert f"{multiply}{{{{" in text  # the merge's hexagon
    links = re.findall(r"^\s*n\d+ (?:-->|-\.-)", text, flags=re.MULTILINE)
    arrows = re.findall(r'^\s*(n\d+) -->\|"([^"]*)"\| (n\d+)$', text, flags=re.MULTILINE)
    red = [i for i, (_, _, target) in enumerate(arrows) if target == multiply]
    assert [arrows[i][1] for i in red] == ["(None, 64)", "(None, 32)"]
    assert f"linkStyle {','.join(map(str, red))} stroke:{RED}" in text
    assert len(links) == len(arrows)
    subgraphs = re.findall(r'^\s*subgraph (s\d+)\["([^"]*)"\]$', text, flags=re.MULTILINE)
    assert [label for _, label in subgraphs] == ["branch x_a", "branch x_b", "output head output"]


def test_mermaid_shared_uses_share_a_class() -> None:
    text = mermaid_of(ROOT / "specs" / "seed" / "shared_projection.toml")
    assert re.search(r"^\s*class n\d+,n\d+ shared0$", text, flags=re.MULTILINE)
    assert re.search(r"^\s*n\d+ -\.- n\d+$", text, flags=re.MULTILINE)


# --- --collapse on a large spec ----------------------------------------------


def test_collapse_draws_each_branch_as_one_node(tmp_path: Path) -> None:
    spec = tmp_path / "generated.toml"
    spec.write_text(generated_spec(50, 19))
    result = check_file(spec)
    assert result.ok and len(result.graph.nodes) == 50 + 50 * 19 + 10 + 1 + 1 == 1012
    full, _ = parse_dot(to_dot(result.graph, result.diagnostics))
    nodes, edges = parse_dot(to_dot(result.graph, result.diagnostics, collapse=True))
    drawn = {n for n in nodes if not n.startswith("legend:")}
    assert len(drawn) == 50 + 50 + 10 + 1 + 1 < len(full) / 9
    assert "b_7" in drawn and "b_7[0]" not in drawn
    assert nodes["b_7"]["label"] == "b_7\nbranch, 19 layers\noutput (None, 16)\nparams: 2,720"
    assert "1 layer, params: 81" in nodes["output:out"]["label"]
    real = [(s, t, a) for s, t, a in edges if a.get("style") != "invis"]
    assert len(real) == 50 + 50 + 10 + 1
    assert ("b_7", "m_1", "(None, 16)") in {(s, t, a["label"].strip()) for s, t, a in real}
    mermaid = to_mermaid(result.graph, result.diagnostics, collapse=True)
    assert len(re.findall(r"^\s*n\d+[\[\(\{]", mermaid, flags=re.MULTILINE)) == len(drawn)
    if HAVE_DOT:
        assert render(to_dot(result.graph, result.diagnostics, collapse=True), "svg").startswith(b"<?xml")


def test_collapse_keeps_faults() -> None:
    nodes, edges = parse_dot(dot_of(CASES / "seed_shared_layer.toml", collapse=True))
    assert nodes["x2"]["color"] == RED and "MS302" in nodes["x2"]["label"]
    assert [(s, t) for s, t, a in edges if a.get("color") == RED] == [("input_2", "x2")]


# --- the command line --------------------------------------------------------


def test_cli_draws_specs_into_a_folder(tmp_path: Path) -> None:
    result = run("draw", str(ROOT / "specs"), "--format", "dot", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = {checked(spec).spec.name for spec in SPEC_FILES}
    assert {p.name for p in tmp_path.iterdir()} == {f"{name}.dot" for name in names}
    assert (tmp_path / "siamese_text.dot").read_text() == dot_of(ROOT / "specs" / "siamese_text.json")


def test_cli_output_is_a_file_for_one_spec(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "picture.mmd"
    result = run("draw", str(SPEC_FILES[0]), "--format", "mermaid", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text() == mermaid_of(SPEC_FILES[0])
    assert f"wrote {target}" in result.output


def test_cli_default_output_is_diagrams_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = ROOT / "specs" / "seed" / "concat_independent.toml"
    assert run("draw", str(spec), "--format", "mermaid").exit_code == 0
    assert run("draw", str(spec), "--format", "dot", "--rankdir", "LR", "--collapse").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "diagrams").iterdir()) == [
        "concat_independent.dot",
        "concat_independent.mmd",
    ]
    assert 'rankdir="LR"' in (tmp_path / "diagrams" / "concat_independent.dot").read_text()


def test_cli_broken_spec_is_drawn_and_exits_1(tmp_path: Path) -> None:
    target = tmp_path / "broken.dot"
    result = run("draw", str(CASES / "seed_interaction.toml"), "--format", "dot", "-o", str(target))
    assert result.exit_code == 1
    assert "MS301 error: Multiply needs equal shapes" in result.output
    assert target.read_text() == dot_of(CASES / "seed_interaction.toml")


def test_cli_unloadable_spec_draws_nothing(tmp_path: Path) -> None:
    result = run("draw", str(CASES / "syntax_toml.toml"), "--format", "dot", "-o", str(tmp_path / "x.dot"))
    assert result.exit_code == 1
    assert "MS001" in result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    result = run("draw", str(tmp_path / "nope.toml"), "--format", "dot", "-o", str(tmp_path))
    assert result.exit_code == 2 and "no such file" in result.output


def test_cli_same_model_name_twice_is_refused(tmp_path: Path) -> None:
    twice = [str(ROOT / "specs" / "seed" / "interaction.toml"), str(CASES / "seed_interaction.toml")]
    result = run("draw", *twice, "--format", "dot", "-o", str(tmp_path))
    assert result.exit_code == 2 and "already the diagram of" in result.output
    assert (tmp_path / "interaction.dot").read_text() == dot_of(ROOT / "specs" / "seed" / "interaction.toml")


@needs_dot
def test_cli_svg_and_png(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "seed" / "concat_independent.toml")
    assert run("draw", spec, "-o", str(tmp_path / "a.svg")).exit_code == 0
    assert run("draw", spec, "--format", "png", "-o", str(tmp_path / "a.png")).exit_code == 0
    assert "<svg" in (tmp_path / "a.svg").read_text()
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_dot_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` on PATH
    with pytest.raises(GraphvizMissing) as raised:
        render("digraph {}", "svg")
    assert str(raised.value) == MISSING_DOT
    spec = str(ROOT / "specs" / "seed" / "concat_independent.toml")
    for fmt in ("svg", "png", "pdf"):
        result = run("draw", spec, "--format", fmt, "-o", str(tmp_path / f"a.{fmt}"))
        assert result.exit_code == 2
        assert "apt-get install graphviz" in result.output and "--format dot" in result.output
        assert not (tmp_path / f"a.{fmt}").exists()
    # DOT and Mermaid never need Graphviz.
    assert run("draw", spec, "--format", "dot", "-o", str(tmp_path / "a.dot")).exit_code == 0
    assert run("draw", spec, "--format", "mermaid", "-o", str(tmp_path / "a.mmd")).exit_code == 0


def test_draw_never_imports_tensorflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mspec.cli import main\n"
        "try:\n"
        f"    main(['draw', {str(SPEC_FILES[0])!r}, '--format', 'dot', '-o', {str(tmp_path)!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "compiler")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def test_draw_check_compares_without_writing(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "seed" / "concat_independent.toml")
    target = tmp_path / "d.mmd"
    assert run("draw", spec, "--format", "mermaid", "-o", str(target), "--check").exit_code == 1
    assert not target.exists()
    assert run("draw", spec, "--format", "mermaid", "-o", str(target)).exit_code == 0
    assert run("draw", spec, "--format", "mermaid", "-o", str(target), "--check").exit_code == 0
    target.write_text(target.read_text().replace("Dense", "Dance"))
    result = run("draw", spec, "--format", "mermaid", "-o", str(target), "--check")
    assert result.exit_code == 1 and "out of date" in result.output
