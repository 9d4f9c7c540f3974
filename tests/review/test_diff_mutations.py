"""`mspec diff` on single edits: each reported as that edit, on the right node, with the right weights.

The weight counts are checked against mspec's own shape pass (each side
checked on its own) and, in the `keras` test, against Keras' count_params
of the models `mspec build` makes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mspec
from mspec.graph.passes.shapes import total_param_count
from mspec.pipeline import check_file

from support.review_specs import BASE, BASE_WEIGHTS, MUTATIONS, Mutation


def write(folder: Path, name: str, text: str, suffix: str = ".toml") -> Path:
    path = folder / f"{name}{suffix}"
    path.write_text(text, encoding="utf-8")
    return path


def sides(tmp_path: Path, mutation: Mutation) -> tuple[Path, Path]:
    old, new = mutation.texts()
    return write(tmp_path, "old", old), write(tmp_path, "new", new)


def label_map(path: Path) -> dict[str, object]:
    """The graph's nodes by the label a diff gives them (`trunk step 1`, `score`)."""
    result = check_file(path)
    graph = result.graph
    lengths = {c.name: len(c.steps) for c in (*graph.spec.branches.values(), *graph.spec.outputs.values())}
    labels = {}
    for node in graph.nodes.values():
        many = node.role == "step" and lengths[node.owner] > 1
        labels[f"{node.owner} step {node.index + 1}" if many else node.owner] = node
    return labels


def test_base_checks_clean() -> None:
    result = mspec.check_text(BASE)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert total_param_count(result.graph) == BASE_WEIGHTS


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_each_edit_is_reported_as_that_edit(tmp_path: Path, mutation: Mutation) -> None:
    old_path, new_path = sides(tmp_path, mutation)
    diff = mspec.diff(old_path, new_path)
    assert not diff.same
    assert [(c.kind, c.node) for c in diff.changes] == list(mutation.changes)
    # The totals are mspec's own: each side's shape pass.
    old_total = total_param_count(check_file(old_path).graph)
    new_total = total_param_count(check_file(new_path).graph)
    assert diff.weights == (old_total, new_total)
    assert diff.weight_delta == mutation.delta == new_total - old_total
    # Each changed node's weights before and after, as the shape pass counted them.
    old_nodes, new_nodes = label_map(old_path), label_map(new_path)
    for node, (before, after) in mutation.weights.items():
        change = next(c for c in diff.changes if c.node == node and c.kind != "renamed")
        if change.kind == "added":
            assert change.weights == (None, after) == (None, new_nodes[node].param_count)
            assert change.shape[1] == new_nodes[node].shape
        elif change.kind == "removed":
            assert change.weights == (before, None) == (old_nodes[node].param_count, None)
            assert change.shape[0] == old_nodes[node].shape
        else:
            assert change.weights == (before, after)
            assert change.weights[1] == new_nodes[node].param_count
    # Node by node, the deltas add up to the model's (no edit here leaves weights out of the model).
    per_node = sum(c.weight_delta or 0 for c in diff.changes) + sum(
        c.weight_delta or 0 for c in diff.consequences
    )
    assert per_node == mutation.delta
    consequences = {c.node: c for c in diff.consequences}
    assert set(consequences) == set(mutation.consequences)
    for node, what in mutation.consequences.items():
        consequence = consequences[node]
        shape_changed = consequence.shape[0] != consequence.shape[1]
        weights_changed = consequence.weights[0] != consequence.weights[1]
        assert (shape_changed, weights_changed) == {
            "shape": (True, False),
            "weights": (False, True),
            "both": (True, True),
        }[what]
        assert consequence.shape[1] == new_nodes[node].shape
        assert consequence.weights[1] == new_nodes[node].param_count
    assert sorted({d.code for d in diff.new_findings}) == sorted(mutation.findings)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_the_reverse_edit_mirrors_it(tmp_path: Path, mutation: Mutation) -> None:
    old_path, new_path = sides(tmp_path, mutation)
    forward, backward = mspec.diff(old_path, new_path), mspec.diff(new_path, old_path)
    assert backward.weights == tuple(reversed(forward.weights))
    mirrored = {"added": "removed", "removed": "added"}
    assert sorted(c.kind for c in backward.changes) == sorted(
        mirrored.get(c.kind, c.kind) for c in forward.changes
    )
    assert len(backward.consequences) == len(forward.consequences)


def test_parameter_changes_say_old_and_new(tmp_path: Path) -> None:
    units = next(m for m in MUTATIONS if m.name == "units")
    diff = mspec.diff(*sides(tmp_path, units))
    change = diff.changes[0]
    assert change.params == {"units": (32, 64)}
    assert change.shape == ((None, 32), (None, 64))
    data = diff.to_json()["changes"][0]
    assert data["kind"] == "params" and data["node"] == "trunk step 1"
    assert data["params"] == {"old": {"units": 32}, "new": {"units": 64}}
    assert data["weights"] == {"old": 1_568, "new": 3_136, "delta": 1_568}
    assert data["shape"] == {"old": [None, 32], "new": [None, 64]}


