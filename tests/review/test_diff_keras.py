"""`mspec diff` against Keras: weight deltas as count_params gives them; a saved model against its spec."""

from __future__ import annotations

from pathlib import Path

import pytest

import mspec
from mspec.pipeline import import_spec

from support.review_specs import BASE, BASE_WEIGHTS, MUTATIONS

pytestmark = [pytest.mark.keras, pytest.mark.slow]

# The edits that change the weights.
WEIGHED = (
    "units",
    "add_step",
    "add_branch",
    "rewire",
    "merge_type",
    "unshare",
    "share",
    "shared_layer",
    "rename_and_edit",
)


def built(folder: Path, name: str, text: str):
    pytest.importorskip("keras")
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path, mspec.build_model(path)


def test_weight_deltas_agree_with_count_params(tmp_path: Path) -> None:
    base_path, base_model = built(tmp_path, "base", BASE)
    assert base_model.count_params() == BASE_WEIGHTS
    for mutation in (m for m in MUTATIONS if m.name in WEIGHED):
        old_text, new_text = mutation.texts()
        old_path, old_model = (
            (base_path, base_model) if old_text == BASE else built(tmp_path, "old", old_text)
        )
        new_path, new_model = built(tmp_path, mutation.name, new_text)
        diff = mspec.diff(old_path, new_path)
        assert diff.weights == (old_model.count_params(), new_model.count_params()), mutation.name
        assert diff.weight_delta == mutation.delta
        # Node by node: the deltas of the edited nodes and of their consequences add up to Keras' own.
        per_node = sum(c.weight_delta or 0 for c in diff.changes) + sum(
            c.weight_delta or 0 for c in diff.consequences
        )
        assert per_node == new_model.count_params() - old_model.count_params(), mutation.name


def test_a_saved_model_against_its_own_imported_spec_is_no_difference(tmp_path: Path) -> None:
    spec, model = built(tmp_path, "base", BASE)
    saved = tmp_path / "base.keras"
    model.save(saved)
    imported = import_spec(saved, "toml", str(tmp_path / "imported.toml"))
    assert imported.ok, [d.format() for d in imported.diagnostics]
    (tmp_path / "imported.toml").write_text(imported.text)
    diff = mspec.diff(saved, tmp_path / "imported.toml")
    assert diff.same, diff.text()
    assert diff.weights == (BASE_WEIGHTS, BASE_WEIGHTS)
    # Against the spec it was built from: the same model; the importer names a branch after
    # the shared layer it starts with, which the diff matches by structure as a rename.
    against_spec = mspec.diff(spec, saved)
    assert {c.kind for c in against_spec.changes} <= {"renamed"}
    assert against_spec.consequences == [] and against_spec.weights == (BASE_WEIGHTS, BASE_WEIGHTS)