def test_a_step_taken_out_among_repeated_layers_is_one_removal(tmp_path: Path) -> None:
    dense, drop = '{ type = "Dense", units = 8 }', '{ type = "Dropout", rate = 0.1 }'
    chain = [dense, drop, dense, drop, dense, drop, dense]
    text = (
        '[model]\nname = "m"\n[inputs.a]\nshape = [8]\n[outputs.o]\nfrom = "a"\nlayers = [{}]\nloss = "mse"\n'
    )
    old = write(tmp_path, "old", text.replace("{}", ", ".join(chain)))
    shorter = chain[:1] + chain[2:]
    new = write(tmp_path, "new", text.replace("{}", ", ".join(shorter)))
    diff = mspec.diff(old, new)
    assert [(c.kind, c.node) for c in diff.changes] == [("removed", "o step 2")]
    assert diff.consequences == []


def test_output_reading_another_node_without_a_head(tmp_path: Path) -> None:
    text = (
        '[model]\nname = "m"\n[inputs.a]\nshape = [8]\n[branches.b]\nfrom = "a"\n'
        'layers = [{ type = "Dense", units = 4 }]\n[outputs.o]\nfrom = "b"\nloss = "mse"\n'
    )
    old = write(tmp_path, "old", text)
    new = write(tmp_path, "new", text.replace('loss = "mse"', 'loss = "mae"'))
    diff = mspec.diff(old, new)
    assert [(c.kind, c.node, c.output) for c in diff.changes] == [("loss", "o", "o")]
    assert diff.consequences == []


def test_a_spec_with_errors_is_compared_as_far_as_it_goes(tmp_path: Path) -> None:
    # The shared layer is built for 8 features by its first use; 12 at its second use is an error.
    old = write(tmp_path, "old", BASE)
    new = write(tmp_path, "new", BASE.replace("[inputs.extra]\nshape = [8]", "[inputs.extra]\nshape = [12]"))
    diff = mspec.diff(old, new)
    assert [(c.kind, c.node) for c in diff.changes] == [("params", "extra")]
    assert [d.code for d in diff.new.errors] == ["MS302"]
    assert "MS302" in {d.code for d in diff.new_findings}
    assert diff.new.weights is None  # some count is unknown past the error
    text = diff.text()
    assert "MS302" in text and "has 1 error" in text


def test_the_same_spec_is_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, "same", BASE)
    diff = mspec.diff(path, path)
    assert diff.same and diff.changes == [] and diff.consequences == []
    assert "no change to the model" in diff.text()


def test_a_whole_spec_added_lists_every_node(tmp_path: Path) -> None:
    path = write(tmp_path, "new", BASE)
    diff = mspec.diff("/dev/null", path)
    assert diff.weights == (0, BASE_WEIGHTS)
    assert {c.kind for c in diff.changes} == {"added", "loss"}
    assert sum(c.weight_delta or 0 for c in diff.changes if c.kind == "added") == BASE_WEIGHTS


def test_renaming_every_branch_of_a_wide_spec_is_only_renames(tmp_path: Path) -> None:
    from support.wide_specs import generated_spec

    text = generated_spec(50, 4)
    old = write(tmp_path, "old", text)
    new = write(tmp_path, "new", text.replace("b_", "branch_"))
    diff = mspec.diff(old, new)
    assert {c.kind for c in diff.changes} == {"renamed"}
    assert len(diff.changes) == 50
    assert diff.consequences == []


def test_long_chains_are_aligned_past_the_exact_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mspec.review import diff as diff_module

    monkeypatch.setattr(diff_module, "LCS_CELLS", 10)  # difflib aligns the middle instead
    dense = '{ type = "Dense", units = 8 }'
    chain = [dense.replace("8", str(8 + k % 3)) for k in range(12)]
    text = (
        '[model]\nname = "m"\n[inputs.a]\nshape = [8]\n[outputs.o]\nfrom = "a"\nlayers = [{}]\nloss = "mse"\n'
    )
    old = write(tmp_path, "old", text.replace("{}", ", ".join(chain)))
    edited = [*chain[:4], '{ type = "Dropout", rate = 0.5 }', *chain[4:]]
    new = write(tmp_path, "new", text.replace("{}", ", ".join(edited)))
    diff = mspec.diff(old, new)
    assert [(c.kind, c.node) for c in diff.changes] == [("added", "o step 5")]


def test_a_search_space_added_is_a_setting(tmp_path: Path) -> None:
    old = write(tmp_path, "old", BASE)
    searched = BASE + '\n[search]\n"shared.project.units" = [16, 32]\n'
    new = write(tmp_path, "new", searched)
    diff = mspec.diff(old, new)
    assert [(c.kind, c.node) for c in diff.changes] == [("search", None)]
    assert diff.changes[0].params == {"shared.project.units": (None, [16, 32])}
    assert not diff.edits and diff.weight_delta == 0
